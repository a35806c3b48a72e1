"""The gradebook CSV, laid out as Canvas's gradebook importer reads it: student columns, then one per assignment.

What Canvas's importer does with each column (its GradebookImporter):
- `Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`, in this order, are the student columns
  (the last one must be `Section`; it may stay empty). A row is matched by `ID` (the Canvas user id),
  else `SIS User ID`, else `SIS Login ID`, else by the student's name exactly as Canvas has it: so
  `Student` is the display name as the LMS (or the class folder) gave it, never our file-safe id.
- Every other column is an assignment, matched by title, and one it does not know becomes a new
  assignment worth the `Points Possible` row's points; except a header containing one of Canvas's
  own computed columns (Current/Final Score, Points, Grade, Override ...), which it always skips.
  So the total is under `Final Points`, with "(read only)" as Canvas writes it: shown to whoever
  opens the file, never imported as an assignment that would count every point twice.
- `SIS User ID` holds only a SIS id (Gradescope's `sid`, or a plain entry's own name, which is
  how classes are usually named), never an email; `SIS Login ID` holds a login only where the
  source says it is one (no source of ours does yet): an email is not a login.
"""
from __future__ import annotations

from typing import Iterable, Iterator

STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"   # Canvas writes (and reads) this row label with leading spaces
TOTAL_COLUMN = "Final Points"             # one of the importer's computed columns: never imported
READ_ONLY = "(read only)"                 # what Canvas's export puts in the Points Possible row for those


def exercise_column(exercise: dict) -> str:
    return f"nngrade {exercise['id']} {exercise['title']}"


def header(exercises: list[dict]) -> list[str]:
    """`exercises`: the graded exercises' {id, title, max_score}, in report order."""
    return [*STUDENT_COLUMNS, *(exercise_column(e) for e in exercises), TOTAL_COLUMN]


def points_possible(exercises: list[dict]) -> list[str]:
    return [POINTS_POSSIBLE, "", "", "", "", *(_number(e["max_score"]) for e in exercises), READ_ONLY]


def row(exercises: list[dict], student: dict, report: dict) -> list[str]:
    """One student's row: `student` holds id, name, email, canvas_id, sis_id (empty when unknown)."""
    scores = {e["id"]: e["score"] for e in report["exercises"]}
    return [display_name(student), student.get("canvas_id", ""), sis_user_id(student), "", "",
            *(_number(scores.get(e["id"], 0.0)) for e in exercises), _number(report["score"])]


def display_name(student: dict) -> str:
    """The name as the source gave it (`björn`, `Zoe Smith`); the file-safe id only when there is none, or
    when the id was renamed because another entry holds it (`alice~2`): that row must match nobody by name."""
    return student["id"] if _renamed(student) else student.get("name") or student["id"]


def _renamed(student: dict) -> bool:
    return "~" in student["id"]    # only ingest's renaming makes one: a file-safe id has no "~"


def sis_user_id(student: dict) -> str:
    """Gradescope's sid; else, for an entry no LMS named (a plain folder or file), its own name; never an email."""
    if _renamed(student):
        given = ""
    elif student.get("sis_id"):
        given = student["sis_id"]
    elif student.get("canvas_id") or student.get("email"):
        given = ""       # named by an LMS that gave no SIS id: `ID` (Canvas) or the name matches the row
    else:
        given = student.get("name") or student["id"]
    return "" if "@" in given else given


def to_rows(exercises: list[dict], students: Iterable[tuple[dict, dict]]) -> Iterator[list[str]]:
    """All rows, header first, from (student, canonical report) pairs; streams."""
    yield header(exercises)
    yield points_possible(exercises)
    for student, report in students:
        yield row(exercises, student, report)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"

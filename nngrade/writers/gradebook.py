"""The gradebook CSV, laid out as Canvas's gradebook import expects: student columns, then one per grade.

Canvas matches rows by `ID` (its user id), else `SIS User ID`, else `SIS Login ID`; the `Section`
column must be present and may stay empty. A column whose header is not an existing assignment
becomes a new assignment, worth the points in the `Points Possible` row.
"""
from __future__ import annotations

from typing import Iterable, Iterator

STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"   # Canvas writes (and reads) this row label with leading spaces


def exercise_column(exercise: dict) -> str:
    return f"nngrade {exercise['id']} {exercise['title']}"


def header(exercises: list[dict]) -> list[str]:
    """`exercises`: the graded exercises' {id, title, max_score}, in report order."""
    return [*STUDENT_COLUMNS, *(exercise_column(e) for e in exercises), "nngrade total"]


def points_possible(exercises: list[dict]) -> list[str]:
    return [POINTS_POSSIBLE, "", "", "", "", *(_number(e["max_score"]) for e in exercises),
            _number(sum(e["max_score"] for e in exercises))]


def row(exercises: list[dict], student: dict, report: dict) -> list[str]:
    """One student's row: `student` holds id, name, email, canvas_id, sis_id (empty when unknown)."""
    sis_user = student.get("sis_id") or ("" if student.get("canvas_id") else student["id"])
    scores = {e["id"]: e["score"] for e in report["exercises"]}
    return [student.get("name") or student["id"], student.get("canvas_id", ""), sis_user,
            student.get("email", ""), "", *(_number(scores.get(e["id"], 0.0)) for e in exercises),
            _number(report["score"])]


def to_rows(exercises: list[dict], students: Iterable[tuple[dict, dict]]) -> Iterator[list[str]]:
    """All rows, header first, from (student, canonical report) pairs; streams."""
    yield header(exercises)
    yield points_possible(exercises)
    for student, report in students:
        yield row(exercises, student, report)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"

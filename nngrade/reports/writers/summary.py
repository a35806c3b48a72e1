"""The class summary: who needs help (one row per student), score distribution, per-exercise results,
failure rate per quantity and per check, misconceptions and who made them.

`to_summary` reads the canonical reports one at a time (a generator reading files is fine), keeping
counters and one small row per student (its scores, problems and mistakes: never its messages), so a
class of any size fits in memory.
"""
from __future__ import annotations

import statistics
from array import array
from collections import Counter
from typing import Iterable

from nngrade.judge.exercises import SIDE_EFFECTS

SCHEMA_VERSION = "1.1"    # 1.1: roster, quantities, misconceptions by exercise with their students
BINS = 10   # histogram of total scores, in tenths of the maximum
NOT_PASSED = ("failed", "error", "timeout", "not_implemented")


def to_summary(graded: Iterable[tuple[dict, dict]], exercises: list[dict], batch: dict,
               not_graded: Iterable[tuple[dict, dict]] = ()) -> dict:
    """`graded`: (student, report) of every graded student, the student a dict {id, name, page} (`page`: the
    path of its feedback page from the summary's folder, or None); `not_graded`: the same of those left
    ungraded (their report a placeholder that says why); `exercises`: the graded exercises' {id, title,
    max_score}; `batch`: what to record about the run."""
    totals = array("d")
    max_score = sum(e["max_score"] for e in exercises)
    histogram = [0] * BINS
    nothing = 0
    per_exercise = {e["id"]: {"submitted": 0, "score": 0.0, "full_marks": 0, "problems": Counter()} for e in exercises}
    checks: dict[tuple[str, str], dict] = {}
    quantities: dict[tuple[str, str, str], dict] = {}
    mistakes: dict[tuple[str, str], dict] = {}
    roster = []
    for student, report in graded:
        totals.append(report["score"])
        histogram[_bin(report["score"], max_score)] += 1
        if not any(exercise["file"] for exercise in report["exercises"]):
            nothing += 1
        row = _roster_row(student, report)
        for exercise in report["exercises"]:
            if exercise["id"] not in per_exercise:
                continue
            _add_exercise(per_exercise[exercise["id"]], exercise)
            for check in exercise["checks"]:
                entry = checks.setdefault((exercise["id"], check["name"]), _check_entry(exercise["id"], check))
                if exercise["file"]:
                    entry["submitted"] += 1
                    entry[check["status"]] = entry.get(check["status"], 0) + 1
            for key, outcome in _quantity_outcomes(exercise).items():
                entry = quantities.setdefault((exercise["id"], *key[:2]), _quantity_entry(exercise["id"], *key))
                entry[outcome] += 1
        for (exercise_id, name), seen in _mistakes(report).items():   # once per student, however many checks
            entry = mistakes.setdefault((exercise_id, name), {"quantities": {}, "students": []})
            entry["quantities"].update(dict.fromkeys(seen))
            entry["students"].append(student["id"])
            row["misconceptions"].append({"exercise": exercise_id, "misconception": name, "title": _title(exercise_id, name),
                                          "quantities": seen})
        roster.append(row)
    roster += [_not_graded_row(student, report) for student, report in not_graded]
    count = len(totals)
    return {
        "schema_version": SCHEMA_VERSION,
        "batch": batch,
        "students": count,
        "max_score": max_score,
        "scores": _statistics(totals, max_score),
        "nothing_gradable": nothing,
        "histogram": {"unit": "percent of max_score", "edges": [round(100 * i / BINS) for i in range(BINS + 1)],
                      "counts": histogram},
        "exercises": [_exercise_summary(e, per_exercise[e["id"]], count) for e in exercises],
        "roster": roster,
        "quantities": _sorted_quantities(quantities.values()),
        "checks": [_finish_check(entry) for entry in checks.values()],
        "misconceptions": sorted(({"exercise": ex, "misconception": name, "title": _title(ex, name),
                                   "quantity": next(iter(entry["quantities"])), "quantities": list(entry["quantities"]),
                                   "count": len(entry["students"]), "students": entry["students"]}
                                  for (ex, name), entry in mistakes.items()),
                                 key=lambda m: (-m["count"], m["exercise"], m["misconception"])),
    }


# --- one row per student -------------------------------------------------------------------------

def _roster_row(student: dict, report: dict) -> dict:
    row = {"id": student["id"], "name": student.get("name", ""), "page": student.get("page"), "graded": True,
           "score": report["score"], "max_score": report["max_score"], "exercises": [], "problems": [],
           "misconceptions": []}
    for exercise in report["exercises"]:
        problem = _exercise_problem(exercise)
        row["exercises"].append({"id": exercise["id"], "score": exercise["score"], "max_score": exercise["max_score"],
                                 "submitted": bool(exercise["file"]), "problem": problem})
        if problem:
            row["problems"].append({"exercise": exercise["id"], "problem": problem})
    return row


def _not_graded_row(student: dict, report: dict) -> dict:
    reason = next((e["problem"] for e in report.get("exercises", ()) if e.get("problem")), None)
    return {"id": student["id"], "name": student.get("name", ""), "page": None, "graded": False, "score": None,
            "max_score": report.get("max_score"), "exercises": [], "misconceptions": [],
            "problems": [{"exercise": None, "problem": "not graded"}], "reason": reason or "not graded"}


def _exercise_problem(exercise: dict) -> str | None:
    """What kept an exercise from being right other than wrong values, in a word or two: why the file could
    not be graded ("no file", "timeout", "SyntaxError", ...); else "not started" (every check still a TODO),
    "error" (the function raised) or "timeout" (a call did not return); else None."""
    if exercise["problem"]:
        return problem_kind(exercise["problem"])
    statuses = {c["status"] for c in exercise["checks"] if c["quantity"] != SIDE_EFFECTS}
    if statuses == {"not_implemented"}:
        return "not started"
    return "error" if "error" in statuses else "timeout" if "timeout" in statuses else None


def _mistakes(report: dict) -> dict[tuple[str, str], list[str]]:
    """(exercise, misconception) -> the quantities that showed it, in the lesson's order: one mistake of a
    student is one, whichever quantities and cases it reached."""
    found: dict[tuple[str, str], dict] = {}
    for exercise in report["exercises"]:
        for check in exercise["checks"]:
            if check.get("misconception"):
                found.setdefault((exercise["id"], check["misconception"]), {})[check["quantity"]] = None
    return {key: list(seen) for key, seen in found.items()}


def _title(exercise_id: str, misconception: str) -> str:
    """The mistake's title as its exercise declares it; the id where that exercise is not here any more."""
    from nngrade.judge.exercises import EXERCISES
    known = EXERCISES[exercise_id].mistake(misconception) if exercise_id in EXERCISES else None
    return known.title if known else misconception


# --- checks grouped by quantity ----------------------------------------------------------------

OUTCOMES = ("not_submitted", "passed", "failed", "error", "timeout", "not_implemented")


def _quantity_outcomes(exercise: dict) -> dict[tuple[str, str, float], str]:
    """(function, quantity, points) -> one outcome for this student: "not_submitted" (no file), "passed"
    (every case), else the status of the first case that did not pass (in the lesson's order of cases)."""
    cases: dict[tuple[str, str], list[dict]] = {}
    for check in exercise["checks"]:
        if check["quantity"] != SIDE_EFFECTS:
            cases.setdefault((check["function"], check["quantity"]), []).append(check)
    outcomes = {}
    for (function, quantity), of_it in cases.items():
        points = sum(c["max_score"] for c in of_it)
        if not exercise["file"]:
            outcome = "not_submitted"
        else:
            outcome = next((c["status"] for c in of_it if c["status"] != "passed"), "passed")
        outcomes[(function, quantity, points)] = outcome if outcome in OUTCOMES else "error"
    return outcomes


def _quantity_entry(exercise_id: str, function: str, quantity: str, points: float) -> dict:
    return {"exercise": exercise_id, "function": function, "quantity": quantity, "max_score": points,
            **{outcome: 0 for outcome in OUTCOMES}}


def _sorted_quantities(entries: Iterable[dict]) -> list[dict]:
    """Each with `submitted` and `failure_rate` (the share of those who submitted the file that did not get
    every case right); per exercise, the most failed first (the lesson's order among equals)."""
    done = []
    for order, entry in enumerate(entries):
        submitted = sum(entry[o] for o in OUTCOMES if o != "not_submitted")
        rate = round((submitted - entry["passed"]) / submitted, 4) if submitted else None
        done.append((order, {**entry, "submitted": submitted, "failure_rate": rate}))
    exercise_order = {e: i for i, e in reversed(list(enumerate(q["exercise"] for _, q in done)))}
    done.sort(key=lambda item: (exercise_order[item[1]["exercise"]],
                                -(item[1]["failure_rate"] if item[1]["failure_rate"] is not None else -1), item[0]))
    return [entry for _, entry in done]


def _bin(score: float, max_score: float) -> int:
    return min(BINS - 1, int(BINS * score / max_score)) if max_score > 0 else 0


def _add_exercise(acc: dict, exercise: dict) -> None:
    acc["score"] += exercise["score"]
    if exercise["file"]:
        acc["submitted"] += 1
    if exercise["score"] == exercise["max_score"]:
        acc["full_marks"] += 1
    if exercise["problem"]:
        acc["problems"][problem_kind(exercise["problem"])] += 1


def problem_kind(problem: str) -> str:
    """'SyntaxError at line 3: ...' -> 'SyntaxError'; 'no file 07_... in the submission' -> 'no file'."""
    if problem.startswith("no file"):
        return "no file"
    if problem.startswith("did not finish"):
        return "timeout"
    return problem.split(":")[0].split(" at line")[0].strip()[:80]


def _check_entry(exercise_id: str, check: dict) -> dict:
    return {"exercise": exercise_id, "name": check["name"], "function": check["function"],
            "quantity": check["quantity"], "case": check["case"], "visibility": check["visibility"],
            "max_score": check["max_score"], "submitted": 0, "passed": 0,
            **{status: 0 for status in NOT_PASSED}}


def _finish_check(entry: dict) -> dict:
    not_passed = sum(entry[status] for status in NOT_PASSED)
    return {**entry, "failure_rate": round(not_passed / entry["submitted"], 4) if entry["submitted"] else None}


def _exercise_summary(exercise: dict, acc: dict, count: int) -> dict:
    return {"id": exercise["id"], "title": exercise["title"], "max_score": exercise["max_score"],
            "submitted": acc["submitted"], "mean": round(acc["score"] / count, 4) if count else None,
            "full_marks": acc["full_marks"],
            "problems": [{"problem": kind, "count": n} for kind, n in acc["problems"].most_common(10)]}


def _statistics(totals: array, max_score: float) -> dict:
    if not totals:
        return {"mean": None, "median": None, "stdev": None, "min": None, "max": None, "full_marks": 0, "zero": 0}
    return {"mean": round(statistics.fmean(totals), 4), "median": statistics.median(totals),
            "stdev": round(statistics.pstdev(totals), 4), "min": min(totals), "max": max(totals),
            "full_marks": sum(1 for t in totals if t >= max_score), "zero": sum(1 for t in totals if t == 0)}

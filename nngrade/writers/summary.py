"""The class summary: score distribution, per-exercise results, failure rate per check, misconceptions.

`to_summary` reads the canonical reports one at a time (a generator reading files is fine), keeping
only counters and the list of totals, so a class of any size fits in memory.
"""
from __future__ import annotations

import statistics
from array import array
from collections import Counter
from typing import Iterable

SCHEMA_VERSION = "1.0"
BINS = 10   # histogram of total scores, in tenths of the maximum
NOT_PASSED = ("failed", "error", "timeout", "not_implemented")


def to_summary(reports: Iterable[dict], exercises: list[dict], batch: dict) -> dict:
    """`exercises`: the graded exercises' {id, title, max_score}; `batch`: what to record about the run."""
    totals = array("d")
    max_score = sum(e["max_score"] for e in exercises)
    histogram = [0] * BINS
    nothing = 0
    per_exercise = {e["id"]: {"submitted": 0, "score": 0.0, "full_marks": 0, "problems": Counter()} for e in exercises}
    checks: dict[tuple[str, str], dict] = {}
    misconceptions: Counter = Counter()
    for report in reports:
        totals.append(report["score"])
        histogram[_bin(report["score"], max_score)] += 1
        if not any(exercise["file"] for exercise in report["exercises"]):
            nothing += 1
        seen_misconceptions = set()
        for exercise in report["exercises"]:
            if exercise["id"] not in per_exercise:
                continue
            _add_exercise(per_exercise[exercise["id"]], exercise)
            for check in exercise["checks"]:
                entry = checks.setdefault((exercise["id"], check["name"]), _check_entry(exercise["id"], check))
                if exercise["file"]:
                    entry["submitted"] += 1
                    entry[check["status"]] = entry.get(check["status"], 0) + 1
                if check.get("misconception"):   # once per student, however many cases show it
                    seen_misconceptions.add((exercise["id"], check["quantity"], check["misconception"]))
        misconceptions.update(seen_misconceptions)
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
        "checks": [_finish_check(entry) for entry in checks.values()],
        "misconceptions": [{"exercise": ex, "quantity": quantity, "misconception": name, "count": n}
                           for (ex, quantity, name), n in misconceptions.most_common(20)],
    }


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

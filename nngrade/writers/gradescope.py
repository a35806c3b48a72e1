"""Gradescope's results.json, from the canonical report, to the autograder specification's output format.

One Gradescope test per check (name, number, score, max_score, status, output, visibility, tags).
Hidden cases are `after_published` by default: students see them once grades are published.
"""
from __future__ import annotations

import math

from .. import untrusted

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
_STATUS_WORDS = {"passed": "passed", "failed": "wrong", "error": "error", "timeout": "timed out",
                 "not_implemented": "not implemented yet"}


def to_gradescope(report: dict, hidden_visibility: str = "after_published", visibility: str = "visible") -> dict:
    """The results.json document for one student's canonical report."""
    if hidden_visibility not in VISIBILITIES or visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    tests = []
    for exercise in report["exercises"]:
        for number, check in enumerate(exercise["checks"], start=1):
            tests.append({
                "name": f"{exercise['id']} {check['name']}",
                "number": f"{int(exercise['id'])}.{number}",
                "score": check["score"],
                "max_score": check["max_score"],
                "status": "passed" if check["status"] == "passed" else "failed",
                "output": _check_output(check),
                "visibility": "visible" if check["visibility"] == "visible" else hidden_visibility,
                "tags": [f"exercise-{exercise['id']}", check["function"], check["quantity"], check["case"]],
            })
    return {
        "score": report["score"],
        "execution_time": math.ceil(report["timings"].get("total_seconds", 0)),
        "output": summary_text(report),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "extra_data": {"nngrade": {"seed": report["seed"], "max_score": report["max_score"],
                                   "schema_version": report["schema_version"]}},
        "tests": tests,
    }


def _check_output(check: dict) -> str:
    word = _STATUS_WORDS.get(check["status"], check["status"])
    return untrusted.text(f"{word}: {check['message']}" if check["message"] else word, multiline=True)


def points(value: float) -> str:
    return f"{value:g}"


def summary_text(report: dict) -> str:
    """The few lines a student reads first: per exercise its points and, if the file failed, why."""
    lines = [f"nngrade · seed {report['seed']}"]
    lines += [f"note: {notice}" for notice in report["notices"]]
    for exercise in report["exercises"]:
        line = f"{exercise['id']} {exercise['title']}: {points(exercise['score'])} / {points(exercise['max_score'])}"
        lines.append(line + (f" ({exercise['problem']})" if exercise["problem"] else ""))
    lines.append(f"Total: {points(report['score'])} / {points(report['max_score'])}")
    return untrusted.text("\n".join(lines), multiline=True)   # also printed to the autograder's log

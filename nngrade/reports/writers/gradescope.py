"""Gradescope's results.json, from the canonical report, to the autograder specification's output format.

One Gradescope test per check (name, number, score, max_score, status, output, visibility, tags).
Hidden cases are `after_published` by default: students see them once grades are published.
Everything in results.json may reach the student (the top-level `output` always does), so the
class's seed, which would let a probe recognise the hidden cases, is in none of it: it stays in
the canonical report beside it (nngrade-report.json, the instructor's).
"""
from __future__ import annotations

import math

from nngrade.reports.results import points
from nngrade.run import untrusted

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
        "output": summary_text(report, hidden_shown=hidden_visibility == "visible"),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "extra_data": {"nngrade": {"max_score": report["max_score"], "schema_version": report["schema_version"]}},
        "tests": tests,
    }


def _check_output(check: dict) -> str:
    word = _STATUS_WORDS.get(check["status"], check["status"])
    return untrusted.text(f"{word}: {check['message']}" if check["message"] else word, multiline=True)


def summary_text(report: dict, hidden_shown: bool = True) -> str:
    """The few lines a student reads first: per exercise its points and, if the file failed, why.

    `hidden_shown` False (hidden tests not yet visible to students): only the visible checks' points,
    since a total that includes the hidden ones would tell what they are still hiding.
    """
    lines = ["nngrade"]
    if report.get("grader_error"):   # the grader's own fault: say it is not a grade (the details are the instructor's)
        lines.append("note: the grader itself failed on some checks, not because of your submission: their "
                     "points are not a grade yet; your instructor will grade it again")
    lines += [f"note: {notice}" for notice in report["notices"]]
    shown = [check for exercise in report["exercises"] for check in _shown(exercise, hidden_shown)]
    for exercise in report["exercises"]:
        checks = _shown(exercise, hidden_shown)
        line = f"{exercise['id']} {exercise['title']}: {_fraction(checks)}"
        if not hidden_shown:
            line += " on the visible checks"
        lines.append(line + (f" ({exercise['problem']})" if exercise["problem"] else ""))
    if hidden_shown:
        lines.append(f"Total: {points(report['score'])} / {points(report['max_score'])}")
    else:
        hidden = sum(check["max_score"] for exercise in report["exercises"] for check in exercise["checks"]
                     if check["visibility"] != "visible")
        lines.append(f"Visible checks: {_fraction(shown)}; hidden checks ({points(hidden)} points) are shown "
                     "when they are released")
    return untrusted.text("\n".join(lines), multiline=True)   # also printed to the autograder's log


def _shown(exercise: dict, hidden_shown: bool) -> list[dict]:
    return [check for check in exercise["checks"] if hidden_shown or check["visibility"] == "visible"]


def _fraction(checks: list[dict]) -> str:
    return f"{points(sum(c['score'] for c in checks))} / {points(sum(c['max_score'] for c in checks))}"

"""The terminal view of a report: a grid of checks per exercise, then one line per failing quantity."""
from __future__ import annotations

import sys

from .checks import NOT_IMPLEMENTED, PASSED
from .results import ExerciseResult, Report

_UNICODE = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⧗", "not_implemented": "·"}
_ASCII = {"passed": "ok", "failed": "X", "error": "!", "timeout": "T", "not_implemented": "."}


def _marks() -> dict[str, str]:
    encoding = (getattr(sys.stdout, "encoding", None) or "ascii").lower()
    return _UNICODE if "utf" in encoding else _ASCII


def _points(value: float) -> str:
    return f"{value:g}"


def render(report: Report, json_path: str | None = None) -> str:
    marks = _marks()
    lines = [f"nngrade · seed {report.seed}" + (f" · data: {report.data['source']} ({report.data['path']})"
                                                 if report.data else "")]
    lines += [f"note: {notice}" for notice in report.notices]
    for exercise in report.exercises:
        lines += ["", *_exercise(exercise, marks)]
    lines += ["", f"Total: {_points(report.score)} / {_points(report.max_score)}"
              + (f"    report: {json_path}" if json_path else ""),
              "legend: " + "  ".join(f"{m} {s.replace('_', ' ')}" for s, m in marks.items())]
    return "\n".join(lines)


def _exercise(exercise: ExerciseResult, marks: dict[str, str]) -> list[str]:
    head = f"{exercise.id} {exercise.title}"
    lines = [f"{head:<66} {_points(exercise.score):>5} / {_points(exercise.max_score)}"]
    if exercise.problem:
        lines.append(f"  {exercise.file or exercise.id}: {exercise.problem}")
    rows: dict[str, dict[str, str]] = {}
    for check in exercise.checks:
        rows.setdefault(_row(exercise, check), {})[check.case] = check.status
    cases = list(dict.fromkeys(check.case for check in exercise.checks))
    width = max(len(row) for row in rows) + 2
    lines.append(" " * (width + 2) + "".join(f"{case:>10}" for case in cases))
    for row, statuses in rows.items():
        lines.append(f"  {row:<{width}}" + "".join(f"{marks[statuses[c]] if c in statuses else '':>10}" for c in cases))
    lines += _explanations(exercise)
    return lines


def _row(exercise: ExerciseResult, check) -> str:
    single_function = len({c.function for c in exercise.checks}) == 1
    return check.quantity if single_function else f"{check.function}.{check.quantity}"


def _explanations(exercise: ExerciseResult) -> list[str]:
    """One line per failing quantity (its first failing case), and one line for all open TODOs."""
    todos, failing = [], {}
    for check in exercise.checks:
        row = _row(exercise, check)
        if check.status == NOT_IMPLEMENTED:
            if row not in todos:
                todos.append(row)
        elif check.status != PASSED:
            failing.setdefault(row, []).append(check)
    lines = []
    for row, checks in failing.items():
        first = checks[0]
        also = f" (also {', '.join(c.case for c in checks[1:])})" if len(checks) > 1 else ""
        lines.append(f"  {_UNICODE_SAFE(first.status)} {row} [{first.case}]{also}: {first.message}")
    if todos:
        lines.append(f"  TODO still None: {', '.join(todos)}")
    return lines


def _UNICODE_SAFE(status: str) -> str:
    return _marks()[status]

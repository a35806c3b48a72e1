"""The terminal view of a report: a grid of checks per exercise, then one line per failing quantity."""
from __future__ import annotations

import sys

from . import untrusted
from .checks import ERROR, NOT_IMPLEMENTED, PASSED, TIMEOUT
from .exercises import SIDE_EFFECTS
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
    # The report's texts are safe already; a report from anywhere else must not drive the terminal either.
    return untrusted.text("\n".join(lines), multiline=True)


def _exercise(exercise: ExerciseResult, marks: dict[str, str]) -> list[str]:
    head = f"{exercise.id} {exercise.title}"
    lines = [f"{head:<66} {_points(exercise.score):>5} / {_points(exercise.max_score)}"]
    if exercise.problem:
        lines.append(f"  {exercise.file or exercise.id}: {exercise.problem}")
    rows: dict[str, dict[str, str]] = {}
    graded = [check for check in exercise.checks if check.quantity != SIDE_EFFECTS]
    for check in graded:
        rows.setdefault(_row(exercise, check), {})[check.case] = check.status
    cases = list(dict.fromkeys(check.case for check in graded))
    width = max(len(row) for row in rows) + 2
    lines.append(" " * (width + 2) + "".join(f"{case:>10}" for case in cases))
    for row, statuses in rows.items():
        lines.append(f"  {row:<{width}}" + "".join(f"{marks[statuses[c]] if c in statuses else '':>10}" for c in cases))
    lines += _explanations(exercise)
    if exercise.pending_hidden:
        lines.append(f"  + {exercise.pending_hidden} hidden checks (other inputs and sizes) run when you submit")
    return lines


def _row(exercise: ExerciseResult, check) -> str:
    single_function = len({c.function for c in exercise.checks}) == 1
    return check.quantity if single_function else f"{check.function}.{check.quantity}"


def _explanations(exercise: ExerciseResult) -> list[str]:
    """One line per distinct reason: a failing quantity's first failing case, a shared exception once,
    all open TODOs together; nothing more when the whole file failed (its problem line says it)."""
    todos, failing, followed = [], {}, []
    for check in exercise.checks:
        row = _row(exercise, check)
        if check.follow_through and row not in followed:
            followed.append(row)
        if check.quantity == SIDE_EFFECTS:
            if check.status == "failed":
                failing.setdefault(row, []).append(check)
        elif check.status == NOT_IMPLEMENTED:
            todos.append(row) if row not in todos else None
        elif check.status != PASSED and not (exercise.problem and check.status in (ERROR, TIMEOUT)):
            failing.setdefault(row, []).append(check)
    by_message: dict[str, list[str]] = {}
    for row, checks in failing.items():
        first = checks[0]
        cases = ", ".join(c.case for c in checks)
        by_message.setdefault(f"{_marks()[first.status]} {{rows}} [{cases}]: {first.message}", []).append(row)
    lines = [f"  {template.replace('{rows}', ', '.join(rows))}" for template, rows in by_message.items()]
    if followed:
        lines.append(f"  ↪ follow-through: {', '.join(followed)} right given your own earlier values"
                     if _marks() is _UNICODE else f"  follow-through: {', '.join(followed)} right given your own earlier values")
    if todos:
        lines.append(f"  TODO still None: {', '.join(todos)}")
    return lines

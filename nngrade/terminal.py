"""The terminal view of a report: a grid of checks per exercise, then one line per failing quantity.

Every text taken from the report is cleaned again here (a report from anywhere else must not drive
the terminal either); colour, when asked for, is added afterwards, around our own marks only. The
marks fall back to ASCII where the console's encoding cannot show them (cp932, ASCII consoles).
"""
from __future__ import annotations

import codecs
import os
import sys
from dataclasses import dataclass

from . import untrusted
from .checks import ERROR, FAILED, NOT_IMPLEMENTED, PASSED, TIMEOUT
from .exercises import SIDE_EFFECTS
from .results import ExerciseResult, Report

_UNICODE = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⧗", "not_implemented": "·"}
_ASCII = {"passed": "ok", "failed": "X", "error": "!", "timeout": "T", "not_implemented": "."}
# ANSI colours of the marks, and of the "Likely mistake: ... Hint: ..." part of a line.
_COLOURS = {"passed": "32", "failed": "31", "error": "31", "timeout": "33", "not_implemented": "2"}
_DIAGNOSIS, _NOTE = "1;33", "36"
OUTPUT_LINES = 15   # of the student's own prints shown under a failing exercise (the report keeps more)


@dataclass(frozen=True)
class Style:
    """How the table is drawn: which marks (Unicode or ASCII) and whether with colour."""
    unicode: bool = True
    colour: bool = False

    @property
    def marks(self) -> dict[str, str]:
        return _UNICODE if self.unicode else _ASCII

    @property
    def dot(self) -> str:
        return "·" if self.unicode else "-"

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and text.strip() else text

    def mark(self, status: str, width: int = 0) -> str:
        mark = self.marks[status]
        return " " * max(width - len(mark), 0) + self.paint(mark, _COLOURS[status])


def style_for(stream=None, no_colour: bool = False) -> Style:
    """The style for `stream` (default stdout): colour only on a terminal, unless --no-color or NO_COLOR
    (https://no-color.org: any non-empty value) or TERM=dumb; Unicode marks only if its encoding has them."""
    stream = stream if stream is not None else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError, OSError):
        tty = False
    colour = (tty and not no_colour and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
              and _escapes_work(stream))
    return Style(unicode=can_encode(getattr(stream, "encoding", None), "".join(_UNICODE.values()) + "·↪…"),
                 colour=colour)


def _escapes_work(stream) -> bool:
    """ANSI colours work on POSIX terminals; a Windows console needs them switched on (else: no colour)."""
    if os.name != "nt":
        return True
    try:
        import ctypes
        import msvcrt
        kernel = ctypes.windll.kernel32
        handle = msvcrt.get_osfhandle(stream.fileno())
        mode = ctypes.c_uint32()
        return bool(kernel.GetConsoleMode(handle, ctypes.byref(mode))
                    and kernel.SetConsoleMode(handle, mode.value | 0x0004))   # ENABLE_VIRTUAL_TERMINAL_PROCESSING
    except (AttributeError, OSError, ValueError, ImportError):
        return False


def can_encode(encoding: str | None, text: str) -> bool:
    try:
        codecs.lookup(encoding or "ascii")
        text.encode(encoding or "ascii")
        return True
    except (LookupError, UnicodeError):
        return False


def _safe(value: object) -> str:
    return untrusted.text(value)


def _points(value: float) -> str:
    return f"{value:g}"


def render(report: Report, json_path: str | None = None, style: Style | None = None) -> str:
    style = style or style_for()
    header = f"nngrade {style.dot} seed {report.seed}"
    if report.data:
        header += f" {style.dot} data: {_safe(report.data['source'])} ({_safe(report.data['path'])})"
    lines = [header] + [f"note: {_safe(notice)}" for notice in report.notices]
    for exercise in report.exercises:
        lines += ["", *_exercise(exercise, style)]
    lines += ["", f"Total: {_points(report.score)} / {_points(report.max_score)}"
              + (f"    report: {_safe(json_path)}" if json_path else ""),
              "legend: " + "  ".join(f"{style.mark(s)} {s.replace('_', ' ')}" for s in style.marks)]
    text = "\n".join(lines)
    return text if style.unicode else _ascii(text)


def _ascii(text: str) -> str:
    # Our own glyphs have ASCII spellings; a student's text keeps what the console can show.
    return text.replace("…", "...").replace("↪", "->")


def _exercise(exercise: ExerciseResult, style: Style) -> list[str]:
    head = f"{exercise.id} {_safe(exercise.title)}"
    lines = [f"{head:<66} {_points(exercise.score):>5} / {_points(exercise.max_score)}"]
    if exercise.problem:
        lines.append(f"  {_safe(exercise.file or exercise.id)}: {_safe(exercise.problem)}")
    rows: dict[str, dict[str, str]] = {}
    graded = [check for check in exercise.checks if check.quantity != SIDE_EFFECTS]
    for check in graded:
        rows.setdefault(_row(exercise, check), {})[check.case] = check.status
    cases = list(dict.fromkeys(check.case for check in graded))
    width = max((len(row) for row in rows), default=0) + 2
    lines.append(" " * (width + 2) + "".join(f"{_safe(case):>10}" for case in cases))
    for row, statuses in rows.items():
        lines.append(f"  {_safe(row):<{width}}"
                     + "".join(style.mark(statuses[c], 10) if c in statuses else " " * 10 for c in cases))
    lines += _explanations(exercise, style)
    if exercise.pending_hidden:
        lines.append(f"  + {exercise.pending_hidden} hidden checks (other inputs and sizes) run when you submit")
    lines += _output(exercise)
    return lines


def _row(exercise: ExerciseResult, check) -> str:
    single_function = len({c.function for c in exercise.checks}) == 1
    return check.quantity if single_function else f"{check.function}.{check.quantity}"


def _explanations(exercise: ExerciseResult, style: Style) -> list[str]:
    """One line per distinct reason: a failing quantity's first failing case, a shared exception once,
    all open TODOs together; nothing more when the whole file failed (its problem line says it).
    The side-effect checks (0 points) are notes, never failures: a full-marks run must look like one."""
    todos, failing, followed, notes = [], {}, [], {}
    for check in exercise.checks:
        row = _row(exercise, check)
        if check.follow_through and row not in followed:
            followed.append(row)
        if check.quantity == SIDE_EFFECTS:
            # A side effect, or how the function was called (renamed parameters, float32): a note.
            # One whose calls all raised says what the value checks say already.
            if check.status in (PASSED, FAILED) and check.message:
                notes.setdefault(_safe(check.message), []).append(check.function)
        elif check.status == NOT_IMPLEMENTED:
            todos.append(row) if row not in todos else None
        elif check.status != PASSED and not (exercise.problem and check.status in (ERROR, TIMEOUT)):
            failing.setdefault(row, []).append(check)
    by_message: dict[tuple[str, str], list[str]] = {}
    for row, checks in failing.items():
        first = checks[0]
        cases = ", ".join(_safe(c.case) for c in checks)
        by_message.setdefault((first.status, f"[{cases}]: {_safe(first.message)}"), []).append(_safe(row))
    lines = [f"  {style.mark(status)} {', '.join(rows)} {_highlight(text, style)}"
             for (status, text), rows in by_message.items()]
    lines += [f"  {style.paint('note:', _NOTE)} {message}" for message in notes]
    if followed:
        arrow = "↪ " if style.unicode else ""
        lines.append(f"  {arrow}follow-through: {', '.join(map(_safe, followed))} right given your own earlier values")
    if todos:
        lines.append(f"  TODO still None: {', '.join(map(_safe, todos))}")
    return lines


def _highlight(text: str, style: Style) -> str:
    """The diagnosis ("Likely mistake: ... Hint: ...") stands out from the numbers that follow it."""
    start = text.find("Likely mistake:")
    if not style.colour or start < 0:
        return text
    hint = text.find("Hint:", start)
    end = text.find(". ", hint if hint >= 0 else start)
    end = len(text) if end < 0 else end + 1
    return text[:start] + style.paint(text[start:end], _DIAGNOSIS) + text[end:]


def _output(exercise: ExerciseResult) -> list[str]:
    """The student's own prints when a check of the exercise did not pass: how students debug. Capped."""
    shown_for = {FAILED, ERROR, TIMEOUT}
    if not exercise.output.strip() or not (exercise.problem or any(
            c.status in shown_for for c in exercise.checks if c.quantity != SIDE_EFFECTS)):
        return []
    printed = untrusted.text(exercise.output, 4000, multiline=True).rstrip("\n").split("\n")
    lines = ["  your output (print) while it was graded:"] + [f"  | {line}" for line in printed[:OUTPUT_LINES]]
    if len(printed) > OUTPUT_LINES:
        lines.append(f"  | ... {len(printed) - OUTPUT_LINES} more lines (the report's 'output' has them)")
    return lines

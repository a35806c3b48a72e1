"""The terminal view of a report: a grid of checks per exercise, then one line per failing quantity.

`exercise_view` is what is shown, as data; `render` draws it as text (the students' feedback pages of a
bulk run, nngrade.reports.writers.student_html, draw the same view as HTML).

Every text taken from the report is cleaned again here (a report from anywhere else must not drive
the terminal either); colour, when asked for, is added afterwards, around our own marks only. The
marks fall back to ASCII where the console's encoding cannot show them (cp932, ASCII consoles).
"""
from __future__ import annotations

import codecs
import os
import sys
from dataclasses import dataclass

from nngrade.run import untrusted
from nngrade.judge.checks import ERROR, FAILED, NOT_IMPLEMENTED, PASSED, TIMEOUT
from nngrade.judge.exercises import SIDE_EFFECTS
from nngrade.reports.results import ExerciseResult, Report, points

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


def render(report: Report, json_path: str | None = None, style: Style | None = None) -> str:
    style = style or style_for()
    header = f"nngrade {style.dot} seed {report.seed}"
    if report.data:
        header += f" {style.dot} data: {_safe(report.data['source'])} ({_safe(report.data['path'])})"
    lines = [header] + [f"note: {_safe(notice)}" for notice in report.notices]
    for exercise in report.exercises:
        lines += ["", *_exercise(exercise, style)]
    lines += ["", f"Total: {points(report.score)} / {points(report.max_score)}"
              + (f"    report: {_safe(json_path)}" if json_path else ""),
              "legend: " + "  ".join(f"{style.mark(s)} {s.replace('_', ' ')}" for s in style.marks)]
    text = "\n".join(lines)
    return text if style.unicode else _ascii(text)


def _ascii(text: str) -> str:
    # Our own glyphs have ASCII spellings; a student's text keeps what the console can show.
    return text.replace("…", "...").replace("↪", "->")


@dataclass(frozen=True)
class Explanation:
    """One line under an exercise's grid. `kind`: "failure" (with the status of its first failing case, the
    rows it is about and the message), "note" (a side effect or how the function was called), "follow"
    (rows right given the student's own earlier values) or "todo" (rows still None)."""
    kind: str
    rows: tuple[str, ...] = ()
    text: str = ""
    status: str | None = None


@dataclass(frozen=True)
class ExerciseView:
    """What the terminal shows of one exercise, as data: the terminal draws it as text, the student's
    feedback page (nngrade.reports.writers.student_html) as HTML. Every text in it is clean already."""
    head: str
    score: float
    max_score: float
    problem: str | None                     # "file: why it could not be graded", if so
    cases: tuple[str, ...]                  # the grid's columns
    rows: tuple[tuple[str, dict[str, str]], ...]   # the grid's rows: (row, case -> status)
    explanations: tuple[Explanation, ...]
    pending_hidden: int
    output: tuple[str, ...]                 # the student's prints shown (at most OUTPUT_LINES)
    output_more: int                        # lines of them not shown


def exercise_view(exercise: ExerciseResult, file_shown: str | None = None) -> ExerciseView:
    """`file_shown`: how to name the file in the problem line (default: as the report names it)."""
    problem = (f"{_safe(file_shown or exercise.file or exercise.id)}: {_safe(exercise.problem)}"
               if exercise.problem else None)
    rows: dict[str, dict[str, str]] = {}
    graded = [check for check in exercise.checks if check.quantity != SIDE_EFFECTS]
    for check in graded:
        rows.setdefault(_safe(_row(exercise, check)), {})[_safe(check.case)] = check.status
    printed, more = _output(exercise)
    return ExerciseView(head=f"{exercise.id} {_safe(exercise.title)}", score=exercise.score,
                        max_score=exercise.max_score, problem=problem,
                        cases=tuple(dict.fromkeys(_safe(check.case) for check in graded)),
                        rows=tuple(rows.items()), explanations=tuple(_explanations(exercise)),
                        pending_hidden=exercise.pending_hidden, output=printed, output_more=more)


def _exercise(exercise: ExerciseResult, style: Style) -> list[str]:
    view = exercise_view(exercise)
    lines = [f"{view.head:<66} {points(view.score):>5} / {points(view.max_score)}"]
    if view.problem:
        lines.append(f"  {view.problem}")
    width = max((len(row) for row, _ in view.rows), default=0) + 2
    lines.append(" " * (width + 2) + "".join(f"{case:>10}" for case in view.cases))
    for row, statuses in view.rows:
        lines.append(f"  {row:<{width}}"
                     + "".join(style.mark(statuses[c], 10) if c in statuses else " " * 10 for c in view.cases))
    lines += [explained(line, style) for line in view.explanations]
    if view.pending_hidden:
        lines.append(f"  + {view.pending_hidden} hidden checks (other inputs and sizes) run when you submit")
    if view.output:
        lines += ["  your output (print) while it was graded:"] + [f"  | {line}" for line in view.output]
        if view.output_more:
            lines.append(f"  | ... {view.output_more} more lines (the report's 'output' has them)")
    return lines


def explained(line: Explanation, style: Style) -> str:
    """One explanation line as the terminal shows it (the table's, and --watch's when it is new)."""
    if line.kind == "failure":
        return f"  {style.mark(line.status)} {', '.join(line.rows)} {_highlight(line.text, style)}"
    if line.kind == "note":
        return f"  {style.paint('note:', _NOTE)} {line.text}"
    if line.kind == "follow":
        arrow = "↪ " if style.unicode else ""
        return f"  {arrow}follow-through: {', '.join(line.rows)} right given your own earlier values"
    return f"  TODO still None: {', '.join(line.rows)}"


def _row(exercise: ExerciseResult, check) -> str:
    single_function = len({c.function for c in exercise.checks}) == 1
    return check.quantity if single_function else f"{check.function}.{check.quantity}"


def _explanations(exercise: ExerciseResult) -> list[Explanation]:
    """One line per distinct reason: a failing quantity's first failing case, a shared exception once,
    all open TODOs together; nothing more when the whole file failed (its problem line says it).
    The side-effect checks (0 points) are notes, never failures: a full-marks run must look like one."""
    todos, failing, followed, notes = [], {}, [], {}
    for check in exercise.checks:
        row = _safe(_row(exercise, check))
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
        by_message.setdefault((first.status, f"[{cases}]: {_safe(first.message)}"), []).append(row)
    lines = [Explanation("failure", tuple(rows), text, status) for (status, text), rows in by_message.items()]
    lines += [Explanation("note", text=message) for message in notes]
    if followed:
        lines.append(Explanation("follow", tuple(followed)))
    if todos:
        lines.append(Explanation("todo", tuple(todos)))
    return lines


def diagnosis(text: str) -> tuple[str, str, str]:
    """`text` cut around its diagnosis ("Likely mistake: ... Hint: ..."), which stands out from the numbers
    that follow it: (before, diagnosis, after); the diagnosis is "" when there is none."""
    start = text.find("Likely mistake:")
    if start < 0:
        return text, "", ""
    hint = text.find("Hint:", start)
    end = text.find(". ", hint if hint >= 0 else start)
    end = len(text) if end < 0 else end + 1
    return text[:start], text[start:end], text[end:]


def _highlight(text: str, style: Style) -> str:
    before, diagnosed, after = diagnosis(text)
    return before + style.paint(diagnosed, _DIAGNOSIS) + after if style.colour and diagnosed else text


def _output(exercise: ExerciseResult) -> tuple[tuple[str, ...], int]:
    """The student's own prints when a check of the exercise did not pass: how students debug. Capped:
    (the lines shown, how many more there are)."""
    shown_for = {FAILED, ERROR, TIMEOUT}
    if not exercise.output.strip() or not (exercise.problem or any(
            c.status in shown_for for c in exercise.checks if c.quantity != SIDE_EFFECTS)):
        return (), 0
    printed = untrusted.text(exercise.output, 4000, multiline=True).rstrip("\n").split("\n")
    return tuple(printed[:OUTPUT_LINES]), max(len(printed) - OUTPUT_LINES, 0)

"""Text and numbers that come from a submission, made safe once, where they enter the grader.

Everything a child reports (exception texts, type and quantity names, its own prints, its
timings) and every name taken from a class folder (folders, files, zip members, Canvas and
Gradescope names) passes through here before it reaches a report. Afterwards it holds no
lone surrogates (which no UTF-8 writer can encode), no terminal escape sequences or control
characters (which can clear a terminal or draw a fake total), no bidirectional overrides
(which reorder what is displayed), nothing XML cannot hold, and it has a bounded length.
Each writer still escapes for its own format (CSV formulas, HTML, XML, the terminal) by
calling `text` again without a limit: cleaning is idempotent.
"""
from __future__ import annotations

import math
import re

ELLIPSIS = "…"
REPLACEMENT = "\ufffd"

# Terminal escape sequences, removed whole: CSI (`ESC [ ... final`, also the one-byte C1 form),
# OSC/DCS/SOS/PM/APC strings up to their terminator (or to the end of the text), two-byte escapes.
_ESCAPE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
                     r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                     r"|\x1b[ -~]?")
_NEWLINES = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
# What no report shows as it is: C0 and C1 controls (tab and newline are dealt with above), DEL, lone
# surrogates, bidirectional embeddings, overrides and isolates, and the two XML-illegal noncharacters.
_UNSAFE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069\ufffe\uffff]")


def text(value: object, limit: int | None = None, multiline: bool = False) -> str:
    """`value` as safe text of at most `limit` characters (an ellipsis marks a cut).

    One line unless `multiline`: line breaks and tabs become spaces, so that a name or an exception
    message cannot start a line of its own in a terminal table. With `multiline`, line breaks of any
    kind become "\\n" and tabs stay.
    """
    raw = value if isinstance(value, str) else str(value)
    if raw.isascii() and raw.isprintable() and (limit is None or len(raw) <= limit):
        return raw   # printable ASCII (a quantity's name, most messages): nothing below could change it
    if limit is not None and len(raw) > 8 * limit + 64:
        raw = raw[:8 * limit + 64]   # the start is what is shown; no need to clean megabytes of it
    raw = _ESCAPE.sub("", raw)
    raw = _NEWLINES.sub("\n", raw)
    if not multiline:
        raw = raw.replace("\n", " ").replace("\t", " ")
    raw = _UNSAFE.sub(REPLACEMENT, raw)
    if limit is not None and len(raw) > limit:
        raw = raw[:max(limit - 1, 0)] + ELLIPSIS
    return raw


def seconds(value: object, bound: float = 86_400.0) -> float | None:
    """A duration a child reports about itself: a finite number of seconds in [0, bound], else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:   # an int beyond float's range
        return None
    return number if math.isfinite(number) and 0.0 <= number <= bound else None


def output(raw: bytes) -> str:
    """The student's own prints (already capped in bytes), as safe lines of text."""
    return text(raw.decode("utf-8", errors="replace"), multiline=True)

"""Values a child reports and names a class folder holds: made safe once where they enter (nngrade.run.untrusted),
whatever a hostile submission puts in them."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from nngrade.run import untrusted, wire
from nngrade.run.runner import RunResult, parse_events

# What XML 1.0 allows (its Char production), minus the controls a terminal obeys.
XML_CHAR = re.compile("[\u0009\u000a\u0020-\u007e\u00a0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
NASTY = [
    "\x1b[2J\x1b[HTotal: 20 / 20",                  # clear the screen, home the cursor, draw a total
    "fine\r\x1b[KTotal: 20 / 20",                     # return to the line's start and overwrite it
    "\x1b]0;pwned\x07title", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "\x9b2J", "\x1bc reset",
    "lone \ud800 and \udcff surrogates", "nul\x00 bell\x07 del\x7f c1\x85\x90",
    "bidi \u202eevil\u202c \u2066x\u2069", "\ufffe\uffff", "line\nTotal: 20 / 20\u2028x\u2029y\x0bz\x0cw",
    "\x1b[", "\x1b", "tab\there", "ok: ümlaut, 中文, emoji 🙂",
]


@pytest.mark.parametrize("raw", NASTY, ids=range(len(NASTY)))
@pytest.mark.parametrize("multiline", [False, True])
def test_cleaned_text_obeys_no_terminal_and_fits_every_format(raw, multiline):
    cleaned = untrusted.text(raw, multiline=multiline)
    assert XML_CHAR.fullmatch(cleaned), ascii(cleaned)
    cleaned.encode("utf-8")                                   # no surrogate left: every writer can encode it
    assert "\x1b" not in cleaned and "\r" not in cleaned
    assert ("\n" in cleaned) == (multiline and bool(re.search("[\n\r\x85\u2028\u2029\x0b\x0c]", raw)))
    assert untrusted.text(cleaned, multiline=multiline) == cleaned     # idempotent: writers clean again


def test_escape_sequences_go_whole_and_printable_text_stays():
    assert untrusted.text("\x1b[2J\x1b[1;31mred\x1b[0m") == "red"
    assert untrusted.text("a\x1b]0;title\x07b") == "ab"
    assert untrusted.text("ok: ümlaut, 中文, emoji 🙂") == "ok: ümlaut, 中文, emoji 🙂"
    assert untrusted.text("x\ud800y") == "x\ufffdy"
    assert untrusted.text("a\nb\tc") == "a b c" and untrusted.text("a\r\nb\rc", multiline=True) == "a\nb\nc"


def test_length_is_bounded_and_a_cut_is_marked():
    cleaned = untrusted.text("\x1b[2J" + "x" * 1_000_000, 300)
    assert len(cleaned) == 300 and cleaned.endswith(untrusted.ELLIPSIS)
    assert untrusted.text("short", 300) == "short"
    assert untrusted.text(12345, 3) == "12" + untrusted.ELLIPSIS


@pytest.mark.parametrize("value, expected", [
    (0.25, 0.25), (0, 0.0), (3, 3.0), (float("nan"), None), (float("inf"), None), (-1.0, None),
    (10 ** 400, None), ("0.5", None), (True, None), (None, None), ([1], None), (1e9, None)])
def test_a_childs_timing_is_a_sane_number_of_seconds_or_nothing(value, expected):
    assert untrusted.seconds(value) == expected


# --- wire: numbers no float64 can hold -----------------------------------------------------------

@pytest.mark.parametrize("value", [10 ** 400, -(10 ** 400), 2 ** 1024, 10 ** 5000], ids=["e400", "-e400", "2^1024", "e5000"])
def test_an_int_beyond_float_range_travels_as_an_invalid_value(value):
    message = json.loads(json.dumps(wire.encode(value)))
    decoded = wire.decode(message)
    assert isinstance(decoded, wire.Invalid) and "too large" in decoded.reason
    # a forged message carrying the int itself is refused the same way
    forged = wire.decode({"kind": "scalar", "type": "int", "value": 10 ** 400})
    assert isinstance(forged, wire.Invalid)


def test_ints_within_float_range_stay_ints():
    big = int(np.finfo(np.float64).max)
    assert wire.decode(wire.encode(big)) == big and wire.decode(wire.encode(2 ** 53 + 1)) == 2 ** 53 + 1
    with pytest.raises(wire.WireError):
        wire.decode({"kind": "scalar", "type": "float", "value": 10 ** 400})


# --- the child's events --------------------------------------------------------------------------

def _parsed(*events: dict | bytes, ids=(0,)) -> RunResult:
    result = RunResult()
    lines = [e if isinstance(e, bytes) else json.dumps(e).encode() for e in events]
    parse_events(b"\n".join(lines) + b"\n", set(ids), result)
    return result


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -5.0, 10 ** 400, "fast", [1], {"s": 1}, True])
def test_whatever_a_patched_clock_reports_the_results_still_count(seconds):
    value = {"kind": "scalar", "type": "float", "value": 0.5}
    result = _parsed({"event": "start"}, {"event": "import", "ok": True, "seconds": seconds},
                     {"event": "call", "id": 0, "ok": True, "values": {"error": value}, "seconds": seconds,
                      "mutated": [], "random_dependent": "yes"})
    assert result.protocol_error is None and result.started
    call = result.calls[0]
    assert call.values == {"error": 0.5} and call.seconds == 0.0 and call.random_dependent is False


def test_nan_literals_are_values_to_validate_not_a_broken_protocol():
    result = _parsed(b'{"event": "call", "id": 0, "ok": true, "seconds": NaN, '
                     b'"values": {"error": {"kind": "scalar", "type": "float", "value": NaN}}}')
    assert result.protocol_error is None and math.isnan(result.calls[0].values["error"])


def test_exception_texts_and_names_from_the_child_are_made_safe():
    hostile = "\x1b[2J\ud800" + "Total: 20 / 20\n" * 100_000
    result = _parsed({"event": "import", "ok": False,
                      "error": {"type": "\x1b[31mEvil\ud800", "message": hostile, "line": 10 ** 400,
                                "source": "x = 1\x00\r\x1b[K"}})
    error = result.import_error
    assert error["type"] == "Evil\ufffd" and error["line"] is None and error["source"] == "x = 1\ufffd "
    assert len(error["message"]) == 300 and "\n" not in error["message"] and "\x1b" not in error["message"]
    invalid = {"kind": "invalid", "type": "\x1b[2J\ud800Obj", "reason": "is \x07" + "x" * 10_000}
    result = _parsed({"event": "call", "id": 0, "ok": False, "values": {"err\x1bor\ud800": invalid},   # ESC o: an escape
                      "error": {"type": "E", "message": "m\ud800"}, "mutated": ["x\x1b[2J", 5]})
    call = result.calls[0]
    (name, value), = call.values.items()
    assert name == "errr\ufffd" and value.type_name == "\ufffdObj" and len(value.reason) == 200
    assert "\x07" not in value.reason and call.error["message"] == "m\ufffd" and call.mutated == ("x", "5")
    json.dumps([call.error, name, value.type_name, value.reason]).encode("utf-8")


@pytest.mark.parametrize("line", [
    b'{"event": "call", "id": true, "ok": true, "values": {}}',
    b'{"event": "call", "id": 0, "ok": true, "values": {}, "mutated": {"a": 1}}',
    b'{"event": "call", "id": 0, "ok": true, "values": {"q": {"kind": "scalar", "type": "float", "value": '
    + b"9" * 400 + b"}}}",
    b'{"event": "call", "id": 0, "ok": true, "values": {"q": {"kind": "scalar", "type": "int", "value": '
    + b"9" * 5000 + b"}}}",
    b'[[[[' * 100_000,
], ids=["bool-id", "mutated-object", "float-beyond-range", "int-of-5000-digits", "deep"])
def test_malformed_events_end_in_a_protocol_error_never_an_exception(line):
    result = _parsed(line)
    assert result.protocol_error and not result.calls

"""The child-process runner and the wire format: what a child sends is data, validated, capped, and the child is gone."""
from __future__ import annotations

import base64
import os
import time

import numpy as np
import pytest

from nngrade import wire
from nngrade.runner import Call, Limits, RunResult, _parse_events, run_file


@pytest.mark.parametrize("value", [np.arange(6.0).reshape(2, 3), np.array(2.5), np.array([1, 2, 3]),
                                   np.array([True, False]), 0.5, 3, float("nan")])
def test_wire_round_trip(value):
    back = wire.decode(wire.encode(value))
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(back, value.astype(float))
        assert back.dtype == np.float64
    elif isinstance(value, float) and np.isnan(value):
        assert np.isnan(back)
    else:
        assert back == value and type(back) is type(value)


@pytest.mark.parametrize("value, reason", [("abc", "not numbers"), ([1, None], "None"), (1 + 2j, "complex"),
                                           ([[1, 2], [3]], "cannot be read as numbers"), ([1, "a"], "not numbers")])
def test_wire_marks_non_numbers_invalid(value, reason):
    decoded = wire.decode(wire.encode(value))
    assert isinstance(decoded, wire.Invalid) and reason in decoded.reason


@pytest.mark.parametrize("message", [
    {"kind": "array", "shape": [2], "data": base64.b64encode(b"\0" * 8).decode()},       # too few bytes
    {"kind": "array", "shape": [10**7], "data": ""},                                   # too large
    {"kind": "array", "shape": [-1], "data": ""},
    {"kind": "array", "shape": [True], "data": ""},
    {"kind": "array", "shape": [1], "data": "!!!!"},
    {"kind": "scalar", "type": "float", "value": "1e999x"},
    {"kind": "pickle", "data": "gASV"},
    ["not", "a", "dict"],
])
def test_wire_rejects_malformed_messages(message):
    with pytest.raises(wire.WireError):
        wire.decode(message)


def test_malformed_result_lines_become_a_protocol_error():
    result = RunResult()
    _parse_events(b'{"event": "call", "id": 0, "ok": true, "values": {"q": {"kind": "array", "shape": [1], "data": NaN}}}\n',
                  {0}, result)
    assert result.protocol_error and not result.calls
    result = RunResult()
    _parse_events(b'{"event": "call", "id": 99, "ok": true, "values": {}}\n', {0}, result)
    assert result.protocol_error


def write(tmp_path, source: str):
    path = tmp_path / "sub.py"
    path.write_text(source)
    return path


def test_student_prints_are_captured_capped_and_never_read_as_results(tmp_path):
    path = write(tmp_path, '''
print('{"event": "call", "id": 0, "ok": true, "values": {"q": {"kind": "scalar", "type": "float", "value": 42.0}}}')
def f():
    print("x" * 100000)
    return {"q": 1.0}
''')
    result = run_file(path, [Call(0, "f", {}, ("q",))], Limits(timeout=5, output_bytes=1000))
    assert result.calls[0].values == {"q": 1.0}
    assert len(result.output) <= 1000 and result.output.startswith('{"event"')


def test_timeout_kills_the_whole_process_group(tmp_path):
    marker = tmp_path / "alive"
    path = write(tmp_path, f'''
import os, time, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time, pathlib\\nwhile True:\\n    pathlib.Path({str(marker)!r}).touch(); time.sleep(0.05)"])
def f():
    time.sleep(60)
''')
    started = time.monotonic()
    result = run_file(path, [Call(0, "f", {}, ("q",))], Limits(timeout=1.0))
    assert result.timed_out and 0 not in result.calls
    assert time.monotonic() - started < 5
    time.sleep(0.3)
    marker.unlink(missing_ok=True)
    time.sleep(0.3)
    assert not marker.exists(), "a process started by the submission outlived the grading"


def test_exit_at_import_is_an_error_not_a_pass(tmp_path):
    path = write(tmp_path, "import os\nos._exit(0)\n")
    result = run_file(path, [Call(0, "f", {}, ("q",))], Limits(timeout=5))
    assert not result.calls and not result.timed_out


def test_inputs_arrive_with_their_types(tmp_path):
    path = write(tmp_path, '''
def f(a, n, y):
    return {"q": float(type(n) is int and type(y) is float and a.shape == (2, 3))}
''')
    result = run_file(path, [Call(0, "f", {"a": np.zeros((2, 3)), "n": 5, "y": 0.5}, ("q",))])
    assert result.calls[0].values == {"q": 1.0}


def test_child_environment_is_scrubbed(tmp_path, monkeypatch):
    monkeypatch.setenv("NNGRADE_SECRET", "s3cret")
    path = write(tmp_path, '''
import os, sys
def f():
    return {"q": float("NNGRADE_SECRET" in os.environ), "p": float(sys.flags.isolated)}
''')
    result = run_file(path, [Call(0, "f", {}, ("q", "p"))])
    assert result.calls[0].values == {"q": 0.0, "p": 1.0}
    assert os.environ["NNGRADE_SECRET"] == "s3cret"

"""The child-process runner and the wire format: what a child sends is data, validated, capped, and the child is gone."""
from __future__ import annotations

import base64
import json
import os
import sys
import time
from contextlib import contextmanager

import numpy as np
import pytest

from helpers import REPO, run_cli

from nngrade.run import sandbox, users, wire
from nngrade.run.runner import Call, Limits, RunResult, parse_events, run_file


def isolation_levels() -> list:
    """The levels to test at: "process" always, "user" where the tests run as root, "bubblewrap" where this
    machine offers it. Use with `at_level`, which gives the --isolation to ask for."""
    reason = sandbox.unavailable_reason()
    return [sandbox.PROCESS,
            pytest.param(sandbox.USER, marks=pytest.mark.skipif(users.available() is not None,
                                                                reason=f"own users: {users.available()}")),
            pytest.param(sandbox.BUBBLEWRAP, marks=pytest.mark.skipif(reason is not None, reason=f"bubblewrap: {reason}"))]


@contextmanager
def at_level(level: str):
    """What to ask for to grade at `level`; as root, "process" is had only by taking the power to change user away
    (the plain process level of a student's laptop, which root would otherwise never get)."""
    with pytest.MonkeyPatch.context() as patch:
        if level == sandbox.PROCESS and users.available() is None:
            patch.setattr(users, "available", lambda: "the tests' plain process level")
        yield sandbox.BUBBLEWRAP if level == sandbox.BUBBLEWRAP else sandbox.PROCESS


@pytest.fixture
def plain_process():
    """The plain process level, even as root."""
    with at_level(sandbox.PROCESS) as requested:
        yield requested


needs_bubblewrap = pytest.mark.skipif(sandbox.unavailable_reason() is not None,
                                      reason=f"bubblewrap: {sandbox.unavailable_reason()}")


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
    parse_events(b'{"event": "call", "id": 0, "ok": true, "values": {"q": {"kind": "array", "shape": [1], "data": NaN}}}\n',
                  {0}, result)
    assert result.protocol_error and not result.calls
    result = RunResult()
    parse_events(b'{"event": "call", "id": 99, "ok": true, "values": {}}\n', {0}, result)
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


def test_timeout_kills_the_whole_process_group(tmp_path, plain_process):
    marker = tmp_path / "alive"
    path = write(tmp_path, f'''
import os, time, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time, pathlib\\nwhile True:\\n    pathlib.Path({str(marker)!r}).touch(); time.sleep(0.05)"])
def f():
    time.sleep(60)
''')
    started = time.monotonic()
    # At the process level: a sandboxed grandchild could not touch the marker at all.
    result = run_file(path, [Call(0, "f", {}, ("q",))], Limits(timeout=1.0, isolation=sandbox.PROCESS))
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


@pytest.mark.parametrize("level", isolation_levels())
def test_child_runs_under_resource_limits(tmp_path, level):
    with at_level(level) as requested:
        _check_resource_limits(tmp_path, level, requested)


def _check_resource_limits(tmp_path, level, requested):
    names = ("RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_CORE", "RLIMIT_NPROC")
    path = write(tmp_path, f'''
import resource
def f():
    return {{name: float(resource.getrlimit(getattr(resource, name))[1]) for name in {names!r}}}
''')
    limits = Limits(timeout=3, memory_bytes=2**30, file_bytes=2**20, processes=32, isolation=requested)
    result = run_file(path, [Call(0, "f", {}, names)], limits)
    assert result.isolation == level
    got = result.calls[0].values
    assert [got[name] for name in names[:4]] == [2**30, 2**20, 5, 0]
    if level != sandbox.PROCESS:   # where the child's user is its own, its process limit is too
        assert got["RLIMIT_NPROC"] == 32


@pytest.mark.parametrize("level", isolation_levels())
def test_writing_past_the_file_size_limit_fails(tmp_path, level):
    with at_level(level) as requested:
        _check_file_size_limit(tmp_path, requested)


def _check_file_size_limit(tmp_path, level):
    path = write(tmp_path, '''
import os, tempfile
def f():
    with open(os.path.join(tempfile.gettempdir(), "big"), "wb") as handle:
        handle.write(b"x" * 2**21)
    return {"q": 1.0}
''')
    result = run_file(path, [Call(0, "f", {}, ("q",))], Limits(timeout=5, file_bytes=2**20, isolation=level))
    assert "File too large" in result.calls[0].error["message"]   # Python ignores SIGXFSZ: the write raises


@needs_bubblewrap
def test_bubblewrap_hides_the_project_the_network_and_other_users_files(tmp_path):
    path = write(tmp_path, f'''
import os, socket
def can(action):
    try:
        action()
        return 1.0
    except OSError:
        return 0.0
def f():
    return {{"project": can(lambda: open({str(REPO / "reference" / "07_backpropagation.py")!r}).read()),
            "home": can(lambda: os.listdir(os.path.expanduser("~root"))),
            "network": can(lambda: socket.create_connection(("1.1.1.1", 53), timeout=1)),
            "usr": can(lambda: open("/usr/nngrade-was-here", "w")),
            "submission": can(lambda: open("sub.py", "a")),
            "folder": can(lambda: open("scratch", "w").write("fine")),
            "tmp": can(lambda: open("/tmp/scratch", "w").write("fine")),
            "root": float(os.getuid() == 0)}}
''')
    names = ("project", "home", "network", "usr", "submission", "folder", "tmp", "root")
    result = run_file(path, [Call(0, "f", {}, names)], Limits(timeout=5, isolation=sandbox.BUBBLEWRAP))
    assert result.calls[0].values == {**dict.fromkeys(names, 0.0), "folder": 1.0, "tmp": 1.0}


# A hundred sleeping processes where nothing bounds them; "q" says how many started, "uid" as whom.
FORKS_A_HUNDRED = '''
import os, time
def f():
    started = 0
    for _ in range(100):
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            started += 1
        except OSError:
            pass
    return {"q": float(started), "uid": float(os.getuid())}
'''


@needs_bubblewrap
def test_bubblewrap_bounds_the_number_of_processes(tmp_path):
    path = write(tmp_path, FORKS_A_HUNDRED)
    result = run_file(path, [Call(0, "f", {}, ("q",))], Limits(timeout=5, processes=16, isolation=sandbox.BUBBLEWRAP))
    assert 0 < result.calls[0].values["q"] < 16


def test_a_sandbox_that_never_starts_falls_back_to_the_process_level(tmp_path, monkeypatch, plain_process):
    monkeypatch.setattr(sandbox, "unavailable_reason", lambda: None)
    monkeypatch.setattr(sandbox, "bubblewrap_command", lambda *args: [sys.executable, "-c", "raise SystemExit(1)"])
    monkeypatch.setattr(sandbox, "_verdict", sandbox._Verdict())
    path = write(tmp_path, "def f():\n    return {'q': 2.0}\n")
    insisted = run_file(path, [Call(0, "f", {}, ("q",))], Limits(timeout=5, isolation=sandbox.BUBBLEWRAP))
    assert insisted.isolation == sandbox.BUBBLEWRAP and not insisted.started and not insisted.calls
    result = run_file(path, [Call(0, "f", {}, ("q",))], Limits(timeout=5))
    assert result.isolation == sandbox.PROCESS and result.calls[0].values == {"q": 2.0}
    monkeypatch.setattr(sandbox, "unavailable_reason", lambda: sandbox._verdict.failure)
    assert sandbox.choose(sandbox.AUTO) == sandbox.PROCESS


def test_insisting_on_bubblewrap_where_there_is_none_is_an_error(tmp_path, monkeypatch, plain_process):
    monkeypatch.setattr(sandbox, "_bwrap", lambda: None)
    with pytest.raises(sandbox.Unavailable, match="not installed"):
        run_file(write(tmp_path, ""), [], Limits(isolation=sandbox.BUBBLEWRAP))
    assert sandbox.choose(sandbox.AUTO) == sandbox.PROCESS


def test_report_claims_the_weakest_level_its_children_ran_at():
    assert sandbox.weakest([sandbox.BUBBLEWRAP, sandbox.BUBBLEWRAP]) == sandbox.BUBBLEWRAP
    assert sandbox.weakest([sandbox.BUBBLEWRAP, sandbox.PROCESS]) == sandbox.PROCESS
    assert sandbox.weakest([sandbox.BUBBLEWRAP, sandbox.USER]) == sandbox.USER
    assert sandbox.weakest([sandbox.USER, sandbox.PROCESS]) == sandbox.PROCESS
    assert sandbox.weakest([]) == sandbox.PROCESS


def test_a_file_past_the_size_limit_is_not_run(tmp_path):
    path = write(tmp_path, "raise SystemExit(3)\n" + "#" * 2000)
    result = run_file(path, [Call(0, "f", {}, ("q",))], Limits(source_bytes=1000))
    assert result.import_error["type"] == "FileTooLarge" and result.exit_code is None


@pytest.mark.parametrize("level", isolation_levels())
def test_flooding_the_result_pipe_is_cut_off(tmp_path, level):
    path = write(tmp_path, '''
import os, stat
def f():
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                while True:
                    os.write(fd, b"x" * 65536)
        except OSError:
            pass
''')
    started = time.monotonic()
    with at_level(level) as requested:
        result = run_file(path, [Call(0, "f", {}, ("q",))], Limits(timeout=10, result_bytes=2**20, isolation=requested))
    assert result.protocol_error == "sent more result data than allowed" and not result.timed_out
    assert time.monotonic() - started < 5


def test_the_thread_based_collector_of_windows_works_here_too(tmp_path):
    """Windows has no select() on pipes: the collector used there, driven on this machine."""
    import subprocess as sp
    import sys

    from nngrade.run.runner import CHILD, _collect_with_threads, child_env, encode_calls
    path = write(tmp_path, "def f(a):\n    print('hello')\n    return {'q': a * 2}\n")
    calls = [Call(0, "f", {"a": 2.0}, ("q",))]
    request = json.dumps({"file": str(path), "module": "submission", "calls": encode_calls(calls), "limits": {}}).encode()
    proc = sp.Popen([sys.executable, "-I", str(CHILD)], cwd=tmp_path, env=child_env(str(tmp_path)),
                    stdin=sp.PIPE, stdout=sp.PIPE, stderr=sp.PIPE)
    proc.stdin.write(request)
    proc.stdin.close()
    result = _collect_with_threads(proc, Limits(timeout=10), {0})
    assert result.calls[0].values == {"q": 4.0} and "hello" in result.output and not result.timed_out
    looping = write(tmp_path, "while True:\n    pass\n")
    proc = sp.Popen([sys.executable, "-I", str(CHILD)], cwd=tmp_path, env=child_env(str(tmp_path)),
                    stdin=sp.PIPE, stdout=sp.PIPE, stderr=sp.PIPE, start_new_session=True)
    proc.stdin.write(json.dumps({"file": str(looping), "module": "submission", "calls": [], "limits": {}}).encode())
    proc.stdin.close()
    assert _collect_with_threads(proc, Limits(timeout=1), set()).timed_out


def test_the_plain_process_level_says_once_what_it_does_not_contain(tmp_path, plain_process):
    from nngrade.cli import find_tasks
    from nngrade.judge.grading import grade
    from nngrade.reports.terminal import render
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "07_backpropagation.py").write_text((REPO / "reference" / "07_backpropagation.py").read_text())
    (folder / "06_forward_pass.py").write_text((REPO / "reference" / "06_forward_pass.py").read_text())
    report = grade(find_tasks(["06", "07"], True, folder), 3, None, str(folder), Limits(isolation=plain_process))
    assert report.isolation == sandbox.PROCESS and report.score == report.max_score
    said = [n for n in report.notices if "without a sandbox" in n]
    assert len(said) == 1 and "read and change your files" in said[0]
    assert render(report).count("without a sandbox") == 1


def test_a_fifo_named_like_an_exercise_is_refused_without_blocking(tmp_path):
    """Read by the grader itself: a FIFO (or a device) would block the read forever, or never end."""
    fifo = tmp_path / "07_backpropagation.py"
    os.mkfifo(fifo)
    result = run_file(fifo, [Call(0, "f", {}, ("q",))], Limits(timeout=5))
    assert result.import_error["type"] == "NotAFile" and not result.calls
    folder = run_cli("07", "--submission", str(tmp_path))
    single = run_cli("--submission", str(fifo))
    for done in (folder, single):
        assert done.returncode == 2 and done.stderr.startswith("error: ") and "regular file" in done.stderr


@needs_bubblewrap
def test_an_interpreter_run_by_a_relative_path_still_starts_in_the_sandbox(tmp_path):
    """`../venv/bin/python grade.py 07`: the path names folders (the project's) that the sandbox does not hold."""
    import subprocess
    python = os.path.relpath(sys.executable, REPO)
    assert ".." in python or not os.path.isabs(python)
    report = tmp_path / "report.json"
    done = subprocess.run([python, "grade.py", "07", "--submission", "reference/07_backpropagation.py", "--json",
                           str(report), "--isolation", "bubblewrap", "--seed", "3"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(report.read_text())["isolation"] == sandbox.BUBBLEWRAP

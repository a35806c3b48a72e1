"""Root without bubblewrap (Gradescope's containers): each child is a user of its own, walled off and swept.

Every test runs a student's file through both ways a file is run (a cold child, and a fork of
the warm server of bulk grading) at the "user" level, which the grader takes as root when
bubblewrap is not there. What the child reports about itself is the evidence; where that
could be forged, the test looks at the grader's side (files, processes) instead.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from helpers import REPO
from test_runner import FORKS_A_HUNDRED

from nngrade.run import sandbox, users
from nngrade.run.runner import Call, Limits, run_file
from nngrade.run.warm import ChildServer

pytestmark = pytest.mark.skipif(users.available() is not None, reason=f"own users: {users.available()}")
LIMITS = Limits(timeout=5, isolation=sandbox.PROCESS)   # as root: the "user" level


@pytest.fixture(scope="module")
def warm():
    with ChildServer(LIMITS) as server:
        yield server


@pytest.fixture(params=["cold", "warm"])
def run(request, warm):
    """Run a source's function `f` (quantities as named) at the user level, one way or the other."""
    def run_source(tmp_path: Path, source: str, quantities: tuple[str, ...], limits: Limits = LIMITS):
        path = tmp_path / "07_backpropagation.py"
        path.write_text(source)
        runner = run_file if request.param == "cold" else warm.run
        result = runner(path, [Call(0, "f", {}, quantities)], limits)
        assert result.isolation == sandbox.USER
        return result
    return run_source


def can(action: str) -> str:
    return f"_can(lambda: {action})"


PROBE_HEADER = '''
import os, signal, socket
def _can(action):
    try:
        action()
        return 1.0
    except Exception:
        return 0.0
'''


def test_the_child_cannot_reach_the_project_or_the_grader(run, tmp_path):
    config = REPO / "nngrade-autograder.json"
    checks = {
        "reference": can(f"open({str(REPO / 'reference' / '07_backpropagation.py')!r}).read()"),
        "graders": can(f"os.listdir({str(REPO / 'graders')!r})"),
        "plant_conftest": can(f"open({str(REPO / 'graders' / 'conftest.py')!r}, 'w')"),
        "write_checks": can(f"open({str(REPO / 'nngrade' / 'checks.py')!r}, 'a')"),
        "config": can(f"open({str(config)!r})"),
        "signal_grader": can(f"os.kill({os.getpid()}, 0)"),
        "become_root": can("os.setuid(0)"),
        "own_folder": can("open('scratch.txt', 'w').write('mine')"),
    }
    source = PROBE_HEADER + "def f():\n    return {" + ", ".join(f"{k!r}: {v}" for k, v in checks.items()) + ", " \
        "'uid': float(os.getuid()), 'no_new_privs': float(open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0])}\n"
    created = not config.exists()
    if created:
        config.write_text('{"seed": 1}\n')   # as in the Gradescope bundle: the class's seed beside the project
    try:
        result = run(tmp_path, source, (*checks, "uid", "no_new_privs"))
    finally:
        if created:
            config.unlink()
    values = result.calls[0].values
    assert {k: values[k] for k in checks} == {**dict.fromkeys(checks, 0.0), "own_folder": 1.0}
    assert values["uid"] in users.uid_range() and values["no_new_privs"] == 1.0
    assert not (REPO / "graders" / "conftest.py").exists()


def test_what_the_child_leaves_running_or_in_tmp_is_swept(run, tmp_path):
    token = "nnu-" + secrets.token_hex(5)
    source = f'''
import ctypes, os, time
def f():
    with open("/tmp/{token}", "w") as handle:
        handle.write("left behind")
    if os.fork() == 0:            # a daemon: its own session, then a second fork
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"{token}", 0, 0, 0)   # PR_SET_NAME: findable by the test
            end = time.time() + 30
            while time.time() < end:
                time.sleep(0.05)
        os._exit(0)
    time.sleep(0.2)
    return {{"q": float(os.getuid())}}
'''
    result = run(tmp_path, source, ("q",))
    uid = int(result.calls[0].values["q"])
    assert uid in users.uid_range()
    assert users.processes_of(uid) == [], "a process of the child's user outlived its grading"
    assert not Path(f"/tmp/{token}").exists()
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _name(p) == token]


def test_a_fork_bomb_is_bounded_by_the_users_own_process_limit(run, tmp_path):
    result = run(tmp_path, FORKS_A_HUNDRED, ("q", "uid"), Limits(timeout=5, processes=16, isolation=sandbox.PROCESS))
    assert 0 < result.calls[0].values["q"] < 16
    assert users.processes_of(int(result.calls[0].values["uid"])) == []


def test_two_children_at_once_never_share_a_user():
    held = []
    with users.claim() as first, users.claim() as second:
        held += [first, second]
        assert first != second
        assert os.path.exists(os.path.join(users._lock_folder(), str(first)))
    assert len(set(held)) == 2


def test_protect_takes_other_users_access_from_a_folder_however_it_is_named(tmp_path):
    folder, other, link = tmp_path / "class", tmp_path / "out", tmp_path / "link"
    for made in (folder, other):
        made.mkdir()
        os.chmod(made, 0o755)
    link.symlink_to(other)            # --out named through a link: the folder behind it is walled off
    assert users.protect([folder, link, tmp_path / "missing"]) == [str(folder), str(other)]
    assert os.stat(folder).st_mode & 0o777 == 0o750 and os.stat(other).st_mode & 0o777 == 0o750


def _name(proc: Path) -> str:
    """A live process's name ("" for one gone or a zombie: killed, waiting for its reaper)."""
    try:
        if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return ""
        return (proc / "comm").read_text().strip()
    except (OSError, IndexError):
        return ""


def test_a_python_out_of_other_users_reach_still_imports(run, tmp_path):
    """Here Python may live under /root (0700): the child keeps it reachable, so a student's imports work."""
    source = "import json, decimal, statistics, subprocess\ndef f():\n    return {'q': statistics.mean([1.0, 3.0])}\n"
    assert run(tmp_path, source, ("q",)).calls[0].values == {"q": 2.0}


def test_a_timed_out_child_leaves_nothing_running(run, tmp_path):
    token = "nnt-" + secrets.token_hex(5)
    source = f'''
import ctypes, os, time
def f():
    if os.fork() == 0:
        os.setsid()
        ctypes.CDLL(None).prctl(15, b"{token}", 0, 0, 0)
        time.sleep(30)
        os._exit(0)
    while True:
        pass
'''
    result = run(tmp_path, source, ("q",), Limits(timeout=1, isolation=sandbox.PROCESS))
    assert result.timed_out
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _name(p) == token]

"""The warm child server of bulk grading gives what a cold child gives, and one student's run leaves nothing for the next."""
from __future__ import annotations

import secrets

import numpy as np
import pytest

from nngrade.run import sandbox
from nngrade.data import load, sample_path
from nngrade.judge.exercises import EXERCISES
from nngrade.judge.grading import _prepare
from nngrade.judge.oracle import load_oracle
from nngrade.run.runner import Limits, run_file
from nngrade.run.warm import ChildServer

from helpers import REPO, edited_reference, reference_source
from test_runner import at_level, isolation_levels

LIMITS = Limits(timeout=5)


def calls(exercise_id: str):
    return list(_prepare(EXERCISES[exercise_id], 3, load(sample_path()), load_oracle(REPO)).calls)


@pytest.fixture(scope="module")
def server():
    with ChildServer(LIMITS) as warm:
        yield warm


def submit(server, tmp_path, exercise_id: str, source: str, limits: Limits = LIMITS):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{EXERCISES[exercise_id].stem}.py"
    path.write_text(source)
    return server.run(path, calls(exercise_id), limits), path


def same_values(a, b) -> bool:
    if a.calls.keys() != b.calls.keys():
        return False
    for key, call in a.calls.items():
        other = b.calls[key]
        if call.values.keys() != other.values.keys() or call.ok != other.ok or call.mutated != other.mutated:
            return False
        for name, value in call.values.items():
            if (value is None) != (other.values[name] is None) or (value is not None and not np.array_equal(value, other.values[name])):
                return False
    return True


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_warm_and_cold_children_give_the_same_results(server, tmp_path, exercise_id):
    source = reference_source(exercise_id)
    warm, path = submit(server, tmp_path, exercise_id, source)
    cold = run_file(path, calls(exercise_id), LIMITS)
    assert warm.started and warm.isolation == cold.isolation
    assert same_values(warm, cold) and len(warm.calls) == len(calls(exercise_id))


def test_an_exception_and_its_partial_values_come_through(server, tmp_path):
    source = edited_reference("07", "delta_w_i_h = learnrate * hidden_error_term * x[:, None]  # SOLUTION",
                              "delta_w_i_h = learnrate * hidden_error_term * x")
    warm, path = submit(server, tmp_path, "07", source)
    cold = run_file(path, calls("07"), LIMITS)
    assert same_values(warm, cold)
    assert any(c.error and c.error["type"] == "ValueError" for c in warm.calls.values())


def test_a_timeout_costs_that_file_only(server, tmp_path):
    looping, _ = submit(server, tmp_path / "a", "04", "def gradient_step(**kw):\n    while True:\n        pass\n",
                        Limits(timeout=1))
    assert looping.timed_out and not looping.calls
    after, _ = submit(server, tmp_path / "b", "04", reference_source("04"))
    assert len(after.calls) == len(calls("04")) and all(c.ok for c in after.calls.values())


@pytest.mark.parametrize("attack", ["import os\nos._exit(0)\n",
                                    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
                                    "import sys\nsys.stdout.write('{\"ready\": true}\\n')\nraise SystemExit(0)\n"])
def test_a_student_cannot_break_the_server_for_the_next(server, tmp_path, attack):
    hostile, _ = submit(server, tmp_path / "a", "06", attack)
    assert not hostile.calls
    after, _ = submit(server, tmp_path / "b", "06", reference_source("06"))
    assert len(after.calls) == len(calls("06")) and all(c.ok for c in after.calls.values())


def test_nothing_of_one_student_is_left_for_the_next(server, tmp_path):
    first = ("import os\nopen('secret.txt', 'w').write('answers')\nFOLDER = os.getcwd()\n"
             "def forward_pass(**kw):\n    return {'hidden_layer_in': float(len(FOLDER))}\n")
    submit(server, tmp_path / "a", "06", first)
    probe = ("import os, glob\n"
             "def forward_pass(**kw):\n"
             "    found = glob.glob('/tmp/**/secret.txt', recursive=True) + glob.glob('../*/secret.txt')\n"
             "    return {'hidden_layer_in': float(len(found))}\n")
    second, _ = submit(server, tmp_path / "b", "06", probe)
    assert all(c.values["hidden_layer_in"] == 0.0 for c in second.calls.values())


@pytest.mark.skipif(sandbox.unavailable_reason() is not None, reason="needs bubblewrap")
def test_an_escaped_process_is_killed_before_the_next_student(server, tmp_path):
    escape = ("import os, time\n"
              "if os.fork() == 0:\n    os.setsid()\n    time.sleep(30)\n    os._exit(0)\n"
              "def forward_pass(**kw):\n    return {}\n")
    submit(server, tmp_path / "a", "06", escape)
    probe = ("import os\n"
             "def forward_pass(**kw):\n"
             "    parent = os.getppid()\n"   # the handler; its parent is the server's template
             "    template = int(open(f'/proc/{parent}/stat').read().rsplit(')', 1)[1].split()[1])\n"
             "    mine = (1, os.getpid(), parent, template)\n"
             "    others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in mine]\n"
             "    return {'hidden_layer_in': float(len(others))}\n")
    second, _ = submit(server, tmp_path / "b", "06", probe)
    assert all(c.values["hidden_layer_in"] == 0.0 for c in second.calls.values())


NEEDS_BWRAP = pytest.mark.skipif(sandbox.unavailable_reason() is not None, reason="needs bubblewrap")
LEFTOVERS = {
    # A full /tmp (the sandbox's 64 MiB), so that the server could not lay out the next student's file.
    "fill_tmp": ("import os\n"
                 "try:\n"
                 "    with open('/tmp/fill', 'wb') as f:\n"
                 "        for _ in range(80):\n"
                 "            f.write(b'x' * 2**20)\n"
                 "except OSError:\n"
                 "    pass\n"),
    # A folder the server (root without CAP_DAC_OVERRIDE) cannot remove.
    "locked_folder": "import os\nos.makedirs('keep/inner')\nopen('keep/inner/f', 'w').write('x')\nos.chmod('keep', 0)\n",
    # Processes that keep changing their pid, to slip past a kill by list; each lives at most 3 s.
    "pid_hopper": ("import os, time\n"
                   "if os.fork() == 0:\n"
                   "    os.setsid()\n"
                   "    end = time.time() + 3\n"
                   "    while time.time() < end:\n"
                   "        if os.fork():\n"
                   "            os._exit(0)\n"
                   "    os._exit(0)\n"),
}


@NEEDS_BWRAP
@pytest.mark.parametrize("attack", list(LEFTOVERS))
def test_what_a_student_leaves_never_reaches_the_next(server, tmp_path, attack):
    submit(server, tmp_path / "a", "08", LEFTOVERS[attack])
    for student in ("b", "c"):
        after, _ = submit(server, tmp_path / student, "08", reference_source("08"))
        assert len(after.calls) == len(calls("08")) and all(c.ok for c in after.calls.values()), attack


MEMORY_PROBE = '''
import ctypes
def forward_pass(**kw):
    first, second = bytes.fromhex("{first}"), bytes.fromhex("{second}")   # the token in halves, never joined here
    found = 0.0
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:
        if not fields[1].startswith("rw") or (len(fields) > 5 and not fields[5].startswith("[")):
            continue     # the heap, the stack and anonymous memory: where a previous request would linger
        if len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]"):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        chunk = ctypes.string_at(start, end - start)
        at = chunk.find(first)
        while at >= 0:
            if chunk[at + len(first):at + len(first) + len(second)] == second:
                found = 1.0
            at = chunk.find(first, at + 1)
    return {{"hidden_layer_in": found}}
'''


@pytest.mark.parametrize("level", isolation_levels())
def test_no_child_finds_a_previous_students_source_or_results_in_its_memory(tmp_path, level):
    """Each child is forked from a template that never held a request: nothing of the last student is inherited."""
    token = "nnsecret-" + secrets.token_hex(12)
    victim = reference_source("06") + f"\nSECRET = {token!r}\nprint(SECRET)\n"
    half = len(token) // 2
    probe = MEMORY_PROBE.format(first=token[:half].encode().hex(), second=token[half:].encode().hex())
    with at_level(level) as requested, ChildServer(Limits(timeout=10, isolation=requested)) as warm:
        submit(warm, tmp_path / "victim", "06", victim, Limits(timeout=10, isolation=requested))
        result, _ = submit(warm, tmp_path / "probe", "06", probe, Limits(timeout=10, isolation=requested))
    assert result.calls and all(c.ok for c in result.calls.values()), result
    assert all(c.values["hidden_layer_in"] == 0.0 for c in result.calls.values())


def test_a_workers_warm_server_outlives_its_batches(tmp_path):
    """One server per worker for the whole run: the next batch is graded by the same (still living) server."""
    from nngrade.bulk import engine, ingest
    for name in ("a", "b"):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "06_forward_pass.py").write_text(reference_source("06"))
    submissions = {s.key: s for s in ingest.discover(tmp_path / "class")}
    engine.close_server()
    try:
        first = engine.grade_batch([engine.Job(submissions["a"], ("06",), 3, None, 5.0)])
        server = engine._server.proc
        assert server is not None
        second = engine.grade_batch([engine.Job(submissions["b"], ("06",), 3, None, 5.0)])
        assert engine._server.proc is server and server.poll() is None
        assert [o.report["score"] for o in first + second] == [o.report["max_score"] for o in first + second]
    finally:
        engine.close_server()


@pytest.mark.skipif(sandbox.unavailable_reason() is not None, reason="needs bubblewrap")
def test_a_python_under_tmp_does_not_make_every_file_restart_the_sandbox(tmp_path, monkeypatch):
    """A virtual environment under /tmp is mounted inside the sandbox's /tmp: that is not a student's leftover."""
    mounted = sandbox.mounted_in_scratch()   # the real ones too, where the tests' own Python is under /tmp
    monkeypatch.setattr(sandbox, "mounted_in_scratch", lambda: [*mounted, "/tmp/venv-of-the-grader"])
    original = sandbox.bubblewrap_command

    def with_python_under_tmp(*args):   # as bwrap lays out a venv under /tmp: a folder in the sandbox's /tmp
        command = original(*args)
        at = command.index("--chdir")
        return command[:at] + ["--dir", "/tmp/venv-of-the-grader"] + command[at:]
    monkeypatch.setattr(sandbox, "bubblewrap_command", with_python_under_tmp)
    with ChildServer(LIMITS) as warm:
        submit(warm, tmp_path / "a", "06", reference_source("06"))
        first = warm.proc
        assert first is not None and first.poll() is None   # kept after a clean file
        again, _ = submit(warm, tmp_path / "b", "06", reference_source("06"))
        assert warm.proc is first and all(c.ok for c in again.calls.values())


# --- a student's run: `python grade.py` grades on warm servers it starts before its own imports ---------------

_RECORD_SERVER_STARTS = """
import json, sys
sys.path.insert(0, {repo!r})
import nngrade.cli as cli
from nngrade.run import warm
started = []
original = warm.ChildServer.start
def start(self):
    started.append("numpy" in sys.modules)
    original(self)
warm.ChildServer.start = start
status = cli.main({argv!r})
print(json.dumps({{"status": status, "numpy_before": started}}))
"""


@pytest.mark.parametrize("ids, servers", [(["07"], 1), (["05", "07"], 2), ([], 5)])
def test_a_students_run_starts_its_servers_before_numpy_and_grades_on_them(tmp_path, ids, servers):
    """The servers come up while the grader imports numpy, pytest and the graders: as many as the files, at most
    one per core but the grader's own; every file is graded on them, and right files get full marks."""
    import json
    import os
    import subprocess
    import sys
    folder = tmp_path / "alice"
    folder.mkdir()
    for exercise_id in EXERCISES:
        (folder / f"{EXERCISES[exercise_id].stem}.py").write_text(reference_source(exercise_id))
    report_path = tmp_path / "report.json"
    argv = [*ids, "--submission", str(folder), "--json", str(report_path), "--seed", "3"]
    done = subprocess.run([sys.executable, "-c", _RECORD_SERVER_STARTS.format(repo=str(REPO), argv=argv)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    recorded = json.loads(done.stdout.strip().splitlines()[-1])
    report = json.loads(report_path.read_text())
    assert recorded["status"] == 0 and report["score"] == report["max_score"] > 0
    assert recorded["numpy_before"] == [False] * min(servers, max(1, (os.cpu_count() or 1) - 1))
    assert len(report["exercises"]) == (len(ids) or len(EXERCISES))


def test_a_students_run_whose_sandbox_never_starts_grades_without_it_and_says_so(tmp_path):
    """A bwrap that fails (Gradescope's containers have one that cannot start): the servers fall back to the process
    level, the files are graded all the same, and the report says the sandbox was not used."""
    import json
    import os
    import subprocess
    import sys
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    folder = tmp_path / "alice"
    folder.mkdir()
    for exercise_id in ("05", "07"):
        (folder / f"{EXERCISES[exercise_id].stem}.py").write_text(reference_source(exercise_id))
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([sys.executable, str(REPO / "grade.py"), "05", "07", "--submission", str(folder),
                           "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120, env=env)
    report = json.loads((tmp_path / "r.json").read_text())
    assert done.returncode == 0 and report["score"] == report["max_score"] > 0, done.stdout + done.stderr
    assert report["isolation"] in (sandbox.USER, sandbox.PROCESS)
    if sys.platform.startswith("linux"):   # elsewhere bubblewrap is never tried
        assert any("sandbox could not be used" in notice for notice in report["notices"])


@pytest.mark.skipif(sandbox.process_level() != sandbox.USER, reason="needs root: a user of its own per child")
def test_a_sandbox_that_falls_away_leaves_the_files_of_its_child_swept(tmp_path):
    """The user id is claimed while bubblewrap is the level, and the sandbox then fails to start: the file runs on
    this machine as that user after all, and what it leaves in /tmp is swept as at the user level."""
    import json
    import os
    import subprocess
    import sys
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    left = f"/tmp/nngrade-left-{secrets.token_hex(6)}"
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / f"{EXERCISES['07'].stem}.py").write_text(f"open({left!r}, 'w').close()\n" + reference_source("07"))
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        done = subprocess.run([sys.executable, str(REPO / "grade.py"), "07", "--submission", str(folder),
                               "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120,
                              env=env)
        report = json.loads((tmp_path / "r.json").read_text())
        assert report["isolation"] == sandbox.USER and report["score"] == 20, done.stdout + done.stderr
        assert not os.path.lexists(left)
    finally:
        if os.path.lexists(left):
            os.unlink(left)


def test_servers_that_cannot_all_start_leave_none_behind_and_cold_children_grade(tmp_path, monkeypatch):
    """The second server's process cannot be made (no process left, say): the first is stopped and its folder
    removed, and grade.py grades the files in cold children instead, with no traceback."""
    import json
    import subprocess
    from nngrade import cli
    from nngrade.run import warm
    started = []
    real_popen = subprocess.Popen

    def popen(command, *args, **kwargs):   # servers only (cold children are made by the same module)
        if "--serve" in command and len(started) == 1:
            raise OSError(11, "Resource temporarily unavailable")
        process = real_popen(command, *args, **kwargs)
        if "--serve" in command:
            started.append(process)
        return process
    monkeypatch.setattr(warm.subprocess, "Popen", popen)
    with pytest.raises(OSError):
        warm.Servers(2, Limits(isolation=sandbox.PROCESS))
    assert len(started) == 1 and started[0].poll() is not None   # killed and reaped
    folder = tmp_path / "alice"
    folder.mkdir()
    for exercise_id in ("05", "07"):
        (folder / f"{EXERCISES[exercise_id].stem}.py").write_text(reference_source(exercise_id))
    started.clear()
    status = cli.main(["05", "07", "--submission", str(folder), "--json", str(tmp_path / "r.json")])
    report = json.loads((tmp_path / "r.json").read_text())
    assert status == 0 and report["score"] == report["max_score"] > 0

"""Bulk grading under faults: nothing a fault outside the student's control does becomes a grade.

Each test breaks a run of a small class at a scripted moment (signals, kill -9 of a worker, of a
student's child, of the sandbox, a lock held, a full scratch disk, a lost batch.json, a file that
changes while it is graded) and then checks what the issue promises: every report equals the one
an uninterrupted run gives (scores and check statuses, not timings), and the re-run grades only
what was in flight or changed.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.classroom import reference_source, wrong_reference, write_all
from helpers import REPO, edited_reference
from nngrade import bulk
from nngrade.bulk import engine, ingest, ledger
from nngrade.run import sandbox, users
from nngrade.run.runner import RunResult
from nngrade.run.warm import SERVER_STOPPED

EXERCISES = ("04", "07")
SEED = "7"
SLEEP = 1.5   # seconds a slow student's 07 sleeps at import: a moment the tests can aim at


def make_class(folder: Path) -> None:
    """Six quick students (right and wrong) and three slow ones (right, sleeping at import), slow ones last."""
    for number in range(6):
        sources = {i: reference_source(i) if number % 2 == 0 else wrong_reference(i, number) for i in EXERCISES}
        write_all(folder / f"s{number}", sources)
    for number in range(3):
        write_all(folder / f"z-slow{number}", {"04": reference_source("04"),
                                              "07": f"import time\ntime.sleep({SLEEP})\n" + reference_source("07")})


# bulk refuses to fall back to the process level on its own: where bubblewrap is not here, say so
LEVEL = sandbox.BUBBLEWRAP if sandbox.unavailable_reason() is None else sandbox.PROCESS


def command(folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(REPO / "grade.py"), "bulk", str(folder), "--out", str(out), "--quiet",
            "--workers", "2", "--timeout", "6", "--seed", SEED, "--exercises", *EXERCISES, "--isolation", LEVEL,
            *extra]


def run(folder: Path, out: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command(folder, out, *extra), cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=env)


def grades(out: Path) -> dict[str, tuple]:
    """What a report decides, per student: the score and each check's status and score (no timings)."""
    result = {}
    for path in sorted((out / "reports").glob("*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        result[path.stem] = (report["score"], report["isolation"], tuple(
            (e["id"], c["name"], c["case"], c["status"], c["score"]) for e in report["exercises"] for c in e["checks"]))
    return result


def manifest(out: Path) -> dict[str, dict]:
    records = {}
    for line in (out / ledger.MANIFEST).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        records[record["student"]] = record
    return records


def stats(out: Path) -> dict[str, tuple[int, int]]:
    return {p.stem: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "reports").glob("*.json")}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The class, and the grades of one uninterrupted run: what every faulty run must end with."""
    root = tmp_path_factory.mktemp("faults")
    make_class(root / "class")
    done = run(root / "class", root / "clean")
    assert done.returncode == 0, done.stderr
    expected = grades(root / "clean")
    assert len(expected) == 9 and sum(score == 40 for score, _, _ in expected.values()) == 6   # 3 right, 3 slow
    return root / "class", expected


# --- processes of one run ----------------------------------------------------------------------

def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line), for every process we can see."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = (int(stat[stat.rindex(")") + 2:].split()[1]), cmdline)
    return found


def descendants(root: int) -> dict[int, tuple[int, str]]:
    """The processes under `root` (only ours: other runs on this machine are never touched)."""
    table = _processes()
    result, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, cmdline) in table.items():
            if ppid == parent and pid not in result:
                result[pid] = (ppid, cmdline)
                frontier.append(pid)
    return result


def start(folder: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(command(folder, out), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def wait_for(condition, process: subprocess.Popen, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert process.poll() is None, "the run ended before the moment the test aims at"
        time.sleep(0.03)
    raise AssertionError("the moment the test aims at never came")


def recorded(out: Path, count: int = 1):
    return lambda: (out / ledger.MANIFEST).exists() and len(manifest(out)) >= count


def workers(bulk_pid: int) -> list[int]:
    return [pid for pid, (ppid, cmdline) in descendants(bulk_pid).items()
            if ppid == bulk_pid and "multiprocessing" in cmdline]


def student_children(bulk_pid: int, alive_for: float, seen: dict[int, float]) -> list[int]:
    """Children forked by a warm server (a child.py whose parent is a child.py) alive for `alive_for` s."""
    table = descendants(bulk_pid)
    now = time.monotonic()
    result = []

    def python_child(cmdline: str) -> bool:   # not bwrap, whose arguments name child.py too
        return "child.py" in cmdline and not cmdline.split(" ")[0].endswith("bwrap")

    for pid, (ppid, cmdline) in table.items():
        if python_child(cmdline) and python_child(table.get(ppid, (0, ""))[1]):
            if now - seen.setdefault(pid, now) >= alive_for:
                result.append(pid)
    return result


def resumed(folder: Path, out: Path, expected: dict, done_before: set[str]) -> subprocess.CompletedProcess:
    """Re-run after a fault: everything graded, as an uninterrupted run; what was saved is not graded again."""
    before = stats(out)
    again = run(folder, out)
    assert again.returncode == 0, again.stderr
    assert grades(out) == expected
    after = stats(out)
    assert all(after[student] == before[student] for student in done_before)
    if done_before:
        assert f"{len(done_before)} of {len(expected)} submissions unchanged" in again.stdout, again.stdout
    return again


# --- signals to the bulk process ---------------------------------------------------------------

@pytest.mark.parametrize("how, status", [("TERM to the group", 143), ("HUP", 130), ("INT twice to the group", 130)])
def test_a_signal_stops_the_run_like_one_ctrl_c_and_a_rerun_finishes_it(clean, tmp_path, how, status):
    folder, expected = clean
    out = tmp_path / "out"
    process = start(folder, out)
    try:
        wait_for(recorded(out), process)
        if how == "HUP":
            os.kill(process.pid, signal.SIGHUP)
        elif how == "TERM to the group":
            os.killpg(process.pid, signal.SIGTERM)
        else:
            os.killpg(process.pid, signal.SIGINT)
            time.sleep(0.05)
            os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == status, stderr
    assert "interrupted" in stderr and "run the same command again" in stderr and "Traceback" not in stderr, stderr
    done = {student for student, record in manifest(out).items() if record["complete"]}
    assert done and len(done) < len(expected)
    assert all(grades(out)[student] == expected[student] for student in done)   # what was saved is right
    resumed(folder, out, expected, done)


# --- deaths the grader did not cause -----------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_worker_killed_by_any_signal_is_replaced_and_its_students_graded(clean, tmp_path, sig):
    folder, expected = clean
    out = tmp_path / "out"
    process = start(folder, out)
    try:
        wait_for(recorded(out), process)
        seen: dict[int, float] = {}
        wait_for(lambda: student_children(process.pid, 0.3, seen), process)   # a worker is busy with a slow one
        os.kill(workers(process.pid)[0], sig)
        stdout, stderr = process.communicate(timeout=180)    # and the run ends: no hang after the summary
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr
    assert grades(out) == expected
    assert "killed" not in json.dumps([json.loads(p.read_text()) for p in (out / "reports").glob("*.json")])
    assert all(record["complete"] for record in manifest(out).values())
    assert resumed(folder, out, expected, set(expected)).stdout.count("graded 0 submissions") == 1


def test_a_students_child_killed_from_outside_is_graded_again_not_given_zero(clean, tmp_path):
    folder, expected = clean
    out = tmp_path / "out"
    process = start(folder, out)
    try:
        seen: dict[int, float] = {}
        for victim in wait_for(lambda: student_children(process.pid, SLEEP / 3, seen), process):
            os.kill(victim, signal.SIGKILL)      # as the OOM killer or an operator would
        _, stderr = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr
    assert grades(out) == expected      # the slow student it hit has full marks, as in the clean run


@pytest.mark.skipif(LEVEL != sandbox.BUBBLEWRAP, reason="needs bubblewrap")
def test_a_sandbox_killed_midway_is_restarted_and_the_run_never_downgrades(clean, tmp_path):
    folder, expected = clean
    assert {level for _, level, _ in expected.values()} == {LEVEL}
    out = tmp_path / "out"
    process = start(folder, out)
    try:
        seen: dict[int, float] = {}
        wait_for(lambda: student_children(process.pid, SLEEP / 3, seen), process)
        for pid, (_, cmdline) in descendants(process.pid).items():
            if cmdline.split(" ")[0].endswith("bwrap"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        stdout, stderr = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr
    assert grades(out) == expected      # every report still at the bubblewrap level, none at 0 for it
    assert json.loads((out / "summary.json").read_text())["batch"]["isolation"] == "bubblewrap"


def test_a_submission_that_sigkills_itself_stays_ungraded_but_one_that_crashes_is_graded(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    write_all(folder / "good", {i: reference_source(i) for i in EXERCISES})
    write_all(folder / "selfkill", {"04": reference_source("04"),
                                   "07": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"})
    write_all(folder / "abort", {"04": reference_source("04"), "07": "import os\nos.abort()\n"})
    first = run(folder, out)
    assert first.returncode == 1, first.stderr
    assert "could not grade 1 submission (selfkill)" in first.stdout and "no 0 was recorded" in first.stdout
    records = manifest(out)
    assert records["selfkill"]["complete"] is False and records["good"]["complete"] and records["abort"]["complete"]
    rows = (out / "gradebook.csv").read_text(encoding="utf-8")
    assert "selfkill" not in rows and "good" in rows and "abort" in rows     # no 0 to import for it
    assert json.loads((out / "summary.json").read_text())["batch"]["not_graded"] == ["selfkill"]
    abort = json.loads((out / "reports" / "abort.json").read_text())
    assert _points(abort) == {"04": 20.0, "07": 0.0}     # 07 crashed (SIGABRT): its own doing, a grade
    again = run(folder, out)
    assert "graded 1 submission " in again.stdout and again.returncode == 1   # only the ungraded one is retried


def test_outside_causes_are_told_from_the_students():
    assert engine.outside_cause(RunResult(exit_code=-9)) is not None               # OOM killer, operator
    assert engine.outside_cause(RunResult(protocol_error=SERVER_STOPPED)) is not None
    assert engine.outside_cause(RunResult(protocol_error="the grading server did not start")) is not None
    assert engine.outside_cause(RunResult(exit_code=-9, timed_out=True)) is None   # the time limit: ours to send
    assert engine.outside_cause(RunResult(exit_code=-9, protocol_error="sent more result data than allowed")) is None
    for code in (-11, -6, -24, -25, -15, 1, 0):     # a crash, abort, CPU and file limits, its own signal or exit
        assert engine.outside_cause(RunResult(exit_code=code)) is None


# --- the output folder -------------------------------------------------------------------------

def test_a_second_run_on_the_same_out_is_refused_and_a_stale_lock_is_taken_over(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    write_all(folder / "a", {"04": reference_source("04")})
    with ledger.Lock(out):
        second = run(folder, out)
        assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
        assert f"pid {os.getpid()} on {socket.gethostname()}" in second.stderr and str(out) in second.stderr
        assert not (out / "reports").exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / ledger.LOCK).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    assert run(folder, out).returncode == 0        # a dead run's lock on this host: taken over
    assert not (out / ledger.LOCK).exists()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ledger.LOCK).write_text(json.dumps({"pid": alive.pid, "host": socket.gethostname()}))
        refused = run(folder, out, "--force")
        assert refused.returncode == 2 and f"pid {alive.pid}" in refused.stderr, refused.stderr
    finally:
        alive.kill()
        alive.wait()


def _tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_full_scratch_disk_leaves_a_student_ungraded_not_wrong(tmp_path):
    scratch = tmp_path / "tiny"
    if not _tmpfs(scratch, "600k"):
        pytest.skip("needs root and a tmpfs mount")
    try:
        folder, out = tmp_path / "class", tmp_path / "out"
        for name in ("a", "b", "big"):
            write_all(folder / name, {i: reference_source(i) for i in EXERCISES})
        (folder / "big" / "attachments.zip").write_bytes(os.urandom(1_000_000))  # fits the class, not the scratch
        clean = run(folder, tmp_path / "clean")
        assert clean.returncode == 0, clean.stderr
        full = run(folder, out, env={**os.environ, "TMPDIR": str(scratch)})
        assert full.returncode == 1, full.stderr
        assert "could not grade 1 submission (big)" in full.stdout
        assert manifest(out)["big"]["complete"] is False
        assert "No space left" in (out / "reports" / "big.json").read_text()
        again = run(folder, out)
        assert again.returncode == 0 and "graded 1 submission " in again.stdout, again.stdout
        assert grades(out) == grades(tmp_path / "clean")
    finally:
        subprocess.run(["umount", str(scratch)], capture_output=True)


@pytest.mark.parametrize("damage", ["deleted", "truncated", "without its seed", "deleted with the manifest"])
def test_a_lost_batch_json_never_changes_the_seed_or_the_exercises(clean, tmp_path, damage):
    folder, expected = clean
    out = tmp_path / "out"
    shutil.copytree(folder.parent / "clean", out)
    before = stats(out)
    if damage == "truncated":
        (out / ledger.BATCH).write_text('{"seed": ')
    elif damage == "without its seed":
        (out / ledger.BATCH).write_text(json.dumps({"exercises": list(EXERCISES), "timeout": 6}))
    else:
        (out / ledger.BATCH).unlink()
    if damage == "deleted with the manifest":
        (out / ledger.MANIFEST).unlink()
    bare = [sys.executable, str(REPO / "grade.py"), "bulk", str(folder), "--out", str(out), "--quiet", "--isolation", LEVEL]
    again = subprocess.run(bare, cwd=REPO, capture_output=True, text=True, timeout=300)
    if damage == "deleted with the manifest":    # the reports say seed and exercises, not the time limit
        assert again.returncode == 2 and "--timeout" in again.stderr and again.stderr.count("\n") == 1, again.stderr
        again = subprocess.run(bare + ["--timeout", "6"], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
        assert f"seed {SEED}" in again.stdout and "recovered from" in again.stdout
        assert grades(out) == expected       # graded again (nothing recorded them), with the same settings
        return
    assert again.returncode == 0, again.stderr
    assert f"seed {SEED}" in again.stdout and "recovered from" in again.stdout and "graded 0 submissions" in again.stdout
    assert stats(out) == before and grades(out) == expected
    assert json.loads((out / ledger.BATCH).read_text())["seed"] == int(SEED)


def test_reports_that_disagree_on_the_seed_make_the_rerun_ask(tmp_path):
    out = tmp_path / "out"
    (out / "reports").mkdir(parents=True)
    for name, seed in (("a", 1), ("b", 2)):
        (out / "reports" / f"{name}.json").write_text(json.dumps({"seed": seed, "exercises": [{"id": "04"}]}))
    (tmp_path / "class").mkdir()
    result = subprocess.run([sys.executable, str(REPO / "grade.py"), "bulk", str(tmp_path / "class"), "--out", str(out),
                             "--isolation", LEVEL], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "different seed" in result.stderr and "--seed" in result.stderr, result.stderr


# --- what is graded: a snapshot -----------------------------------------------------------------

def _job(folder: Path) -> engine.Job:
    submission = next(s for s in ingest.discover(folder.parent) if s.key == folder.name)
    return engine.Job(submission, EXERCISES, int(SEED), None, 6.0, isolation=sandbox.PROCESS)


def _points(report: dict) -> dict[str, float]:
    return {e["id"]: e["score"] for e in report["exercises"]}


def test_a_file_rewritten_after_the_snapshot_does_not_change_what_is_graded(tmp_path, monkeypatch):
    student = tmp_path / "class" / "ada"
    write_all(student, {i: reference_source(i) for i in EXERCISES})
    job = _job(student)
    original = ingest.content_hash(job.submission)
    collect = ingest.collect

    def rewrite_then_collect(submission, scratch, *args, **kwargs):   # between the snapshot and the grading
        write_all(student, {"07": "def forward(*a):\n    return None\n"})
        return collect(submission, scratch, *args, **kwargs)

    monkeypatch.setattr(ingest, "collect", rewrite_then_collect)
    outcome = engine.grade_batch([job])[0]
    assert outcome.failure is None
    assert _points(outcome.report) == {"04": 20.0, "07": 20.0}       # the version that was snapshot, whole
    assert outcome.content == original != ingest.content_hash(job.submission)   # the manifest will say which
    assert outcome.report["exercises"][1]["file"] == str(student / "07_backpropagation.py")   # shown as submitted


def test_a_file_changing_while_it_is_copied_or_a_vanished_folder_is_not_graded(tmp_path, monkeypatch):
    student = tmp_path / "class" / "bob"
    write_all(student, {i: reference_source(i) for i in EXERCISES})
    job = _job(student)
    copy = engine._copy_regular

    def copy_then_change(path, target):
        copy(path, target)
        path.write_text(path.read_text() + "\n# edited\n")

    monkeypatch.setattr(engine, "_copy_regular", copy_then_change)
    outcome = engine.grade_batch([job])[0]
    assert outcome.report is None and "changed while" in outcome.failure
    monkeypatch.undo()
    shutil.rmtree(student)
    outcome = engine.grade_batch([job])[0]
    assert outcome.report is None and "gone" in outcome.failure


# --- what decides a grade ----------------------------------------------------------------------

def test_the_grader_version_covers_every_file_that_decides_a_grade(tmp_path, monkeypatch):
    for folder in ("nngrade", "graders", "reference", "data"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "README.md").write_text("readme")
    monkeypatch.setattr(ledger, "REPO", tmp_path)
    version = ledger.grader_version()
    for name in ("graders/lesson.py", "nngrade/judge/derive.py", "nngrade/judge/feedback.py", "nngrade/judge/checks.py",
                 "nngrade/judge/exercises.py", "nngrade/run/child.py", "graders/test_07_backpropagation.py",
                 "reference/07_backpropagation.py", "data/admissions_sample.csv"):
        path = tmp_path / name
        saved = path.read_bytes()
        path.write_bytes(saved + b"\n")
        assert ledger.grader_version() != version, name
        path.write_bytes(saved)
    (tmp_path / "README.md").write_text("changed")
    assert ledger.grader_version() == version


def test_the_data_notice_depends_on_the_file_not_on_how_it_was_chosen():
    from nngrade.data import default_path, sample_path
    if default_path().exists():
        pytest.skip("data/binary.csv is here: the default is the real file")
    first = bulk.resolve_data(None, ["05"])             # a first run: no --data, the sample
    rerun = bulk.resolve_data(Path(first[0]), ["05"])   # a re-run: the last run's file
    explicit = bulk.resolve_data(sample_path(), ["05"])
    assert first == rerun == explicit and len(first[2]) == 1 and "synthetic sample" in first[2][0]
    assert bulk.resolve_data(None, ["04"]) == (None, {}, ())


# --- isolation -----------------------------------------------------------------------------------

def test_without_bubblewrap_bulk_refuses_auto_and_names_the_process_level(tmp_path, monkeypatch, capsys):
    folder, out = tmp_path / "class", tmp_path / "out"
    write_all(folder / "a", {"04": reference_source("04")})
    monkeypatch.setattr(sandbox, "_bwrap", lambda: None)      # as in a container without bwrap
    monkeypatch.setattr(users, "available", lambda: "not root")   # and without root: nothing would contain it
    assert bulk.main([str(folder), "--out", str(out), "--exercises", "04", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--isolation process" in error and "bwrap is not installed" in error
    assert not (out / "reports").exists()
    code = bulk.main([str(folder), "--out", str(out), "--exercises", "04", "--quiet", "--isolation", "process",
                      "--workers", "1"])
    said = capsys.readouterr().out
    assert code == 0, said
    assert "isolation process" in said.splitlines()[0] and "without the bubblewrap sandbox" in said
    assert json.loads((out / "summary.json").read_text())["batch"]["isolation"] == "process"
    assert "isolation process" in (out / "summary.html").read_text()


@pytest.mark.skipif(users.available() is not None, reason=f"own users: {users.available()}")
def test_as_root_without_bubblewrap_bulk_grades_each_file_as_a_user_of_its_own(tmp_path, monkeypatch, capsys):
    folder, out = tmp_path / "class", tmp_path / "out"
    write_all(folder / "a", {"04": reference_source("04")})
    monkeypatch.setattr(sandbox, "_bwrap", lambda: None)      # Gradescope-like: root, no bwrap
    code = bulk.main([str(folder), "--out", str(out), "--exercises", "04", "--quiet", "--workers", "1"])
    said = capsys.readouterr().out
    assert code == 0, said
    assert "isolation user" in said.splitlines()[0] and "a user id of its own" in said
    assert json.loads((out / "summary.json").read_text())["batch"]["isolation"] == "user"
    report = json.loads((out / "reports" / "a.json").read_text())
    assert report["isolation"] == "user" and report["score"] == report["max_score"]
    assert not os.stat(folder).st_mode & 0o007 and not os.stat(out).st_mode & 0o007   # walled off from children


# --- failures that never end a run, nor become a grade (in this process, with a stand-in pool) ----

def _in_process_pool(fail_with=None):
    """pool.run without workers: each job graded here, or failing as a dead worker would (`fail_with`)."""
    def run(function, jobs, workers):
        for job in jobs:
            yield (job, None, fail_with) if fail_with is not None else (job, function(job), None)
    return run


class _BrokenSandbox:
    """A warm server whose sandbox no longer starts, as when bubblewrap breaks during a run."""

    def run(self, path, calls, limits):
        return RunResult(protocol_error="the grading server did not start", isolation=sandbox.BUBBLEWRAP)


@pytest.mark.skipif(LEVEL != sandbox.BUBBLEWRAP, reason="needs bubblewrap")
def test_a_sandbox_that_stops_working_midway_leaves_students_ungraded_and_says_so(tmp_path, monkeypatch, capsys):
    folder, out = tmp_path / "class", tmp_path / "out"
    for name in ("a", "b"):
        write_all(folder / name, {"04": reference_source("04")})
    monkeypatch.setattr(bulk.pool, "run", _in_process_pool())
    monkeypatch.setattr(engine, "_warm_server", lambda limits: _BrokenSandbox())
    assert bulk.main([str(folder), "--out", str(out), "--exercises", "04", "--quiet", "--seed", "3"]) == 1
    said = capsys.readouterr()
    assert said.err.count("the bubblewrap sandbox stopped working") == 1 and "run the same command again" in said.err
    assert "could not grade 2 submissions" in said.out
    assert all(record["complete"] is False for record in manifest(out).values())
    assert (out / "gradebook.csv").read_text(encoding="utf-8").count("\n") == 2     # header and points only
    summary = json.loads((out / "summary.json").read_text())
    assert summary["batch"]["not_graded"] == ["a", "b"] and summary["students"] == 0
    report = json.loads((out / "reports" / "a.json").read_text())
    assert "not graded: the grading server did not start" in report["notices"][-1]


def test_a_worker_that_dies_every_time_leaves_the_student_ungraded_never_zero(tmp_path, monkeypatch, capsys):
    from nngrade.bulk import pool
    folder, out = tmp_path / "class", tmp_path / "out"
    write_all(folder / "a", {"04": reference_source("04")})
    monkeypatch.setattr(bulk.pool, "run", _in_process_pool(fail_with=pool.KILLED))
    code = bulk.main([str(folder), "--out", str(out), "--exercises", "04", "--quiet", "--isolation", LEVEL])
    assert code == 1
    assert manifest(out)["a"]["complete"] is False
    assert "died twice" in (out / "reports" / "a.json").read_text()
    assert "\na," not in (out / "gradebook.csv").read_text(encoding="utf-8")
    monkeypatch.undo()      # the machine is well again: the next run grades it, alone
    capsys.readouterr()
    assert bulk.main([str(folder), "--out", str(out), "--quiet", "--isolation", LEVEL, "--workers", "1"]) == 0
    assert "graded 1 submission " in capsys.readouterr().out
    assert json.loads((out / "reports" / "a.json").read_text())["score"] == 20.0


def test_a_grader_error_leaves_that_student_ungraded_and_the_classmate_graded(tmp_path, monkeypatch, capsys):
    """A bug in the grader's own code while judging one student is not that student's 0: the next run retries."""
    from test_judging_trust import _break_the_diagnosis
    folder, out = tmp_path / "class", tmp_path / "out"
    write_all(folder / "alice", {"07": reference_source("07")})
    write_all(folder / "bob", {"07": edited_reference("07", "error = target - output  # SOLUTION", "error = output - target")})
    monkeypatch.setattr(bulk.pool, "run", _in_process_pool())
    _break_the_diagnosis(monkeypatch)     # only a wrong value reaches the mistakes' variants
    assert bulk.main([str(folder), "--out", str(out), "--exercises", "07", "--quiet", "--seed", "3",
                      "--isolation", LEVEL]) == 1
    assert "could not grade 1 submission" in capsys.readouterr().out
    records = manifest(out)
    assert records["alice"]["complete"] is True and records["bob"]["complete"] is False
    assert json.loads((out / "reports" / "alice.json").read_text())["score"] == 20
    assert "\nbob," not in (out / "gradebook.csv").read_text(encoding="utf-8")
    monkeypatch.undo()    # the grader is fixed: the next run grades bob, and only bob
    assert bulk.main([str(folder), "--out", str(out), "--quiet", "--isolation", LEVEL, "--workers", "1"]) == 0
    assert "graded 1 submission " in capsys.readouterr().out
    assert manifest(out)["bob"]["complete"] is True


def test_a_folder_the_grader_cannot_list_leaves_the_student_ungraded_not_zero(tmp_path, monkeypatch):
    """A listing error (permissions, I/O) is the grader's to fix: grading what is left would give a 0."""
    write_all(tmp_path / "class" / "alice", {"07": reference_source("07")})
    (tmp_path / "class" / "alice" / "07_backpropagation.py").rename(tmp_path / "class" / "alice" / "sub.py")
    (tmp_path / "class" / "alice" / "sub").mkdir()
    (tmp_path / "class" / "alice" / "sub.py").rename(tmp_path / "class" / "alice" / "sub" / "07_backpropagation.py")
    submission = ingest.discover(tmp_path / "class")[0]
    listing = ingest.os.scandir

    def unlistable(path):
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)
    monkeypatch.setattr(ingest.os, "scandir", unlistable)
    (outcome,) = engine.grade_batch([engine.Job(submission, ("07",), 3, None, 5.0)])
    assert outcome.failure and "could not be read for grading" in outcome.failure

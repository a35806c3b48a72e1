"""The hostile-submission corpus (tests/hostile/): every file attacks the grader, and none earns what it did not compute.

The corpus is graded like a class folder, one student after another, with correct
submissions in between, once per isolation level this machine offers ("process"
everywhere, "user" as root, "bubblewrap" where bwrap is installed). For each file: its
score stays within what it earned, every check has a status from the expected set, the
report written afterwards is the grader's, nothing it started is still running, and the
correct submissions graded after it still get full marks. Each file says the weakest
level that holds it (`contained`): "process" for what any child process holds; "user"
for what a user id of the child's own holds (reading the project, lifting limits,
escaping the process group, killing the grader: root without bubblewrap); "bubblewrap"
for what only the sandbox holds (the network). Below that level a file is never run.
README.md, "Security model", says what each level holds.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from helpers import REPO, SAMPLE_DATA, run_cli
from test_runner import at_level, isolation_levels
from test_writers import write_every_format

from nngrade.run import sandbox
from nngrade.run import untrusted
from nngrade.judge.checks import ERROR, FAILED, NOT_IMPLEMENTED, PASSED, TIMEOUT
from nngrade.judge.exercises import EXERCISES
from nngrade.reports.writers import summary_html
from nngrade.reports.report import write_json
from nngrade.run.runner import Limits

CORPUS = Path(__file__).with_name("hostile")
HANG_SECONDS = 0.5      # the time limit for files expected to hang: each costs this much
QUICK_SECONDS = 8.0     # for the others, which end well before it
CORRECT_EVERY = 5       # a correct submission after every few hostile ones
BULK_SECONDS = 2.0      # the time limit of every file in the bulk run (one limit for the whole class)
ALL = ["04", "05", "06", "07", "08"]


@dataclass(frozen=True)
class Hostile:
    statuses: frozenset[str]        # every check of the file that is worth points ends in one of these
    max_score: float = 0.0
    contained: str = sandbox.PROCESS   # the weakest isolation level that holds it (nngrade.run.sandbox.LEVELS)
    problem: str = ""               # found in the exercise's problem line, if given
    beside: tuple[str, ...] = ()    # files from hostile/beside/ put next to the submission
    pad_to: int = 0                 # bytes the file is padded to with comments
    message: str = ""               # found in the message of its first check, if given
    exercise: str = "07"            # the exercise the file is graded as
    traces: tuple[str, ...] = ()    # paths (globs, __TOKEN__ for its token) that must not exist once graded
    settle: float = 0.0             # seconds to wait before looking for traces (a survivor writes them late)

    @property
    def hangs(self) -> bool:
        return self.statuses == {TIMEOUT}

    def held_at(self, level: str) -> bool:
        return sandbox.LEVELS.index(level) >= sandbox.LEVELS.index(self.contained)


def expect(*statuses: str, **kwargs) -> Hostile:
    return Hostile(frozenset(statuses), **kwargs)


HOSTILE = {
    "exit_import_sys": expect(ERROR, problem="SystemExit"),
    "exit_import_os": expect(ERROR),
    "exit_import_raise": expect(ERROR, problem="SystemExit"),
    "exit_function_sys": expect(ERROR),
    "exit_function_os": expect(ERROR),
    "exit_function_raise": expect(ERROR),
    "loop_import": expect(TIMEOUT, problem="time limit"),
    "loop_function": expect(TIMEOUT),
    "sleep_function": expect(TIMEOUT),
    "ignore_signals": expect(TIMEOUT),
    "memory_bomb": expect(ERROR, message="MemoryError"),
    "lift_limits": expect(ERROR, contained=sandbox.USER, message="not allowed to raise"),
    "fork_bomb": expect(TIMEOUT, contained=sandbox.USER),
    "process_pool": expect(ERROR, contained=sandbox.USER, message="Resource temporarily unavailable"),
    "setsid_escape": expect(NOT_IMPLEMENTED, ERROR, contained=sandbox.USER),
    "print_gigabytes": expect(TIMEOUT),
    "huge_file": expect(ERROR, message="File too large"),
    "fake_output": expect(NOT_IMPLEMENTED, ERROR),
    "forge_channel": expect(FAILED, ERROR),
    "write_report": expect(NOT_IMPLEMENTED, ERROR),
    "read_reference": expect(ERROR, contained=sandbox.USER),
    "import_reference": expect(ERROR, contained=sandbox.USER, message="Error at line"),   # the file is unreadable or absent
    "write_grader": expect(ERROR, contained=sandbox.USER),
    "kill_grader": expect(ERROR, NOT_IMPLEMENTED, contained=sandbox.USER),   # EPERM as root; ignored by a namespace's init
    "network": expect(ERROR, contained=sandbox.BUBBLEWRAP, message="Network is unreachable"),
    "patch_numpy": expect(FAILED),
    "always_equal": expect(FAILED, ERROR),
    "array_subclass": expect(FAILED),
    "nan_inf": expect(FAILED, ERROR),
    "mutate_inputs": expect(FAILED),
    "beside_files": expect(NOT_IMPLEMENTED, beside=("numpy.py", "conftest.py", "sitecustomize.py")),
    "syntax_error": expect(ERROR, problem="SyntaxError"),
    "empty": expect(ERROR),
    "non_utf8": expect(ERROR, problem="SyntaxError"),
    "huge_source": expect(ERROR, problem="limit", pad_to=50_000_000),
    "segfault": expect(ERROR, message="exit code -11"),
    "deep_recursion": expect(ERROR, message="exit code -11"),
    "huge_int": expect(FAILED, message="too large for a number"),
    "lone_surrogate": expect(FAILED, ERROR),
    "terminal_escapes": expect(ERROR, message="raised Loud"),
    "patch_clock": expect(PASSED, max_score=20.0),       # a correct solution: its patched clocks cost it nothing
    "forge_values": expect(FAILED, ERROR, NOT_IMPLEMENTED),
    "huge_int_plain": expect(FAILED),
    # Values near 1e-14, new on every case, of the right shapes: they earn what zeros earn (nothing here).
    **{f"farm_tiny_{exercise}": expect(FAILED, exercise=exercise) for exercise in ALL},
    # Weights handed back unchanged beside a step that is informative but too small to move them.
    "farm_passthrough_05": expect(FAILED, ERROR, exercise="05"),
    "farm_passthrough_08": expect(FAILED, ERROR, exercise="08"),
    # Found by the hostile hunt (HUNT.md): what the user level and the sweep do not hold yet.
    "zombie_leader": expect(NOT_IMPLEMENTED, ERROR, contained=sandbox.USER, traces=("/tmp/__TOKEN__-survived",),
                            settle=3.5),
    "steal_next": expect(NOT_IMPLEMENTED, ERROR, contained=sandbox.USER, traces=("/tmp/__TOKEN__-stolen-*",)),
    "leave_shared_memory": expect(NOT_IMPLEMENTED, ERROR, contained=sandbox.USER, traces=("/run/lock/__TOKEN__",)),
    "reach_home": expect(ERROR, contained=sandbox.USER, message="nothing beyond the Python installation"),
    "leak_hidden_inputs": expect(ERROR, exercise="05"),
    "read_git_history": expect(ERROR, contained=sandbox.USER, message="no git history in reach"),
    "read_classmates": expect(NOT_IMPLEMENTED, ERROR, contained=sandbox.USER),
    "deep_folders": expect(NOT_IMPLEMENTED, ERROR, contained=sandbox.USER, traces=("/tmp/__TOKEN__-deep",)),
}


def test_every_corpus_file_has_its_expectation():
    assert sorted(p.stem for p in CORPUS.glob("*.py")) == sorted(HOSTILE)
    assert len(HOSTILE) >= 25


@dataclass
class Graded:
    report: object
    written: dict               # the report file as the grader left it
    leftovers: list[str]        # processes of the submission still alive after grading, and its traces
    crashed: str | None = None  # the grader's own exception while grading it (never acceptable)


@dataclass
class ClassRun:
    hostile: dict[str, Graded]
    correct: list[object]       # reports of the correct submissions graded in between


@pytest.fixture(scope="module", params=isolation_levels())
def class_run(request, tmp_path_factory) -> ClassRun:
    """Grade the whole corpus at one isolation level, as a class folder, in a loop."""
    level = request.param
    folder = tmp_path_factory.mktemp(f"class-{level}")
    hostile, correct = {}, []
    only = os.environ.get("NNGRADE_HOSTILE_ONLY")   # e.g. "zombie_leader,steal_next": a quicker run while hunting
    runnable = [name for name, item in HOSTILE.items() if item.held_at(level) and (not only or name in only.split(","))]
    with at_level(level) as requested:
        for number, name in enumerate(runnable):
            if number % CORRECT_EVERY == 0:
                correct.append(_grade_correct(folder / f"correct-{number}", ["07"] if number else ALL, requested))
            hostile[name] = _grade_hostile(name, HOSTILE[name], folder / name, requested)
        correct.append(_grade_correct(folder / "correct-last", ALL, requested))
    return ClassRun(hostile, correct)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_submission_earns_nothing_it_did_not_compute(class_run, name, request):
    level = request.node.callspec.params["class_run"]
    item = HOSTILE[name]
    if name not in class_run.hostile:
        pytest.skip(f"held only at the {item.contained} level: not run at the {level} level")
    graded = class_run.hostile[name]
    assert graded.crashed is None, f"the grader itself raised: {graded.crashed}"
    assert not graded.leftovers, f"still running or left behind after grading: {graded.leftovers}"
    report, exercise = graded.report, graded.report.exercises[0]
    assert report.isolation == level
    assert report.score <= item.max_score, _summary(exercise)
    statuses = {check.status for check in exercise.checks if check.max_score > 0}   # side effects: 0 points
    assert statuses <= item.statuses, _summary(exercise)
    assert all(check.message for check in exercise.checks if check.status != "passed")
    assert item.problem in (exercise.problem or ""), exercise.problem
    assert item.message in exercise.checks[0].message, exercise.checks[0].message
    assert len(exercise.output) <= Limits().output_bytes
    assert graded.written["score"] == report.score and "forged" not in graded.written
    _assert_safe_texts(report)


def _assert_safe_texts(report) -> None:
    """What a submission put in the report's texts is safe already: one line where one is expected, no escapes,
    control characters or lone surrogates, bounded; the student's prints may keep their lines."""
    for exercise in report.exercises:
        assert untrusted.text(exercise.output, multiline=True) == exercise.output
        for text in (exercise.problem or "", exercise.file or "", *(c.message for c in exercise.checks)):
            assert untrusted.text(text) == text and len(text) < 5000, ascii(text[:300])
    assert all(untrusted.text(notice) == notice for notice in report.notices)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_format_of_a_hostile_report_validates(class_run, name, tmp_path):
    if name not in class_run.hostile:
        pytest.skip(f"held only at the {HOSTILE[name].contained} level: not run at this one")
    if class_run.hostile[name].report is None:
        pytest.fail(f"the grader itself raised: {class_run.hostile[name].crashed}")
    student = {"id": name, "name": name, "email": "", "canvas_id": "", "sis_id": ""}
    write_every_format(class_run.hostile[name].written, student, tmp_path)


def test_correct_submissions_graded_between_hostile_ones_get_full_marks(class_run):
    assert len(class_run.correct) >= (2 if os.environ.get("NNGRADE_HOSTILE_ONLY") else 3)
    for report in class_run.correct:
        assert report.score == report.max_score > 0, [_summary(e) for e in report.exercises]


def test_bulk_grading_a_class_of_the_corpus_and_correct_submissions(tmp_path):
    """`grade.py bulk` on a mixed class folder, at the level it picks itself: full marks where earned, else nothing."""
    level = sandbox.choose(sandbox.AUTO)
    names = [name for name, item in HOSTILE.items()
             if item.held_at(level) and item.exercise == "07"]   # the class is graded on 07
    folder, out = tmp_path / "class", tmp_path / "graded"
    students, tokens = {}, []
    for number, name in enumerate(names):
        if number % CORRECT_EVERY == 0:
            students[f"s{number:02d}-correct"] = None
            shutil.copytree(REPO / "reference", folder / f"s{number:02d}-correct")
        student = f"s{number:02d}-{name}"
        students[student] = HOSTILE[name]
        tokens.append(_stage(name, HOSTILE[name], folder / student, out / "reports" / f"{student}.json"))
    done = run_cli("bulk", str(folder), "--out", str(out), "--exercises", "07", "--timeout", str(BULK_SECONDS),
                   "--seed", "7", "--workers", "2", "--quiet", "--formats", "gradescope,lti,junit",
                   "--isolation", sandbox.BUBBLEWRAP if level == sandbox.BUBBLEWRAP else sandbox.PROCESS)
    assert done.returncode in (0, 1), done.stderr
    assert not untrusted_terminal_text(done.stdout + done.stderr)
    time.sleep(max([item.settle for item in students.values() if item] + [0.0]))
    leftovers = [found for (token, item) in zip(tokens, [HOSTILE[name] for name in names])
                 for found in _leftovers(token) + _traces(item, token)] + _kernel_leftovers()
    assert not leftovers, f"still running or left behind after grading: {leftovers}"
    for student, item in students.items():
        report = json.loads((out / "reports" / f"{student}.json").read_text())
        if item is None:
            assert report["score"] == report["max_score"] == 20 and report["isolation"] == level, student
        else:
            statuses = {c["status"] for e in report["exercises"] for c in e["checks"] if c["max_score"] > 0}
            assert report["score"] <= item.max_score and statuses <= item.statuses | {TIMEOUT}, (student, statuses)
            assert "forged" not in report
    _assert_class_outputs_validate(out, list(students))


def untrusted_terminal_text(text: str) -> list[str]:
    """Characters a terminal would obey, in what the grader printed."""
    return [c for c in text if c not in "\n\t" and untrusted.text(c, multiline=True) != c]


def _assert_class_outputs_validate(out: Path, students: list[str]) -> None:
    import csv
    import io

    import jsonschema
    import xmlschema

    from test_writers import CONTROL, _schema
    report_schema, lti_schema = _schema("report.schema.json"), _schema("lti-ags-score.schema.json")
    gradescope_schema = _schema("gradescope-results.schema.json")
    junit_schema = xmlschema.XMLSchema(str(REPO / "nngrade" / "schema" / "junit.xsd"))
    for student in students:
        jsonschema.validate(json.loads((out / "reports" / f"{student}.json").read_text(encoding="utf-8")), report_schema)
        jsonschema.validate(json.loads((out / "gradescope" / f"{student}.json").read_text(encoding="utf-8")),
                            gradescope_schema)
        jsonschema.validate(json.loads((out / "lti" / f"{student}.json").read_text(encoding="utf-8")), lti_schema)
        junit_schema.validate(str(out / "junit" / f"{student}.xml"))
    rows = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 2 + len(students) and not any(CONTROL.search(cell) for row in rows for cell in row)
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert page.count("<script") == page.count(summary_html.SCRIPT_ELEMENT) == 1   # our own, sorting the table
    assert not CONTROL.search(page.replace("\n", ""))


def _stage(name: str, item: Hostile, folder: Path, report_path: Path) -> str:
    """The corpus file as a student's folder (with its neighbours); returns the token its processes carry."""
    token = "nnh-" + secrets.token_hex(5)       # 14 characters: fits a process name
    folder.mkdir(parents=True)
    source = (CORPUS / f"{name}.py").read_bytes()
    source = source.replace(b"__TOKEN__", token.encode()).replace(b"__REPORT__", str(report_path).encode())
    if item.pad_to:
        source += b"# padding\n" * ((item.pad_to - len(source)) // 10 + 1)
    (folder / f"{EXERCISES[item.exercise].stem}.py").write_bytes(source)
    for extra in item.beside:
        shutil.copyfile(CORPUS / "beside" / f"{extra}.txt", folder / extra)
    return token


def _grade_hostile(name: str, item: Hostile, folder: Path, level: str) -> Graded:
    report_path = folder.parent / f"{name}.json"
    token = _stage(name, item, folder, report_path)
    try:
        report = _grade(folder, [item.exercise], Limits(timeout=HANG_SECONDS if item.hangs else QUICK_SECONDS,
                                                        isolation=level))
    except Exception as exc:   # noqa: BLE001 - the grader's own failure is this file's finding, not the run's end
        time.sleep(item.settle)
        return Graded(None, {}, _leftovers(token) + _traces(item, token) + _kernel_leftovers(),
                      crashed=f"{type(exc).__name__}: {str(exc)[:200]}")
    write_json(report, report_path)     # as grade.py does, once the child is gone
    time.sleep(item.settle)
    leftovers = _leftovers(token) + _traces(item, token) + _kernel_leftovers()
    return Graded(report, json.loads(report_path.read_text()), leftovers)


def _traces(item: Hostile, token: str) -> list[str]:
    """What the file says only a survivor (or a sweep that missed something) leaves: found, then removed."""
    import glob
    import subprocess
    found = []
    for pattern in item.traces:
        for path in glob.glob(pattern.replace("__TOKEN__", token)):
            found.append(path)
            subprocess.run(["rm", "-rf", path], check=False)   # rm, not rmtree: a trace may be 3000 levels deep
    return found


def _kernel_leftovers() -> list[str]:
    """System V IPC objects (shared memory, message queues, semaphores) owned by a child's user id: they outlive
    every process, so the sweep must remove them; found, then removed."""
    import subprocess
    from nngrade.run import users
    if users.available() is not None or users.uid_range() is None:
        return []
    found = []
    for kind, flag in (("shm", "-m"), ("msg", "-q"), ("sem", "-s")):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        header = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[0].split()
        for line in lines:
            fields = dict(zip(header, line.split()))
            if int(fields.get("uid", -1)) in users.uid_range():
                found.append(f"System V {kind} {fields.get('key')} of user {fields['uid']}")
                subprocess.run(["ipcrm", flag, fields[{"shm": "shmid", "msg": "msqid", "sem": "semid"}[kind]]],
                               check=False, capture_output=True)
    return found


def _grade_correct(folder: Path, ids: list[str], level: str):
    folder.mkdir()
    for path in (REPO / "reference").glob("0*.py"):
        shutil.copyfile(path, folder / path.name)
    return _grade(folder, ids, Limits(isolation=level))


def _grade(folder: Path, ids: list[str], limits: Limits):
    from nngrade.cli import find_tasks
    from nngrade.data import load
    from nngrade.judge.grading import grade
    return grade(find_tasks(ids, True, folder), 7, load(SAMPLE_DATA), submission=str(folder), limits=limits)


def _leftovers(token: str, patience: float = 3.0) -> list[str]:
    """Processes named or started with the token: given a moment to die (a sandbox is torn down asynchronously),
    the survivors are reported, and killed so that a failing test leaves nothing behind."""
    deadline = time.monotonic() + patience
    while True:
        found = _processes_with(token)
        if not found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for pid in found:
        try:
            os.kill(int(pid.split()[0]), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return found


def _processes_with(token: str) -> list[str]:
    found = []
    if not Path("/proc").is_dir():
        return found    # macOS: the time limit and the process group still apply, this check does not
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if (token in name or token in command) and ("zombie" not in state or _threads_alive(entry)):
            found.append(f"{entry.name} {name} {command[:80]}")
    return found


def _threads_alive(entry: Path) -> bool:
    """A zombie leader can hide a process whose other threads still run: it is alive if any of them is."""
    try:
        return any((task / "stat").read_bytes().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
                   for task in (entry / "task").iterdir())
    except (OSError, IndexError):
        return False


def _summary(exercise) -> str:
    lines = [f"{exercise.id}: {exercise.score}/{exercise.max_score} problem={exercise.problem!r}"]
    lines += [f"  {c.name}: {c.status} {c.message[:120]}" for c in exercise.checks]
    return "\n".join(lines)


@pytest.mark.skipif(__import__("nngrade.run.users").run.users.available() is not None, reason="needs root: the user level")
def test_bulk_at_the_user_level_keeps_classmates_out_of_reach(tmp_path):
    """`grade.py bulk --isolation process` as root (the user level, warm servers): a student's code must not read
    a classmate's file, outlive its sweep or leave kernel objects behind, and the classmates keep full marks."""
    folder, out = tmp_path / "class", tmp_path / "graded"
    attackers = ["steal_next", "zombie_leader", "leave_shared_memory"]
    tokens = {name: _stage(name, HOSTILE[name], folder / f"a-{name}", out / "reports" / f"a-{name}.json")
              for name in attackers}
    classmates = [f"v{number:02d}" for number in range(20)]   # more than one batch: both workers grade at once
    for student in classmates:
        (folder / student).mkdir(parents=True)
        secret = f"# the private work of {student}\n".encode()
        (folder / student / "07_backpropagation.py").write_bytes(
            secret + (REPO / "reference" / "07_backpropagation.py").read_bytes())
    done = run_cli("bulk", str(folder), "--out", str(out), "--exercises", "07", "--timeout", str(BULK_SECONDS),
                   "--seed", "7", "--workers", "2", "--quiet", "--isolation", sandbox.PROCESS)
    assert done.returncode in (0, 1), done.stderr
    time.sleep(max(HOSTILE[name].settle for name in attackers))
    left = [found for name, token in tokens.items() for found in _leftovers(token) + _traces(HOSTILE[name], token)]
    left += _kernel_leftovers()
    told = json.loads((out / "reports" / "a-steal_next.json").read_text())["exercises"][0]["output"]
    assert "the private work of" not in told, f"a child read classmates graded meanwhile: {told[:300]}"
    assert not left, f"read from classmates, still running or left behind: {left}"
    for student in classmates:
        report = json.loads((out / "reports" / f"{student}.json").read_text())
        assert report["score"] == report["max_score"] == 20 and report["isolation"] == sandbox.USER, student


@pytest.mark.skipif(__import__("nngrade.run.users").run.users.available() is not None, reason="needs root: the user level")
@pytest.mark.parametrize("named", ["directly", "through_a_link", "out_through_a_link"])
def test_bulk_walls_off_the_class_folder_however_it_is_named(named):
    """`grade.py bulk latest` where `latest` links to the export: the export itself must be out of the children's
    reach, as it is when named directly (a submission finds it on grade.py's command line)."""
    import tempfile
    top = Path(tempfile.mkdtemp(prefix="nngrade-hunt-"))   # not under pytest's 0700 folder: as an instructor's are
    try:
        _grade_class_named(top, named)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _grade_class_named(tmp_path: Path, named: str) -> None:
    real, out = tmp_path / "2026-12-01-export", tmp_path / "graded"
    _stage("read_classmates", HOSTILE["read_classmates"], real / "a-reader", out / "reports" / "a-reader.json")
    secrets_of = {}
    for number in range(3):
        student = f"v{number:02d}"
        secrets_of[student] = f"the private work of {student} {secrets.token_hex(4)}"
        (real / student).mkdir()
        (real / student / "07_backpropagation.py").write_text(
            f"# {secrets_of[student]}\n" + (REPO / "reference" / "07_backpropagation.py").read_text())
    os.chmod(tmp_path, 0o755)     # as an instructor's folders usually are: the wall is nngrade's to put up
    os.chmod(real, 0o755)
    (tmp_path / "latest").symlink_to(real.name)
    out.mkdir()
    (tmp_path / "graded-link").symlink_to(out.name)
    os.chmod(out, 0o755)
    done = run_cli("bulk", str(tmp_path / "latest" if named == "through_a_link" else real),
                   "--out", str(tmp_path / "graded-link" if named == "out_through_a_link" else out), "--exercises", "07", "--timeout",
                   str(BULK_SECONDS), "--seed", "7", "--workers", "1", "--quiet", "--isolation", sandbox.PROCESS)
    assert done.returncode in (0, 1), done.stderr
    output = json.loads((out / "reports" / "a-reader.json").read_text())["exercises"][0]["output"]
    leaked = [student for student, secret in secrets_of.items() if secret in output]
    assert not leaked, f"a submission read the files of {leaked}:\n{output[:500]}"
    assert '"seed": 7' not in output.replace("\n", " ").replace("  ", " "), f"a submission read the seed:\n{output[:500]}"


@pytest.mark.skipif(__import__("nngrade.run.users").run.users.available() is not None or shutil.which("git") is None,
                    reason="needs root (the user level) and git")
def test_a_project_with_its_python_inside_keeps_its_history_out_of_reach():
    """A virtual environment inside the project (`python -m venv .venv` in a clone, run as root in a container):
    bubblewrap is not used (Python's folder holds the reference) and the user level walls off only the secret
    folders; the rest of the project, .git/ with the reference's history, must be out of reach all the same."""
    import subprocess
    import sys
    import tempfile
    top = Path(tempfile.mkdtemp(prefix="nngrade-hunt-"))   # not under pytest's 0700 folder: as a clone usually is
    try:
        os.chmod(top, 0o755)
        clone = top / "nngrade"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(clone / ".venv")], check=True)
        submission = top / "student" / "07_backpropagation.py"
        submission.parent.mkdir()
        shutil.copyfile(CORPUS / "read_git_history.py", submission)
        done = subprocess.run([str(clone / ".venv" / "bin" / "python"), "grade.py", "07", "--submission",
                               str(submission), "--isolation", sandbox.PROCESS], cwd=clone, capture_output=True,
                              text=True, timeout=120)
        report = json.loads((clone / "reports" / "07_backpropagation-07.json").read_text())
        assert report["isolation"] == sandbox.USER, done.stderr
        assert report["score"] == 0, f"the reference from .git earned {report['score']}: {done.stdout[-300:]}"
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_visible_messages_tell_nothing_of_the_hidden_inputs(tmp_path):
    """A visible check's message reaches the student at once: it must not carry the inputs of a hidden case,
    which an earlier call of the same child saw (leak_hidden_inputs describes them in its exceptions)."""
    from nngrade.data import load
    data = load(SAMPLE_DATA)
    seed = 7
    hidden = {key: value for key, value in EXERCISES["05"].inputs(seed, data).items() if key[1].startswith("hidden")}
    tells = {f"seed():[{hidden[('split_sample', 'hidden-1')]['seed']}]",
             f"values{np.asarray(hidden[('standardise', 'hidden-1')]['values']).shape}"}
    folder = tmp_path / "student"
    folder.mkdir()
    shutil.copyfile(CORPUS / "leak_hidden_inputs.py", folder / "05_gradient_descent.py")
    with at_level(sandbox.PROCESS) as requested:
        report = _grade(folder, ["05"], Limits(isolation=requested))
    told = [(check.name, tell) for check in report.exercises[0].checks if check.visibility == "visible"
            for tell in tells if tell in check.message]
    assert not told, f"visible checks told hidden inputs: {told[:3]}"


SHM_PROBE = """
import ctypes
def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    libc = ctypes.CDLL(None)
    libc.shmat.restype = ctypes.c_void_p
    shmid = libc.shmget(0x6E6E68, ctypes.c_size_t(0), 0)   # leave_shared_memory's key
    if shmid >= 0:
        print("a classmate's segment:", ctypes.string_at(libc.shmat(shmid, None, 0o10000), 14).decode())
    if libc.msgget(0x6E6E68, 0) >= 0:
        print("a classmate's message queue")
    return {"error": None}
"""


@pytest.mark.skipif(sandbox.choose(sandbox.AUTO) != sandbox.BUBBLEWRAP, reason="needs bubblewrap")
def test_the_next_student_in_a_warm_sandbox_finds_nothing_of_the_last(tmp_path):
    """A warm sandbox serves one student after another: a System V segment or queue left by one (its IPC
    namespace is the sandbox's, not the child's) must not be there for the next, nor hold memory for the run."""
    folder, out = tmp_path / "class", tmp_path / "graded"
    token = _stage("leave_shared_memory", HOSTILE["leave_shared_memory"], folder / "a1-leaves",
                   out / "reports" / "a1-leaves.json")
    (folder / "a2-looks").mkdir()
    (folder / "a2-looks" / "07_backpropagation.py").write_text(SHM_PROBE)
    done = run_cli("bulk", str(folder), "--out", str(out), "--exercises", "07", "--timeout", str(BULK_SECONDS),
                   "--seed", "7", "--workers", "1", "--quiet")
    assert done.returncode in (0, 1), done.stderr
    report = json.loads((out / "reports" / "a2-looks.json").read_text())
    assert report["isolation"] == sandbox.BUBBLEWRAP
    output = report["exercises"][0]["output"]
    assert "classmate" not in output, f"the next student found what {token} left: {output[:200]}"

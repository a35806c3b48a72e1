"""The unit of bulk work: a batch of students' submissions in, one Outcome each out.

`grade_batch(jobs)` grades a batch in one pytest session, each file in a child forked from this
worker's warm server (nngrade.run.warm); `grade_submission(job)` is the batch of one (Gradescope). It
runs in a long-lived worker process; only the parent writes files.

What is graded is a snapshot: each submission's files are copied into this worker's scratch
folder first and the copy is hashed, so that a file rewritten while it is graded gives the report
of one version, the version the manifest records. A failure that is not the student's doing (the
copy or the scratch folder fails, a child killed from outside, a grading server that stops or does
not start) is an Outcome with a `failure`: never recorded as a grade, graded again later.
"""
from __future__ import annotations

import os
import signal
import socket
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from nngrade.bulk import ingest, progress
from nngrade.judge.exercises import EXERCISES
from nngrade.reports.results import CheckResult, ExerciseResult, Report
from nngrade.run.runner import Limits, RunResult

NOT_GRADED = "not graded"
_GRACE_SECONDS = 60.0             # for the interrupted job's runner to kill the student's processes
_busy = threading.Event()         # a job is running in this worker
_stopping = threading.Event()     # this worker was told to stop (SIGTERM, SIGHUP, its parent gone)
SIGKILL = -9                      # a child's exit code when SIGKILL ended it


@dataclass(frozen=True)
class Job:
    submission: ingest.Submission
    exercise_ids: tuple[str, ...]
    seed: int
    data_path: str | None          # the data file of the exercises that read one; None when none is graded
    timeout: float
    notices: tuple[str, ...] = ()  # said in every report of the batch (e.g. "graded with the sample data")
    isolation: str = "auto"        # nngrade.run.sandbox level: "auto", "process" or "bubblewrap"


@dataclass(frozen=True)
class Outcome:
    """One submission's result: its report, and the sha256 of the snapshot that was graded.

    `failure`: why it could not be graded, for a reason outside the student's control; the report
    is then only a placeholder, and the submission is graded again (alone, then by the next run).
    """
    report: dict | None
    content: str | None
    failure: str | None = None


class NotGraded(Exception):
    """grade_submission could not grade, for a reason that is not the student's (the message says which)."""


def grade_submission(job: Job) -> dict:
    """Grade one submission; a student's code can make it score 0, never make it raise (NotGraded is ours)."""
    outcome = grade_batch([job])[0]
    if outcome.failure is not None:
        raise NotGraded(outcome.failure)
    return outcome.report


def grade_batch(jobs: list[Job]) -> list[Outcome]:
    """Grade submissions of one batch (same seed, data and limits) in one pytest session, their files
    forked one at a time from this worker's warm server."""
    _busy.set()
    try:
        outcomes = _grade(jobs)
    except BaseException:
        if _stopping.is_set():
            _leave()
        raise
    finally:
        _busy.clear()
    if _stopping.is_set():
        _leave()      # told to stop while grading: what was computed meanwhile is not trusted, nor returned
    return outcomes


def outside_cause(result: RunResult) -> str | None:
    """Why a child's run says nothing about the student, or None when it is the student's result.

    The student's doing: the time limit, an exception, its own exit, a crash or a signal it raised
    (SIGSEGV, SIGABRT, SIGXCPU and SIGXFSZ for a limit hit, ...). Not the student's: a grading server
    that stopped or did not start (the sandbox killed or broken), and SIGKILL when the grader did not
    send it (not the time limit, not a flood): the kernel's OOM killer, or an operator. A child that
    SIGKILLs itself looks the same; it is graded again, and stays "not graded" if it does it every time.
    """
    from nngrade.run.warm import SERVER_STOPPED
    if result.protocol_error in (SERVER_STOPPED, "the grading server did not start"):
        return f"{result.protocol_error} (the sandbox or the server was killed, or could not start)"
    if result.exit_code == SIGKILL and not result.timed_out and result.protocol_error is None:
        return "its process was killed (SIGKILL) by something other than the grader's time limit: out of memory, " \
               "or killed from outside"
    return None


_server = None


def _warm_server(limits: Limits):
    """One warm child server per worker process, started on first use, killed when the worker ends."""
    global _server
    if _server is None:
        import atexit

        from nngrade.run.warm import ChildServer
        _server = ChildServer(limits)
        atexit.register(_server.__exit__)
    return _server


def close_server() -> None:
    """Kill this worker's warm server and everything its children left (done before results are final)."""
    global _server
    if _server is not None:
        _server.__exit__(None, None, None)
        _server = None


def _grade(jobs: list[Job]) -> list[Outcome]:
    from contextlib import ExitStack

    from nngrade.judge.grading import Task, Work, grade_many
    first = jobs[0]
    exercises = [EXERCISES[i] for i in first.exercise_ids]
    limits = Limits(timeout=first.timeout, isolation=first.isolation)
    outcomes: list[Outcome | None] = [None] * len(jobs)
    works, graded, shown = [], [], []
    with ExitStack() as stack:
        for index, job in enumerate(jobs):
            try:
                scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nngrade-bulk-")))
                snapshot, content, relabel = _snapshot(job.submission, scratch / "snapshot")
                collected = ingest.collect(snapshot, scratch / "unpacked")
            except (OSError, NotGraded) as exc:
                outcomes[index] = Outcome(None, None, _scratch_failure(exc))
                continue
            files = [(name, path, relabel(label)) for name, path, label in collected.files]
            chosen, notices = ingest.match_exercises(files, exercises, single_exercise=len(exercises) == 1)
            headline = () if chosen else ("nothing gradable submitted" + ("" if files else ": no .py or .ipynb file found"),)
            tasks = tuple(Task(exercise, chosen[exercise.id][0] if exercise.id in chosen else None) for exercise in exercises)
            works.append(Work(job.submission.label, tasks, (*headline, *job.notices, *job.submission.notices,
                                                             *map(relabel, collected.notices), *notices)))
            graded.append((index, content))
            shown.append({str(path): label for path, label in chosen.values()})
        if works:
            outside: dict[Path, str] = {}
            server = _warm_server(limits)

            def run_student(path: Path, calls, limits: Limits) -> RunResult:
                result = server.run(path, calls, limits)
                cause = outside_cause(result)
                if cause is not None:
                    outside.setdefault(path, cause)
                return result

            data = _data(first.data_path) if any(exercise.needs_data for exercise in exercises) else None
            reports = [report.to_dict() for report in grade_many(works, first.seed, data, limits, threads=1,
                                                                run_student=run_student, keeps_server=True,
                                                                file_done=progress.file_done)]
            for work, (index, content), report, labels in zip(works, graded, reports, shown):
                for exercise in report["exercises"]:
                    exercise["file"] = labels.get(exercise["file"], exercise["file"])
                cause = next((outside[t.path] for t in work.tasks if t.path in outside), None)
                if cause is None and report.get("grader_error"):   # our bug, not the student's: never a grade
                    cause = f"the grader itself failed: {report['grader_error']}"
                outcomes[index] = Outcome(report, content, cause)
    return outcomes


def _scratch_failure(exc: BaseException) -> str:
    if isinstance(exc, NotGraded):
        return str(exc)
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return f"the submission could not be copied for grading{where}: {exc.strerror or exc}"


def _snapshot(submission: ingest.Submission, folder: Path):
    """Copy what can change the grade (the files ingest.content_hash reads) into `folder`, then hash the copy.

    Returns (the submission as copied, the copy's sha256, a function that turns the copy's paths back into
    the originals' in what the report shows). A source that has vanished, or that changes while it is being
    copied (its hash after the copy is not the copy's), raises NotGraded: grading it now would grade neither
    version. The copy is a sha256 of exactly what is graded; the next run compares it with the original.
    """
    sources, names = [], []
    for number, source in enumerate(submission.sources):
        target = folder / f"{number}" / source.path.name
        if source.path.is_dir():
            try:   # the files content_hash reads, in its order; a folder the grader cannot list is not graded
                listed = ingest._walk(source.path, strict=True)
            except OSError as exc:
                raise NotGraded(f"{exc.filename or source.path} could not be read for grading ({exc.strerror})") from None
            for relative, path in listed:
                _copy_regular(path, target / relative)
            target.mkdir(parents=True, exist_ok=True)
        elif source.path.is_file():
            _copy_regular(source.path, target)
        else:
            raise NotGraded(f"{source.path} was there when the run started and is gone now")
        sources.append(ingest.Source(target, source.name))
        names.append((str(target), str(source.path)))
    copied = replace(submission, sources=tuple(sources))
    content = ingest.content_hash(copied)
    if content != ingest.content_hash(submission):
        raise NotGraded("its files changed while they were being copied for grading")

    def relabel(text: str) -> str:
        for copy, original in names:
            text = text.replace(copy, original)
        return text
    return copied, content, relabel


def _copy_regular(path: Path, target: Path) -> None:
    """Copy one regular file; anything else (a link, a FIFO, a socket, a device) is only named in the copy.

    Never opened: opening those could block or escape. The copy holds an entry of the same kind (a
    device becomes a FIFO), so that grading the copy refuses it by name in the report, as ingest would
    the original; the content hash counts any such entry alike, so the copy's hash is the original's.
    """
    kind = ingest._kind(path)
    if kind == "missing":
        raise NotGraded(f"{path} was there when the run started and is gone now")
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind != "file":
        _stand_in(path, target, kind)
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:   # gone, or unreadable to the grader: the instructor's to fix, not a 0
        raise NotGraded(f"{path} could not be read for grading ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as source:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise NotGraded(f"{path} changed while it was being copied for grading")
        with open(target, "wb") as copy:
            while chunk := source.read(1 << 20):
                copy.write(chunk)


def _stand_in(path: Path, target: Path, kind: str) -> None:
    if kind == ingest._LINK:
        os.symlink(os.readlink(path), target)
        return
    if kind == "a socket" and hasattr(socket, "AF_UNIX"):
        try:
            with socket.socket(socket.AF_UNIX) as stand_in:
                stand_in.bind(str(target))
            return
        except OSError:
            pass   # a path too long for a socket: a FIFO names it as well
    os.mkfifo(target)


def _data(path: str | None):
    from nngrade.data import load   # cached per file by nngrade.data
    return load(path) if path else None


def fallback_report(job: Job, reason: str) -> dict:
    """When grading could not finish, for a reason that is not the student's: every check at 0 with the
    reason, none lost. It is a placeholder, not a grade: bulk records it as not graded and grades it again."""
    message = f"{NOT_GRADED}: {reason}; it will be graded again on the next run"
    exercises = tuple(ExerciseResult(
        id=exercise.id, title=exercise.title, file=None, problem=message,
        checks=tuple(CheckResult(name=check.name, function=check.function, quantity=check.quantity.name,
                                 case=check.case, visibility=check.visibility, status="error", score=0.0,
                                 max_score=check.quantity.points, message=message) for check in exercise.checks))
        for exercise in (EXERCISES[i] for i in job.exercise_ids))
    return Report(exercises=exercises, seed=job.seed, submission=job.submission.label, data={}, isolation="process",
                  timings={"run_seconds": 0.0, "total_seconds": 0.0}, versions=_versions(),
                  notices=(*job.notices, message)).to_dict()


def _versions() -> dict:
    from nngrade.judge.grading import versions   # pytest and the graders load only where grading happens
    return versions()


# --- the worker process -------------------------------------------------------------------------

def init_worker(parent_pid: int) -> None:
    """Set up a bulk worker: Ctrl-C is the parent's to handle; SIGTERM or the parent's death ends it cleanly.

    Cleanly matters: the student's code runs in child processes that the runner kills in a `finally`,
    so the worker must leave by an exception, never by dying on the spot.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGHUP, _exit_cleanly)   # a closed terminal, or `kill -HUP` of the run's group
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="nngrade-parent-watch").start()


def _exit_cleanly(signum, frame) -> None:
    """Unwind the job in progress (its runner kills the student's processes on the way out), then leave.

    The worker never returns what it computed after this: pytest, for one, turns an exception inside
    the graders into a normal return, which must not become a grade. The parent sees a dead worker
    and grades its jobs again (nngrade.bulk.pool).
    """
    _stopping.set()
    if not _busy.is_set():
        _leave()
    raise SystemExit(128 + signum)


def _leave() -> None:
    close_server()
    os._exit(128 + signal.SIGTERM)


def _watch_parent(parent_pid: int) -> None:
    """A killed parent (kill -9) leaves its workers orphaned: stop instead of grading for nobody.

    The job in progress is interrupted by SIGTERM (so the runner kills the student's processes on
    its way out); the worker leaves as soon as that job is over, or after a grace period.
    """
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    if _busy.is_set() and hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
    deadline = time.monotonic() + _GRACE_SECONDS
    while _busy.is_set() and time.monotonic() < deadline:
        time.sleep(0.1)
    os._exit(1)

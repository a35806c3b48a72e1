"""The unit of bulk work: a batch of students' submissions in, one canonical report dict each out.

`grade_batch(jobs)` grades a batch in one pytest session, each file in a child forked from this
worker's warm server (nngrade.warm); `grade_submission(job)` is the batch of one, for a submission
that must be graded alone. It runs in a long-lived worker process; only the parent writes files.
"""
from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import ingest
from .exercises import EXERCISES
from .results import CheckResult, ExerciseResult, Report
from .runner import Limits

INTERNAL_ERROR = "internal grading error"
_GRACE_SECONDS = 60.0             # for the interrupted job's runner to kill the student's processes
_busy = threading.Event()         # a job is running in this worker


@dataclass(frozen=True)
class Job:
    submission: ingest.Submission
    exercise_ids: tuple[str, ...]
    seed: int
    data_path: str | None          # the admissions file for 05 and 08; None when neither is graded
    timeout: float
    notices: tuple[str, ...] = ()  # said in every report of the batch (e.g. "graded with the sample data")
    isolation: str = "auto"        # nngrade.sandbox level: "auto", "process" or "bubblewrap"


def grade_submission(job: Job) -> dict:
    """Grade one submission; a student's code can make it score 0, never make it raise."""
    return grade_batch([job])[0]


def grade_batch(jobs: list[Job]) -> list[dict]:
    """Grade submissions of one batch (same seed, data and limits) in one pytest session, their files
    forked one at a time from this worker's warm server."""
    _busy.set()
    try:
        return _grade(jobs)
    finally:
        _busy.clear()


_server = None


def _warm_server(limits: Limits):
    """One warm child server per worker process, started on first use, killed when the worker ends."""
    global _server
    if _server is None:
        import atexit

        from .warm import ChildServer
        _server = ChildServer(limits)
        atexit.register(_server.__exit__)
    return _server


def close_server() -> None:
    """Kill this worker's warm server and everything its children left (done before results are final)."""
    global _server
    if _server is not None:
        _server.__exit__(None, None, None)
        _server = None


def _grade(jobs: list[Job]) -> list[dict]:
    from contextlib import ExitStack

    from .grading import Task, Work, grade_many
    first = jobs[0]
    exercises = [EXERCISES[i] for i in first.exercise_ids]
    works, shown = [], []
    with ExitStack() as stack:
        for job in jobs:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="nngrade-bulk-"))
            collected = ingest.collect(job.submission, Path(scratch))
            chosen, notices = ingest.match_exercises(collected.files, exercises, single_exercise=len(exercises) == 1)
            headline = () if chosen else ("nothing gradable submitted" + ("" if collected.files else ": no .py file found"),)
            tasks = tuple(Task(exercise, chosen[exercise.id][0] if exercise.id in chosen else None) for exercise in exercises)
            works.append(Work(job.submission.label, tasks,
                              (*headline, *job.notices, *job.submission.notices, *collected.notices, *notices)))
            shown.append({str(path): label for path, label in chosen.values()})
        data = _data(first.data_path) if any(exercise.needs_data for exercise in exercises) else None
        limits = Limits(timeout=first.timeout, isolation=first.isolation)
        reports = [report.to_dict() for report in grade_many(
            works, first.seed, data, limits, threads=1, run_student=_warm_server(limits).run)]
    for report, labels in zip(reports, shown):
        for exercise in report["exercises"]:
            exercise["file"] = labels.get(exercise["file"], exercise["file"])
    return reports


def _data(path: str | None):
    from .data import load_admissions   # cached per file by nngrade.data
    return load_admissions(path) if path else None


def fallback_report(job: Job, reason: str, retry: bool = True) -> dict:
    """When grading could not finish: every check at 0 with the reason, none lost.

    `retry`: the grader failed (not the student's code), and the next run grades it again.
    """
    message = f"{INTERNAL_ERROR}: {reason}; it will be graded again on the next run" if retry else reason
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
    from .grading import versions   # pytest and the graders load only where grading happens
    return versions()


# --- the worker process -------------------------------------------------------------------------

def init_worker(parent_pid: int) -> None:
    """Set up a bulk worker: Ctrl-C is the parent's to handle; SIGTERM or the parent's death ends it cleanly.

    Cleanly matters: the student's code runs in child processes that the runner kills in a `finally`,
    so the worker must leave by an exception, never by dying on the spot.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="nngrade-parent-watch").start()


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(128 + signum)


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

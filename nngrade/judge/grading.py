"""One grading run: build the cases, run the student's files, compute expected values, run the graders."""
from __future__ import annotations

import hashlib
import importlib
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nngrade import __version__
from nngrade.run import sandbox
from nngrade.judge.exercises import Exercise, grader_file
from nngrade.judge.feedback import Graded
from nngrade.judge.oracle import OracleError, load_oracle
from nngrade.judge.plugin import GradingPlugin
from nngrade.reports.report import build_report
from nngrade.reports.results import Report
from nngrade.run.runner import Call, Limits, RunResult, run_file
from nngrade.paths import GRADERS, REPO



@dataclass(frozen=True)
class Task:
    """One exercise to grade: its spec and the student's file (None when the submission lacks it)."""
    exercise: Exercise
    path: Path | None


@dataclass(frozen=True)
class Work:
    """One student's submission as graded together: a label for the report, its tasks, its notices."""
    label: str
    tasks: tuple[Task, ...]
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Prepared:
    """What does not depend on the student: one exercise's calls and expectations, for one seed and data file."""
    calls: tuple[Call, ...]
    call_ids: dict[tuple[str, str], int]
    expectations: object
    key: bytes = b""               # keys the words of hidden messages; from the seed, never shown
    fault: str | None = None       # the grader's own failure to prepare them: a grader error, not a grade
    # (function, case) -> [(another function, the call id of the student's run of it on the reference's arguments)]
    derived: dict = None
    parameters: dict = None        # function -> the stub's parameters, in the order a call passes them
    reference_seconds: float = 0.0  # what the reference took here for these cases (the time limit's measure)


_prepared: dict[tuple, _Prepared] = {}


def _prepare(exercise: Exercise, seed: int, data, oracle) -> _Prepared:
    """Built once per run, and reused by every submission of a batch (the reference's 05 and 08 cost most)."""
    data = data if exercise.needs_data else None
    key = (exercise.id, seed, data.sha256 if data is not None else None, id(oracle))
    if key not in _prepared:
        if len(_prepared) > 64:
            _prepared.clear()
        secret = hashlib.sha256(f"nngrade hidden words {seed}".encode()).digest()
        try:
            inputs = exercise.inputs(seed, data, visible_only=not oracle.grades_hidden)
            inputs = {(function, case): _in_order(oracle.parameters(exercise, function), function, kwargs)
                      for (function, case), kwargs in inputs.items()}
            started = time.perf_counter()
            expectations = oracle.expectations(exercise, inputs, data)
            _prepared[key] = replace(_calls(exercise, inputs, expectations, secret),
                                     reference_seconds=time.perf_counter() - started)
        except OracleError:
            raise
        except Exception as exc:  # noqa: BLE001 - the reference or the spec failed: ours, said in the report
            # Not kept: the next batch tries again (a transient failure must not fault a worker's every batch).
            return _Prepared((), {}, None, secret, f"{type(exc).__name__} while preparing exercise {exercise.id}'s "
                                                   f"cases{_where(exc)}: {exc}", {}, {})
    return _prepared[key]


def _where(exc: BaseException) -> str:
    """Where in the exercise's own files (its grader, its reference, the lesson module) an exception was raised."""
    import traceback
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).parent.name in ("graders", "reference")]
    return f" (at {Path(frames[-1].filename).parent.name}/{Path(frames[-1].filename).name}:{frames[-1].lineno}, " \
           f"in {frames[-1].name})" if frames else ""


def _in_order(parameters: tuple[str, ...], function: str, kwargs: dict) -> dict:
    """A call's arguments in the stub's parameter order: the child passes them by position when a student's
    names differ from the stub's (`w` for `weights`), so the order is part of the call."""
    if set(kwargs) != set(parameters):
        raise ValueError(f"the inputs of {function}() are {sorted(kwargs)}, its parameters {parameters}")
    return {name: kwargs[name] for name in parameters}


def _calls(exercise: Exercise, inputs: dict, expectations, secret: bytes) -> _Prepared:
    """The child's calls: every graded case, visible before hidden; then the judge's own calls, the student's
    functions on the calls the reference makes to them (for follow-through across functions).

    Visible first: a call whose message the student sees never met a hidden input. The judge's calls last, so
    that they can never cost a graded one (a slow function run on 360 records, an endless loop): they show
    the student no message, only whether a later value follows through."""
    quantities = {f.name: tuple(q.name for q in f.quantities) for f in exercise.functions}
    calls, ids, derived = [], {}, {}

    def add(function: str, kwargs: dict, returned: dict | None = None) -> int:
        # A call for follow-through only: a value far larger than the reference's own is no use to it.
        limit = None if returned is None else 4 * max((np.size(v) for v in returned.values()), default=1) + 64
        calls.append(Call(len(calls), function, kwargs, quantities[function], limit))
        return len(calls) - 1
    ordered = sorted(inputs, key=lambda k: not exercise.function(k[0]).is_visible(k[1]))   # stable: visible first
    for key in ordered:
        ids[key] = add(key[0], inputs[key])
    for key in ordered:
        if key in expectations.traced:
            derived[key] = [(name, add(name, kwargs, returned)) for name, kwargs, returned in expectations.traced[key]]
    parameters = {function: tuple(kwargs) for (function, _), kwargs in inputs.items()}
    return _Prepared(tuple(calls), ids, expectations, secret, None, derived, parameters)


# A file's time limit, from what the reference took on this machine for the same cases (expected values and the
# calls it makes to the exercise's other functions: about what the student's file is asked): a generous multiple
# of it, never below the floor, never above the run's limit (--timeout, else Limits.timeout), which is a maximum.
# The limit counts the student's own time: the child's coming up is not in it (nngrade.run.runner).
TIME_LIMIT_FLOOR = 2.0      # seconds: a right file is never cut short by a loaded machine's hiccup
TIME_LIMIT_MULTIPLE = 50.0  # a student's loops where the reference vectorises, on a busier moment of the machine


def time_limit(reference_seconds: float, maximum: float) -> float:
    """Seconds a file is given: `TIME_LIMIT_MULTIPLE` times the reference's, at least the floor, at most `maximum`."""
    return round(min(maximum, max(TIME_LIMIT_FLOOR, TIME_LIMIT_MULTIPLE * reference_seconds)), 3)


def _grade_one(task: Task, prepared: _Prepared, limits: Limits, run_student=run_file, file_done=None) -> Graded:
    problem = None if task.path else f"no file {task.exercise.stem}.py (or {task.exercise.id}*.py) in the submission"
    run = None
    if task.path and prepared.fault is None:
        own = replace(limits, timeout=time_limit(prepared.reference_seconds, limits.timeout))
        run = run_student(task.path, [call for call in prepared.calls if not call.for_judge], own)
        run.time_limit = own.timeout
    graded = Graded(task.exercise, run, problem, prepared.call_ids, prepared.expectations, prepared.key,
                    prepared.fault, prepared.derived or {}, prepared.parameters or {})
    if run is not None and not run.timed_out and graded.wants_others():
        _run_for_judge(task.path, prepared, own, run, run_student)
    if file_done is not None:
        file_done()    # bulk's progress line counts files as they are graded, not batches as they return
    return graded


def _run_for_judge(path: Path, prepared: _Prepared, limits: Limits, run: RunResult, run_student) -> None:
    """The judge's own calls, in a second run of the file: the student's functions on the reference's calls to them,
    for follow-through across functions. Made only where a value that could follow through failed (most files
    need none of the hundreds of calls a training epoch makes). Only their values are taken: what else happens
    in that run (its prints, a time limit met, an exception at import) is no problem of the file's."""
    again = run_student(path, [call for call in prepared.calls if call.for_judge], limits)
    run.calls.update(again.calls)


def grade(tasks: list[Task], seed: int, data, submission: str, limits: Limits = Limits(),
          notices: tuple[str, ...] = (), oracle=None, servers=None) -> Report:
    """Grade one submission; its files run in parallel child processes, the graders in this process.

    `oracle`: where expected values come from (default: reference/, else a release's stored values);
    raises nngrade.judge.oracle.OracleError when neither is there. `servers`: warm servers the files
    run on (nngrade.run.warm.Servers), else a cold child each.
    """
    work = [Work(submission, tuple(tasks), notices)]
    return grade_many(work, seed, data, limits, oracle, threads=len(servers) if servers else None,
                      run_student=servers.run if servers else run_file)[0]


def grade_many(works: list[Work], seed: int, data, limits: Limits = Limits(), oracle=None,
               threads: int | None = None, run_student=run_file, file_done=None, keeps_server: bool = False
               ) -> list[Report]:
    """Grade several submissions with one pytest session: the graders' fixed cost is paid once per batch.

    `run_student(path, calls, limits) -> RunResult` runs one file: a cold child by default, or a
    warm server's fork (nngrade.run.warm); `threads` files run at once; `file_done()` is called
    as each file is graded (bulk's progress line). `keeps_server`: run_student keeps a warm server
    that outlives this call and may restart it (bulk's worker): its files are run in this thread, one at a time.
    """
    started = time.perf_counter()
    oracle = oracle or load_oracle(REPO)
    jobs = [(index, task, _prepare(task.exercise, seed, data, oracle))
            for index, work in enumerate(works) for task in work.tasks]
    order = [(index, task.exercise.id) for index, task, _ in jobs]   # the tasks' own: what reports list in
    # The dearest files first (the most calls): threads that take the next file as they come free then end
    # together, where the dear ones started last would leave one thread running alone.
    jobs.sort(key=lambda job: -len(job[2].calls))
    # The graders in the order their files run: the first judged is the first to come back.
    exercises = list({task.exercise.id: task.exercise for _, task, _ in jobs}.values())
    # Before any student code runs: the graders are loaded (what a child might plant later is never read),
    # and, as root, the project is out of the children's reach.
    sandbox.wall_off()
    _load_graders(exercises)
    width = max(1, min(len(jobs), threads or os.cpu_count() or 1))
    keys = [(index, task.exercise.id) for index, task, _ in jobs]
    ran: list[float] = []

    def grade_one(job) -> Graded:
        graded = _grade_one(job[1], job[2], limits, run_student, file_done)
        ran.append(time.perf_counter() - started)
        return graded
    if keeps_server:
        # In this thread: a warm server started from a pool thread would die when that thread ends (bwrap's
        # --die-with-parent follows the thread that started it), and bulk would pay a new one every batch.
        graded = dict(zip(keys, [grade_one(job) for job in jobs]))
        json_report = _run_graders(graded, exercises)
    else:
        # The files run in threads (cold children, or a student's run's warm servers) while this one sets pytest
        # up and collects the graders (the judging alone waits for them). An exception of
        # a run (bubblewrap insisted on and gone) is raised here after the session, as if nothing had been judged.
        with ThreadPoolExecutor(max_workers=width) as pool:
            awaited = _Awaited(keys, [pool.submit(grade_one, job) for job in jobs])
            json_report = _run_graders(awaited, exercises)
            graded = awaited.resolved()
    graded = {key: graded[key] for key in order}
    run_seconds = max(ran, default=time.perf_counter() - started)
    notices = _isolation_notices({g.run.isolation for g in graded.values() if g.run is not None})
    timings = {"run_seconds": round(run_seconds / len(works), 4),
               "total_seconds": round((time.perf_counter() - started) / len(works), 4)}
    return [build_report(
        tasks=list(work.tasks), graded={ex_id: g for (i, ex_id), g in graded.items() if i == index},
        json_report=json_report, index=index, seed=seed, submission=work.label,
        mode="full" if oracle.grades_hidden else "student", data=_data_info(data, list(work.tasks)),
        notices=(*work.notices, *_run_notices(graded, index), *notices), timings=timings, versions=versions())
        for index, work in enumerate(works)]


class _Awaited(Mapping):
    """(submission, exercise) -> Graded, as the runs still in flight finish: reading one waits for that one alone
    (an exercise's checks are judged while the other files still run)."""

    def __init__(self, keys: list, futures: list):
        self._keys, self._futures = keys, dict(zip(keys, futures))

    def resolved(self) -> dict:
        return {key: self._futures[key].result() for key in self._keys}

    def __getitem__(self, key):
        return self._futures[key].result()

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _run_notices(graded: dict[tuple[int, str], Graded], index: int) -> tuple[str, ...]:
    """What was done to submission `index`'s files before they ran (a notebook's cells converted)."""
    return tuple(notice for (i, _), g in graded.items() if i == index and g.run is not None for notice in g.run.notices)


def _load_graders(exercises: list[Exercise]) -> None:
    """Import each grader module as pytest's default import mode names it, before any student code runs.

    pytest then takes the module already in sys.modules (it checks that the file is the same), so
    nothing written into graders/ afterwards is ever executed; conftest files are not read at all.
    """
    for exercise in exercises:
        importlib.import_module(grader_file(exercise).stem)   # loaded already, by nngrade.judge.exercises


def _isolation_notices(levels: set[str]) -> tuple[str, ...]:
    """What a report says about how its student code was contained, where that is less than the sandbox."""
    notices = []
    fallback = sandbox.fallback_reason()
    if fallback and levels - {sandbox.BUBBLEWRAP}:
        notices.append(f"the sandbox could not be used, so student code ran without it: {fallback}")
    if sandbox.PROCESS in levels:
        notices.append(sandbox.uncontained())
    return tuple(notices)


# The graders are parametrized tests of the `judge` fixture: no doctests, temporary folders, monkeypatching,
# output capture, logging, JUnit files, pdb or cache. Kept: python, terminal, legacypath (pytest-json-report reads
# fspath), skipping, warnings (a grader's warnings go to the report, not the terminal), assertion. Capturing each
# test's output (fd capture: dup2 and a temporary file per test phase) cost half of a 125-test session; a grader's
# prints go nowhere instead (_quiet), as they are no student's business.
_UNUSED_PLUGINS = ("cacheprovider", "doctest", "pastebin", "junitxml", "setuponly", "setupplan",
                   "stepwise", "unraisableexception", "threadexception", "faulthandler", "debugging", "tmpdir",
                   "capture", "monkeypatch", "recwarn", "logging", "subtests", "unittest")


def _run_graders(graded: dict[tuple[int, str], Graded], exercises: list[Exercise]) -> dict:
    """Run the pytest graders in this process and return pytest-json-report's report as a dict."""
    import pytest
    from pytest_jsonreport.plugin import JSONReport

    json_plugin = JSONReport()
    files = [str(grader_file(exercise)) for exercise in exercises]
    # Only the plugins named here: whatever else is installed (hypothesis, benchmark, ...) would cost
    # start-up time and could change how the graders run. No conftest.py: none belongs to the graders.
    # pytest's own plugins the graders need no part of are blocked too (not even imported): their
    # set-up costs a student's every run, unraisableexception alone ~0.1 s of gc.collect at the end.
    blocked = [arg for name in _UNUSED_PLUGINS for arg in ("-p", f"no:{name}")]
    # Of pytest-json-report's entries only outcomes, crashes and our metadata are read: the rest costs per test.
    omitted = ["--json-report-omit", "collectors", "log", "traceback", "streams", "keywords"]
    args = ["-q", *blocked, "-p", "pytest_jsonreport.plugin", *omitted, "--no-header", "--json-report-file=none",
            "--noconftest", "--rootdir", str(GRADERS), "-o", "console_output_style=classic", "-c", os.devnull, *files]
    with _quiet(), _environment(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"):
        pytest.main(args, plugins=[json_plugin, GradingPlugin(graded)])
    return json_plugin.report or {}


@contextmanager
def _environment(**values: str):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _quiet:
    """Pytest's own terminal output is not for students: the terminal table says it better. Nor is what a grader
    prints, to either stream."""

    def __enter__(self):
        self.saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = open(os.devnull, "w")

    def __exit__(self, *exc):
        sys.stdout.close()
        sys.stdout, sys.stderr = self.saved


def _data_info(data, tasks: list[Task]) -> dict:
    if data is None or not any(t.exercise.needs_data for t in tasks):
        return {}
    return {"path": str(data.path), "source": data.source, "sha256": data.sha256}


def versions() -> dict:
    """What graded: recorded in every report."""
    import numpy
    import pytest
    return {"nngrade": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "pytest": pytest.__version__}

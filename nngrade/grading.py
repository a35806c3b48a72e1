"""One grading run: build the cases, run the student's files, compute expected values, run the graders."""
from __future__ import annotations

import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .exercises import Exercise
from .feedback import Graded
from .oracle import load_oracle
from .plugin import GradingPlugin
from .report import build_report
from .results import Report
from .runner import Call, Limits, run_file

REPO = Path(__file__).resolve().parent.parent
GRADERS = REPO / "graders"


@dataclass(frozen=True)
class Task:
    """One exercise to grade: its spec and the student's file (None when the submission lacks it)."""
    exercise: Exercise
    path: Path | None


def _calls(exercise: Exercise, inputs: dict) -> tuple[list[Call], dict[tuple[str, str], int]]:
    ids = {key: number for number, key in enumerate(inputs)}
    calls = [Call(ids[key], key[0], kwargs, tuple(q.name for q in exercise.function(key[0]).quantities))
             for key, kwargs in inputs.items()]
    return calls, ids


def _grade_one(task: Task, seed: int, data, limits: Limits, oracle) -> Graded:
    data = data if task.exercise.needs_data else None
    inputs = task.exercise.inputs(seed, data, visible_only=not oracle.grades_hidden)
    calls, ids = _calls(task.exercise, inputs)
    problem = None if task.path else f"no file {task.exercise.stem}.py (or {task.exercise.id}*.py) in the submission"
    run = run_file(task.path, calls, limits) if task.path else None
    return Graded(task.exercise, run, problem, ids, oracle.expectations(task.exercise, inputs, data))


def grade(tasks: list[Task], seed: int, data, submission: str, limits: Limits = Limits(),
          notices: tuple[str, ...] = (), oracle=None) -> Report:
    """Grade the tasks; the students' files run in parallel child processes, the graders in this process.

    `oracle`: where expected values come from (default: reference/, else a release's stored values);
    raises nngrade.oracle.OracleError when neither is there.
    """
    started = time.perf_counter()
    oracle = oracle or load_oracle(REPO)
    with ThreadPoolExecutor(max_workers=max(1, min(len(tasks), os.cpu_count() or 1))) as pool:
        graded = dict(zip((t.exercise.id for t in tasks),
                          pool.map(lambda t: _grade_one(t, seed, data, limits, oracle), tasks)))
    run_seconds = time.perf_counter() - started
    json_report = _run_graders(graded, [t.exercise for t in tasks])
    return build_report(
        tasks=tasks, graded=graded, json_report=json_report, seed=seed, submission=submission,
        mode="full" if oracle.grades_hidden else "student",
        data=_data_info(data, tasks), notices=notices,
        timings={"run_seconds": round(run_seconds, 4), "total_seconds": round(time.perf_counter() - started, 4)},
        versions=_versions())


def _run_graders(graded: dict[str, Graded], exercises: list[Exercise]) -> dict:
    """Run the pytest graders in this process and return pytest-json-report's report as a dict."""
    import pytest
    from pytest_jsonreport.plugin import JSONReport

    json_plugin = JSONReport()
    files = [str(GRADERS / f"test_{exercise.stem}.py") for exercise in exercises]
    # Only the plugins named here: whatever else is installed (hypothesis, benchmark, ...) would cost
    # start-up time and could change how the graders run.
    args = ["-q", "-p", "no:cacheprovider", "-p", "pytest_jsonreport.plugin", "--no-header", "--json-report-file=none",
            "--rootdir", str(GRADERS), "-o", "console_output_style=classic", "-c", os.devnull, *files]
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
    """Pytest's own terminal output is not for students: the terminal table says it better."""

    def __enter__(self):
        self.saved = sys.stdout
        sys.stdout = open(os.devnull, "w")

    def __exit__(self, *exc):
        sys.stdout.close()
        sys.stdout = self.saved


def _data_info(data, tasks: list[Task]) -> dict:
    if data is None or not any(t.exercise.needs_data for t in tasks):
        return {}
    return {"path": str(data.path), "source": data.source, "sha256": data.sha256}


def _versions() -> dict:
    import numpy
    import pytest
    return {"nngrade": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "pytest": pytest.__version__}

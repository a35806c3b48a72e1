"""Build the canonical Report from pytest-json-report's output and the exercises' declared checks; write it as JSON."""
from __future__ import annotations

from pathlib import Path

from nngrade.judge.checks import ERROR, GRADER_ERROR, PASSED
from nngrade.reports.results import CheckResult, ExerciseResult, Report
from nngrade.run.sandbox import weakest


def build_report(*, tasks, graded, json_report: dict, index: int, seed: int, submission: str, data: dict,
                 notices: tuple[str, ...], timings: dict, versions: dict, mode: str = "full") -> Report:
    """The report of submission `index` of the graded batch. Every declared check appears, with its full
    points at stake, even if a grader crashed."""
    outcomes = {(check["exercise"], check["name"]): check
                for test in json_report.get("tests", []) for check in test.get("metadata", {}).get("checks", ())
                if check.get("submission") == index}
    exercises, faults = [], []
    for task in tasks:
        ex, g = task.exercise, graded[task.exercise.id]
        checks = []
        for check in filter(g.grades, ex.checks):
            found = outcomes.get((ex.id, check.name), {"status": ERROR, "internal": True,
                                                         "message": f"{GRADER_ERROR}: this check did not run"})
            if found.get("internal"):
                faults.append(f"{ex.id} {check.name}: {found['message']}")
            follow_through = bool(found.get("follow_through"))
            earned = check.points_on_follow_through if follow_through else check.quantity.points
            checks.append(CheckResult(
                name=check.name, function=check.function, quantity=check.quantity.name, case=check.case,
                visibility=check.visibility, status=found["status"], message=found["message"],
                score=earned if found["status"] == PASSED else 0.0, max_score=check.quantity.points,
                follow_through=follow_through, misconception=found.get("misconception")))
        faults += _own_tests_failed(ex, json_report)
        run = g.run
        exercises.append(ExerciseResult(
            id=ex.id, title=ex.title, file=str(task.path) if task.path else None, checks=tuple(checks),
            problem=g.problem or (_run_problem(run) if not g.graded_calls_complete else None),
            output=run.output if run else "",
            seconds=round(run.seconds, 4) if run else 0.0,
            pending_hidden=sum(1 for check in ex.checks if not g.grades(check)),
            time_limit_seconds=run.time_limit if run else None))
    return Report(exercises=tuple(exercises), seed=seed, submission=submission, data=data,
                  isolation=weakest(g.run.isolation for g in graded.values() if g.run is not None),
                  timings={**timings, "pytest_seconds": json_report.get("duration")},
                  versions=versions, notices=notices, mode=mode,
                  grader_error=_grader_error(faults))


def _own_tests_failed(exercise, json_report: dict) -> list[str]:
    """The grader's own tests besides the checks (an instructor's checks of the exercise's material): they must
    pass with every grading, and one that fails makes the report no grade, said with the test's own message."""
    faults = []
    for test in json_report.get("tests", []):
        mine = test.get("nodeid", "").split("::")[0].endswith(f"test_{exercise.stem}.py")
        if mine and "checks" not in test.get("metadata", {}) and test.get("outcome") in ("failed", "error"):
            stage = next((test[s] for s in ("setup", "call", "teardown") if test.get(s, {}).get("outcome") == "failed"), {})
            crash = stage.get("crash", {})
            where = f" ({Path(crash['path']).name}:{crash['lineno']})" if crash.get("path") else ""
            faults.append(f"{exercise.id} {test['nodeid'].split('::', 1)[-1]} failed{where}: "
                          f"{crash.get('message', 'see the grader').splitlines()[0] if crash.get('message') else 'see the grader'}")
    return faults


def _grader_error(faults: list[str]) -> str | None:
    """One line saying that (and where) the grader failed itself, or None: such a report is not a grade."""
    if not faults:
        return None
    more = f" (and {len(faults) - 1} more check{'s' if len(faults) > 2 else ''})" if len(faults) > 1 else ""
    return (faults[0] + more)[:500]


def _run_problem(run) -> str | None:
    """A one-line reason when the whole file failed: it did not import, or it timed out."""
    if run is None:
        return None
    if run.import_error:
        e = run.import_error
        return f"{e['type']}" + (f" at line {e['line']}" if e.get("line") else "") + f": {e['message']}"
    if run.timed_out:
        limit = f" of {run.time_limit:g} s" if run.time_limit else ""
        return f"did not finish within the time limit{limit}"
    return None


def write_json(report: Report, path: Path) -> None:
    """Write atomically (a reader never sees half a report, an interrupted write leaves the old one)."""
    from nngrade.reports.writers.files import write_json as write_atomically
    write_atomically(path, report.to_dict())

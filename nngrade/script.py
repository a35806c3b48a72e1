"""What `python exercises/NN_stem.py` does: the lesson's labelled printout, as the exercise's grader declares it.

The stub ends with `run_script(sys.modules[__name__])`; the exercise is found by the file's name, and its
spec's `script(module, prepared)` prints (the prepared data where the exercise reads a data file).
Helpers for those scripts: `complete` says which TODOs are still open, `show` prints a labelled value.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType


def _open_todos(result: dict) -> list[str]:
    return [name for name, value in result.items() if value is None
            or (isinstance(value, list) and any(v is None for v in value))]


def complete(function: str, result: dict) -> bool:
    """Say which TODOs of `function`'s result are still open; True when there are none."""
    todos = _open_todos(result)
    if todos:
        print(f"{function}: TODO still open: {', '.join(todos)}")
    return not todos


def show(label: str, value) -> None:
    print(label)
    print(value)


def run_script(module: ModuleType) -> None:
    from nngrade.data import DataError, load, resolve_path
    from nngrade.judge.exercises import EXERCISES, SpecError, exercise_of
    try:
        exercise = exercise_of(Path(module.__file__).name)
    except SpecError as exc:
        sys.exit(f"error: {exc}")
    if exercise is None:
        known = f"({', '.join(EXERCISES)})" if EXERCISES else "(graders/ holds no test_NN_stem.py)"
        sys.exit(f"error: {Path(module.__file__).name} is named after no exercise {known}: keep the stub's file name")
    if exercise.script is None:
        sys.exit(f"error: exercise {exercise.id} declares no script: grade it with python grade.py {exercise.id}")
    prepared = None
    if exercise.data is not None:
        path, notice = resolve_path(None, exercise.data)
        if notice:
            print(notice)
        try:
            prepared = exercise.prepare(load(path, exercise.data)) if exercise.prepare else load(path, exercise.data)
        except DataError as exc:
            sys.exit(f"error: {exc}")
    exercise.script(module, prepared)

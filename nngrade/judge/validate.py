"""Checks of every exercise that need its cases run: the instructor's `python -m nngrade.stubs` runs them.

What loading an exercise finds (nngrade.judge.exercises) comes first; then, on the visible cases and the
hidden cases of a few seeds: the inputs are the function's parameters, the reference runs and gives
finite numbers for every quantity, and every declared mistake changes some quantity on some case
(a mistake that changes nothing could never be diagnosed: a typo in its declaration, most often).
Each problem is one line naming the file.
"""
from __future__ import annotations

import numpy as np

from nngrade.judge.exercises import EXERCISES, Exercise, reference_file

SEEDS = (0, 1)


def problems() -> list[str]:
    found = list(EXERCISES.problems.values())
    for exercise in EXERCISES.values():
        try:
            found.extend(_run_checks(exercise))
        except Exception as exc:  # noqa: BLE001 - whatever the instructor's code raises is reported, in one line
            found.append(f"graders/test_{exercise.stem}.py: {type(exc).__name__} while checking it: {exc}")
    return found


def _run_checks(exercise: Exercise) -> list[str]:
    from nngrade.data import load, sample_path
    from nngrade.judge.derive import model, source
    reference = model(exercise)
    parsed = source(reference_file(exercise))
    ref = f"reference/{exercise.stem}.py"
    data = load(sample_path(exercise.data), exercise.data) if exercise.data is not None else None
    found, changes = [], {flavour: False for flavour in reference.flavours}
    for seed in SEEDS:
        for (function, case), kwargs in exercise.inputs(seed, data).items():
            parameters = parsed.functions[function].parameters
            if set(kwargs) != set(parameters):
                found.append(f"graders/test_{exercise.stem}.py: the inputs of {function}() on case {case} are "
                             f"{sorted(kwargs)}, its parameters {list(parameters)}")
                continue
            try:
                with np.errstate(all="ignore"):
                    right = reference.call(None, function, kwargs)
            except Exception as exc:  # noqa: BLE001
                found.append(f"{ref}: {function}() raised {type(exc).__name__} on case {case}: {exc}")
                continue
            for quantity in exercise.function(function).quantities:
                value = np.asarray(right.get(quantity.name), dtype=np.float64)
                if quantity.name not in right or not np.all(np.isfinite(value)):
                    found.append(f"{ref}: {function}() gives no finite '{quantity.name}' on case {case}")
            for flavour in changes:
                if not changes[flavour]:
                    changes[flavour] = _changes(reference, flavour, function, kwargs, right, exercise)
    for flavour, changed in changes.items():
        if not changed:
            if flavour in parsed.flavours:
                line = next(edit.line for edit in parsed.flavours[flavour])
                found.append(f"{ref}:{line}: the mistake '{flavour}' changes no graded quantity on any case")
            else:
                found.append(f"graders/test_{exercise.stem}.py: the mistake '{flavour}' (its replace=) changes no "
                             "graded quantity on any case")
    return found


def _changes(reference, flavour: str, function: str, kwargs: dict, right: dict, exercise: Exercise) -> bool:
    try:
        with np.errstate(all="ignore"):
            wrong = reference.call(flavour, function, kwargs)
    except Exception:  # noqa: BLE001 - a mistake that makes the call fail shows too
        return True
    for quantity in exercise.function(function).quantities:
        a, b = np.asarray(wrong.get(quantity.name), dtype=float), np.asarray(right[quantity.name], dtype=float)
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=0):
            return True
    return False

"""The reference, from which every expected value, variant and follow-through is derived, agrees with an
independent implementation of the lesson (tests/independent.py); every declared mistake is alive.

(The reference itself is also pinned to the course's printed output in tests/test_lesson.py.)
"""
from __future__ import annotations

import numpy as np
import pytest

from nngrade.data import load, sample_path
from nngrade.judge.derive import model
from nngrade.judge.exercises import EXERCISES

import independent


@pytest.fixture(scope="module")
def sample():
    return load(sample_path())


def _expected(exercise, inputs):
    reference = model(exercise)
    return {key: reference.call(None, key[0], kwargs) for key, kwargs in inputs.items()}


@pytest.mark.parametrize("exercise_id", ["04", "05", "06", "07", "08"])
@pytest.mark.parametrize("seed", [0, 1, 99])
def test_reference_equals_an_independent_implementation(sample, exercise_id, seed):
    exercise = EXERCISES[exercise_id]
    inputs = exercise.inputs(seed, sample if exercise.needs_data else None)
    expected = _expected(exercise, inputs)
    for (function, case), kwargs in inputs.items():
        computed = independent.compute(exercise_id, function, kwargs)
        for quantity in exercise.function(function).quantities:
            np.testing.assert_allclose(np.asarray(expected[(function, case)][quantity.name], dtype=float),
                                       np.asarray(computed[quantity.name], dtype=float), rtol=1e-12, atol=1e-15,
                                       err_msg=f"{exercise_id} {function}.{quantity.name}[{case}]")


def test_real_data_too(real_data):
    data = load(real_data)
    for exercise in (EXERCISES["05"], EXERCISES["08"]):
        inputs = exercise.inputs(5, data)
        expected = _expected(exercise, inputs)
        for (function, case), kwargs in inputs.items():
            computed = independent.compute(exercise.id, function, kwargs)
            for quantity in exercise.function(function).quantities:
                np.testing.assert_allclose(np.asarray(expected[(function, case)][quantity.name], dtype=float),
                                           np.asarray(computed[quantity.name], dtype=float), rtol=1e-12, atol=1e-15)


def test_every_exercise_validates():
    """Every declared mistake changes some quantity, every case's inputs fit, the reference gives numbers."""
    from nngrade.judge.validate import problems
    assert problems() == []

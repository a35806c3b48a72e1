"""nngrade/variants.py with no mistake is a second, independent implementation of reference/: the two must agree.

(The diagnosis and the follow-through credit rest on it; the reference itself is pinned to the
course's printed output in tests/test_lesson.py.)
"""
from __future__ import annotations

import numpy as np
import pytest

from nngrade import reference, variants
from nngrade.data import SAMPLE_PATH, load_admissions
from nngrade.exercises import EXERCISES


@pytest.fixture(scope="module")
def sample():
    return load_admissions(SAMPLE_PATH)


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
@pytest.mark.parametrize("seed", [0, 1, 99])
def test_variants_without_a_mistake_equal_the_reference(sample, exercise_id, seed):
    exercise = EXERCISES[exercise_id]
    inputs = exercise.inputs(seed, sample if exercise.needs_data else None)
    expected = reference.expected_values(exercise, inputs)
    for (function, case), kwargs in inputs.items():
        computed = variants.compute(exercise_id, function, kwargs)
        for quantity, value in expected[(function, case)].items():
            np.testing.assert_allclose(np.asarray(computed[quantity], dtype=float), value, rtol=1e-12, atol=1e-15,
                                       err_msg=f"{exercise_id} {function}.{quantity}[{case}]")


def test_real_data_too(real_data):
    data = load_admissions(real_data)
    for exercise in (EXERCISES["05"], EXERCISES["08"]):
        inputs = exercise.inputs(5, data)
        expected = reference.expected_values(exercise, inputs)
        for (function, case), kwargs in inputs.items():
            computed = variants.compute(exercise.id, function, kwargs)
            for quantity, value in expected[(function, case)].items():
                np.testing.assert_allclose(np.asarray(computed[quantity], dtype=float), value, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("exercise_id", [i for i in EXERCISES if variants.FLAVOURS[i]])
def test_every_mistake_changes_some_quantity(sample, exercise_id):
    """A mistake whose variant never differs from the right answer could never be diagnosed: dead."""
    exercise = EXERCISES[exercise_id]
    inputs = exercise.inputs(7, sample if exercise.needs_data else None)
    expected = reference.expected_values(exercise, inputs)
    for flavour in variants.FLAVOURS[exercise_id]:
        differs = False
        for (function, case), kwargs in inputs.items():
            try:
                computed = variants.compute(exercise_id, function, kwargs, flavour)
            except ValueError:
                differs = True   # a mistake that cannot even run here (a broadcast error) shows as well
                continue
            differs |= any(np.shape(computed[q]) != v.shape or not np.allclose(computed[q], v)
                           for q, v in expected[(function, case)].items())
        assert differs, flavour

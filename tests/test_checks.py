"""The comparisons: order of questions, tolerances, messages; equivalent student styles pass."""
from __future__ import annotations

import numpy as np
import pytest

from nngrade.judge.checks import compare
from nngrade.run.wire import Invalid

from helpers import edited_reference, grade_files, reference_source

EXPECTED = np.array([[1.0, 2.0], [3.0, 4.0]])


def check(got, expected=EXPECTED, visible=True):
    return compare("q", got, expected, rtol=1e-6, atol=1e-12, visible=visible)


def test_none_is_not_implemented():
    assert check(None).status == "not_implemented"


def test_non_numbers_fail_with_the_type():
    outcome = check(Invalid("str", "has dtype <U3, not numbers"))
    assert outcome.status == "failed" and "str" in outcome.message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_never_pass(bad):
    got = EXPECTED.copy()
    got[0, 1] = bad
    outcome = check(got)
    assert outcome.status == "failed" and "NaN or infinite" in outcome.message


def test_shape_is_checked_before_values():
    outcome = check(EXPECTED.T.reshape(2, 2)[:, :1])
    assert outcome.status == "failed" and "shape (2, 1), expected (2, 2)" in outcome.message


def test_a_number_as_shape_one_is_the_same_number():
    assert check(np.array([0.5]), np.array(0.5)).passed
    assert check(0.5, np.array([0.5])).passed


def test_within_tolerance_passes_and_outside_fails_with_how_far():
    assert check(EXPECTED * (1 + 1e-9)).passed
    got = EXPECTED.copy()
    got[1, 0] = 3.3
    outcome = check(got)
    assert outcome.status == "failed"
    assert "1 of 4 values differ" in outcome.message and "index (1, 0)" in outcome.message
    assert "expected [1, 2, 3, 4], got [1, 2, 3.3, 4]" in outcome.message and "10.0% relative" in outcome.message


def test_hidden_cases_do_not_show_expected_values():
    got = EXPECTED + 1
    message = check(got, visible=False).message
    assert "expected" not in message and "4 of 4 values differ" in message
    # Nor any number from which they could be worked out: the only digits left are the count.
    assert not any(ch.isdigit() for ch in message.replace("4 of 4", "")), message
    assert "off by tens of percent" in message     # 1 off on values up to 4: a quarter of their scale


# Algebraically equivalent ways students write the same thing must all get full marks.
EQUIVALENT = [
    ("04", "error_term = error * sigmoid_prime(h)  # SOLUTION", "error_term = error * nn_output * (1 - nn_output)"),
    ("04", "h = np.dot(x, weights)  # SOLUTION", "h = sum(x[i] * weights[i] for i in range(len(x)))"),
    ("06", "hidden_layer_in = np.dot(X, weights_input_to_hidden)  # SOLUTION", "hidden_layer_in = X @ weights_input_to_hidden"),
    ("07", "delta_w_i_h = learnrate * hidden_error_term * x[:, None]  # SOLUTION",
     "delta_w_i_h = learnrate * np.outer(x, hidden_error_term)"),
    ("07", "hidden_error_term = np.dot(output_error_term, weights_hidden_output) * hidden_layer_output * (1 - hidden_layer_output)  # SOLUTION",
     "hidden_error_term = weights_hidden_output * output_error_term * sigmoid(hidden_layer_input) * (1 - sigmoid(hidden_layer_input))"),
    ("05", "loss = np.mean((out - targets) ** 2)  # SOLUTION", "loss = np.sum((targets - out) ** 2) / len(targets)"),
    ("08", "del_w_input_hidden = del_w_input_hidden + terms[\"hidden_error_term\"] * x[:, None]  # SOLUTION",
     "del_w_input_hidden += np.outer(x, terms[\"hidden_error_term\"])"),
]


@pytest.mark.parametrize("exercise_id, old, new", EQUIVALENT, ids=[f"{e[0]}-{i}" for i, e in enumerate(EQUIVALENT)])
def test_equivalent_styles_get_full_marks(tmp_path, exercise_id, old, new):
    (exercise,) = grade_files({exercise_id: edited_reference(exercise_id, old, new)}, tmp_path).exercises
    assert [c.message for c in exercise.checks if c.status != "passed"] == []


def test_vectorised_epoch_gets_full_marks(tmp_path):
    # 05's epoch without the per-record loop: the same sums in another order.
    source = reference_source("05").replace('''    for x, y in zip(features, targets):
        terms = record_terms(x, y, weights)
        # TODO: Add the change in weights for this record (terms["error_term"] and x)
        #       to the total change in weights
        del_w = del_w + terms["error_term"] * x  # SOLUTION
''', '''    output = sigmoid(features @ weights)
    del_w = ((targets - output) * output * (1 - output)) @ features
''')
    assert "features @ weights" in source
    (exercise,) = grade_files({"05": source}, tmp_path).exercises
    assert exercise.score == exercise.max_score

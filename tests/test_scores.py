"""End-to-end scores: the reference earns full marks, the stubs zero, known mistakes their expected share."""
from __future__ import annotations

import pytest

from nngrade.judge.exercises import EXERCISES

from helpers import REPO, SAMPLE_DATA, edited_reference, grade_files, reference_source


def _by_quantity(exercise) -> dict[str, set[str]]:
    statuses: dict[str, set[str]] = {}
    for check in exercise.checks:
        if check.quantity != "side_effects":   # advisory, 0 points; tested on its own
            statuses.setdefault(f"{check.function}.{check.quantity}", set()).add(check.status)
    return statuses


@pytest.mark.parametrize("data", ["sample", "real"])
def test_reference_gets_full_marks(tmp_path, data, request):
    data_path = request.getfixturevalue("real_data") if data == "real" else SAMPLE_DATA
    report = grade_files({i: reference_source(i) for i in EXERCISES}, tmp_path, seed=11, data=data_path)
    assert report.max_score > 0
    failed = [c.name + ": " + c.message for ex in report.exercises for c in ex.checks if c.status != "passed"]
    assert failed == []
    assert report.score == report.max_score == sum(ex.max_score for ex in EXERCISES.values())
    assert report.data["source"] == data


def test_reference_passes_across_seeds(tmp_path):
    # Hidden cases are drawn per seed: the reference must pass whatever the draw.
    for seed in (0, 1, 2**31 - 1):
        report = grade_files({i: reference_source(i) for i in ("04", "06", "07")}, tmp_path / str(seed), seed=seed)
        assert report.score == report.max_score


def test_stubs_score_zero_with_not_implemented(tmp_path):
    report = grade_files({i: REPO / "exercises" / f"{ex.stem}.py" for i, ex in EXERCISES.items()}, tmp_path)
    assert report.max_score == sum(ex.max_score for ex in EXERCISES.values()) > 0
    assert report.score == 0
    statuses = {c.status for ex in report.exercises for c in ex.checks}
    assert statuses == {"not_implemented"}
    assert all(ex.problem is None for ex in report.exercises)


# Mistakes a student makes, and what each should cost. The points that survive are worked out by
# hand (one point per quantity and case): a quantity computed correctly from the student's own wrong
# upstream value keeps its points (follow-through), an earlier quantity of the call or the result of the
# student's own function it calls.
MISTAKES = [
    pytest.param("04", "del_w = learnrate * error_term * x", "del_w = error_term * x",
                 {"gradient_step.del_w"}, 16, "learnrate_missing", id="04-learnrate-missing"),
    pytest.param("05", "weights = weights + learnrate * del_w / n_records", "weights = weights + learnrate * del_w",
                 {"train_epoch.weights"}, 23 - 3, "missing_average",
                 id="05-no-average"),
    pytest.param("06", "output_layer_out = sigmoid(output_layer_in)", "output_layer_out = output_layer_in",
                 {"forward_pass.output_layer_out"}, 12 - 3, "output_sigmoid_missing", id="06-no-output-sigmoid"),
    # hidden_error_term, delta_w_h_o and delta_w_i_h follow from the student's output_error_term.
    pytest.param("07", "output_error_term = error * output * (1 - output)", "output_error_term = error",
                 {"backprop_step.output_error_term"}, 16, "missing_sigmoid_derivative", id="07-no-derivative"),
    # train_epoch's summed step follows from the student's own record_terms, its updated weights from that step.
    pytest.param("08", "hidden_error_term = hidden_error * hidden_output * (1 - hidden_output)",
                 "hidden_error_term = hidden_error",
                 {"record_terms.hidden_error_term"}, 37 - 3, "missing_hidden_derivative", id="08-no-hidden-derivative"),
]


@pytest.mark.parametrize("exercise_id, old, new, wrong, expected_score, mistake", MISTAKES)
def test_a_mistake_costs_only_what_it_touches(tmp_path, exercise_id, old, new, wrong, expected_score, mistake):
    report = grade_files({exercise_id: edited_reference(exercise_id, old, new)}, tmp_path)
    (exercise,) = report.exercises
    statuses = _by_quantity(exercise)
    assert {q for q, s in statuses.items() if s != {"passed"}} == wrong
    assert all("failed" in statuses[q] and statuses[q] <= {"failed", "passed"} for q in wrong)
    assert exercise.score == expected_score
    root = next(c for c in exercise.checks if c.status == "failed")
    assert root.misconception == mistake


def test_hard_coded_lesson_answer_fails_the_hidden_cases(tmp_path):
    # The lesson's printed values, typed in: right on the lesson's case only.
    source = '''
import numpy as np
def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    return {"error": 0.6 - 0.48497343084992534, "output_error_term": 0.028730669543515018,
            "hidden_error_term": np.array([0.00070802, -0.00204471]),
            "delta_w_h_o": np.array([0.00804047, 0.00555918]),
            "delta_w_i_h": np.array([[1.77005547e-04, -5.11178506e-04], [3.54011093e-05, -1.02235701e-04],
                                     [-7.08022187e-05, 2.04471402e-04]])}
'''
    (exercise,) = grade_files({"07": source}, tmp_path).exercises
    by_case = {}
    for check in exercise.checks:
        by_case.setdefault(check.case, set()).add(check.status)
    assert by_case["hidden-1"] == by_case["hidden-2"] == by_case["handout"] == {"failed"}
    assert exercise.score <= 5


def test_timeout_is_reported_and_other_exercises_still_graded(tmp_path):
    loop = edited_reference("07", "error = target - output  # SOLUTION", "while True: pass")
    report = grade_files({"07": loop, "04": reference_source("04")}, tmp_path, timeout=1.5)
    by_id = {ex.id: ex for ex in report.exercises}
    assert {c.status for c in by_id["07"].checks} == {"timeout"}
    assert by_id["07"].score == 0 and by_id["07"].max_score == 20
    assert by_id["04"].score == by_id["04"].max_score


def test_exception_keeps_the_quantities_computed_before_it(tmp_path):
    # The last line fails to broadcast (x without [:, None] against 2 hidden units, 3 inputs).
    source = edited_reference("07", "delta_w_i_h = learnrate * hidden_error_term * x[:, None]",
                              "delta_w_i_h = learnrate * hidden_error_term * x")
    (exercise,) = grade_files({"07": source}, tmp_path).exercises
    statuses = _by_quantity(exercise)
    # With one hidden unit (the handout's case) the product broadcasts to the wrong shape instead of raising.
    assert statuses["backprop_step.delta_w_i_h"] == {"error", "failed"}
    assert all(statuses[q] == {"passed"} for q in statuses if q != "backprop_step.delta_w_i_h")
    assert {c.misconception for c in exercise.checks if c.case == "lesson" and c.status == "error"} == {"missing_column_vector"}
    message = next(c.message for c in exercise.checks if c.case == "lesson" and c.status == "error")
    assert "ValueError" in message and "broadcast" in message
    assert exercise.score == 16


def test_syntax_error_is_a_zero_with_a_reason(tmp_path):
    (exercise,) = grade_files({"06": "def forward_pass(:\n"}, tmp_path).exercises
    assert exercise.score == 0 and exercise.max_score == 12
    assert exercise.problem.startswith("SyntaxError at line 1")
    assert {c.status for c in exercise.checks} == {"error"}


def test_missing_function_and_missing_key(tmp_path):
    source = "def forward_pass(X, weights_input_to_hidden, weights_hidden_to_output):\n    return {}\n"
    (ex06,) = grade_files({"06": source}, tmp_path / "a").exercises
    assert all("did not return" in c.message for c in ex06.checks if c.quantity != "side_effects")
    (ex04,) = grade_files({"04": "x = 1\n"}, tmp_path / "b").exercises
    assert all(c.status == "error" and "not defined" in c.message for c in ex04.checks)

"""A corpus of wrong submissions, one per known mistake and exercise, each with the diagnosis, the partial
score and the follow-through credit it deserves; placeholders earn nothing; side effects are reported.

Each entry is the reference with the student's version of the line(s), as a student types it. The
expected scores are worked out by hand, one point per quantity and case (04: 20, 05: 23, 06: 12,
07: 20, 08: 37): the quantities the mistake makes wrong lose their points, and a later quantity
computed correctly from the student's own wrong value keeps them (follow-through), whether that
value is an earlier quantity of the same call or the result of the student's own function it calls
(train_epoch's summed steps from the student's record_terms). `train` is given code: no points.
"""
from __future__ import annotations

import numpy as np
import pytest

from nngrade.judge.exercises import EXERCISES, SIDE_EFFECTS
from nngrade.stubs import MARKER

from helpers import edited_reference, grade_files, reference_source

MAX = {"04": 20, "05": 23, "06": 12, "07": 20, "08": 37}


def case(exercise, edits, mistake, lost, wrong, followed=(), statuses=("failed", "passed"), id=None):
    """`edits`: (reference line, the student's line) pairs; `lost`: points lost; `wrong`: quantities not fully right."""
    return pytest.param(exercise, edits, mistake, MAX[exercise] - lost, set(wrong), set(followed), set(statuses), id=id)


ET_05 = 'error_term = error * output * (1 - output)  # SOLUTION'
UPDATE_05 = 'weights = weights + learnrate * del_w / n_records  # SOLUTION'
STEP_05 = 'del_w = del_w + terms["error_term"] * x  # SOLUTION'
OET_08 = 'output_error_term = error * output * (1 - output)  # SOLUTION'
W_IH_08 = 'weights_input_hidden = weights_input_hidden + learnrate * del_w_input_hidden / n_records  # SOLUTION'
W_HO_08 = 'weights_hidden_output = weights_hidden_output + learnrate * del_w_hidden_output / n_records  # SOLUTION'
STEPS_08 = ('del_w_hidden_output = del_w_hidden_output + terms["output_error_term"] * terms["hidden_output"]  # SOLUTION',
            'del_w_input_hidden = del_w_input_hidden + terms["hidden_error_term"] * x[:, None]  # SOLUTION')

CORPUS = [
    # --- 04: one gradient step -------------------------------------------------------------------
    case("04", [("error_term = error * sigmoid_prime(h)  # SOLUTION", "error_term = error")],
         "missing_sigmoid_derivative", 4, ["gradient_step.error_term"], ["gradient_step.del_w"], id="04-missing-derivative"),
    case("04", [("error_term = error * sigmoid_prime(h)  # SOLUTION", "error_term = error * sigmoid_prime(nn_output)")],
         "derivative_of_activation", 4, ["gradient_step.error_term"], ["gradient_step.del_w"], id="04-derivative-of-activation"),
    case("04", [("error = y - nn_output  # SOLUTION", "error = nn_output - y")],
         "flipped_error", 4, ["gradient_step.error"], ["gradient_step.error_term", "gradient_step.del_w"], id="04-flipped-error"),
    case("04", [("del_w = learnrate * error_term * x  # SOLUTION", "del_w = error_term * x")],
         "learnrate_missing", 4, ["gradient_step.del_w"], id="04-learnrate-missing"),
    case("04", [("del_w = learnrate * error_term * x  # SOLUTION", "del_w = learnrate * learnrate * error_term * x")],
         "learnrate_twice", 4, ["gradient_step.del_w"], id="04-learnrate-twice"),
    # --- 05: gradient descent on the admissions data ---------------------------------------------------
    case("05", [("standardised = (values - np.mean(values)) / np.std(values, ddof=1)  # SOLUTION",
                 "standardised = (values - values.mean()) / np.std(values)")],
         "population_std", 2, ["standardise.standardised"], id="05-np-std"),
    # The lesson's own seed passes the lesson's case; the hidden case, drawn with another seed, does not.
    case("05", [("sample = np.random.RandomState(seed).choice(n_rows, size=int(n_rows * 0.9), replace=False)  # SOLUTION",
                 "np.random.seed(42)\n    sample = np.random.choice(n_rows, size=int(n_rows * 0.9), replace=False)")],
         "wrong_split_seed", 1, ["split_sample.sample"], id="05-wrong-split-seed"),
    # The summed step is right given the student's own record_terms (follow-through across functions).
    case("05", [(ET_05, "error_term = error")], "missing_sigmoid_derivative", 3,
         ["record_terms.error_term"], ["train_epoch.del_w", "train_epoch.weights"], id="05-missing-derivative"),
    case("05", [(ET_05, "error_term = error * sigmoid(output) * (1 - sigmoid(output))")], "derivative_of_activation",
         3, ["record_terms.error_term"], ["train_epoch.del_w", "train_epoch.weights"],
         id="05-derivative-of-activation"),
    case("05", [("error = y - output  # SOLUTION", "error = output - y")], "flipped_error", 3,
         ["record_terms.error"], ["record_terms.error_term", "train_epoch.del_w", "train_epoch.weights"],
         id="05-flipped-error"),
    case("05", [(UPDATE_05, "weights = weights - learnrate * del_w / n_records")], "update_sign", 3,
         ["train_epoch.weights"], id="05-update-sign"),
    case("05", [(UPDATE_05, "weights = weights + learnrate * del_w")], "missing_average", 3,
         ["train_epoch.weights"], id="05-missing-average"),
    case("05", [(STEP_05, 'del_w = del_w + terms["error_term"] * x\n        weights = weights + learnrate * del_w / n_records'),
                (UPDATE_05, "")],
         "update_inside_loop", 3 + 3, ["train_epoch.del_w", "train_epoch.weights"], id="05-update-inside-loop"),
    case("05", [(UPDATE_05, "weights = weights + del_w / n_records")], "learnrate_missing", 3,
         ["train_epoch.weights"], id="05-learnrate-missing"),
    # eta in the summed step and again in the update: the update itself is right given that step.
    case("05", [(STEP_05, 'del_w += learnrate * terms["error_term"] * x')], "learnrate_twice", 3,
         ["train_epoch.del_w"], ["train_epoch.weights"], id="05-learnrate-twice"),
    # --- 06: forward pass -----------------------------------------------------------------------------
    case("06", [("hidden_layer_in = np.dot(X, weights_input_to_hidden)  # SOLUTION",
                 "hidden_layer_in = np.dot(weights_input_to_hidden, X)")],
         "dot_order_swapped", 12, ["forward_pass.hidden_layer_in", "forward_pass.hidden_layer_out",
                                   "forward_pass.output_layer_in", "forward_pass.output_layer_out"],
         statuses=["error"], id="06-dot-order-swapped"),
    # --- 07: one backprop step ----------------------------------------------------------------------
    case("07", [("output_error_term = error * output * (1 - output)  # SOLUTION", "output_error_term = error")],
         "missing_sigmoid_derivative", 4, ["backprop_step.output_error_term"],
         ["backprop_step.hidden_error_term", "backprop_step.delta_w_h_o", "backprop_step.delta_w_i_h"], id="07-missing-derivative"),
    case("07", [("hidden_error_term = np.dot(output_error_term, weights_hidden_output) * hidden_layer_output * (1 - hidden_layer_output)  # SOLUTION",
                 "hidden_error_term = np.dot(output_error_term, weights_hidden_output)")],
         "missing_hidden_derivative", 4, ["backprop_step.hidden_error_term"], ["backprop_step.delta_w_i_h"],
         id="07-missing-hidden-derivative"),
    case("07", [("output_error_term = error * output * (1 - output)  # SOLUTION",
                 "output_error_term = error * sigmoid(output) * (1 - sigmoid(output))")],
         "derivative_of_activation", 4, ["backprop_step.output_error_term"],
         ["backprop_step.hidden_error_term", "backprop_step.delta_w_h_o", "backprop_step.delta_w_i_h"],
         id="07-derivative-of-activation"),
    case("07", [("error = target - output  # SOLUTION", "error = output - target")], "flipped_error", 4,
         ["backprop_step.error"], ["backprop_step.output_error_term", "backprop_step.hidden_error_term",
                                   "backprop_step.delta_w_h_o", "backprop_step.delta_w_i_h"], id="07-flipped-error"),
    case("07", [("delta_w_h_o = learnrate * output_error_term * hidden_layer_output  # SOLUTION",
                 "delta_w_h_o = output_error_term * hidden_layer_output")],
         "learnrate_missing", 4, ["backprop_step.delta_w_h_o"], id="07-learnrate-missing"),
    case("07", [("delta_w_i_h = learnrate * hidden_error_term * x[:, None]  # SOLUTION",
                 "delta_w_i_h = learnrate * learnrate * hidden_error_term * x[:, None]")],
         "learnrate_twice", 4, ["backprop_step.delta_w_i_h"], id="07-learnrate-twice"),
    case("07", [("delta_w_i_h = learnrate * hidden_error_term * x[:, None]  # SOLUTION",
                 "delta_w_i_h = learnrate * np.outer(hidden_error_term, x)")],
         "outer_wrong_way", 4, ["backprop_step.delta_w_i_h"], id="07-outer-wrong-way"),
    case("07", [("delta_w_i_h = learnrate * hidden_error_term * x[:, None]  # SOLUTION",
                 "delta_w_i_h = (learnrate * hidden_error_term * x[:, None]).T")],
         "outer_wrong_way", 4, ["backprop_step.delta_w_i_h"], id="07-transposed-step"),
    # Without x[:, None] the product fails to broadcast (lesson, hidden cases); with the handout's single
    # hidden unit it broadcasts to the wrong shape instead.
    case("07", [("delta_w_i_h = learnrate * hidden_error_term * x[:, None]  # SOLUTION",
                 "delta_w_i_h = learnrate * hidden_error_term * x")],
         "missing_column_vector", 4, ["backprop_step.delta_w_i_h"], statuses=["error", "failed"], id="07-missing-column"),
    # --- 08: backprop training ------------------------------------------------------------------------
    # The summed steps are right given the student's own record_terms (follow-through across functions).
    case("08", [(OET_08, "output_error_term = error")], "missing_sigmoid_derivative", 3,
         ["record_terms.output_error_term"],
         ["record_terms.hidden_error", "record_terms.hidden_error_term", "train_epoch.del_w_input_hidden",
          "train_epoch.del_w_hidden_output", "train_epoch.weights_input_hidden", "train_epoch.weights_hidden_output"],
         id="08-missing-derivative"),
    case("08", [("hidden_error_term = hidden_error * hidden_output * (1 - hidden_output)  # SOLUTION",
                 "hidden_error_term = hidden_error")], "missing_hidden_derivative", 3,
         ["record_terms.hidden_error_term"], ["train_epoch.del_w_input_hidden", "train_epoch.weights_input_hidden"],
         id="08-missing-hidden-derivative"),
    case("08", [(OET_08, "output_error_term = error * sigmoid(output) * (1 - sigmoid(output))")],
         "derivative_of_activation", 3, ["record_terms.output_error_term"],
         ["record_terms.hidden_error", "record_terms.hidden_error_term", "train_epoch.del_w_input_hidden",
          "train_epoch.del_w_hidden_output", "train_epoch.weights_input_hidden", "train_epoch.weights_hidden_output"],
         id="08-derivative-of-activation"),
    case("08", [("error = y - output  # SOLUTION", "error = output - y")], "flipped_error", 3,
         ["record_terms.error"],
         ["record_terms.output_error_term", "record_terms.hidden_error", "record_terms.hidden_error_term",
          "train_epoch.del_w_input_hidden", "train_epoch.del_w_hidden_output",
          "train_epoch.weights_input_hidden", "train_epoch.weights_hidden_output"], id="08-flipped-error"),
    case("08", [(W_IH_08, "weights_input_hidden = weights_input_hidden - learnrate * del_w_input_hidden / n_records"),
                (W_HO_08, "weights_hidden_output = weights_hidden_output - learnrate * del_w_hidden_output / n_records")],
         "update_sign", 6, ["train_epoch.weights_input_hidden", "train_epoch.weights_hidden_output"],
         id="08-update-sign"),
    case("08", [(W_IH_08, "weights_input_hidden = weights_input_hidden + learnrate * del_w_input_hidden"),
                (W_HO_08, "weights_hidden_output = weights_hidden_output + learnrate * del_w_hidden_output")],
         "missing_average", 6, ["train_epoch.weights_input_hidden", "train_epoch.weights_hidden_output"],
         id="08-missing-average"),
    case("08", [(STEPS_08[1], STEPS_08[1].replace("  # SOLUTION", "") + "\n        " + W_IH_08.replace("  # SOLUTION", "")
                 + "\n        " + W_HO_08.replace("  # SOLUTION", "")), (W_IH_08, ""), (W_HO_08, "")],
         "update_inside_loop", 12,
         ["train_epoch.del_w_input_hidden", "train_epoch.del_w_hidden_output", "train_epoch.weights_input_hidden",
          "train_epoch.weights_hidden_output"], id="08-update-inside-loop"),
    case("08", [(W_IH_08, "weights_input_hidden = weights_input_hidden + del_w_input_hidden / n_records"),
                (W_HO_08, "weights_hidden_output = weights_hidden_output + del_w_hidden_output / n_records")],
         "learnrate_missing", 6, ["train_epoch.weights_input_hidden", "train_epoch.weights_hidden_output"],
         id="08-learnrate-missing"),
    case("08", [(STEPS_08[0], 'del_w_hidden_output += learnrate * terms["output_error_term"] * terms["hidden_output"]'),
                (STEPS_08[1], 'del_w_input_hidden += learnrate * terms["hidden_error_term"] * x[:, None]')],
         "learnrate_twice", 6, ["train_epoch.del_w_input_hidden", "train_epoch.del_w_hidden_output"],
         ["train_epoch.weights_input_hidden", "train_epoch.weights_hidden_output"], id="08-learnrate-twice"),
]


def student_version(exercise_id: str, edits) -> str:
    source = reference_source(exercise_id)
    for old, new in edits:
        assert source.count(old) == 1, f"{old!r} not found once in the reference of {exercise_id}"
        source = source.replace(old, new)
    return source.replace(MARKER, "# my answer")


def by_quantity(exercise) -> dict[str, list]:
    rows: dict[str, list] = {}
    for check in exercise.checks:
        if check.quantity != SIDE_EFFECTS:
            rows.setdefault(f"{check.function}.{check.quantity}", []).append(check)
    return rows


@pytest.mark.parametrize("exercise_id, edits, mistake, score, wrong, followed, statuses", CORPUS)
def test_each_mistake_gets_its_diagnosis_score_and_follow_through(tmp_path, exercise_id, edits, mistake, score,
                                                                  wrong, followed, statuses):
    (exercise,) = grade_files({exercise_id: student_version(exercise_id, edits)}, tmp_path).exercises
    rows = by_quantity(exercise)
    assert {q for q, checks in rows.items() if any(c.status != "passed" for c in checks)} == wrong
    assert {s for q in wrong for s in (c.status for c in rows[q])} <= statuses
    assert {q for q, checks in rows.items() if any(c.follow_through for c in checks)} == followed
    root = next(c for c in exercise.checks if c.status != "passed")
    assert root.misconception == mistake, root.message
    assert mistake in {c.misconception for c in exercise.checks}
    # A diagnosis is only ever given to a check that did not pass, and names the mistake in words.
    assert all(c.status != "passed" for c in exercise.checks if c.misconception)
    assert "Likely mistake:" in root.message and "Hint:" in root.message
    assert exercise.score == score


def test_the_corpus_covers_every_known_mistake_where_it_applies():
    from nngrade.judge.derive import model
    from test_student_corpus import COVERED   # the student-style corpus: the mistakes of issue 10 among them
    covered = {(values[0], values[2]) for values in (p.values for p in CORPUS)} | COVERED
    applicable = {(ex.id, mistake) for ex in EXERCISES.values()
                  for mistake in model(ex).flavours.values()}
    assert applicable <= covered


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
@pytest.mark.parametrize("placeholder", ["0", "1.0"])
def test_placeholders_earn_only_what_they_really_are(tmp_path, exercise_id, placeholder):
    """Every TODO set to 0 (or to 1): no follow-through, no diagnosis, and only checks whose answer really is it."""
    source = reference_source(exercise_id)
    lines = [line.split("=", 1)[0] + f"= {placeholder}" if line.rstrip().endswith(MARKER) else line
             for line in source.splitlines()]
    (exercise,) = grade_files({exercise_id: "\n".join(lines) + "\n"}, tmp_path, seed=3).exercises
    assert not any(c.follow_through for c in exercise.checks)
    assert not any(c.misconception for c in exercise.checks if c.status == "failed")
    # What the placeholder really earns, computed from the reference alone.
    ex = EXERCISES[exercise_id]
    constant = 0.0 if placeholder == "0" else 1.0
    from nngrade.judge.derive import model
    reference = model(ex)
    expected = {key: reference.call(None, key[0], kwargs) for key, kwargs in ex.inputs(3, _sample()).items()}
    earned = sum(1 for c in ex.checks if c.quantity.points
                 and np.allclose(expected[(c.function, c.case)][c.quantity.name], constant, rtol=1e-6, atol=1e-12))
    assert exercise.score == earned


def _sample():
    from nngrade.data import load, sample_path
    return load(sample_path())


def test_in_place_update_is_reported_and_costs_nothing(tmp_path):
    source = edited_reference("05", "weights = weights + learnrate * del_w / n_records  # SOLUTION",
                              "weights += learnrate * del_w / n_records")
    (exercise,) = grade_files({"05": source}, tmp_path).exercises
    assert exercise.score == exercise.max_score
    side = {c.function: c for c in exercise.checks if c.quantity == SIDE_EFFECTS}
    assert side["train_epoch"].status == "failed"
    assert "'weights'" in side["train_epoch"].message and "in place" in side["train_epoch"].message
    assert {c.status for f, c in side.items() if f != "train_epoch"} == {"passed"}


def test_hidden_global_randomness_is_reported(tmp_path):
    source = edited_reference("04", "h = np.dot(x, weights)  # SOLUTION", "h = np.dot(x, weights + np.random.normal(0, 1e-9, len(x)))")
    (exercise,) = grade_files({"04": source}, tmp_path).exercises
    (side,) = [c for c in exercise.checks if c.quantity == SIDE_EFFECTS]
    assert side.status == "failed" and "random seed" in side.message


def test_reference_has_no_side_effects_and_no_diagnosis(tmp_path):
    report = grade_files({i: reference_source(i) for i in EXERCISES}, tmp_path)
    checks = [c for ex in report.exercises for c in ex.checks]
    assert all(c.status == "passed" and not c.misconception and not c.follow_through for c in checks)


def test_follow_through_points_are_configurable(tmp_path, monkeypatch):
    import dataclasses

    from nngrade.judge import exercises
    original = exercises.EXERCISES["07"]
    (function,) = original.functions
    halved = tuple(dataclasses.replace(q, follow_through_points=0.5) for q in function.quantities)
    monkeypatch.setitem(exercises.EXERCISES, "07", dataclasses.replace(
        original, functions=(dataclasses.replace(function, quantities=halved),)))
    source = student_version("07", [("output_error_term = error * output * (1 - output)  # SOLUTION",
                                     "output_error_term = error")])
    (exercise,) = grade_files({"07": source}, tmp_path).exercises
    # error: 4 points; output_error_term: 0; three later quantities on 4 cases by follow-through at 0.5 each.
    assert exercise.score == 4 + 3 * 4 * 0.5
    assert exercise.max_score == 20

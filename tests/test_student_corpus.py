"""The mistakes students really make, as they write them: whole functions in their own style, each with the
diagnosis, the score and the follow-through worked out by hand.

Each submission is the lesson solved (the reference as a student hands it in) with one or more of its
functions replaced by a student's version of the whole function. What each deserves is reasoned from the
lesson alone, one point per quantity and case (04: 20, 05: 23, 06: 12, 07: 20, 08: 37; the cases are
listed in test_misconceptions): a quantity the mistake makes wrong loses its points on every case where the
mistake changes it (a count written in, 360, is right on the lesson's 360 training rows and wrong on the
hidden cases' prime counts; an accuracy rounded to 3 decimals is right on the lesson's 40 test rows); a later
quantity computed with the lesson's formula from the student's own wrong values keeps its points
(follow-through); and every check that does not pass names the mistake, in words. A mistake that could
be another one names none ("a wrong name is worse than none").

The default suite grades them on 2 seeds, `-m slow` on 20.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

import pytest

from nngrade.judge.exercises import EXERCISES, SIDE_EFFECTS
from nngrade.stubs import MARKER

from helpers import grade_files, reference_source

MAX = {"04": 20, "05": 23, "06": 12, "07": 20, "08": 37}


@dataclass(frozen=True)
class Submission:
    id: str
    exercise: str
    functions: str                     # the student's functions, whole, as they wrote them
    mistake: str | None                # what every check that does not pass names (None: nothing may be named)
    score: float
    wrong: frozenset[str]              # "function.quantity" with a check that does not pass
    followed: frozenset[str] = field(default_factory=frozenset)   # ... with a check passed by follow-through
    statuses: frozenset[str] = frozenset({"failed"})               # the statuses of the checks that do not pass


def submission(id, exercise, functions, mistake, lost, wrong, followed=(), statuses=("failed",)):
    return Submission(id, exercise, functions, mistake, MAX[exercise] - lost, frozenset(wrong), frozenset(followed),
                      frozenset(statuses))


# --- 04: one gradient step ---------------------------------------------------------------------------

FORGOT_SIGMOID_04 = '''
def gradient_step(x, y, weights, learnrate):
    h = np.dot(x, weights)
    nn_output = h                     # output of the unit
    error = y - nn_output
    error_term = error * sigmoid_prime(h)
    del_w = learnrate * error_term * x
    return {"h": h, "nn_output": nn_output, "error": error, "error_term": error_term, "del_w": del_w}
'''

LEARNRATE_IN_ERROR_TERM_04 = '''
def gradient_step(x, y, weights, learnrate):
    h = x @ weights
    nn_output = sigmoid(h)
    error = y - nn_output
    # put the learning rate in here, then the step is just error_term * x
    error_term = learnrate * error * sigmoid_prime(h)
    del_w = error_term * x
    return {"h": h, "nn_output": nn_output, "error": error, "error_term": error_term, "del_w": del_w}
'''

# --- 05: gradient descent on the admissions data -----------------------------------------------------

DEFAULT_RNG_05 = '''
def split_sample(n_rows, seed):
    rng = np.random.default_rng(seed)     # the recommended way to seed NumPy
    sample = rng.choice(n_rows, size=int(0.9 * n_rows), replace=False)
    return {"sample": sample}
'''

# The notebook's cell, copied as it was: the data set's 400 rows and the lesson's seed.
SPLIT_FROM_THE_NOTEBOOK_05 = '''
def split_sample(n_rows, seed):
    np.random.seed(42)
    sample = np.random.choice(400, size=360, replace=False)
    return {"sample": sample}
'''

LINEAR_OUTPUT_05 = '''
def record_terms(x, y, weights):
    output = np.dot(x, weights)           # the prediction
    error = y - output
    error_term = error * output * (1 - output)
    return {"output": output, "error": error, "error_term": error_term}
'''

OVERWRITTEN_STEP_05 = '''
def train_epoch(features, targets, weights, learnrate):
    n_records, n_features = features.shape
    del_w = np.zeros(n_features)
    for i in range(n_records):
        terms = record_terms(features[i], targets[i], weights)
        del_w = terms["error_term"] * features[i]      # step for this record
    weights = weights + learnrate * del_w / n_records
    return {"del_w": del_w, "weights": weights}
'''

SKIPS_THE_FIRST_RECORD_05 = '''
def train_epoch(features, targets, weights, learnrate):
    n_records = len(features)
    del_w = np.zeros(weights.shape)
    for i in range(1, n_records):
        x, y = features[i], targets[i]
        del_w += record_terms(x, y, weights)["error_term"] * x
    weights = weights + learnrate * del_w / n_records
    return {"del_w": del_w, "weights": weights}
'''

COUNT_WRITTEN_IN_05 = '''
def train_loss(features, targets, weights):
    out = sigmoid(np.dot(features, weights))
    loss = np.sum((out - targets) ** 2) / 360    # 360 training records
    return {"loss": loss}
'''

SUMMED_LOSS_05 = '''
def train_loss(features, targets, weights):
    out = sigmoid(features @ weights)
    errors = targets - out
    loss = np.sum(errors ** 2)
    return {"loss": loss}
'''

SQUARE_OF_MEAN_05 = '''
def train_loss(features, targets, weights):
    out = sigmoid(np.dot(features, weights))
    mean_error = np.mean(out - targets)
    loss = mean_error ** 2
    return {"loss": loss}
'''

ROUNDED_ACCURACY_05 = '''
def accuracy(features, targets, weights):
    out = sigmoid(np.dot(features, weights))
    predictions = out > 0.5
    acc = np.mean(predictions == targets)
    return {"accuracy": round(acc, 3)}    # 3 decimals, as the lesson prints it
'''

ACCURACY_OVER_THE_TEST_ROWS_05 = '''
def accuracy(features, targets, weights):
    out = sigmoid(np.dot(features, weights))
    predictions = out > 0.5
    accuracy = np.sum(predictions == targets) / 40    # 40 test records
    return {"accuracy": accuracy}
'''

# --- 06: the forward pass -----------------------------------------------------------------------------

NO_OUTPUT_SIGMOID_06 = '''
def forward_pass(X, weights_input_to_hidden, weights_hidden_to_output):
    hidden_layer_in = X @ weights_input_to_hidden
    hidden_layer_out = sigmoid(hidden_layer_in)
    output_layer_in = hidden_layer_out @ weights_hidden_to_output
    output_layer_out = output_layer_in    # network output
    return {"hidden_layer_in": hidden_layer_in, "hidden_layer_out": hidden_layer_out,
            "output_layer_in": output_layer_in, "output_layer_out": output_layer_out}
'''

FED_THE_HIDDEN_INPUT_06 = '''
def forward_pass(X, weights_input_to_hidden, weights_hidden_to_output):
    hidden_layer_in = np.dot(X, weights_input_to_hidden)
    hidden_layer_out = sigmoid(hidden_layer_in)
    output_layer_in = np.dot(hidden_layer_in, weights_hidden_to_output)
    output_layer_out = sigmoid(output_layer_in)
    return {"hidden_layer_in": hidden_layer_in, "hidden_layer_out": hidden_layer_out,
            "output_layer_in": output_layer_in, "output_layer_out": output_layer_out}
'''

# The notebook's whole cell pasted into the function: its own X and weights replace the arguments.
NOTEBOOK_CELL_06 = '''
def forward_pass(X, weights_input_to_hidden, weights_hidden_to_output):
    # Network size
    N_input = 4
    N_hidden = 3
    N_output = 2

    np.random.seed(42)
    # Make some fake data
    X = np.random.randn(4)

    weights_input_to_hidden = np.random.normal(0, scale=0.1, size=(N_input, N_hidden))
    weights_hidden_to_output = np.random.normal(0, scale=0.1, size=(N_hidden, N_output))

    hidden_layer_in = np.dot(X, weights_input_to_hidden)
    hidden_layer_out = sigmoid(hidden_layer_in)
    output_layer_in = np.dot(hidden_layer_out, weights_hidden_to_output)
    output_layer_out = sigmoid(output_layer_in)
    return {"hidden_layer_in": hidden_layer_in, "hidden_layer_out": hidden_layer_out,
            "output_layer_in": output_layer_in, "output_layer_out": output_layer_out}
'''

# Weights stored (units x inputs), as some libraries do: the inputs meet the matrix's columns.
TRANSPOSED_WEIGHTS_06 = '''
def forward_pass(X, weights_input_to_hidden, weights_hidden_to_output):
    hidden_layer_in = np.dot(X, weights_input_to_hidden.T)
    hidden_layer_out = sigmoid(hidden_layer_in)
    output_layer_in = np.dot(hidden_layer_out, weights_hidden_to_output.T)
    output_layer_out = sigmoid(output_layer_in)
    return {"hidden_layer_in": hidden_layer_in, "hidden_layer_out": hidden_layer_out,
            "output_layer_in": output_layer_in, "output_layer_out": output_layer_out}
'''

# W x with x "as a column": .T on a vector changes nothing, the operands are swapped.
MATRIX_FIRST_06 = '''
def forward_pass(X, weights_input_to_hidden, weights_hidden_to_output):
    hidden_layer_in = weights_input_to_hidden @ X.T
    hidden_layer_out = sigmoid(hidden_layer_in)
    output_layer_in = weights_hidden_to_output @ hidden_layer_out.T
    output_layer_out = sigmoid(output_layer_in)
    return {"hidden_layer_in": hidden_layer_in, "hidden_layer_out": hidden_layer_out,
            "output_layer_in": output_layer_in, "output_layer_out": output_layer_out}
'''

# The wrong matrix in the right order fails as a transposed one would: it is neither, and nothing is named.
WRONG_MATRIX_06 = '''
def forward_pass(X, weights_input_to_hidden, weights_hidden_to_output):
    hidden_layer_in = np.dot(X, weights_hidden_to_output)
    hidden_layer_out = sigmoid(hidden_layer_in)
    output_layer_in = np.dot(hidden_layer_out, weights_input_to_hidden)
    output_layer_out = sigmoid(output_layer_in)
    return {"hidden_layer_in": hidden_layer_in, "hidden_layer_out": hidden_layer_out,
            "output_layer_in": output_layer_in, "output_layer_out": output_layer_out}
'''

# --- 07: one backpropagation step ---------------------------------------------------------------------

LEARNRATE_IN_ERROR_TERM_07 = '''
def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    hidden_layer_output = sigmoid(np.dot(x, weights_input_hidden))
    output = sigmoid(np.dot(hidden_layer_output, weights_hidden_output))

    error = target - output
    output_error_term = learnrate * error * output * (1 - output)   # eta * delta
    hidden_error_term = weights_hidden_output * output_error_term * hidden_layer_output * (1 - hidden_layer_output)

    # eta is already in the error terms
    delta_w_h_o = output_error_term * hidden_layer_output
    delta_w_i_h = hidden_error_term * x[:, None]
    return {"error": error, "output_error_term": output_error_term, "hidden_error_term": hidden_error_term,
            "delta_w_h_o": delta_w_h_o, "delta_w_i_h": delta_w_i_h}
'''

OUTPUT_SLOPE_IN_HIDDEN_07 = '''
def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    hidden_layer_input = np.dot(x, weights_input_hidden)
    hidden_layer_output = sigmoid(hidden_layer_input)
    output = sigmoid(np.dot(hidden_layer_output, weights_hidden_output))

    error = target - output
    output_error_term = error * output * (1 - output)
    hidden_error = np.dot(output_error_term, weights_hidden_output)
    hidden_error_term = hidden_error * output * (1 - output)

    delta_w_h_o = learnrate * output_error_term * hidden_layer_output
    delta_w_i_h = learnrate * hidden_error_term * x[:, None]
    return {"error": error, "output_error_term": output_error_term, "hidden_error_term": hidden_error_term,
            "delta_w_h_o": delta_w_h_o, "delta_w_i_h": delta_w_i_h}
'''

# The lesson's example typed in to try it out, and left there.
EXAMPLE_LEFT_IN_07 = '''
def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    x = np.array([0.5, 0.1, -0.2])
    target = 0.6
    learnrate = 0.5
    weights_input_hidden = np.array([[0.5, -0.6], [0.1, -0.2], [0.1, 0.7]])
    weights_hidden_output = np.array([0.1, -0.3])

    hidden_layer_output = sigmoid(np.dot(x, weights_input_hidden))
    output = sigmoid(np.dot(hidden_layer_output, weights_hidden_output))
    error = target - output
    output_error_term = error * output * (1 - output)
    hidden_error_term = np.dot(output_error_term, weights_hidden_output) * hidden_layer_output * (1 - hidden_layer_output)
    delta_w_h_o = learnrate * output_error_term * hidden_layer_output
    delta_w_i_h = learnrate * hidden_error_term * x[:, None]
    return {"error": error, "output_error_term": output_error_term, "hidden_error_term": hidden_error_term,
            "delta_w_h_o": delta_w_h_o, "delta_w_i_h": delta_w_i_h}
'''

# --- 08: backpropagation on the admissions data ----------------------------------------------------------

RECORD_TERMS_08 = '''
def record_terms(x, y, weights_input_hidden, weights_hidden_output):
    hidden_input = np.dot(x, weights_input_hidden)
    hidden_output = sigmoid(hidden_input)
    output = {output}

    error = y - output
    output_error_term = error * output * (1 - output)
    hidden_error = np.dot(output_error_term, weights_hidden_output)
    hidden_error_term = {hidden_error_term}
    return {{"hidden_input": hidden_input, "hidden_output": hidden_output, "output": output, "error": error,
            "output_error_term": output_error_term, "hidden_error": hidden_error,
            "hidden_error_term": hidden_error_term}}
'''
RIGHT_OUTPUT_08 = "sigmoid(np.dot(hidden_output, weights_hidden_output))"
RIGHT_HIDDEN_TERM_08 = "hidden_error * hidden_output * (1 - hidden_output)"

TRANSPOSED_WEIGHTS_08 = '''
def record_terms(x, y, weights_input_hidden, weights_hidden_output):
    hidden_input = x @ weights_input_hidden.T
    hidden_output = sigmoid(hidden_input)
    output = sigmoid(hidden_output @ weights_hidden_output)
    error = y - output
    output_error_term = error * output * (1 - output)
    hidden_error = output_error_term * weights_hidden_output
    hidden_error_term = hidden_error * hidden_output * (1 - hidden_output)
    return {"hidden_input": hidden_input, "hidden_output": hidden_output, "output": output, "error": error,
            "output_error_term": output_error_term, "hidden_error": hidden_error,
            "hidden_error_term": hidden_error_term}
'''

OVERWRITTEN_STEPS_08 = '''
def train_epoch(features, targets, weights_input_hidden, weights_hidden_output, learnrate):
    n_records = features.shape[0]
    del_w_input_hidden = np.zeros(weights_input_hidden.shape)
    del_w_hidden_output = np.zeros(weights_hidden_output.shape)
    for x, y in zip(features, targets):
        terms = record_terms(x, y, weights_input_hidden, weights_hidden_output)
        del_w_hidden_output = terms["output_error_term"] * terms["hidden_output"]
        del_w_input_hidden = terms["hidden_error_term"] * x[:, None]
    weights_input_hidden = weights_input_hidden + learnrate * del_w_input_hidden / n_records
    weights_hidden_output = weights_hidden_output + learnrate * del_w_hidden_output / n_records
    return {"del_w_input_hidden": del_w_input_hidden, "del_w_hidden_output": del_w_hidden_output,
            "weights_input_hidden": weights_input_hidden, "weights_hidden_output": weights_hidden_output}
'''

SKIPS_THE_LAST_RECORD_08 = '''
def train_epoch(features, targets, weights_input_hidden, weights_hidden_output, learnrate):
    n_records = features.shape[0]
    del_w_input_hidden = np.zeros(weights_input_hidden.shape)
    del_w_hidden_output = np.zeros(weights_hidden_output.shape)
    for i in range(n_records - 1):
        terms = record_terms(features[i], targets[i], weights_input_hidden, weights_hidden_output)
        del_w_hidden_output += terms["output_error_term"] * terms["hidden_output"]
        del_w_input_hidden += terms["hidden_error_term"] * features[i][:, None]
    weights_input_hidden = weights_input_hidden + learnrate * del_w_input_hidden / n_records
    weights_hidden_output = weights_hidden_output + learnrate * del_w_hidden_output / n_records
    return {"del_w_input_hidden": del_w_input_hidden, "del_w_hidden_output": del_w_hidden_output,
            "weights_input_hidden": weights_input_hidden, "weights_hidden_output": weights_hidden_output}
'''

COUNT_WRITTEN_IN_08 = '''
def train_epoch(features, targets, weights_input_hidden, weights_hidden_output, learnrate):
    del_w_input_hidden = np.zeros(weights_input_hidden.shape)
    del_w_hidden_output = np.zeros(weights_hidden_output.shape)
    for x, y in zip(features, targets):
        terms = record_terms(x, y, weights_input_hidden, weights_hidden_output)
        del_w_hidden_output += terms["output_error_term"] * terms["hidden_output"]
        del_w_input_hidden += terms["hidden_error_term"] * x[:, None]
    # average over the 360 training records
    weights_input_hidden = weights_input_hidden + learnrate * del_w_input_hidden / 360
    weights_hidden_output = weights_hidden_output + learnrate * del_w_hidden_output / 360
    return {"del_w_input_hidden": del_w_input_hidden, "del_w_hidden_output": del_w_hidden_output,
            "weights_input_hidden": weights_input_hidden, "weights_hidden_output": weights_hidden_output}
'''

SUMMED_LOSS_08 = '''
def train_loss(features, targets, weights_input_hidden, weights_hidden_output):
    hidden_output = sigmoid(np.dot(features, weights_input_hidden))
    out = sigmoid(np.dot(hidden_output, weights_hidden_output))
    loss = 0
    for o, t in zip(out, targets):
        loss += (o - t) ** 2
    return {"loss": loss}
'''

SQUARE_OF_MEAN_08 = '''
def train_loss(features, targets, weights_input_hidden, weights_hidden_output):
    hidden_output = sigmoid(np.dot(features, weights_input_hidden))
    out = sigmoid(np.dot(hidden_output, weights_hidden_output))
    loss = (np.mean(out) - np.mean(targets)) ** 2
    return {"loss": loss}
'''

ROUNDED_ACCURACY_08 = '''
def accuracy(features, targets, weights_input_hidden, weights_hidden_output):
    hidden = sigmoid(np.dot(features, weights_input_hidden))
    out = sigmoid(np.dot(hidden, weights_hidden_output))
    predictions = out > 0.5
    return {"accuracy": np.round(np.mean(predictions == targets), 3)}
'''

RECORD_TERMS = ["record_terms.error", "record_terms.output_error_term", "record_terms.hidden_error",
                "record_terms.hidden_error_term"]
EPOCH_08 = ["train_epoch.del_w_input_hidden", "train_epoch.del_w_hidden_output", "train_epoch.weights_input_hidden",
            "train_epoch.weights_hidden_output"]
FORWARD = ["forward_pass.hidden_layer_in", "forward_pass.hidden_layer_out", "forward_pass.output_layer_in",
           "forward_pass.output_layer_out"]
RECORD_08 = ["record_terms.hidden_input", "record_terms.hidden_output", "record_terms.output", *RECORD_TERMS]

CORPUS = [
    # 04 (4 cases: lesson, handout, 2 hidden). Without the sigmoid, nn_output is h; the error, the error term and
    # the step are the lesson's formulas on that output.
    submission("04-forgot-output-sigmoid", "04", FORGOT_SIGMOID_04, "output_sigmoid_missing", 4,
               ["gradient_step.nn_output"], ["gradient_step.error", "gradient_step.error_term", "gradient_step.del_w"]),
    # eta * error * f'(h) is not the error term; the step error_term * x is then the lesson's step itself.
    submission("04-learnrate-in-error-term", "04", LEARNRATE_IN_ERROR_TERM_04, "learnrate_in_error_term", 4,
               ["gradient_step.error_term"]),
    # 05 (standardise, split_sample, train_loss, accuracy: lesson + 1 hidden; record_terms, train_epoch: + 2 hidden).
    submission("05-default-rng", "05", DEFAULT_RNG_05, "new_generator", 2, ["split_sample.sample"]),
    # Right on the lesson's 400 rows and seed 42 only; the same sample on the hidden case.
    submission("05-split-from-the-notebook", "05", SPLIT_FROM_THE_NOTEBOOK_05, "ignores_arguments", 1,
               ["split_sample.sample"]),
    # A linear output: the error and error term follow from it, and so do train_epoch's step and weights (the
    # reference's train_epoch on the student's own record_terms).
    submission("05-linear-output", "05", LINEAR_OUTPUT_05, "output_sigmoid_missing", 3, ["record_terms.output"],
               ["record_terms.error", "record_terms.error_term", "train_epoch.del_w", "train_epoch.weights"]),
    # del_w is the last record's step; the update is the lesson's on that del_w.
    submission("05-overwritten-step", "05", OVERWRITTEN_STEP_05, "last_record_only", 3, ["train_epoch.del_w"],
               ["train_epoch.weights"]),
    submission("05-skips-the-first-record", "05", SKIPS_THE_FIRST_RECORD_05, "off_by_one", 3, ["train_epoch.del_w"],
               ["train_epoch.weights"]),
    # / 360 is the mean on the lesson's 360 training rows, not on the hidden case's prime count.
    submission("05-count-written-in", "05", COUNT_WRITTEN_IN_05, "hard_coded_count", 1, ["train_loss.loss"]),
    submission("05-summed-loss", "05", SUMMED_LOSS_05, "loss_not_averaged", 2, ["train_loss.loss"]),
    submission("05-square-of-mean", "05", SQUARE_OF_MEAN_05, "loss_square_of_mean", 2, ["train_loss.loss"]),
    # k / 40 has 3 decimals (the lesson's 40 test rows); k / p for a prime p never has.
    submission("05-rounded-accuracy", "05", ROUNDED_ACCURACY_05, "accuracy_rounded", 1, ["accuracy.accuracy"]),
    submission("05-accuracy-over-40-rows", "05", ACCURACY_OVER_THE_TEST_ROWS_05, "hard_coded_count", 1,
               ["accuracy.accuracy"]),
    # 06 (3 cases: lesson, 2 hidden).
    submission("06-no-output-sigmoid", "06", NO_OUTPUT_SIGMOID_06, "output_sigmoid_missing", 3,
               ["forward_pass.output_layer_out"]),
    submission("06-fed-the-hidden-input", "06", FED_THE_HIDDEN_INPUT_06, "output_fed_hidden_input", 3,
               ["forward_pass.output_layer_in"], ["forward_pass.output_layer_out"]),
    # Right on the lesson's case (its inputs are the notebook's np.random.seed(42) draws), the same on the hidden.
    submission("06-notebook-cell", "06", NOTEBOOK_CELL_06, "ignores_arguments", 2 * 4, FORWARD),
    # np.dot(X, W.T): the inputs first, the matrix the wrong way round. It raises on every case (the sizes differ).
    submission("06-transposed-weights", "06", TRANSPOSED_WEIGHTS_06, "transposed_weights", 12, FORWARD,
               statuses=["error"]),
    submission("06-matrix-first", "06", MATRIX_FIRST_06, "dot_order_swapped", 12, FORWARD, statuses=["error"]),
    submission("06-wrong-matrix", "06", WRONG_MATRIX_06, None, 12, FORWARD, statuses=["error"]),
    # 07 (4 cases). eta inside the output error term: the hidden term from it follows; both steps, without a second
    # eta, are the lesson's steps.
    submission("07-learnrate-in-error-term", "07", LEARNRATE_IN_ERROR_TERM_07, "learnrate_in_error_term", 4,
               ["backprop_step.output_error_term"], ["backprop_step.hidden_error_term"]),
    submission("07-output-slope-in-hidden-term", "07", OUTPUT_SLOPE_IN_HIDDEN_07, "hidden_derivative_of_output", 4,
               ["backprop_step.hidden_error_term"], ["backprop_step.delta_w_i_h"]),
    # Right on the lesson's case only: the handout's and the hidden cases get the lesson's values (5 quantities x 3).
    submission("07-example-left-in", "07", EXAMPLE_LEFT_IN_07, "ignores_arguments", 5 * 3,
               ["backprop_step.error", "backprop_step.output_error_term", "backprop_step.hidden_error_term",
                "backprop_step.delta_w_h_o", "backprop_step.delta_w_i_h"]),
    # 08 (record_terms, train_epoch: lesson + 2 hidden; train_loss, accuracy: lesson + 1 hidden). A wrong output:
    # everything after it in record_terms, and train_epoch on the student's record_terms, follows.
    submission("08-linear-output", "08",
               RECORD_TERMS_08.format(output="np.dot(hidden_output, weights_hidden_output)",
                                      hidden_error_term=RIGHT_HIDDEN_TERM_08),
               "output_sigmoid_missing", 3, ["record_terms.output"], [*RECORD_TERMS, *EPOCH_08]),
    submission("08-fed-the-hidden-input", "08",
               RECORD_TERMS_08.format(output="sigmoid(np.dot(hidden_input, weights_hidden_output))",
                                      hidden_error_term=RIGHT_HIDDEN_TERM_08),
               "output_fed_hidden_input", 3, ["record_terms.output"], [*RECORD_TERMS, *EPOCH_08]),
    submission("08-output-slope-in-hidden-term", "08",
               RECORD_TERMS_08.format(output=RIGHT_OUTPUT_08, hidden_error_term="hidden_error * output * (1 - output)"),
               "hidden_derivative_of_output", 3, ["record_terms.hidden_error_term"],
               ["train_epoch.del_w_input_hidden", "train_epoch.weights_input_hidden"]),
    # x @ W.T raises in record_terms, and so in train_epoch, which calls it: only the given loss and accuracy remain.
    submission("08-transposed-weights", "08", TRANSPOSED_WEIGHTS_08, "transposed_weights", 21 + 12,
               [*RECORD_08, *EPOCH_08], statuses=["error"]),
    submission("08-overwritten-steps", "08", OVERWRITTEN_STEPS_08, "last_record_only", 6,
               EPOCH_08[:2], EPOCH_08[2:]),
    submission("08-skips-the-last-record", "08", SKIPS_THE_LAST_RECORD_08, "off_by_one", 6, EPOCH_08[:2],
               EPOCH_08[2:]),
    # Both updates right on the lesson's 360 rows, wrong on the 2 hidden cases.
    submission("08-count-written-in", "08", COUNT_WRITTEN_IN_08, "hard_coded_count", 2 * 2, EPOCH_08[2:]),
    submission("08-summed-loss", "08", SUMMED_LOSS_08, "loss_not_averaged", 2, ["train_loss.loss"]),
    submission("08-square-of-mean", "08", SQUARE_OF_MEAN_08, "loss_square_of_mean", 2, ["train_loss.loss"]),
    submission("08-rounded-accuracy", "08", ROUNDED_ACCURACY_08, "accuracy_rounded", 1, ["accuracy.accuracy"]),
]

# Mistakes the corpus shows that are not a variant of the reference (test_misconceptions counts the variants).
COVERED = {(s.exercise, s.mistake) for s in CORPUS if s.mistake}


def student_file(exercise_id: str, functions: str) -> str:
    """The lesson solved as a student hands it in, with the student's own version of `functions` in place of each."""
    lines = reference_source(exercise_id).replace("  " + MARKER, "").splitlines(keepends=True)
    theirs = {node.name: ast.get_source_segment(functions, node)
              for node in ast.parse(functions).body if isinstance(node, ast.FunctionDef)}
    nodes = [node for node in ast.parse("".join(lines)).body if isinstance(node, ast.FunctionDef) and node.name in theirs]
    assert {node.name for node in nodes} == set(theirs), exercise_id
    for node in sorted(nodes, key=lambda n: n.lineno, reverse=True):
        lines[node.lineno - 1:node.end_lineno] = [theirs[node.name] + "\n"]
    return "".join(lines)


def _judge(tmp_path, s: Submission, seed: int) -> None:
    (exercise,) = grade_files({s.exercise: student_file(s.exercise, s.functions)}, tmp_path / f"{s.id}-{seed}",
                              seed=seed).exercises
    values = [c for c in exercise.checks if c.quantity != SIDE_EFFECTS]
    not_passed = [c for c in values if c.status != "passed"]
    where = (s.id, seed, [f"{c.name}: {c.message}" for c in not_passed])
    assert {f"{c.function}.{c.quantity}" for c in not_passed} == s.wrong, where
    assert {c.status for c in not_passed} <= s.statuses, where
    assert {f"{c.function}.{c.quantity}" for c in values if c.follow_through} == s.followed, where
    assert exercise.score == s.score, where
    # Every check that does not pass names the mistake, with its title and a hint; nothing else is named anywhere.
    assert {c.misconception for c in exercise.checks} - {None} <= ({s.mistake} if s.mistake else set()), where
    if s.mistake:
        title = EXERCISES[s.exercise].mistake(s.mistake).title
        assert all(c.misconception == s.mistake and f"Likely mistake: {title}. Hint:" in c.message
                   for c in not_passed), where
    else:
        assert not any("Likely mistake" in c.message for c in exercise.checks), where
    # No advisory problem either: these students changed no input in place and drew nothing at random (a function
    # that raised says so there too).
    raised = {c.function for c in values} - {c.function for c in values if c.status != "error"}
    assert all(c.status == ("error" if c.function in raised else "passed")
               for c in exercise.checks if c.quantity == SIDE_EFFECTS), where


@pytest.mark.parametrize("s", CORPUS, ids=lambda s: s.id)
def test_the_student_corpus(tmp_path, s):
    for seed in (5, 2**31 - 3):
        _judge(tmp_path, s, seed)


@pytest.mark.slow
@pytest.mark.parametrize("s", CORPUS, ids=lambda s: s.id)
def test_the_student_corpus_on_many_seeds(tmp_path, s):
    for seed in range(300, 320):
        _judge(tmp_path, s, seed)


def test_the_corpus_is_the_students_and_not_the_reference():
    """Each submission's functions are the exercise's, and each is another text than the reference's."""
    for s in CORPUS:
        solved = reference_source(s.exercise).replace("  " + MARKER, "")
        for node in ast.parse(s.functions).body:
            assert node.name in {f.name for f in EXERCISES[s.exercise].functions}, s.id
            assert ast.get_source_segment(s.functions, node) not in solved, s.id


def test_a_constant_right_on_a_hidden_case_only_is_not_named(tmp_path):
    """Naming it would say that the constant is a hidden case's answer: a student could search for one that way."""
    import numpy as np

    from nngrade.data import load

    from helpers import SAMPLE_DATA
    seed = 5
    kwargs = EXERCISES["05"].inputs(seed, load(SAMPLE_DATA))[("train_loss", "hidden-1")]
    out = 1 / (1 + np.exp(-(kwargs["features"] @ kwargs["weights"])))
    hidden_loss = float(np.mean((out - kwargs["targets"]) ** 2))   # the lesson's formula, computed here
    functions = f'''
def train_loss(features, targets, weights):
    return {{"loss": {hidden_loss!r}}}
'''
    (exercise,) = grade_files({"05": student_file("05", functions)}, tmp_path, seed=seed).exercises
    checks = {c.case: c for c in exercise.checks if c.function == "train_loss" and c.quantity == "loss"}
    assert checks["hidden-1"].status == "passed" and checks["lesson"].status == "failed"
    assert checks["lesson"].misconception is None and "Likely mistake" not in checks["lesson"].message
    assert exercise.score == MAX["05"] - 1


def test_a_count_written_in_that_meets_the_lessons_value_again_is_still_the_count(tmp_path):
    """On seed 313 the hidden accuracy case has as many records right as the lesson's 40 test rows (checked here):
    `/ 40` then gives the lesson's value there too, the same value on both cases. It is the count written in, which
    the variant shows, not a function that ignores its arguments."""
    import numpy as np

    from nngrade.data import load

    from helpers import SAMPLE_DATA
    seed, inputs = 313, EXERCISES["05"].inputs(313, load(SAMPLE_DATA))

    def right(kwargs):
        out = 1 / (1 + np.exp(-(kwargs["features"] @ kwargs["weights"])))
        return int(np.sum((out > 0.5) == kwargs["targets"]))
    assert right(inputs[("accuracy", "lesson")]) == right(inputs[("accuracy", "hidden-1")])
    (exercise,) = grade_files({"05": student_file("05", ACCURACY_OVER_THE_TEST_ROWS_05)}, tmp_path, seed=seed).exercises
    checks = {c.case: c for c in exercise.checks if c.function == "accuracy"}
    assert checks["lesson"].status == "passed" and checks["hidden-1"].status == "failed"
    assert checks["hidden-1"].misconception == "hard_coded_count"


@pytest.mark.parametrize("line, transposes", [
    ("hidden_layer_in = np.dot(X, weights_input_to_hidden.T)", True),
    ("hidden_input = x @ weights_input_hidden.T", True),
    ("h = np.dot(x, np.transpose(w))", True),
    ("out = hidden_layer_out @ W2[:, :].T", True),
    ("hidden_layer_in = weights_input_to_hidden @ X.T", False),     # .T on the vector: a swapped order
    ("h = np.dot(W, x.T)", False),
    ("hidden_layer_in = np.dot(X, weights_hidden_to_output)", False),   # another matrix, not transposed
])
def test_which_lines_transpose_a_weight_matrix(line, transposes):
    import re

    import lesson
    assert (re.search(lesson.TRANSPOSES_A_MATRIX, line) is not None) == transposes

"""Exercise 08: backpropagation training of a 6 x 2 x 1 network on the admissions data, piece by piece."""
import numpy as np
import pytest

import lesson
from nngrade.script import complete
from nngrade.spec import Exercise, Function

SEED, LEARNRATE, EPOCHS, N_HIDDEN = 21, 0.005, 900, 2
W = "weights_input_hidden weights_hidden_output"


def prepare(table):
    """The lesson's split (seed 21) and its initial weights, input-to-hidden drawn first."""
    split = lesson.prepare(table, SEED)
    n_features = split.features.shape[1]
    random = np.random.RandomState(SEED)
    weights = {"weights_input_hidden": random.normal(scale=1 / n_features ** .5, size=(n_features, N_HIDDEN)),
               "weights_hidden_output": random.normal(scale=1 / n_features ** .5, size=N_HIDDEN)}
    return split, weights


def lesson_inputs(function, prepared):
    split, weights = prepared
    return lesson.lesson_training_inputs(function, split, weights, LEARNRATE)


def hidden(function, rng, prepared):
    n_features, n_hidden = lesson.sizes(rng, 2, 7, 2)
    features, targets = lesson.records(rng, n_features)
    scale = n_features ** -0.5
    weights = {"weights_input_hidden": rng.normal(scale=scale, size=(n_features, n_hidden)),
               "weights_hidden_output": rng.normal(scale=scale, size=n_hidden)}
    # A larger learning rate than the lesson's, so that one epoch moves the weights visibly.
    return lesson.training_inputs(function, features, targets, weights, float(rng.uniform(0.2, 1.0)))


def script(module, prepared):
    split, weights = prepared
    if complete("record_terms", module.record_terms(split.features[0], split.targets[0], **weights)):
        lesson.train_and_print(module, split, weights, LEARNRATE, EPOCHS)


# `train` is given code: it only re-measures train_epoch and train_loss, so it carries no points.
EXERCISE = Exercise(
    __file__, title="Backpropagation on the admissions data",
    functions=(Function("record_terms",
                        "hidden_input hidden_output output error output_error_term hidden_error hidden_error_term"),
               Function("train_epoch", f"del_w_input_hidden del_w_hidden_output {W}"),
               Function("train_loss", "loss", hidden=1),
               Function("accuracy", "accuracy", hidden=1)),
    visible={"lesson": lesson_inputs}, hidden=hidden, mistakes=lesson.MISTAKES,
    data=lesson.ADMISSIONS, prepare=prepare, script=script)


@pytest.mark.parametrize("check", EXERCISE.checks, ids=str)
def test_quantity(check, judge):
    judge(check)

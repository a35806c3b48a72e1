"""Exercise 05: gradient descent of one sigmoid unit on the admissions data, piece by piece."""
import numpy as np
import pytest

import lesson
from nngrade.script import complete
from nngrade.spec import Exercise, Function

SEED, LEARNRATE, EPOCHS = 42, 0.5, 1000


def prepare(table):
    """The lesson's split (seed 42), its initial weights (np.random.seed(42) again after the split), the raw gre."""
    split = lesson.prepare(table, SEED)
    n_features = split.features.shape[1]
    weights = np.random.RandomState(SEED).normal(scale=1 / n_features ** .5, size=n_features)
    return split, weights, np.asarray(table.gre, dtype=float)


def lesson_inputs(function, prepared):
    split, weights, gre = prepared
    if function == "standardise":
        return {"values": gre.copy()}
    if function == "split_sample":
        return {"n_rows": len(gre), "seed": SEED}
    return lesson.lesson_training_inputs(function, split, {"weights": weights}, LEARNRATE)


def hidden(function, rng, prepared):
    if function == "standardise":
        return {"values": rng.normal(580, 110, size=int(rng.integers(20, 400)))}
    if function == "split_sample":
        return {"n_rows": int(rng.integers(20, 500)), "seed": int(rng.integers(0, 2**31 - 1))}
    features, targets = lesson.records(rng, int(rng.integers(3, 9)))
    weights = rng.normal(scale=features.shape[1] ** -0.5, size=features.shape[1])
    return lesson.training_inputs(function, features, targets, {"weights": weights}, float(rng.uniform(0.2, 1.0)))


def script(module, prepared):
    split, weights, gre = prepared
    # The data preparation itself is the lesson's; the student's pieces of it are checked for TODOs.
    done = complete("standardise", module.standardise(gre))
    done &= complete("split_sample", module.split_sample(len(gre), SEED))
    if done & complete("record_terms", module.record_terms(split.features[0], split.targets[0], weights)):
        lesson.train_and_print(module, split, {"weights": weights}, LEARNRATE, EPOCHS)


# `train` is given code: it only re-measures train_epoch and train_loss, so it carries no points.
EXERCISE = Exercise(
    __file__, title="Gradient descent on the admissions data",
    functions=(Function("standardise", "standardised", hidden=1),
               Function("split_sample", "sample", hidden=1),
               Function("record_terms", "output error error_term"),
               Function("train_epoch", "del_w weights"),
               Function("train_loss", "loss", hidden=1),
               Function("accuracy", "accuracy", hidden=1)),
    visible={"lesson": lesson_inputs}, hidden=hidden, mistakes=lesson.MISTAKES,
    data=lesson.ADMISSIONS, prepare=prepare, script=script)


@pytest.mark.parametrize("check", EXERCISE.checks, ids=str)
def test_quantity(check, judge):
    judge(check)

"""Exercise 04: one gradient-descent step of one sigmoid unit."""
import numpy as np
import pytest

import lesson
from nngrade.script import complete, show
from nngrade.spec import Exercise, Function

LESSON = {"x": np.array([1, 2, 3, 4]), "y": 0.5, "weights": np.array([0.5, -0.5, 0.3, 0.1]), "learnrate": 0.5}
# The handout's worked example of the same step.
HANDOUT = {"x": np.array([0.1, 0.3]), "y": 0.2, "weights": np.array([-0.8, 0.5]), "learnrate": 0.5}


def hidden(function, rng, prepared):
    n = int(rng.integers(3, 8))
    x, weights = rng.normal(size=n), rng.normal(0, 0.5, size=n)
    while abs(x @ weights) < 0.1:   # h = x . w is graded on its own: not a sum that cancels to rounding noise
        weights = rng.normal(0, 0.5, size=n)
    return {"x": x, "y": lesson.target_away_from(lesson.sigmoid(x @ weights), rng),
            "weights": weights, "learnrate": float(rng.uniform(0.1, 1.0))}


def script(module, prepared):
    result = module.gradient_step(**LESSON)
    if complete("gradient_step", result):
        show("Neural Network output:", result["nn_output"])
        show("Amount of Error:", result["error"])
        show("Change in Weights:", result["del_w"])


EXERCISE = Exercise(
    __file__, title="Gradient descent: one weight step",
    functions=(Function("gradient_step", "h nn_output error error_term del_w", visible=("lesson", "handout")),),
    visible={"lesson": lambda function, prepared: dict(LESSON), "handout": lambda function, prepared: dict(HANDOUT)},
    hidden=hidden, mistakes=lesson.MISTAKES, script=script)


@pytest.mark.parametrize("check", EXERCISE.checks, ids=str)
def test_quantity(check, judge):
    judge(check)

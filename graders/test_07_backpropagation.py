"""Exercise 07: one backpropagation step of a network with one hidden layer and one output unit."""
import numpy as np
import pytest

import lesson
from nngrade.script import complete, show
from nngrade.spec import Exercise, Function

LESSON = {"x": np.array([0.5, 0.1, -0.2]), "target": 0.6, "learnrate": 0.5,
          "weights_input_hidden": np.array([[0.5, -0.6], [0.1, -0.2], [0.1, 0.7]]),
          "weights_hidden_output": np.array([0.1, -0.3])}
# The handout's walk-through: two inputs, one hidden unit, target 1.
HANDOUT = {"x": np.array([0.1, 0.3]), "target": 1.0, "learnrate": 0.5,
           "weights_input_hidden": np.array([[0.4], [-0.2]]), "weights_hidden_output": np.array([0.1])}


def hidden(function, rng, prepared):
    n_input, n_hidden = lesson.sizes(rng, 2, 6, 2)
    x = rng.normal(size=n_input)
    learnrate = float(rng.uniform(0.1, 1.0))
    weights_input_hidden = rng.normal(0, 0.5, size=(n_input, n_hidden))
    weights_hidden_output = rng.normal(0, 0.5, size=n_hidden)
    output = lesson.sigmoid(lesson.sigmoid(x @ weights_input_hidden) @ weights_hidden_output)
    return {"x": x, "target": lesson.target_away_from(output, rng), "learnrate": learnrate,
            "weights_input_hidden": weights_input_hidden, "weights_hidden_output": weights_hidden_output}


def script(module, prepared):
    result = module.backprop_step(**LESSON)
    if complete("backprop_step", result):
        show("Change in weights for hidden layer to output layer:", result["delta_w_h_o"])
        show("Change in weights for input layer to hidden layer:", result["delta_w_i_h"])


EXERCISE = Exercise(
    __file__, title="Backpropagation: one weight update",
    functions=(Function("backprop_step", "error output_error_term hidden_error_term delta_w_h_o delta_w_i_h",
                        visible=("lesson", "handout")),),
    visible={"lesson": lambda function, prepared: dict(LESSON), "handout": lambda function, prepared: dict(HANDOUT)},
    hidden=hidden, mistakes=lesson.MISTAKES, script=script)


@pytest.mark.parametrize("check", EXERCISE.checks, ids=str)
def test_quantity(check, judge):
    judge(check)

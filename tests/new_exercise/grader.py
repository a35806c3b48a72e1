"""Exercise 09: one backpropagation step with ReLU hidden units and biases."""
import numpy as np
import pytest

import lesson
from nngrade.script import complete, show
from nngrade.spec import Exercise, Function, Mistake

# One hidden unit below zero, two above: the ReLU's slope is 0 for one and 1 for the others.
LESSON = {"x": np.array([0.5, -0.2]), "target": 0.8, "learnrate": 0.5,
          "weights_input_hidden": np.array([[0.4, -0.6, 0.2], [0.1, 0.3, -0.5]]),
          "bias_hidden": np.array([0.1, -0.1, 0.05]),
          "weights_hidden_output": np.array([0.3, -0.2, 0.6]), "bias_output": 0.1}


def hidden(function, rng, prepared):
    n_input, n_hidden = lesson.sizes(rng, 2, 6, 2)
    while True:   # hidden units on both sides of zero, so that the ReLU's slope matters
        x = rng.normal(size=n_input)
        weights_input_hidden = rng.normal(0, 0.5, size=(n_input, n_hidden))
        bias_hidden = rng.normal(0, 0.2, size=n_hidden)
        h = x @ weights_input_hidden + bias_hidden
        if (h > 0.05).any() and (h < -0.05).any():
            break
    return {"x": x, "target": float(rng.uniform(0.05, 0.95)), "learnrate": float(rng.uniform(0.1, 1.0)),
            "weights_input_hidden": weights_input_hidden, "bias_hidden": bias_hidden,
            "weights_hidden_output": rng.normal(0, 0.5, size=n_hidden), "bias_output": float(rng.normal(0, 0.2))}


def script(module, prepared):
    result = module.relu_step(**LESSON)
    if complete("relu_step", result):
        show("Change in weights input -> hidden:", result["delta_w_i_h"])


EXERCISE = Exercise(
    __file__, title="ReLU hidden units with biases: one backpropagation step",
    functions=(Function("relu_step", "hidden_input hidden_output output error output_error_term hidden_error_term "
                                     "delta_w_h_o delta_b_o delta_w_i_h delta_b_h"),),
    visible={"lesson": lambda function, prepared: dict(LESSON)}, hidden=hidden,
    mistakes=(*lesson.MISTAKES,
              Mistake("relu_derivative_missing", "the ReLU's derivative is missing from the hidden error term",
                      "a ReLU unit passes the error back only where its input was positive: times (h_j > 0)"),
              Mistake("bias_missing", "the hidden layer's bias is missing", "h_j = sum_i x_i w_ij + b_j")),
    script=script)


@pytest.mark.parametrize("check", EXERCISE.checks, ids=str)
def test_quantity(check, judge):
    judge(check)

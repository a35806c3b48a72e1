"""Exercise 06: the forward pass of a multilayer perceptron (sigmoid on both layers)."""
import numpy as np
import pytest

import lesson
from nngrade.script import complete, show
from nngrade.spec import Exercise, Function


def lesson_inputs(function, prepared):
    """np.random.seed(42), then X, then the two weight matrices, in the lesson's order."""
    random = np.random.RandomState(42)   # the same stream as np.random.seed(42), without touching global state
    X = random.randn(4)
    weights_input_to_hidden = random.normal(0, scale=0.1, size=(4, 3))
    weights_hidden_to_output = random.normal(0, scale=0.1, size=(3, 2))
    return {"X": X, "weights_input_to_hidden": weights_input_to_hidden,
            "weights_hidden_to_output": weights_hidden_to_output}


def hidden(function, rng, prepared):
    n_input, n_hidden, n_output = lesson.sizes(rng, 2, 7, 3)
    return {"X": rng.normal(size=n_input),
            "weights_input_to_hidden": rng.normal(0, 0.5, size=(n_input, n_hidden)),
            "weights_hidden_to_output": rng.normal(0, 0.5, size=(n_hidden, n_output))}


def script(module, prepared):
    result = module.forward_pass(**lesson_inputs("forward_pass", None))
    if complete("forward_pass", result):
        show("Hidden-layer Output:", result["hidden_layer_out"])
        show("Output-layer Output:", result["output_layer_out"])


EXERCISE = Exercise(
    __file__, title="Multilayer perceptron: the forward pass",
    functions=(Function("forward_pass", "hidden_layer_in hidden_layer_out output_layer_in output_layer_out"),),
    visible={"lesson": lesson_inputs}, hidden=hidden, mistakes=lesson.MISTAKES, script=script)


@pytest.mark.parametrize("check", EXERCISE.checks, ids=str)
def test_quantity(check, judge):
    judge(check)

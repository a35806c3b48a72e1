"""Farming follow-through with values near 1e-14: the right shapes, a new draw on every case, nothing computed.

An absolute tolerance of 1e-12 made such values "equal" to the tiny expectations that
follow-through computes from them; they earn only what a file of zeros earns.
"""
import numpy as np


def _tiny(shape, *inputs):
    """1e-14 times numbers that change with the inputs, so they are not 'the same whatever the case'."""
    seed = int(abs(sum(float(np.sum(value)) for value in inputs)) * 1e6) % 2**32
    return 1e-14 * (1 + np.random.default_rng(seed).random(shape))


def record_terms(x, y, weights_input_hidden, weights_hidden_output):
    hidden, inputs = np.shape(weights_hidden_output), (x, y, weights_input_hidden)
    shapes = {"hidden_input": hidden, "hidden_output": hidden, "output": (), "error": (), "output_error_term": (),
              "hidden_error": hidden, "hidden_error_term": hidden}
    return {name: _tiny(shape, *inputs, number) for number, (name, shape) in enumerate(shapes.items())}


def train_epoch(features, targets, weights_input_hidden, weights_hidden_output, learnrate):
    inputs = (features, weights_input_hidden)
    return {"del_w_input_hidden": _tiny(np.shape(weights_input_hidden), *inputs, 1),
            "del_w_hidden_output": _tiny(np.shape(weights_hidden_output), *inputs, 2),
            "weights_input_hidden": _tiny(np.shape(weights_input_hidden), *inputs, 3),
            "weights_hidden_output": _tiny(np.shape(weights_hidden_output), *inputs, 4)}


def train_loss(features, targets, weights_input_hidden, weights_hidden_output):
    return {"loss": _tiny((), features, weights_input_hidden)}


def accuracy(features, targets, weights_input_hidden, weights_hidden_output):
    return {"accuracy": _tiny((), features, weights_input_hidden)}


def train(features, targets, weights_input_hidden, weights_hidden_output, learnrate, epochs):
    inputs = (features, weights_input_hidden)
    return {"weights_input_hidden": _tiny(np.shape(weights_input_hidden), *inputs, 1),
            "weights_hidden_output": _tiny(np.shape(weights_hidden_output), *inputs, 2),
            "losses": _tiny(epochs, *inputs, 3)}

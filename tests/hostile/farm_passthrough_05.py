"""Farming follow-through with weights returned unchanged beside a summed step too small to move them.

The step is informative on its own scale (it changes per case, well above zero), but the update
it implies, w + eta * del_w / n, moves the weights by about 1e-7 relative: within the tolerance of
the weights handed in. The lesson's formula applied to that step "gives" the unchanged weights, so
follow-through credit needs the student's upstream values to make a difference to the value judged.
"""
import numpy as np


def _noise(shape, *inputs):
    seed = int(abs(sum(float(np.sum(value)) for value in inputs)) * 1e6) % 2**32
    return 1 + np.random.default_rng(seed).random(shape)


def train_epoch(features, targets, weights, learnrate):
    step = 1e-7 * np.abs(weights) * len(features) / learnrate * _noise(np.shape(weights), features, weights)
    return {"del_w": step, "weights": weights.copy()}

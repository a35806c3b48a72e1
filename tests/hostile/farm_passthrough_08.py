"""Farming follow-through with weights returned unchanged beside summed steps too small to move them.

The steps are informative on their own scale (they change per case, well above zero), but the
updates they imply move the weights by about 1e-7 relative: within the tolerance of the weights
handed in. Follow-through credit needs the student's upstream values to make a difference.
"""
import numpy as np


def _noise(shape, *inputs):
    seed = int(abs(sum(float(np.sum(value)) for value in inputs)) * 1e6) % 2**32
    return 1 + np.random.default_rng(seed).random(shape)


def _negligible(weights, features, learnrate, salt):
    return 1e-7 * np.abs(weights) * len(features) / learnrate * _noise(np.shape(weights), features, weights, salt)


def train_epoch(features, targets, weights_input_hidden, weights_hidden_output, learnrate):
    return {"del_w_input_hidden": _negligible(weights_input_hidden, features, learnrate, 1),
            "del_w_hidden_output": _negligible(weights_hidden_output, features, learnrate, 2),
            "weights_input_hidden": weights_input_hidden.copy(), "weights_hidden_output": weights_hidden_output.copy()}

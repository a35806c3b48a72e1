"""The lesson's computations written a second time, step by step and independently of reference/.

The tests hold the reference to these (and to the course's printed numbers in test_lesson.py): the
grading derives everything from the reference, so the reference must be right.
"""
from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _04(function, i):
    h = np.dot(i["x"], i["weights"])
    nn_output = sigmoid(h)
    error = i["y"] - nn_output
    error_term = error * nn_output * (1 - nn_output)
    return {"h": h, "nn_output": nn_output, "error": error, "error_term": error_term,
            "del_w": i["learnrate"] * error_term * i["x"]}


def _06(function, i):
    hidden_in = np.dot(i["X"], i["weights_input_to_hidden"])
    hidden_out = sigmoid(hidden_in)
    output_in = np.dot(hidden_out, i["weights_hidden_to_output"])
    return {"hidden_layer_in": hidden_in, "hidden_layer_out": hidden_out, "output_layer_in": output_in,
            "output_layer_out": sigmoid(output_in)}


def _07(function, i):
    x, w_ih, w_ho = i["x"], i["weights_input_hidden"], i["weights_hidden_output"]
    hidden_output = sigmoid(np.dot(x, w_ih))
    output = sigmoid(np.dot(hidden_output, w_ho))
    error = i["target"] - output
    output_error_term = error * output * (1 - output)
    hidden_error_term = np.dot(output_error_term, w_ho) * hidden_output * (1 - hidden_output)
    return {"error": error, "output_error_term": output_error_term, "hidden_error_term": hidden_error_term,
            "delta_w_h_o": i["learnrate"] * output_error_term * hidden_output,
            "delta_w_i_h": i["learnrate"] * np.outer(x, hidden_error_term)}


def _record_05(x, y, weights):
    output = sigmoid(np.dot(x, weights))
    error = y - output
    return {"output": output, "error": error, "error_term": error * output * (1 - output)}


def _record_08(x, y, w_ih, w_ho):
    hidden_input = np.dot(x, w_ih)
    hidden_output = sigmoid(hidden_input)
    output = sigmoid(np.dot(hidden_output, w_ho))
    error = y - output
    output_error_term = error * output * (1 - output)
    hidden_error = output_error_term * w_ho
    return {"hidden_input": hidden_input, "hidden_output": hidden_output, "output": output, "error": error,
            "output_error_term": output_error_term, "hidden_error": hidden_error,
            "hidden_error_term": hidden_error * hidden_output * (1 - hidden_output)}


def _steps_05(x, y, weights):
    return {"del_w": _record_05(x, y, weights)["error_term"] * x}


def _steps_08(x, y, w_ih, w_ho):
    terms = _record_08(x, y, w_ih, w_ho)
    return {"del_w_input_hidden": np.outer(x, terms["hidden_error_term"]),
            "del_w_hidden_output": terms["output_error_term"] * terms["hidden_output"]}


def _training(function, i, weight_names, steps, record, network):
    weights = [i[name] for name in weight_names]
    if function == "record_terms":
        return record(i["x"], i["y"], *weights)
    if function == "train_loss":
        return {"loss": np.mean((network(i["features"], *weights) - i["targets"]) ** 2)}
    if function == "accuracy":
        return {"accuracy": np.mean((network(i["features"], *weights) > 0.5) == i["targets"])}
    # train_epoch: sum the record steps, then one averaged update
    n = len(i["features"])
    sums = None
    for x, y in zip(i["features"], i["targets"]):
        s = steps(x, y, *weights)
        sums = s if sums is None else {k: sums[k] + s[k] for k in s}
    result = dict(sums)
    for name, w, step in zip(weight_names, weights, sums.values()):
        result[name] = w + i["learnrate"] * step / n
    return result


def _05(function, i):
    if function == "standardise":
        v = i["values"]
        return {"standardised": (v - v.mean()) / v.std(ddof=1)}
    if function == "split_sample":
        return {"sample": np.random.RandomState(i["seed"]).choice(i["n_rows"], size=int(i["n_rows"] * 0.9),
                                                                   replace=False)}
    return _training(function, i, ["weights"], _steps_05, _record_05, lambda f, w: sigmoid(f @ w))


def _08(function, i):
    return _training(function, i, ["weights_input_hidden", "weights_hidden_output"], _steps_08, _record_08,
                     lambda f, w_ih, w_ho: sigmoid(sigmoid(f @ w_ih) @ w_ho))


_COMPUTE = {"04": _04, "05": _05, "06": _06, "07": _07, "08": _08}


def compute(exercise: str, function: str, inputs: dict) -> dict:
    """Every graded quantity of one call, as the lesson computes it."""
    return _COMPUTE[exercise](function, inputs)

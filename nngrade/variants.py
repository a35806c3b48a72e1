"""The lesson's computations written step by step, with the mistakes students really make as switches.

`compute(exercise, function, inputs, mistake=None, given=None)` returns every quantity of
one call. With no mistake it is a second, independent implementation of reference/
(a test holds the two together). A `mistake` flips one step the way a student gets it
wrong, and every later step follows from it: that is a misconception's variant. `given`
replaces upstream quantities with the student's own values, so that a later quantity can
be judged on what the student had (follow-through credit).
"""
from __future__ import annotations

from typing import Callable

import numpy as np


# Which mistakes can occur in which exercise, and a flavour of each (key) to the misconception it shows.
FLAVOURS = {
    "04": {"missing_sigmoid_derivative": "missing_sigmoid_derivative", "derivative_of_activation": "derivative_of_activation",
           "flipped_error": "flipped_error", "learnrate_missing": "learnrate_missing", "learnrate_twice": "learnrate_twice"},
    "05": {"missing_sigmoid_derivative": "missing_sigmoid_derivative", "derivative_of_activation": "derivative_of_activation",
           "flipped_error": "flipped_error", "update_sign": "update_sign", "missing_average": "missing_average",
           "update_inside_loop": "update_inside_loop", "learnrate_missing": "learnrate_missing",
           "learnrate_twice": "learnrate_twice", "population_std": "population_std",
           "wrong_split_seed_42": "wrong_split_seed", "wrong_split_seed_21": "wrong_split_seed"},
    "06": {},
    "07": {"missing_sigmoid_derivative": "missing_sigmoid_derivative", "missing_hidden_derivative": "missing_hidden_derivative",
           "derivative_of_activation": "derivative_of_activation",
           "derivative_of_activation_hidden": "derivative_of_activation",
           "flipped_error": "flipped_error", "learnrate_missing": "learnrate_missing", "learnrate_twice": "learnrate_twice",
           "outer_wrong_way": "outer_wrong_way",
           "learnrate_missing@delta_w_i_h": "learnrate_missing", "learnrate_twice@delta_w_i_h": "learnrate_twice"},
    "08": {"missing_sigmoid_derivative": "missing_sigmoid_derivative", "missing_hidden_derivative": "missing_hidden_derivative",
           "derivative_of_activation": "derivative_of_activation",
           "derivative_of_activation_hidden": "derivative_of_activation",
           "flipped_error": "flipped_error", "update_sign": "update_sign", "missing_average": "missing_average",
           "update_inside_loop": "update_inside_loop", "learnrate_missing": "learnrate_missing",
           "learnrate_twice": "learnrate_twice",
           # The second of the two weight updates alone (a slip in the first shows before the second is judged).
           **{f"{m}@weights_hidden_output": m for m in ("update_sign", "missing_average", "update_inside_loop",
                                                        "learnrate_missing", "learnrate_twice")}},
}


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_prime(x):
    return sigmoid(x) * (1 - sigmoid(x))


class _Steps(dict):
    """Quantities in the lesson's order; a quantity the student gave is taken as given, not recomputed."""

    def __init__(self, given: dict | None):
        super().__init__(given or {})

    def set(self, name: str, step: Callable[[], object]) -> None:
        if name not in self:
            self[name] = step()


def _at(mistake: str | None, site: str) -> str | None:
    """A flavour `mistake@site` makes its mistake at one site only (one of two weight updates, say)."""
    if mistake and "@" in mistake:
        base, where = mistake.split("@", 1)
        return base if where == site else None
    return mistake


def _learnrate(learnrate: float, mistake: str | None) -> float:
    return {"learnrate_missing": 1.0, "learnrate_twice": learnrate * learnrate}.get(mistake, learnrate)


def _output_error_term(error, output, h, mistake):
    if mistake == "missing_sigmoid_derivative":
        return error
    if mistake == "derivative_of_activation":
        return error * sigmoid_prime(output)
    return error * output * (1 - output)


def _hidden_error_term(hidden_error, hidden_output, mistake):
    if mistake == "missing_hidden_derivative":
        return hidden_error
    if mistake == "derivative_of_activation_hidden":
        return hidden_error * sigmoid_prime(hidden_output)
    return hidden_error * hidden_output * (1 - hidden_output)


def _error(y, output, mistake):
    return output - y if mistake == "flipped_error" else y - output


def _04(function, i, mistake, given):
    q = _Steps(given)
    q.set("h", lambda: np.dot(i["x"], i["weights"]))
    q.set("nn_output", lambda: sigmoid(q["h"]))
    q.set("error", lambda: _error(i["y"], q["nn_output"], mistake))
    q.set("error_term", lambda: _output_error_term(q["error"], sigmoid(q["h"]), q["h"], mistake))
    q.set("del_w", lambda: _learnrate(i["learnrate"], mistake) * q["error_term"] * i["x"])
    return q


def _06(function, i, mistake, given):
    q = _Steps(given)
    q.set("hidden_layer_in", lambda: np.dot(i["X"], i["weights_input_to_hidden"]))
    q.set("hidden_layer_out", lambda: sigmoid(q["hidden_layer_in"]))
    q.set("output_layer_in", lambda: np.dot(q["hidden_layer_out"], i["weights_hidden_to_output"]))
    q.set("output_layer_out", lambda: sigmoid(q["output_layer_in"]))
    return q


def _07(function, i, mistake, given):
    x, w_ih, w_ho = i["x"], i["weights_input_hidden"], i["weights_hidden_output"]
    hidden_output = sigmoid(np.dot(x, w_ih))
    output = sigmoid(np.dot(hidden_output, w_ho))
    q = _Steps(given)
    q.set("error", lambda: _error(i["target"], output, mistake))
    q.set("output_error_term", lambda: _output_error_term(q["error"], output, None, mistake))
    q.set("hidden_error_term", lambda: _hidden_error_term(np.dot(q["output_error_term"], w_ho), hidden_output, mistake))
    q.set("delta_w_h_o", lambda: _learnrate(i["learnrate"], _at(mistake, "delta_w_h_o")) * q["output_error_term"] * hidden_output)
    q.set("delta_w_i_h", lambda: _learnrate(i["learnrate"], _at(mistake, "delta_w_i_h")) * (np.outer(q["hidden_error_term"], x) if mistake == "outer_wrong_way"
                                              else q["hidden_error_term"] * x[:, None]))
    return q


# --- 05 and 08: one record, one epoch, a short trajectory, the loss, the accuracy ---------------

def _record_05(x, y, weights, mistake, given=None):
    q = _Steps(given)
    q.set("output", lambda: sigmoid(np.dot(x, weights)))
    q.set("error", lambda: _error(y, q["output"], mistake))
    q.set("error_term", lambda: _output_error_term(q["error"], q["output"], None, mistake))
    return q


def _record_08(x, y, w_ih, w_ho, mistake, given=None):
    q = _Steps(given)
    q.set("hidden_input", lambda: np.dot(x, w_ih))
    q.set("hidden_output", lambda: sigmoid(q["hidden_input"]))
    q.set("output", lambda: sigmoid(np.dot(q["hidden_output"], w_ho)))
    q.set("error", lambda: _error(y, q["output"], mistake))
    q.set("output_error_term", lambda: _output_error_term(q["error"], q["output"], None, mistake))
    q.set("hidden_error", lambda: np.dot(q["output_error_term"], w_ho))
    q.set("hidden_error_term", lambda: _hidden_error_term(q["hidden_error"], q["hidden_output"], mistake))
    return q


def _record_steps_08(x, y, w_ih, w_ho, mistake):
    terms = _record_08(x, y, w_ih, w_ho, mistake)
    step_ih = (np.outer(terms["hidden_error_term"], x) if mistake == "outer_wrong_way"
               else terms["hidden_error_term"] * x[:, None])
    return {"weights_input_hidden": step_ih, "weights_hidden_output": terms["output_error_term"] * terms["hidden_output"]}


def _update(weights: np.ndarray, step_sum: np.ndarray, learnrate: float, n_records: int, mistake) -> np.ndarray:
    if mistake == "missing_average":
        return weights + learnrate * step_sum
    if mistake == "update_sign":
        return weights - learnrate * step_sum / n_records
    if mistake == "learnrate_missing":
        return weights + step_sum / n_records
    if mistake == "learnrate_twice":   # the step already carries eta (del_w += eta * ...), the update adds it again
        return weights + learnrate * (learnrate * step_sum) / n_records
    return weights + learnrate * step_sum / n_records


def _epoch(features, targets, weights: dict, learnrate, mistake, record_steps) -> tuple[dict, dict]:
    """One epoch of summed record steps and the update after it (or, as the mistake has it, inside the loop)."""
    n_records = len(features)
    at = {name: _at(mistake, name) for name in weights}
    record_mistake = None if mistake and "@" in mistake else mistake
    sums = {name: np.zeros(np.shape(value)) for name, value in weights.items()}
    current = dict(weights)
    for x, y in zip(features, targets):
        steps = record_steps(x, y, *current.values(), record_mistake)
        sums = {name: sums[name] + steps[name] for name in sums}
        # The update line indented into the loop runs once per record, on the sum so far.
        current = {name: current[name] + learnrate * sums[name] / n_records if at[name] == "update_inside_loop"
                   else current[name] for name in weights}
    current = {name: current[name] if at[name] == "update_inside_loop"
               else _update(weights[name], sums[name], learnrate, n_records, at[name]) for name in weights}
    sums = {name: learnrate * value if at[name] == "learnrate_twice" else value for name, value in sums.items()}
    return sums, current


def _loss_05(features, targets, weights):
    return np.mean((sigmoid(np.dot(features, weights)) - targets) ** 2)


def _loss_08(features, targets, w_ih, w_ho):
    return np.mean((sigmoid(np.dot(sigmoid(np.dot(features, w_ih)), w_ho)) - targets) ** 2)


def _accuracy(out, targets):
    return np.mean((out > 0.5) == targets)


def _training(function, i, mistake, given, names: dict, record, record_steps, loss):
    """05 and 08 share the loop; `names` maps the weight arguments to the epoch's step names."""
    weights = {arg: i[arg] for arg in names}
    if function == "record_terms":
        return record(i["x"], i["y"], *weights.values(), mistake, given)
    if function == "train_loss":
        return {"loss": loss(i["features"], i["targets"], *weights.values())}
    if function == "accuracy":
        out = sigmoid(np.dot(i["features"], weights[next(iter(names))]))
        if len(weights) == 2:
            out = sigmoid(np.dot(out, weights["weights_hidden_output"]))
        return {"accuracy": _accuracy(out, i["targets"])}
    if function == "train_epoch":
        sums, updated = _epoch(i["features"], i["targets"], weights, i["learnrate"], mistake, record_steps)
        q = _Steps(given)
        for arg, step_name in names.items():
            q.set(step_name, lambda arg=arg: sums[arg])
        for arg, step_name in names.items():
            # Judged on the student's own summed step when given: only the update itself is at stake.
            q.set(arg, lambda arg=arg, step_name=step_name: _update(weights[arg], q[step_name], i["learnrate"],
                                                                     len(i["features"]), _at(mistake, arg))
                  if step_name in (given or {}) else updated[arg])
        return q
    losses = []
    for _ in range(i["epochs"]):
        _, weights = _epoch(i["features"], i["targets"], weights, i["learnrate"], mistake, record_steps)
        losses.append(loss(i["features"], i["targets"], *weights.values()))
    return {**weights, "losses": np.array(losses)}


def _05(function, i, mistake, given):
    if function == "standardise":
        values = i["values"]
        return {"standardised": (values - np.mean(values)) / np.std(values, ddof=0 if mistake == "population_std" else 1)}
    if function == "split_sample":
        seed = {"wrong_split_seed_42": 42, "wrong_split_seed_21": 21}.get(mistake, i["seed"])
        return {"sample": np.random.RandomState(seed).choice(i["n_rows"], size=int(i["n_rows"] * 0.9), replace=False)}

    def record_steps(x, y, weights, mistake):
        return {"weights": _record_05(x, y, weights, mistake)["error_term"] * x}
    return _training(function, i, mistake, given, {"weights": "del_w"}, _record_05, record_steps, _loss_05)


def _08(function, i, mistake, given):
    return _training(function, i, mistake, given,
                     {"weights_input_hidden": "del_w_input_hidden", "weights_hidden_output": "del_w_hidden_output"},
                     _record_08, _record_steps_08, _loss_08)


_COMPUTE = {"04": _04, "05": _05, "06": _06, "07": _07, "08": _08}


def compute(exercise: str, function: str, inputs: dict, mistake: str | None = None,
            given: dict | None = None) -> dict:
    """Every quantity of one call, as the lesson computes it, with at most one mistake."""
    return dict(_COMPUTE[exercise](function, inputs, mistake, given))

"""A correct solution that patches every clock the child might read (time.perf_counter and friends, and the
child's own reference to it) to report absurd timings: 401-digit ints, NaN, strings. The parent crashed
converting a timing; now a timing that is not a sane number of seconds is dropped, and the grade stands."""
import itertools
import sys
import time

import numpy as np

_steps = itertools.count(0, 10 ** 400)
time.perf_counter = lambda: next(_steps)
time.monotonic = lambda: float("nan")
time.time = lambda: "now"
time.process_time = lambda: -1e308
child = sys.modules.get("__main__")
if child is not None and hasattr(child, "_clock"):
    child._clock = lambda: next(_steps)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    hidden_layer_output = sigmoid(np.dot(x, weights_input_hidden))
    output = sigmoid(np.dot(hidden_layer_output, weights_hidden_output))
    error = target - output
    output_error_term = error * output * (1 - output)
    hidden_error_term = np.dot(output_error_term, weights_hidden_output) * hidden_layer_output * (1 - hidden_layer_output)
    return {"error": error, "output_error_term": output_error_term, "hidden_error_term": hidden_error_term,
            "delta_w_h_o": learnrate * output_error_term * hidden_layer_output,
            "delta_w_i_h": learnrate * hidden_error_term * x[:, None]}

"""Ints no float64 can hold, as quantities and in the locals of a function that raises: converting them
raised OverflowError in the judge, and one such student zeroed the whole batch."""
import numpy as np


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    error = 10 ** 400                                    # a 401-digit int
    output_error_term = -(2 ** 1100)
    hidden_error_term = [10 ** 400] * len(weights_hidden_output)
    delta_w_h_o = np.array([10 ** 400], dtype=object)
    if target > 2:                                       # never: the dict below is what is returned
        raise OverflowError(error)
    return {"error": error, "output_error_term": output_error_term, "hidden_error_term": hidden_error_term,
            "delta_w_h_o": delta_w_h_o, "delta_w_i_h": 10 ** 5000}   # past str()'s 4300 digits

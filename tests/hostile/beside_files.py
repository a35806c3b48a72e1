"""A stub whose folder also holds numpy.py, conftest.py and sitecustomize.py (from tests/hostile/beside/):
each would make every comparison pass if the grader, or an interpreter started in that folder, imported it."""


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    return {"error": None, "output_error_term": None, "hidden_error_term": None,
            "delta_w_h_o": None, "delta_w_i_h": None}

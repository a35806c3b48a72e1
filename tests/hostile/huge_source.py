"""A 50 MB file: the test pads this one with comments."""


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    return {"error": None}

"""A syntax error."""


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output:
    return {}

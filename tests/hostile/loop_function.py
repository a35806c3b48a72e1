"""An endless loop inside the graded function."""


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    while True:
        pass

"""Exercise 06 - Multilayer perceptron: the forward pass (4 x 3 x 2, sigmoid on both layers).

Implement `forward_pass`: given the input `X` (1-D array of n_input values), the
weights `weights_input_to_hidden` (n_input x n_hidden) and `weights_hidden_to_output`
(n_hidden x n_output), compute

    hidden_layer_in    the input to the hidden layer
    hidden_layer_out   the hidden layer output (sigmoid)
    output_layer_in    the input to the output layer
    output_layer_out   the network output (sigmoid)

and return them in the dict the function already returns. Fill in the lines marked
TODO (each is set to None); `sigmoid` is given.

Check your work:  python grade.py 06
Run the lesson:   python exercises/06_forward_pass.py
"""
import numpy as np


def sigmoid(x):
    """Calculate sigmoid"""
    return 1 / (1 + np.exp(-x))


def forward_pass(X, weights_input_to_hidden, weights_hidden_to_output):
    # TODO: Make a forward pass through the network

    hidden_layer_in = np.dot(X, weights_input_to_hidden)  # SOLUTION
    hidden_layer_out = sigmoid(hidden_layer_in)  # SOLUTION

    output_layer_in = np.dot(hidden_layer_out, weights_hidden_to_output)  # SOLUTION
    # MISTAKE output_fed_hidden_input: np.dot(hidden_layer_in, weights_hidden_to_output)
    output_layer_out = sigmoid(output_layer_in)  # SOLUTION
    # MISTAKE output_sigmoid_missing: output_layer_in

    return {"hidden_layer_in": hidden_layer_in, "hidden_layer_out": hidden_layer_out,
            "output_layer_in": output_layer_in, "output_layer_out": output_layer_out}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from nngrade.script import run_script

    run_script(sys.modules[__name__])

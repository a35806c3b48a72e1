"""Exercise 09 - one backpropagation step of a network with ReLU hidden units and biases.

Implement `relu_step`: the hidden layer takes the inputs with its bias and applies ReLU, the output
unit is a sigmoid with its own bias. Fill in the lines marked TODO (each is set to None).

Check your work:  python grade.py 09
"""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu_step(x, target, learnrate, weights_input_hidden, bias_hidden, weights_hidden_output, bias_output):
    # TODO: the hidden layer, its bias included, then ReLU
    hidden_input = np.dot(x, weights_input_hidden) + bias_hidden  # SOLUTION
    # MISTAKE bias_missing: np.dot(x, weights_input_hidden)
    hidden_output = np.maximum(hidden_input, 0)  # SOLUTION
    # TODO: the output unit, its bias included
    output = sigmoid(np.dot(hidden_output, weights_hidden_output) + bias_output)  # SOLUTION
    # TODO: the error and the error terms
    error = target - output  # SOLUTION
    # MISTAKE flipped_error: output - target
    output_error_term = error * output * (1 - output)  # SOLUTION
    # MISTAKE missing_sigmoid_derivative: error
    hidden_error_term = np.dot(output_error_term, weights_hidden_output) * (hidden_input > 0)  # SOLUTION
    # MISTAKE relu_derivative_missing: np.dot(output_error_term, weights_hidden_output)
    # TODO: the steps of the weights and of the biases
    delta_w_h_o = learnrate * output_error_term * hidden_output  # SOLUTION
    delta_b_o = learnrate * output_error_term  # SOLUTION
    delta_w_i_h = learnrate * hidden_error_term * x[:, None]  # SOLUTION
    delta_b_h = learnrate * hidden_error_term  # SOLUTION

    return {"hidden_input": hidden_input, "hidden_output": hidden_output, "output": output, "error": error,
            "output_error_term": output_error_term, "hidden_error_term": hidden_error_term,
            "delta_w_h_o": delta_w_h_o, "delta_b_o": delta_b_o, "delta_w_i_h": delta_w_i_h, "delta_b_h": delta_b_h}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from nngrade.script import run_script

    run_script(sys.modules[__name__])

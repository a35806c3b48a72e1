"""Exercise 07 - Backpropagation: one weight update of a 3 x 2 x 1 network.

Implement `backprop_step`: given one record `x` (n_input values), its `target`, the
learning rate `learnrate` and the weights `weights_input_hidden` (n_input x n_hidden)
and `weights_hidden_output` (n_hidden), the forward pass is written for you; compute

    error               the output error, target - output
    output_error_term   the error term of the output unit
    hidden_error_term   the error term of each hidden unit
    delta_w_h_o         the weight step hidden -> output, shape (n_hidden,)
    delta_w_i_h         the weight step input -> hidden, shape (n_input, n_hidden)

and return them in the dict the function already returns. Fill in the lines marked
TODO (each is set to None); `sigmoid` is given.

Check your work:  python grade.py 07
Run the lesson:   python exercises/07_backpropagation.py
"""
import numpy as np


def sigmoid(x):
    """Calculate sigmoid"""
    return 1 / (1 + np.exp(-x))


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    ## Forward pass
    hidden_layer_input = np.dot(x, weights_input_hidden)
    hidden_layer_output = sigmoid(hidden_layer_input)

    output_layer_in = np.dot(hidden_layer_output, weights_hidden_output)
    output = sigmoid(output_layer_in)

    ## Backwards pass
    # TODO: Calculate output error
    error = target - output  # SOLUTION
    # MISTAKE flipped_error: output - target

    # TODO: Calculate error term for output layer
    output_error_term = error * output * (1 - output)  # SOLUTION
    # MISTAKE missing_sigmoid_derivative: error
    # MISTAKE derivative_of_activation: error * sigmoid(output) * (1 - sigmoid(output))
    # MISTAKE learnrate_in_error_term: learnrate * error * output * (1 - output)

    # TODO: Calculate error term for hidden layer
    hidden_error_term = np.dot(output_error_term, weights_hidden_output) * hidden_layer_output * (1 - hidden_layer_output)  # SOLUTION
    # MISTAKE missing_hidden_derivative: np.dot(output_error_term, weights_hidden_output)
    # MISTAKE derivative_of_activation: np.dot(output_error_term, weights_hidden_output) * sigmoid(hidden_layer_output) * (1 - sigmoid(hidden_layer_output))
    # MISTAKE hidden_derivative_of_output: np.dot(output_error_term, weights_hidden_output) * output * (1 - output)

    # TODO: Calculate change in weights for hidden layer to output layer
    delta_w_h_o = learnrate * output_error_term * hidden_layer_output  # SOLUTION
    # MISTAKE learnrate_missing: output_error_term * hidden_layer_output
    # MISTAKE learnrate_twice: learnrate * learnrate * output_error_term * hidden_layer_output

    # TODO: Calculate change in weights for input layer to hidden layer
    delta_w_i_h = learnrate * hidden_error_term * x[:, None]  # SOLUTION
    # MISTAKE learnrate_missing: hidden_error_term * x[:, None]
    # MISTAKE learnrate_twice: learnrate * learnrate * hidden_error_term * x[:, None]
    # MISTAKE outer_wrong_way: learnrate * np.outer(hidden_error_term, x)

    return {"error": error, "output_error_term": output_error_term,
            "hidden_error_term": hidden_error_term,
            "delta_w_h_o": delta_w_h_o, "delta_w_i_h": delta_w_i_h}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from nngrade.script import run_script

    run_script(sys.modules[__name__])

"""Exercise 04 - Gradient descent: the code (one weight step of one sigmoid unit).

Implement `gradient_step`: given one record `x` (1-D array), its target `y`, the
weights `weights` (same length as x) and the learning rate `learnrate`, compute

    h           the input to the output unit, x . w
    nn_output   the network output, sigmoid(h)
    error       the output error, y - nn_output
    error_term  the error term, error * f'(h)
    del_w       the weight step, learnrate * error_term * x

and return them in the dict the function already returns. Fill in the lines marked
TODO (each is set to None); `sigmoid` and `sigmoid_prime` are given.

Check your work:  python grade.py 04
Run the lesson:   python exercises/04_gradient_step.py
"""
import numpy as np


def sigmoid(x):
    """Calculate sigmoid"""
    return 1 / (1 + np.exp(-x))


def sigmoid_prime(x):
    """Derivative of the sigmoid function"""
    return sigmoid(x) * (1 - sigmoid(x))


def gradient_step(x, y, weights, learnrate):
    # TODO: Calculate the node's linear combination of inputs and weights
    h = np.dot(x, weights)  # SOLUTION

    # TODO: Calculate output of neural network
    nn_output = sigmoid(h)  # SOLUTION
    # MISTAKE output_sigmoid_missing: h

    # TODO: Calculate error of neural network
    error = y - nn_output  # SOLUTION
    # MISTAKE flipped_error: nn_output - y

    # TODO: Calculate the error term
    #       Remember, this requires the output gradient, which we haven't
    #       specifically added a variable for.
    error_term = error * sigmoid_prime(h)  # SOLUTION
    # MISTAKE missing_sigmoid_derivative: error
    # MISTAKE derivative_of_activation: error * sigmoid_prime(nn_output)
    # MISTAKE learnrate_in_error_term: learnrate * error * sigmoid_prime(h)

    # TODO: Calculate change in weights
    del_w = learnrate * error_term * x  # SOLUTION
    # MISTAKE learnrate_missing: error_term * x
    # MISTAKE learnrate_twice: learnrate * learnrate * error_term * x

    return {"h": h, "nn_output": nn_output, "error": error,
            "error_term": error_term, "del_w": del_w}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from nngrade.script import run_script

    run_script(sys.modules[__name__])

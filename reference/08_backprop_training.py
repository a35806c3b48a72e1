"""Exercise 08 - Implementing backpropagation: train a 6 x 2 x 1 network on the admissions data.

The lesson's training loop is split into small functions so that each piece can be
checked. Fill in the lines marked TODO (each is set to None):

    record_terms(x, y, weights_input_hidden, weights_hidden_output)
        one record: the forward pass (hidden_input, hidden_output, output) and the
        backward pass (error, output_error_term, hidden_error, hidden_error_term)
    train_epoch(features, targets, weights_input_hidden, weights_hidden_output, learnrate)
        one epoch: the summed weight steps del_w_input_hidden (n_features x n_hidden) and
        del_w_hidden_output (n_hidden), then the updated weights_input_hidden and
        weights_hidden_output
    train_loss(...)   loss: mean squared error of the network output on the set
    accuracy(...)     accuracy: fraction predicted right (output > 0.5 means admit)

`train` (given) runs several epochs and records the loss after each. `features` is a
2-D array (records x 6 features), `targets` a 1-D array of 0/1. Every function
returns a dict of its quantities, named as in the lesson.

Check your work:  python grade.py 08
Run the lesson:   python exercises/08_backprop_training.py
"""
import numpy as np


def sigmoid(x):
    """Calculate sigmoid"""
    return 1 / (1 + np.exp(-x))


def record_terms(x, y, weights_input_hidden, weights_hidden_output):
    ## Forward pass ##
    # TODO: Calculate the output
    hidden_input = np.dot(x, weights_input_hidden)  # SOLUTION
    hidden_output = sigmoid(hidden_input)  # SOLUTION
    output = sigmoid(np.dot(hidden_output, weights_hidden_output))  # SOLUTION
    # MISTAKE output_sigmoid_missing: np.dot(hidden_output, weights_hidden_output)
    # MISTAKE output_fed_hidden_input: sigmoid(np.dot(hidden_input, weights_hidden_output))

    ## Backward pass ##
    # TODO: Calculate the network's prediction error
    error = y - output  # SOLUTION
    # MISTAKE flipped_error: output - y

    # TODO: Calculate error term for the output unit
    output_error_term = error * output * (1 - output)  # SOLUTION
    # MISTAKE missing_sigmoid_derivative: error
    # MISTAKE derivative_of_activation: error * sigmoid(output) * (1 - sigmoid(output))

    ## propagate errors to hidden layer

    # TODO: Calculate the hidden layer's contribution to the error
    hidden_error = np.dot(output_error_term, weights_hidden_output)  # SOLUTION

    # TODO: Calculate the error term for the hidden layer
    hidden_error_term = hidden_error * hidden_output * (1 - hidden_output)  # SOLUTION
    # MISTAKE missing_hidden_derivative: hidden_error
    # MISTAKE derivative_of_activation: hidden_error * sigmoid(hidden_output) * (1 - sigmoid(hidden_output))
    # MISTAKE hidden_derivative_of_output: hidden_error * output * (1 - output)

    return {"hidden_input": hidden_input, "hidden_output": hidden_output,
            "output": output, "error": error, "output_error_term": output_error_term,
            "hidden_error": hidden_error, "hidden_error_term": hidden_error_term}


def train_epoch(features, targets, weights_input_hidden, weights_hidden_output, learnrate):
    n_records = features.shape[0]
    del_w_input_hidden = np.zeros(weights_input_hidden.shape)
    del_w_hidden_output = np.zeros(weights_hidden_output.shape)
    for x, y in zip(features, targets):
        terms = record_terms(x, y, weights_input_hidden, weights_hidden_output)
        # TODO: Update the change in weights with this record's terms
        del_w_hidden_output = del_w_hidden_output + terms["output_error_term"] * terms["hidden_output"]  # SOLUTION
        # MISTAKE learnrate_twice: del_w_hidden_output + learnrate * terms["output_error_term"] * terms["hidden_output"]
        # MISTAKE last_record_only: terms["output_error_term"] * terms["hidden_output"]
        del_w_input_hidden = del_w_input_hidden + terms["hidden_error_term"] * x[:, None]  # SOLUTION
        # MISTAKE learnrate_twice: del_w_input_hidden + learnrate * terms["hidden_error_term"] * x[:, None]
        # MISTAKE last_record_only: terms["hidden_error_term"] * x[:, None]
        # MISTAKE update_inside_loop: del_w_input_hidden = del_w_input_hidden + terms["hidden_error_term"] * x[:, None]; weights_input_hidden = weights_input_hidden + learnrate * del_w_input_hidden / n_records; weights_hidden_output = weights_hidden_output + learnrate * del_w_hidden_output / n_records
        # MISTAKE update_inside_loop@second: del_w_input_hidden = del_w_input_hidden + terms["hidden_error_term"] * x[:, None]; weights_hidden_output = weights_hidden_output + learnrate * del_w_hidden_output / n_records

    # TODO: Update weights using the learning rate and the average change in weights
    weights_input_hidden = weights_input_hidden + learnrate * del_w_input_hidden / n_records  # SOLUTION
    # MISTAKE update_sign: weights_input_hidden - learnrate * del_w_input_hidden / n_records
    # MISTAKE missing_average: weights_input_hidden + learnrate * del_w_input_hidden
    # MISTAKE learnrate_missing: weights_input_hidden + del_w_input_hidden / n_records
    # MISTAKE update_inside_loop: pass
    # MISTAKE hard_coded_count: weights_input_hidden + learnrate * del_w_input_hidden / 360
    # MISTAKE off_by_one@first: first = record_terms(features[0], targets[0], weights_input_hidden, weights_hidden_output); del_w_input_hidden = del_w_input_hidden - first["hidden_error_term"] * features[0][:, None]; del_w_hidden_output = del_w_hidden_output - first["output_error_term"] * first["hidden_output"]; weights_input_hidden = weights_input_hidden + learnrate * del_w_input_hidden / n_records
    # MISTAKE off_by_one@last: del_w_input_hidden = del_w_input_hidden - terms["hidden_error_term"] * x[:, None]; del_w_hidden_output = del_w_hidden_output - terms["output_error_term"] * terms["hidden_output"]; weights_input_hidden = weights_input_hidden + learnrate * del_w_input_hidden / n_records
    weights_hidden_output = weights_hidden_output + learnrate * del_w_hidden_output / n_records  # SOLUTION
    # MISTAKE update_sign: weights_hidden_output - learnrate * del_w_hidden_output / n_records
    # MISTAKE missing_average: weights_hidden_output + learnrate * del_w_hidden_output
    # MISTAKE learnrate_missing: weights_hidden_output + del_w_hidden_output / n_records
    # MISTAKE update_inside_loop: pass
    # MISTAKE update_inside_loop@second: pass
    # MISTAKE hard_coded_count: weights_hidden_output + learnrate * del_w_hidden_output / 360

    return {"del_w_input_hidden": del_w_input_hidden,
            "del_w_hidden_output": del_w_hidden_output,
            "weights_input_hidden": weights_input_hidden,
            "weights_hidden_output": weights_hidden_output}


def train_loss(features, targets, weights_input_hidden, weights_hidden_output):
    hidden_output = sigmoid(np.dot(features, weights_input_hidden))
    out = sigmoid(np.dot(hidden_output, weights_hidden_output))
    # TODO: Calculate the mean squared error of out against targets
    loss = np.mean((out - targets) ** 2)  # SOLUTION
    # MISTAKE loss_not_averaged: np.sum((out - targets) ** 2)
    # MISTAKE loss_square_of_mean: np.mean(out - targets) ** 2
    # MISTAKE hard_coded_count: np.sum((out - targets) ** 2) / 360

    return {"loss": loss}


def accuracy(features, targets, weights_input_hidden, weights_hidden_output):
    hidden = sigmoid(np.dot(features, weights_input_hidden))
    out = sigmoid(np.dot(hidden, weights_hidden_output))
    predictions = out > 0.5
    # TODO: Calculate the fraction of predictions that equal the targets
    accuracy = np.mean(predictions == targets)  # SOLUTION
    # MISTAKE accuracy_rounded@3: round(np.mean(predictions == targets), 3)
    # MISTAKE accuracy_rounded@2: round(np.mean(predictions == targets), 2)
    # MISTAKE hard_coded_count: np.sum(predictions == targets) / 40

    return {"accuracy": accuracy}


def train(features, targets, weights_input_hidden, weights_hidden_output, learnrate, epochs):
    """Given: run `epochs` epochs of train_epoch, recording the training loss after each."""
    losses = []
    for e in range(epochs):
        step = train_epoch(features, targets, weights_input_hidden, weights_hidden_output, learnrate)
        weights_input_hidden = step["weights_input_hidden"]
        weights_hidden_output = step["weights_hidden_output"]
        if weights_input_hidden is None or weights_hidden_output is None:  # train_epoch is not finished yet
            return {"weights_input_hidden": None, "weights_hidden_output": None, "losses": None}
        losses.append(train_loss(features, targets, weights_input_hidden, weights_hidden_output)["loss"])
    return {"weights_input_hidden": weights_input_hidden,
            "weights_hidden_output": weights_hidden_output, "losses": losses}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from nngrade.script import run_script

    run_script(sys.modules[__name__])

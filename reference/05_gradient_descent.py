"""Exercise 05 - Implementing gradient descent on the admissions data (one sigmoid unit).

The lesson's data preparation and training loop are split into small functions so that
each piece can be checked. Fill in the lines marked TODO (each is set to None):

    standardise(values)                            standardised: (values - mean) / sample std
    split_sample(n_rows, seed)                     sample: the training rows' numbers
    record_terms(x, y, weights)                    one record: output, error, error_term
    train_epoch(features, targets, weights, learnrate)
                                                   one epoch: del_w (the summed weight
                                                   steps) and the updated weights
    train_loss(features, targets, weights)         loss: mean squared error on the set
    accuracy(features, targets, weights)           accuracy: fraction predicted right
                                                   (output > 0.5 means admit)

`train` (given) runs several epochs and records the loss after each. `features` is a
2-D array (records x 6 features), `targets` a 1-D array of 0/1, `weights` a 1-D array.
Every function returns a dict of its quantities, named as in the lesson.

Check your work:  python grade.py 05
Run the lesson:   python exercises/05_gradient_descent.py
"""
import numpy as np


def sigmoid(x):
    """Calculate sigmoid"""
    return 1 / (1 + np.exp(-x))


def standardise(values):
    # TODO: Standardise the values: subtract their mean, divide by their standard deviation
    #       (the lesson uses the sample standard deviation, as pandas' .std() does)
    standardised = (values - np.mean(values)) / np.std(values, ddof=1)  # SOLUTION
    # MISTAKE population_std: (values - np.mean(values)) / np.std(values)

    return {"standardised": standardised}


def split_sample(n_rows, seed):
    # TODO: Pick the training rows as the lesson does: seed NumPy's random generator with
    #       `seed`, then choose 90% of the row numbers 0..n_rows-1 without replacement
    sample = np.random.RandomState(seed).choice(n_rows, size=int(n_rows * 0.9), replace=False)  # SOLUTION
    # MISTAKE wrong_split_seed@42: np.random.RandomState(42).choice(n_rows, size=int(n_rows * 0.9), replace=False)
    # MISTAKE wrong_split_seed@21: np.random.RandomState(21).choice(n_rows, size=int(n_rows * 0.9), replace=False)
    # MISTAKE new_generator: np.random.default_rng(seed).choice(n_rows, size=int(n_rows * 0.9), replace=False)

    return {"sample": sample}


def record_terms(x, y, weights):
    # TODO: Calculate the output
    output = sigmoid(np.dot(x, weights))  # SOLUTION
    # MISTAKE output_sigmoid_missing: np.dot(x, weights)

    # TODO: Calculate the error
    error = y - output  # SOLUTION
    # MISTAKE flipped_error: output - y

    # TODO: Calculate the error term
    error_term = error * output * (1 - output)  # SOLUTION
    # MISTAKE missing_sigmoid_derivative: error
    # MISTAKE derivative_of_activation: error * sigmoid(output) * (1 - sigmoid(output))

    return {"output": output, "error": error, "error_term": error_term}


def train_epoch(features, targets, weights, learnrate):
    n_records = features.shape[0]
    del_w = np.zeros(weights.shape)
    for x, y in zip(features, targets):
        terms = record_terms(x, y, weights)
        # TODO: Add the change in weights for this record (terms["error_term"] and x)
        #       to the total change in weights
        del_w = del_w + terms["error_term"] * x  # SOLUTION
        # MISTAKE learnrate_twice: del_w + learnrate * terms["error_term"] * x
        # MISTAKE update_inside_loop: del_w = del_w + terms["error_term"] * x; weights = weights + learnrate * del_w / n_records
        # MISTAKE last_record_only: terms["error_term"] * x

    # TODO: Update weights using the learning rate and the average change in weights
    weights = weights + learnrate * del_w / n_records  # SOLUTION
    # MISTAKE update_sign: weights - learnrate * del_w / n_records
    # MISTAKE missing_average: weights + learnrate * del_w
    # MISTAKE learnrate_missing: weights + del_w / n_records
    # MISTAKE update_inside_loop: pass
    # MISTAKE hard_coded_count: weights + learnrate * del_w / 360
    # MISTAKE off_by_one@first: del_w = del_w - record_terms(features[0], targets[0], weights)["error_term"] * features[0]; weights = weights + learnrate * del_w / n_records
    # MISTAKE off_by_one@last: del_w = del_w - terms["error_term"] * x; weights = weights + learnrate * del_w / n_records

    return {"del_w": del_w, "weights": weights}


def train_loss(features, targets, weights):
    out = sigmoid(np.dot(features, weights))
    # TODO: Calculate the mean squared error of out against targets
    loss = np.mean((out - targets) ** 2)  # SOLUTION
    # MISTAKE loss_not_averaged: np.sum((out - targets) ** 2)
    # MISTAKE loss_square_of_mean: np.mean(out - targets) ** 2
    # MISTAKE hard_coded_count: np.sum((out - targets) ** 2) / 360

    return {"loss": loss}


def accuracy(features, targets, weights):
    out = sigmoid(np.dot(features, weights))
    predictions = out > 0.5
    # TODO: Calculate the fraction of predictions that equal the targets
    accuracy = np.mean(predictions == targets)  # SOLUTION
    # MISTAKE accuracy_rounded@3: round(np.mean(predictions == targets), 3)
    # MISTAKE accuracy_rounded@2: round(np.mean(predictions == targets), 2)
    # MISTAKE hard_coded_count: np.sum(predictions == targets) / 40

    return {"accuracy": accuracy}


def train(features, targets, weights, learnrate, epochs):
    """Given: run `epochs` epochs of train_epoch, recording the training loss after each."""
    losses = []
    for e in range(epochs):
        weights = train_epoch(features, targets, weights, learnrate)["weights"]
        if weights is None:  # train_epoch is not finished yet
            return {"weights": None, "losses": None}
        losses.append(train_loss(features, targets, weights)["loss"])
    return {"weights": weights, "losses": losses}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from nngrade.script import run_script

    run_script(sys.modules[__name__])

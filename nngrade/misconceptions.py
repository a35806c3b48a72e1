"""The known mistakes of the lesson: a stable id, what went wrong, and a hint that points at the formula.

Data only, so that a student release can name a mistake without shipping the code that
computes the variants (nngrade/variants.py), which would also compute the right answers.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Misconception:
    id: str
    title: str
    hint: str          # points at the lesson's formula without giving the code


MISCONCEPTIONS = {m.id: m for m in (
    Misconception("missing_sigmoid_derivative", "the sigmoid derivative is missing from the error term",
                  "the error term is the error times f'(h), the slope of the sigmoid at the unit's input"),
    Misconception("missing_hidden_derivative", "the sigmoid derivative is missing from the hidden error term",
                  "each hidden unit's error term is its share of the output error times f'(h_j) at that unit"),
    Misconception("derivative_of_activation", "the derivative is taken of the activation, not of h",
                  "f'(h) = f(h)(1 - f(h)) uses the unit's output f(h) directly; sigmoid_prime(output) applies the sigmoid twice"),
    Misconception("flipped_error", "the error has the wrong sign",
                  "the error is the target minus the network's output, y - y_hat"),
    Misconception("update_sign", "the weight update moves against the error",
                  "with error = y - y_hat the step is added: w_i = w_i + eta * delta * x_i"),
    Misconception("missing_average", "the weight step is not divided by the number of records",
                  "the lesson averages the summed steps: w_i = w_i + eta * Delta w_i / m"),
    Misconception("update_inside_loop", "the weights are updated inside the per-record loop",
                  "sum the steps over all records first, then update the weights once per epoch"),
    Misconception("learnrate_missing", "the learning rate is missing from the weight step",
                  "the step is scaled by the learning rate eta: Delta w_i = eta * delta * x_i"),
    Misconception("learnrate_twice", "the learning rate is applied twice",
                  "eta scales the step once: either in the step or in the update, not both"),
    Misconception("outer_wrong_way", "the weight step has the shape of the transposed matrix",
                  "Delta w_ij = eta * delta_j * x_i has one row per input and one column per hidden unit: x as a column, x[:, None]"),
    Misconception("transposed_matrix", "the matrix is transposed",
                  "rows are the inputs and columns the units they feed, as in weights_input_hidden"),
    Misconception("missing_column_vector", "the inputs are not turned into a column before the product",
                  "x has one value per input and delta one per hidden unit; x[:, None] makes x a column so the product is a matrix"),
    Misconception("population_std", "the standard deviation is the population one (np.std), not the sample one",
                  "the lesson standardises with pandas' .std(), the sample standard deviation, which divides by n - 1"),
    Misconception("wrong_split_seed", "the split ignores the seed it is given",
                  "seed the generator with the `seed` argument (the lesson uses 42 for 05 and 21 for 08)"),
    Misconception("dot_order_swapped", "the dot product has its operands swapped",
                  "the inputs (a row) come first: h_j = sum_i x_i w_ij, so the input vector multiplies the weight matrix"),
)}

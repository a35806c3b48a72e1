"""The lesson's shared material: its mistakes, the admissions data and how 05 and 08 prepare it, the
hidden cases' building blocks, and the training printout of 05 and 08.

Everything here is the lesson's, not the framework's: a new lesson writes its own module beside its
graders. The exercises' own facts (inputs, seeds, quantities) are in their graders.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nngrade.script import complete
from nngrade.spec import Column, Dataset, Mistake

# --- the mistakes students make with sigmoid units and gradient descent ------------------------------

# Quantities that are weight steps into the hidden layer: there a transposed shape is np.outer the wrong
# way round, and a failed broadcast is x without [:, None].
INPUT_HIDDEN_STEPS = ("delta_w_i_h", "del_w_input_hidden")

# np.dot's message names the operands' shapes: the matrix first is a swapped order; the inputs first with a
# matrix that does not fit them, a transposed matrix. matmul's message does not say which operand is which. Either
# way the transposed matrix needs a line that transposes the second operand, which is not the inputs (x.T on a
# vector changes nothing: `W @ x.T` is a swapped order), or that calls np.transpose: a wrong matrix in the right
# order (np.dot(X, weights_hidden_to_output)) fails the same way and is neither.
TRANSPOSES_A_MATRIX = r"(?:@|,)\s*(?!(?:x|X|features|inputs?|hidden\w*)\b)[A-Za-z_]\w*(?:\[[^\]]*\])?\.T\b|transpose|swapaxes"

MISTAKES = (
    Mistake("missing_sigmoid_derivative", "the sigmoid derivative is missing from the error term",
            "the error term is the error times f'(h), the slope of the sigmoid at the unit's input"),
    Mistake("missing_hidden_derivative", "the sigmoid derivative is missing from the hidden error term",
            "each hidden unit's error term is its share of the output error times f'(h_j) at that unit"),
    Mistake("derivative_of_activation", "the derivative is taken of the activation, not of h",
            "f'(h) = f(h)(1 - f(h)) uses the unit's output f(h) directly; sigmoid_prime(output) applies the sigmoid twice"),
    Mistake("flipped_error", "the error has the wrong sign",
            "the error is the target minus the network's output, y - y_hat"),
    Mistake("update_sign", "the weight update moves against the error",
            "with error = y - y_hat the step is added: w_i = w_i + eta * delta * x_i"),
    Mistake("missing_average", "the weight step is not divided by the number of records",
            "the lesson averages the summed steps: w_i = w_i + eta * Delta w_i / m"),
    Mistake("update_inside_loop", "the weights are updated inside the per-record loop",
            "sum the steps over all records first, then update the weights once per epoch"),
    Mistake("learnrate_missing", "the learning rate is missing from the weight step",
            "the step is scaled by the learning rate eta: Delta w_i = eta * delta * x_i"),
    Mistake("learnrate_twice", "the learning rate is applied twice",
            "eta scales the step once: either in the step or in the update, not both"),
    Mistake("outer_wrong_way", "the weight step has the shape of the transposed matrix",
            "Delta w_ij = eta * delta_j * x_i has one row per input and one column per hidden unit: x as a column, x[:, None]",
            transposed=True, at=INPUT_HIDDEN_STEPS),
    Mistake("transposed_matrix", "the matrix is transposed",
            "rows are the inputs and columns the units they feed, as in weights_input_hidden", transposed=True),
    Mistake("missing_column_vector", "the inputs are not turned into a column before the product",
            "x has one value per input and delta one per hidden unit; x[:, None] makes x a column so the product is a matrix",
            raises="could not be broadcast", at=INPUT_HIDDEN_STEPS),
    Mistake("population_std", "the standard deviation is the population one (np.std), not the sample one",
            "the lesson standardises with pandas' .std(), the sample standard deviation, which divides by n - 1"),
    Mistake("wrong_split_seed", "the split ignores the seed it is given",
            "seed the generator with the `seed` argument (the lesson uses 42 for 05 and 21 for 08)"),
    Mistake("dot_order_swapped", "the dot product has its operands swapped",
            "the inputs (a row) come first: h_j = sum_i x_i w_ij, so the input vector multiplies the weight matrix",
            raises=r"shapes \(\d+, ?\d+\) and \(\d+,\) not aligned|matmul.*mismatch"),
    Mistake("transposed_weights", "the weight matrix is transposed in the product",
            "w_ij connects input i to unit j: the matrix has one row per input and one column per unit it feeds, "
            "and h_j = sum_i x_i w_ij takes it as it is",
            raises=r"shapes \(\d+,\) and \(\d+, ?\d+\) not aligned|matmul.*mismatch", line=TRANSPOSES_A_MATRIX),
    Mistake("output_sigmoid_missing", "the output unit's sigmoid is missing",
            "the network's output is the activation of the output unit's input, y_hat = f(h) = 1 / (1 + e^-h), "
            "not h itself"),
    Mistake("output_fed_hidden_input", "the output layer is fed the hidden layer's input, not its output",
            "the output unit's input is the hidden units' activations times their weights, h_o = sum_j f(h_j) W_j: "
            "f(h_j), not h_j"),
    Mistake("hidden_derivative_of_output", "the hidden error term uses the output unit's derivative",
            "each hidden unit's error term takes the slope of its own sigmoid: delta_j = (sum_k W_jk delta_k) f'(h_j), "
            "with f'(h_j) = a_j (1 - a_j) from that hidden unit's activation a_j"),
    Mistake("learnrate_in_error_term", "the learning rate is inside the error term",
            "the error term is the error times the slope, delta = (y - y_hat) f'(h); the learning rate scales only "
            "the weight step, Delta w_i = eta delta x_i"),
    Mistake("last_record_only", "only the last record's step is kept: each record overwrites the sum",
            "the epoch's step is the sum over all the records, Delta w_i = sum_mu delta^mu x_i^mu: each record adds "
            "its share to the total"),
    Mistake("off_by_one", "a record is left out of the sum (an off-by-one over the records)",
            "the sum runs over every record, mu = 1 ... m, the first and the last included"),
    Mistake("hard_coded_count", "the number of records is written in, not taken from the data",
            "the average divides by m, the number of records of the set it is given (its rows), which changes "
            "with the data"),
    Mistake("loss_not_averaged", "the loss is summed over the records, not averaged",
            "the mean squared error divides the sum by the number of records: E = 1/m sum_mu (y^mu - y_hat^mu)^2"),
    Mistake("loss_square_of_mean", "the loss is the square of the mean error, not the mean of the squared errors",
            "square each record's error first, then average: E = 1/m sum_mu (y^mu - y_hat^mu)^2"),
    Mistake("accuracy_rounded", "the accuracy is rounded",
            "the accuracy is the exact fraction of the records predicted right, (number right) / m: round it only "
            "where it is printed"),
    Mistake("new_generator", "the rows are drawn with NumPy's new generator (default_rng), not the lesson's seeded one",
            "the lesson seeds the legacy generator, np.random.seed(seed), then draws with np.random.choice: "
            "default_rng(seed) draws another sample from the same seed"),
    Mistake("ignores_arguments", "the function ignores its arguments: lesson values are written into it",
            "it is right on the lesson's inputs only: every number it needs (the inputs, the weights, sizes, seeds) "
            "comes in as its arguments, and the hidden cases give it other ones", constant=True),
)


# --- the admissions data (binary.csv) ------------------------------------------------------------------

def _synthesize(seed: int = 0, n: int = 400) -> list[dict]:
    """Synthetic admissions rows with the real file's marginals and a logit model of admission."""
    rng = np.random.default_rng(seed)
    # The real file's rank counts; largest-remainder rounding keeps their proportions for any n.
    shares = np.array([61, 151, 121, 67]) * n / 400
    counts = np.floor(shares).astype(int)
    counts[np.argsort(counts - shares, kind="stable")[: n - counts.sum()]] += 1
    rank = rng.permutation(np.repeat(np.arange(1, 5), counts))
    # Pre-clip parameters solved so that, after clipping and rounding, the expected mean and sd are the real
    # file's (gre 587.7, 115.5; gpa 3.39, 0.38); the gpa cap at 4.0 then holds ~28 rows, as in the real file.
    gre = np.round(np.clip(rng.normal(589.5, 119.7, n), 220, 800) / 20) * 20
    gpa = np.round(np.clip(rng.normal(3.402, 0.407, n), 2.26, 4.0), 2)
    # Coefficients of the well-known logit fit on the real file (admit ~ gre + gpa + factor(rank)).
    logit = -3.99 + 0.00226 * gre + 0.804 * gpa + np.array([0.0, -0.675, -1.34, -1.55])[rank - 1]
    admit = rng.random(n) < 1 / (1 + np.exp(-logit))
    return [{"admit": int(a), "gre": int(g), "gpa": float(p), "rank": int(r)}
            for a, g, p, r in zip(admit, gre, gpa, rank)]


def _describe(table) -> str:
    counts = "  ".join(f"{r}: {(table.rank == r).sum()}" for r in range(1, 5))
    return (f"rank    {counts}\n"
            f"gre     mean {table.gre.mean():.2f}  sd {table.gre.std(ddof=1):.2f}\n"
            f"gpa     mean {table.gpa.mean():.4f}  sd {table.gpa.std(ddof=1):.4f}\n"
            f"admit   rate {table.admit.mean():.4f}")


ADMISSIONS = Dataset(
    name="admissions", file="binary.csv", sample="admissions_sample.csv",
    sha256="2f5dcda0e455631215709575cc2eede4e5fb4e94cda9c37dab54e26d79dcf8c2",
    # The address the lesson printed, then where UCLA moved it.
    urls=("https://stats.idre.ucla.edu/stat/data/binary.csv", "https://stats.oarc.ucla.edu/stat/data/binary.csv"),
    columns=(Column("admit", int, (0, 1)), Column("gre"), Column("gpa"), Column("rank", int, (1, 2, 3, 4))),
    synthesize=_synthesize, describe=_describe)

FEATURES = ("gre", "gpa", "rank_1", "rank_2", "rank_3", "rank_4")


@dataclass(frozen=True, eq=False)
class Split:
    """Standardised features (columns FEATURES) and targets, train rows in sampled order, test rows in file order."""
    features: np.ndarray
    targets: np.ndarray
    features_test: np.ndarray
    targets_test: np.ndarray


def prepare(table, seed: int) -> Split:
    """One-hot rank, standardise gre and gpa over all rows (sample std), then the lesson's 90/10 split."""
    def standardised(column: np.ndarray) -> np.ndarray:
        return (column - column.mean()) / column.std(ddof=1)

    # Comparing against 1..4, not against the values present, keeps four columns even if a rank is absent.
    one_hot = (table.rank[:, None] == np.arange(1, 5)).astype(np.float64)
    features = np.column_stack([standardised(table.gre), standardised(table.gpa), one_hot])
    targets = table.admit.astype(np.float64)
    n = len(targets)
    # The same stream as the lesson's np.random.seed(seed); np.random.choice(...), without
    # disturbing the caller's global random state.
    sample = np.random.RandomState(seed).choice(n, size=int(n * 0.9), replace=False)
    is_test = np.ones(n, dtype=bool)
    is_test[sample] = False
    return Split(features[sample], targets[sample], features[is_test], targets[is_test])


SHORT_EPOCHS = 3   # what a grader would check of a trajectory: one epoch, then a few


# --- building blocks of hidden cases: other inputs, sizes and seeds than the lesson's ---------------------

def sigmoid(h):
    return 1 / (1 + np.exp(-h))


def sizes(rng: np.random.Generator, low: int, high: int, count: int) -> list[int]:
    """Distinct sizes, so that a transposed matrix or a swapped dot order cannot line up by chance."""
    return [int(n) for n in rng.choice(np.arange(low, high + 1), size=count, replace=False)]


# Record counts of hidden training cases: primes, so that k / n_records (an accuracy, a mean over records) has
# no short decimal form for 0 < k < n: an accuracy rounded to 3 decimals, or a loss averaged over a
# hard-coded count, can never coincide with the answer (25, 40 or 50 rows let round(acc, 3) pass).
RECORD_COUNTS = (29, 31, 37, 41, 43, 47, 53, 59, 61)


def records(rng: np.random.Generator, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    n_records = int(rng.choice(RECORD_COUNTS))
    features = rng.normal(size=(n_records, n_features))
    targets = rng.integers(0, 2, size=n_records).astype(float)
    return features, targets


def target_away_from(output: float, rng: np.random.Generator) -> float:
    """A target in (0.05, 0.95) at least 0.05 from the network's output: an error near zero would make every
    later quantity near zero too (telling little), and all rounding noise (a float32 answer, 1e-3 relative
    on an error of 1e-4, would fail a right computation)."""
    while True:
        target = float(rng.uniform(0.05, 0.95))
        if abs(target - output) >= 0.05:
            return target


def training_inputs(function: str, features, targets, weights: dict, learnrate: float) -> dict:
    """The arguments each training function of 05 and 08 takes, from one data set and one set of weights."""
    if function == "record_terms":
        return {"x": features[0], "y": float(targets[0]), **weights}
    if function == "train_epoch":
        return {"features": features, "targets": targets, **weights, "learnrate": learnrate}
    return {"features": features, "targets": targets, **weights}   # train_loss, accuracy


def lesson_training_inputs(function: str, split: Split, weights: dict, learnrate: float) -> dict:
    """The lesson's case: the training rows, except the accuracy, which the lesson measures on the test rows."""
    features, targets = ((split.features_test, split.targets_test) if function == "accuracy"
                         else (split.features, split.targets))
    return training_inputs(function, features, targets, weights, learnrate)


# --- the printout of 05 and 08 when run as a script -------------------------------------------------------

def train_and_print(module, split: Split, weights: dict, learnrate: float, epochs: int) -> None:
    """The lesson's training loop: the loss every epochs/10 epochs, with a warning when it rises."""
    last_loss = None
    for e in range(epochs):
        step = module.train_epoch(split.features, split.targets, **weights, learnrate=learnrate)
        if not complete("train_epoch", step):
            return
        weights = {name: step[name] for name in weights}
        if e % (epochs // 10) == 0:
            loss = module.train_loss(split.features, split.targets, **weights)["loss"]
            if loss is None:
                print("train_loss: TODO still open: loss")
                return
            warning = "  WARNING - Loss Increasing" if last_loss is not None and last_loss < loss else ""
            print("Train loss: ", loss, warning)
            last_loss = loss
    accuracy = module.accuracy(split.features_test, split.targets_test, **weights)["accuracy"]
    if accuracy is None:
        print("accuracy: TODO still open: accuracy")
        return
    print("Prediction accuracy: {:.3f}".format(accuracy))

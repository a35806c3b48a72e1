"""The five exercises: files, functions, graded quantities with points and tolerances, and their cases.

This is the one place where a check's metadata is declared. A check is one quantity of
one function on one case; its points, tolerance and visibility are read from here by
the graders, the report and the terminal table alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from . import lesson

# Tolerances: float64 sums done in another order (vectorised against a loop, x @ w against
# np.dot) differ by ~1e-15 relative; every mistake in LESSON.md changes values by far more
# than 1e-6 relative. The absolute floor only matters for values that are near zero.
RTOL, ATOL = 1e-6, 1e-12


@dataclass(frozen=True)
class Quantity:
    name: str
    points: float = 1.0
    rtol: float = RTOL
    atol: float = ATOL
    follow_through_points: float | None = None   # earned when right given the student's own upstream values; None: full


# A check of its own per function: inputs changed in place, or hidden global randomness. Worth no
# points (the lesson itself writes `weights += ...`), it tells the student what would bite later.
SIDE_EFFECTS = "side_effects"


@dataclass(frozen=True)
class Function:
    name: str
    parameters: tuple[str, ...]        # the stub's, in its order: the child calls by position when a student renamed them
    quantities: tuple[Quantity, ...]
    cases: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    exercise: str
    function: str
    quantity: Quantity
    case: str

    @property
    def name(self) -> str:
        return f"{self.function}.{self.quantity.name}[{self.case}]"

    @property
    def visibility(self) -> str:
        return "hidden" if self.case.startswith("hidden") else "visible"

    @property
    def points_on_follow_through(self) -> float:
        points = self.quantity.follow_through_points
        return self.quantity.points if points is None else points


# An input builder: (function name, case name, random generator for hidden cases, the lesson's
# prepared data or None) -> the keyword arguments of that call.
InputBuilder = Callable[[str, str, np.random.Generator, object], dict]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    stem: str                       # file name without .py, the same in exercises/ and reference/
    functions: tuple[Function, ...]
    build_inputs: InputBuilder
    prepare_lesson: Callable[[object], object] | None = None   # admissions data -> the lesson's split and weights

    @cached_property
    def checks(self) -> tuple[Check, ...]:
        values = tuple(Check(self.id, f.name, q, case) for f in self.functions for case in f.cases for q in f.quantities)
        side_effects = tuple(Check(self.id, f.name, Quantity(SIDE_EFFECTS, points=0.0), "all") for f in self.functions)
        return values + side_effects

    @property
    def max_score(self) -> float:
        return sum(check.quantity.points for check in self.checks)

    @property
    def needs_data(self) -> bool:
        return self.prepare_lesson is not None

    def function(self, name: str) -> Function:
        return next(f for f in self.functions if f.name == name)

    def inputs(self, seed: int, data: object = None, visible_only: bool = False) -> dict[tuple[str, str], dict]:
        """The keyword arguments of every (function, case) for one grading run, built once.

        Every visible case comes before any hidden one, and the child makes the calls in this order:
        a call whose message the student sees can never have met a hidden input (a function that
        remembered them would tell them in its exception).
        """
        lesson_data = self.prepare_lesson(data) if self.prepare_lesson else None
        visible = [(f, case) for f in self.functions for case in f.cases if not case.startswith("hidden")]
        hidden = [] if visible_only else [(f, case) for f in self.functions for case in f.cases if case.startswith("hidden")]
        return {(f.name, case): _in_order(f, self.build_inputs(f.name, case, case_rng(seed, self.id, case), lesson_data))
                for f, case in visible + hidden}


def _in_order(function: Function, kwargs: dict) -> dict:
    """A call's arguments in the stub's parameter order: the child passes them by position when a student's
    names differ from the stub's (`w` for `weights`), so the order is part of the call."""
    if set(kwargs) != set(function.parameters):
        raise ValueError(f"the inputs of {function.name}() are {sorted(kwargs)}, its parameters {function.parameters}")
    return {name: kwargs[name] for name in function.parameters}


def _quantities(*names: str) -> tuple[Quantity, ...]:
    return tuple(Quantity(name) for name in names)


HIDDEN = ("hidden-1", "hidden-2")


# --- hidden-case generators: other inputs, sizes and seeds than the lesson's --------------------

def _sizes(rng: np.random.Generator, low: int, high: int, count: int) -> list[int]:
    """Distinct sizes, so that a transposed matrix or a swapped dot order cannot line up by chance."""
    return [int(n) for n in rng.choice(np.arange(low, high + 1), size=count, replace=False)]


# Record counts of hidden training cases: primes, so that k / n_records (an accuracy, a mean over records) has
# no short decimal form for 0 < k < n: an accuracy rounded to 3 decimals, or a loss averaged over a
# hard-coded count, can never coincide with the answer (25, 40 or 50 rows let round(acc, 3) pass).
RECORD_COUNTS = (29, 31, 37, 41, 43, 47, 53, 59, 61)


def _records(rng: np.random.Generator, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    n_records = int(rng.choice(RECORD_COUNTS))
    features = rng.normal(size=(n_records, n_features))
    targets = rng.integers(0, 2, size=n_records).astype(float)
    return features, targets


def _inputs_04(function: str, case: str, rng: np.random.Generator, lesson_data: object) -> dict:
    if case in lesson.INPUTS_04:
        return lesson.INPUTS_04[case]()
    n = int(rng.integers(3, 8))
    x, weights = rng.normal(size=n), rng.normal(0, 0.5, size=n)
    while abs(x @ weights) < 0.1:   # h = x . w is graded on its own: not a sum that cancels to rounding noise
        weights = rng.normal(0, 0.5, size=n)
    return {"x": x, "y": _target_away_from(_sigmoid(x @ weights), rng),
            "weights": weights, "learnrate": float(rng.uniform(0.1, 1.0))}


def _sigmoid(h):
    return 1 / (1 + np.exp(-h))


def _target_away_from(output: float, rng: np.random.Generator) -> float:
    """A target in (0.05, 0.95) at least 0.05 from the network's output: an error near zero would make every
    later quantity near zero too (telling little), and all rounding noise (a float32 answer, 1e-3 relative
    on an error of 1e-4, would fail a right computation)."""
    while True:
        target = float(rng.uniform(0.05, 0.95))
        if abs(target - output) >= 0.05:
            return target


def _inputs_06(function: str, case: str, rng: np.random.Generator, lesson_data: object) -> dict:
    if case == "lesson":
        return lesson.inputs_06()
    n_input, n_hidden, n_output = _sizes(rng, 2, 7, 3)
    return {"X": rng.normal(size=n_input),
            "weights_input_to_hidden": rng.normal(0, 0.5, size=(n_input, n_hidden)),
            "weights_hidden_to_output": rng.normal(0, 0.5, size=(n_hidden, n_output))}


def _inputs_07(function: str, case: str, rng: np.random.Generator, lesson_data: object) -> dict:
    if case in lesson.INPUTS_07:
        return lesson.INPUTS_07[case]()
    n_input, n_hidden = _sizes(rng, 2, 6, 2)
    x = rng.normal(size=n_input)
    learnrate = float(rng.uniform(0.1, 1.0))
    weights_input_hidden, weights_hidden_output = rng.normal(0, 0.5, size=(n_input, n_hidden)), rng.normal(0, 0.5, size=n_hidden)
    output = _sigmoid(_sigmoid(x @ weights_input_hidden) @ weights_hidden_output)
    return {"x": x, "target": _target_away_from(output, rng), "learnrate": learnrate,
            "weights_input_hidden": weights_input_hidden, "weights_hidden_output": weights_hidden_output}


def _training_inputs(function: str, features, targets, weights: dict, learnrate: float, epochs: int) -> dict:
    """The arguments each function of 05 and 08 takes, from one data set and one set of weights."""
    if function == "record_terms":
        return {"x": features[0], "y": float(targets[0]), **weights}
    if function == "train_epoch":
        return {"features": features, "targets": targets, **weights, "learnrate": learnrate}
    if function == "train":
        return {"features": features, "targets": targets, **weights, "learnrate": learnrate, "epochs": epochs}
    return {"features": features, "targets": targets, **weights}   # train_loss, accuracy


def _inputs_05(function: str, case: str, rng: np.random.Generator, lesson_data) -> dict:
    if function == "standardise":
        return {"values": lesson_data[2].copy() if case == "lesson" else rng.normal(580, 110, size=int(rng.integers(20, 400)))}
    if function == "split_sample":
        return {"n_rows": len(lesson_data[2]), "seed": lesson.SEED_05} if case == "lesson" else \
            {"n_rows": int(rng.integers(20, 500)), "seed": int(rng.integers(0, 2**31 - 1))}
    if case == "lesson":
        split, weights, _ = lesson_data
        features, targets = (split.features_test, split.targets_test) if function == "accuracy" else (split.features, split.targets)
        return _training_inputs(function, features, targets, {"weights": weights}, lesson.LEARNRATE_05, lesson.SHORT_EPOCHS)
    features, targets = _records(rng, int(rng.integers(3, 9)))
    weights = rng.normal(scale=features.shape[1] ** -0.5, size=features.shape[1])
    return _training_inputs(function, features, targets, {"weights": weights}, float(rng.uniform(0.2, 1.0)), lesson.SHORT_EPOCHS)


def _inputs_08(function: str, case: str, rng: np.random.Generator, lesson_data) -> dict:
    if case == "lesson":
        split, weights = lesson_data
        features, targets = (split.features_test, split.targets_test) if function == "accuracy" else (split.features, split.targets)
        return _training_inputs(function, features, targets, weights, lesson.LEARNRATE_08, lesson.SHORT_EPOCHS)
    n_features, n_hidden = _sizes(rng, 2, 7, 2)
    features, targets = _records(rng, n_features)
    scale = n_features ** -0.5
    weights = {"weights_input_hidden": rng.normal(scale=scale, size=(n_features, n_hidden)),
               "weights_hidden_output": rng.normal(scale=scale, size=n_hidden)}
    # A larger learning rate than the lesson's, so that one epoch moves the weights visibly.
    return _training_inputs(function, features, targets, weights, float(rng.uniform(0.2, 1.0)), lesson.SHORT_EPOCHS)


_TRAINING_CASES = ("lesson", *HIDDEN)
_W_08 = "weights_input_hidden weights_hidden_output"


def _function(name: str, parameters: str, quantities: str, cases: tuple[str, ...]) -> Function:
    """A function of a stub: its parameters and its quantities, in the stub's order, as space-separated names."""
    return Function(name, tuple(parameters.split()), _quantities(*quantities.split()), cases)


EXERCISES: dict[str, Exercise] = {ex.id: ex for ex in (
    Exercise("04", "Gradient descent: one weight step", "04_gradient_step",
             (_function("gradient_step", "x y weights learnrate", "h nn_output error error_term del_w",
                        ("lesson", "handout", *HIDDEN)),),
             _inputs_04),
    Exercise("05", "Gradient descent on the admissions data", "05_gradient_descent",
             (_function("standardise", "values", "standardised", ("lesson", "hidden-1")),
              _function("split_sample", "n_rows seed", "sample", ("lesson", "hidden-1")),
              _function("record_terms", "x y weights", "output error error_term", _TRAINING_CASES),
              _function("train_epoch", "features targets weights learnrate", "del_w weights", _TRAINING_CASES),
              _function("train", "features targets weights learnrate epochs", "weights losses", ("lesson", "hidden-1")),
              _function("train_loss", "features targets weights", "loss", ("lesson", "hidden-1")),
              _function("accuracy", "features targets weights", "accuracy", ("lesson", "hidden-1"))),
             _inputs_05, prepare_lesson=lesson.admissions_05),
    Exercise("06", "Multilayer perceptron: the forward pass", "06_forward_pass",
             (_function("forward_pass", "X weights_input_to_hidden weights_hidden_to_output",
                        "hidden_layer_in hidden_layer_out output_layer_in output_layer_out", ("lesson", *HIDDEN)),),
             _inputs_06),
    Exercise("07", "Backpropagation: one weight update", "07_backpropagation",
             (_function("backprop_step", "x target learnrate weights_input_hidden weights_hidden_output",
                        "error output_error_term hidden_error_term delta_w_h_o delta_w_i_h",
                        ("lesson", "handout", *HIDDEN)),),
             _inputs_07),
    Exercise("08", "Backpropagation on the admissions data", "08_backprop_training",
             (_function("record_terms", f"x y {_W_08}",
                        "hidden_input hidden_output output error output_error_term hidden_error hidden_error_term",
                        _TRAINING_CASES),
              _function("train_epoch", f"features targets {_W_08} learnrate",
                        f"del_w_input_hidden del_w_hidden_output {_W_08}", _TRAINING_CASES),
              _function("train", f"features targets {_W_08} learnrate epochs", f"{_W_08} losses", ("lesson", "hidden-1")),
              _function("train_loss", f"features targets {_W_08}", "loss", ("lesson", "hidden-1")),
              _function("accuracy", f"features targets {_W_08}", "accuracy", ("lesson", "hidden-1"))),
             _inputs_08, prepare_lesson=lesson.admissions_08),
)}


def case_rng(seed: int, exercise: str, case: str) -> np.random.Generator:
    """The generator for one hidden case: every function of an exercise sees the same network for it."""
    return np.random.default_rng([seed, int(exercise), sum(ord(c) * 31 ** i for i, c in enumerate(case))])

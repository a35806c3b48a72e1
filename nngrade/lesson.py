"""The lesson's facts (inputs, seeds, hyperparameters) and its labelled printout when an exercise runs as a script."""
from __future__ import annotations

import sys
from types import ModuleType

import numpy as np

SEED_05, LEARNRATE_05, EPOCHS_05 = 42, 0.5, 1000
SEED_08, LEARNRATE_08, EPOCHS_08, N_HIDDEN_08 = 21, 0.005, 900, 2
SHORT_EPOCHS = 3   # the graders check a short trajectory (one epoch, then a few), not the full training run


INPUTS_04 = {
    "lesson": lambda: {"x": np.array([1, 2, 3, 4]), "y": 0.5,
                       "weights": np.array([0.5, -0.5, 0.3, 0.1]), "learnrate": 0.5},
    # The handout's worked example of the same step.
    "handout": lambda: {"x": np.array([0.1, 0.3]), "y": 0.2,
                        "weights": np.array([-0.8, 0.5]), "learnrate": 0.5},
}


def inputs_06() -> dict:
    """np.random.seed(42), then X, then the two weight matrices, in the lesson's order."""
    random = np.random.RandomState(42)   # the same stream as np.random.seed(42), without touching global state
    X = random.randn(4)
    weights_input_to_hidden = random.normal(0, scale=0.1, size=(4, 3))
    weights_hidden_to_output = random.normal(0, scale=0.1, size=(3, 2))
    return {"X": X, "weights_input_to_hidden": weights_input_to_hidden,
            "weights_hidden_to_output": weights_hidden_to_output}


INPUTS_07 = {
    "lesson": lambda: {"x": np.array([0.5, 0.1, -0.2]), "target": 0.6, "learnrate": 0.5,
                       "weights_input_hidden": np.array([[0.5, -0.6], [0.1, -0.2], [0.1, 0.7]]),
                       "weights_hidden_output": np.array([0.1, -0.3])},
    # The handout's walk-through: two inputs, one hidden unit, target 1.
    "handout": lambda: {"x": np.array([0.1, 0.3]), "target": 1.0, "learnrate": 0.5,
                        "weights_input_hidden": np.array([[0.4], [-0.2]]),
                        "weights_hidden_output": np.array([0.1])},
}


def admissions_05(data):
    """The lesson's split (seed 42), its initial weights (np.random.seed(42) again after the split), the raw gre."""
    from .data import prepare
    split = prepare(data, SEED_05)
    n_features = split.features.shape[1]
    weights = np.random.RandomState(SEED_05).normal(scale=1 / n_features ** .5, size=n_features)
    return split, weights, np.asarray(data.gre, dtype=float)


def admissions_08(data):
    """The lesson's split (seed 21) and its initial weights, input-to-hidden drawn first."""
    from .data import prepare
    split = prepare(data, SEED_08)
    n_features = split.features.shape[1]
    random = np.random.RandomState(SEED_08)
    weights = {"weights_input_hidden": random.normal(scale=1 / n_features ** .5, size=(n_features, N_HIDDEN_08)),
               "weights_hidden_output": random.normal(scale=1 / n_features ** .5, size=N_HIDDEN_08)}
    return split, weights


# --- running an exercise file as a script ---------------------------------------------------

def _open_todos(result: dict) -> list[str]:
    return [name for name, value in result.items() if value is None
            or (isinstance(value, list) and any(v is None for v in value))]


def _show(label: str, value) -> None:
    print(label)
    print(value)


def _report_todos(function: str, result: dict) -> bool:
    """Say which TODOs are still open; True when the function is complete."""
    todos = _open_todos(result)
    if todos:
        print(f"{function}: TODO still open: {', '.join(todos)}")
    return not todos


def _script_04(module: ModuleType) -> None:
    result = module.gradient_step(**INPUTS_04["lesson"]())
    if _report_todos("gradient_step", result):
        _show("Neural Network output:", result["nn_output"])
        _show("Amount of Error:", result["error"])
        _show("Change in Weights:", result["del_w"])


def _script_06(module: ModuleType) -> None:
    result = module.forward_pass(**inputs_06())
    if _report_todos("forward_pass", result):
        _show("Hidden-layer Output:", result["hidden_layer_out"])
        _show("Output-layer Output:", result["output_layer_out"])


def _script_07(module: ModuleType) -> None:
    result = module.backprop_step(**INPUTS_07["lesson"]())
    if _report_todos("backprop_step", result):
        _show("Change in weights for hidden layer to output layer:", result["delta_w_h_o"])
        _show("Change in weights for input layer to hidden layer:", result["delta_w_i_h"])


def _train_and_print(module: ModuleType, split, weights: dict, learnrate: float, epochs: int) -> None:
    """The lesson's training loop: the loss every epochs/10 epochs, with a warning when it rises."""
    last_loss = None
    for e in range(epochs):
        step = module.train_epoch(split.features, split.targets, **weights, learnrate=learnrate)
        if not _report_todos("train_epoch", step):
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


def _lesson_data():
    from .data import DataError, load_admissions, resolve_path
    path, notice = resolve_path(None)
    if notice:
        print(notice)
    try:
        return load_admissions(path)
    except DataError as exc:
        sys.exit(f"error: {exc}")


def _script_05(module: ModuleType) -> None:
    data = _lesson_data()
    split, weights, gre = admissions_05(data)
    # The data preparation itself is nngrade's (the lesson's); the student's pieces of it are checked for TODOs.
    prepared = _report_todos("standardise", module.standardise(gre))
    prepared &= _report_todos("split_sample", module.split_sample(len(gre), SEED_05))
    if prepared & _report_todos("record_terms", module.record_terms(split.features[0], split.targets[0], weights)):
        _train_and_print(module, split, {"weights": weights}, LEARNRATE_05, EPOCHS_05)


def _script_08(module: ModuleType) -> None:
    split, weights = admissions_08(_lesson_data())
    if _report_todos("record_terms", module.record_terms(split.features[0], split.targets[0], **weights)):
        _train_and_print(module, split, weights, LEARNRATE_08, EPOCHS_08)


SCRIPTS = {"04": _script_04, "05": _script_05, "06": _script_06, "07": _script_07, "08": _script_08}


def run_script(exercise_id: str, module: ModuleType) -> None:
    """What `python exercises/NN_*.py` does: the lesson's labelled output on the lesson's inputs."""
    SCRIPTS[exercise_id](module)

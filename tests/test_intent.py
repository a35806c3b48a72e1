"""Judging that matches what the student meant: renamed parameters, float32 work, hidden cases that shortcuts cannot
hit, functions that raise half-way, and a terminal that shows all of it (notes, the student's prints, colour,
any console encoding, a path as the submission)."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nngrade.judge import checks

from nngrade.reports import terminal

from nngrade.run import wire
from lesson import RECORD_COUNTS
from nngrade.judge.exercises import EXERCISES, SIDE_EFFECTS
from nngrade.reports.results import CheckResult, ExerciseResult, Report

from helpers import REPO, edited_reference, grade_files, reference_source, run_cli

MAX = {"04": 20, "05": 23, "06": 12, "07": 20, "08": 37}   # one point per quantity and case (see test_misconceptions)


def side_effects(exercise) -> dict[str, CheckResult]:
    return {c.function: c for c in exercise.checks if c.quantity == SIDE_EFFECTS}


def value_checks(exercise) -> list[CheckResult]:
    return [c for c in exercise.checks if c.quantity != SIDE_EFFECTS]


# --- renamed parameters ------------------------------------------------------------------------------

def test_the_parameters_calls_pass_are_the_stubs_and_the_references():
    """The order the child passes arguments by position in is the reference's signature, which is the stub's."""
    from nngrade.judge.oracle import ReferenceOracle
    for folder in ("exercises", "reference"):
        for exercise in EXERCISES.values():
            tree = ast.parse((REPO / folder / f"{exercise.stem}.py").read_text(encoding="utf-8"))
            signatures = {node.name: tuple(a.arg for a in node.args.args) for node in tree.body
                          if isinstance(node, ast.FunctionDef)}
            for function in exercise.functions:
                assert signatures[function.name] == ReferenceOracle.parameters(exercise, function.name), \
                    (folder, exercise.id, function.name)


# The lesson's own 04 code names the weights `w`; students rename the learning rate too.
RENAMED_04 = ("def gradient_step(x, y, weights, learnrate):", "def gradient_step(x, y, w, lr):")


def _renamed_04(signature: str = RENAMED_04[1], extra: str = "") -> str:
    source = reference_source("04").replace(RENAMED_04[0], signature + extra)
    return source.replace("np.dot(x, weights)", "np.dot(x, w)").replace("learnrate * error_term", "lr * error_term")


def test_renamed_parameters_are_called_by_position_and_said_once(tmp_path):
    (exercise,) = grade_files({"04": _renamed_04()}, tmp_path).exercises
    assert exercise.score == MAX["04"]
    note = side_effects(exercise)["gradient_step"]
    assert note.status == "passed" and note.score == 0
    assert "gradient_step(x, y, w, lr)" in note.message and "x, y, weights, learnrate" in note.message
    assert "by position" in note.message
    shown = terminal.render(_report(exercise), style=terminal.Style())
    assert shown.count("parameter names differ") == 1 and "✗" not in shown.split("legend")[0]


def test_renamed_08_training_functions_are_graded_in_full(tmp_path):
    source = reference_source("08")
    for old, new in (("weights_input_hidden", "w_ih"), ("weights_hidden_output", "w_ho"), ("learnrate", "eta")):
        source = source.replace(old, new).replace(f'"{new}"', f'"{old}"')   # the dicts' keys stay the stub's
    (exercise,) = grade_files({"08": source}, tmp_path).exercises
    assert exercise.score == MAX["08"], [c.message for c in exercise.checks if c.status != "passed"]
    assert {f for f, c in side_effects(exercise).items() if "by position" in c.message} == \
        {"record_terms", "train_epoch", "train_loss", "accuracy"}


@pytest.mark.parametrize("signature, renamed", [
    ("def gradient_step(*, x, y, weights, learnrate):", False),     # keyword-only, the stub's names
    ("def gradient_step(x, y, weights, learnrate=0.5, verbose=False):", False),
    ("def gradient_step(**kwargs):\n    x, y, weights, learnrate = (kwargs[k] for k in ('x', 'y', 'weights', 'learnrate'))", False),
    ("def gradient_step(*args):\n    x, y, weights, learnrate = args", True),
    ("def gradient_step(x, y, w, lr, *rest, **options):\n    weights, learnrate = w, lr", True),
])
def test_keyword_only_and_star_signatures_still_work(tmp_path, signature, renamed):
    source = reference_source("04").replace(RENAMED_04[0], signature)
    (exercise,) = grade_files({"04": source}, tmp_path).exercises
    assert exercise.score == MAX["04"], [c.message for c in exercise.checks if c.status != "passed"]
    assert ("by position" in side_effects(exercise)["gradient_step"].message) == renamed


def test_a_renamed_function_is_still_checked_for_side_effects(tmp_path):
    # In place on its renamed argument: reported under the stub's name; and hidden randomness, probed by a second call.
    in_place = _renamed_04().replace("del_w = lr * error_term * x  # SOLUTION", "del_w = lr * error_term * x  # SOLUTION\n    w += 0.1")
    (exercise,) = grade_files({"04": in_place}, tmp_path / "a").exercises
    check = side_effects(exercise)["gradient_step"]
    assert check.status == "failed" and "'weights'" in check.message and "by position" in check.message
    noisy = _renamed_04().replace("h = np.dot(x, w)", "h = np.dot(x, w + np.random.normal(0, 1e-9, len(x)))")
    (exercise,) = grade_files({"04": noisy}, tmp_path / "b").exercises
    assert "random seed" in side_effects(exercise)["gradient_step"].message


def test_a_callable_whose_signature_raises_is_called_by_name(tmp_path):
    source = reference_source("04").replace(RENAMED_04[0], "def _step(x, y, weights, learnrate):") + """

class _Step:
    @property
    def __signature__(self):
        raise RuntimeError("no signature for you")

    def __call__(self, **kwargs):
        return _step(**kwargs)


gradient_step = _Step()
"""
    (exercise,) = grade_files({"04": source}, tmp_path).exercises
    assert exercise.score == MAX["04"]


def test_a_signature_that_fits_neither_way_is_the_students_type_error(tmp_path):
    source = reference_source("04").replace(RENAMED_04[0], "def gradient_step(x, y, weights):\n    learnrate = 0.5")
    (exercise,) = grade_files({"04": source}, tmp_path).exercises
    assert exercise.score == 0
    assert all("TypeError" in c.message for c in value_checks(exercise))


# --- float32 -------------------------------------------------------------------------------------

# A student's way of computing in float32: every float argument converted on the way in (a decorator, as some
# write it; the same as `x = x.astype(np.float32)` in each function). The functions then return float32.
FLOAT32 = '''

import functools as _functools


def _in_float32(function):
    def cast(value):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return value.astype(np.float32)
        return np.float32(value) if isinstance(value, float) else value

    @_functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*map(cast, args), **{k: cast(v) for k, v in kwargs.items()})
    return wrapper


for _name in NAMES:
    globals()[_name] = _in_float32(globals()[_name])
'''


def float32_version(exercise_id: str, source: str | None = None) -> str:
    names = [f.name for f in EXERCISES[exercise_id].functions]
    source = source or reference_source(exercise_id)
    body, main = source.split('if __name__ == "__main__":')
    return body + f"\nNAMES = {names!r}\n" + FLOAT32 + '\n\nif __name__ == "__main__":' + main


def _grade_float32(tmp_path: Path, seeds) -> None:
    for seed in seeds:
        report = grade_files({i: float32_version(i) for i in EXERCISES}, tmp_path / str(seed), seed=seed)
        wrong = [f"{c.name}: {c.message}" for ex in report.exercises for c in value_checks(ex) if c.status != "passed"]
        assert not wrong, (seed, wrong)
        assert report.score == report.max_score
        for exercise in report.exercises:
            assert any("float32" in c.message and "float64" in c.message for c in side_effects(exercise).values())


def test_right_work_in_float32_gets_full_marks(tmp_path):
    _grade_float32(tmp_path, seeds=(3, 2**31 - 5))


@pytest.mark.slow
def test_right_work_in_float32_gets_full_marks_on_many_seeds(tmp_path):
    _grade_float32(tmp_path, seeds=range(100, 120))


def test_a_mistake_in_float32_still_costs_what_it_costs_in_float64(tmp_path):
    flipped = edited_reference("07", "error = target - output  # SOLUTION", "error = output - target")
    (exercise,) = grade_files({"07": float32_version("07", flipped)}, tmp_path).exercises
    assert exercise.score == MAX["07"] - 4     # as in test_misconceptions: error wrong, the rest follows through
    assert {c.misconception for c in exercise.checks if c.quantity == "error"} == {"flipped_error"}


def test_one_float16_value_widens_only_its_own_tolerance(tmp_path):
    # The population std is 0.1% to 2.5% off the sample std: float32's tolerance still catches it, float16's
    # (1e-2) would not always. A float16 loss elsewhere in the file must not make it pass.
    source = edited_reference("05", "standardised = (values - np.mean(values)) / np.std(values, ddof=1)  # SOLUTION",
                              "standardised = (values - np.mean(values)) / np.std(values)")
    source = source.replace("loss = np.mean((out - targets) ** 2)  # SOLUTION", "loss = np.float16(np.mean((out - targets) ** 2))")
    (exercise,) = grade_files({"05": source}, tmp_path).exercises
    statuses = {(c.function, c.case): c.status for c in value_checks(exercise)}
    assert statuses[("standardise", "lesson")] == statuses[("standardise", "hidden-1")] == "failed"
    assert statuses[("train_loss", "lesson")] == statuses[("train_loss", "hidden-1")] == "passed"


def test_the_wire_carries_the_dtype_and_the_tolerance_follows_it():
    for dtype in ("float16", "float32", "float64", "int64", "bool"):
        assert wire.precision(wire.encode(np.zeros(3, dtype=dtype))) == dtype
    assert wire.precision(wire.encode(np.float32(1.5))) == "float32"   # a numpy scalar is a 0-d array
    assert wire.precision(wire.encode(1.5)) is None                    # a Python float is float64
    assert wire.precision({"kind": "array", "dtype": "<script>"}) is None
    eps32 = float(np.finfo(np.float32).eps)
    assert checks.tolerance(1e-6, 1e-12, None) == checks.tolerance(1e-6, 1e-12, "float64") == (1e-6, 1e-12)
    rtol, atol = checks.tolerance(1e-6, 1e-12, "float32")
    assert 16 * eps32 < rtol < 1e-3 and atol == rtol
    # float32 rounding passes at float32's tolerance; a 0.1% mistake does not.
    expected = np.array([0.2, -0.7, 1.3])
    rounded = expected.astype(np.float32).astype(np.float64) * (1 + 20 * eps32)   # 2.4e-6: beyond float64's 1e-6
    assert not checks.matches(rounded, expected, 1e-6, 1e-12) and checks.matches(rounded, expected, rtol, atol)
    assert not checks.matches(expected * 1.001, expected, rtol, atol)


# --- hidden cases that shortcuts cannot hit ------------------------------------------------------------

def test_hidden_accuracies_have_no_short_decimal_form_on_any_seed():
    """Hidden record counts are primes, so that k / n is never a number with 3 (or any few) decimals for 0 < k < n,
    and the drawn case is not all right or all wrong: an accuracy rounded to 3 decimals cannot coincide."""
    from nngrade.data import load, sample_path
    from nngrade.judge.derive import model
    assert all(n > 1 and all(n % d for d in range(2, n)) for n in RECORD_COUNTS)
    data = load(sample_path())
    for exercise_id in ("05", "08"):
        exercise = EXERCISES[exercise_id]
        for seed in range(40):
            inputs = {key: kwargs for key, kwargs in exercise.inputs(seed, data).items()
                      if key[0] == "accuracy" and key[1].startswith("hidden")}
            reference = model(exercise)
            for key, value in {k: reference.call(None, k[0], v) for k, v in inputs.items()}.items():
                accuracy = float(value["accuracy"])
                assert round(accuracy, 3) != accuracy and round(accuracy, 4) != accuracy, (exercise_id, seed, key)


def test_an_accuracy_rounded_to_three_decimals_fails_its_hidden_case(tmp_path):
    rounded = edited_reference("05", "accuracy = np.mean(predictions == targets)  # SOLUTION",
                               "accuracy = round(float(np.mean(predictions == targets)), 3)")
    for seed in (1, 2, 3):
        (exercise,) = grade_files({"05": rounded}, tmp_path / str(seed), seed=seed).exercises
        statuses = {c.case: c.status for c in exercise.checks if c.function == "accuracy" and c.quantity == "accuracy"}
        assert statuses == {"lesson": "passed", "hidden-1": "failed"}   # 40 test rows: 0.725 has 3 decimals


def test_hidden_04_and_07_cases_keep_the_error_away_from_zero():
    # An error near zero is rounding noise in float32 (and makes every later quantity tell little).
    for seed in range(200):
        for case in ("hidden-1", "hidden-2"):
            kw = EXERCISES["04"].inputs(seed)[("gradient_step", case)]
            output = 1 / (1 + np.exp(-(kw["x"] @ kw["weights"])))
            assert abs(kw["y"] - output) >= 0.05 and abs(kw["x"] @ kw["weights"]) >= 0.1
            kw = EXERCISES["07"].inputs(seed)[("backprop_step", case)]
            hidden = 1 / (1 + np.exp(-(kw["x"] @ kw["weights_input_hidden"])))
            output = 1 / (1 + np.exp(-(hidden @ kw["weights_hidden_output"])))
            assert abs(kw["target"] - output) >= 0.05


# --- functions that raise half-way ----------------------------------------------------------------

MISSING_COLUMN_08 = ('del_w_input_hidden = del_w_input_hidden + terms["hidden_error_term"] * x[:, None]',
                     'del_w_input_hidden = del_w_input_hidden + terms["hidden_error_term"] * x')


def test_half_finished_locals_are_not_judged_as_answers(tmp_path):
    """08's train_epoch without x[:, None] raises on its first record: its sums after one record and its weights
    (still the arguments) are no answers. Every quantity it prevented says the exception, its line and the
    likely mistake; record_terms, train_loss and accuracy (which do not call it) keep their points."""
    (exercise,) = grade_files({"08": edited_reference("08", *MISSING_COLUMN_08)}, tmp_path).exercises
    stopped = [c for c in value_checks(exercise) if c.function == "train_epoch"]
    assert stopped and {c.status for c in stopped} == {"error"}
    line = next(n for n, text in enumerate(edited_reference("08", *MISSING_COLUMN_08).splitlines(), 1)
                if MISSING_COLUMN_08[1] in text)
    for check in stopped:
        assert f"raised ValueError at line {line}" in check.message
        # The exception's own text on visible cases only: on a hidden case the student's code could write the inputs.
        assert ("broadcast" in check.message) == (check.visibility == "visible")
        assert check.misconception == "missing_column_vector" and "Likely mistake:" in check.message
        assert "tiny" not in check.message and "expected" not in check.message
    assert all(c.status == "passed" for c in value_checks(exercise) if c.function != "train_epoch")
    assert exercise.score == 7 * 3 + 2 + 2                # record_terms 7 x 3 cases, train_loss and accuracy 2 each
    shown = terminal.render(_report(exercise), style=terminal.Style())
    assert f"train_epoch() raised ValueError at line {line}" in shown
    # One line per exception, not one per quantity: the shared message is said once for all it stopped.
    assert shown.count(f"train_epoch() raised ValueError at line {line}") == 1


def test_values_that_pass_before_the_exception_still_count(tmp_path):
    # Everything right, then a stray line before the return: the finished values are right and keep their points.
    source = edited_reference("04", "del_w = learnrate * error_term * x  # SOLUTION",
                              "del_w = learnrate * error_term * x\n    print(undefined_name)")
    (exercise,) = grade_files({"04": source}, tmp_path).exercises
    assert exercise.score == MAX["04"]


def test_a_wrong_value_before_the_exception_says_the_exception(tmp_path):
    # error wrong (flipped), then a crash: the flipped value is not judged as an answer; the exception is the message.
    source = edited_reference("04", "error = y - nn_output  # SOLUTION", "error = nn_output - y\n    raise RuntimeError('stop')")
    (exercise,) = grade_files({"04": source}, tmp_path).exercises
    assert {c.status for c in value_checks(exercise) if c.quantity != "h" and c.quantity != "nn_output"} == {"error"}
    assert all("RuntimeError" in c.message for c in value_checks(exercise) if c.status == "error")
    assert exercise.score == 8    # h and nn_output, finished and right, on 4 cases


# --- the terminal -------------------------------------------------------------------------------------

def _report(exercise: ExerciseResult, notices=()) -> Report:
    return Report(exercises=(exercise,), seed=1, submission="s", data={}, isolation="process", timings={},
                  versions={}, notices=tuple(notices))


def _check(quantity, case, status, message="", function="f", points=1.0) -> CheckResult:
    return CheckResult(name=f"{function}.{quantity}[{case}]", function=function, quantity=quantity, case=case,
                       visibility="visible", status=status, score=points if status == "passed" else 0.0,
                       max_score=points, message=message)


def _full_marks_with_side_effect(output: str = "") -> ExerciseResult:
    return ExerciseResult(id="05", title="t", file="f.py", output=output, checks=(
        _check("weights", "lesson", "passed"),
        _check(SIDE_EFFECTS, "all", "failed", "f() changed its input 'weights' in place", points=0.0)))


def test_a_side_effect_on_a_full_marks_run_is_a_note_not_a_failure():
    shown = terminal.render(_report(_full_marks_with_side_effect()), style=terminal.Style())
    table = shown.split("legend")[0]
    assert "✗" not in table and "note: f() changed its input 'weights' in place" in table
    assert "Total: 1 / 1" in shown


def test_the_students_prints_are_shown_when_a_check_fails_and_only_then():
    printed = "debug: h = 0.25\n\x1b[2Jcleared?\n" + "".join(f"line {n}\n" for n in range(100))
    failing = ExerciseResult(id="04", title="t", file="f.py", output=printed,
                             checks=(_check("h", "lesson", "failed", "'h' is wrong"),))
    shown = terminal.render(_report(failing), style=terminal.Style())
    assert "| debug: h = 0.25" in shown and "\x1b" not in shown
    assert "| line 12" in shown and "| line 90" not in shown and "more lines" in shown
    assert "debug:" not in terminal.render(_report(_full_marks_with_side_effect(printed)), style=terminal.Style())


def test_colour_only_on_a_terminal_and_never_inside_a_students_text():
    class Tty:
        encoding = "utf-8"

        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    with pytest.MonkeyPatch.context() as patch:
        for name in ("NO_COLOR", "TERM"):
            patch.delenv(name, raising=False)
        assert terminal.style_for(Tty(True)).colour and not terminal.style_for(Tty(False)).colour
        assert not terminal.style_for(Tty(True), no_colour=True).colour
        patch.setenv("NO_COLOR", "1")
        assert not terminal.style_for(Tty(True)).colour
    diagnosed = "Likely mistake: the error has the wrong sign. Hint: y - y_hat. 'error' is wrong: \x1b[31mfake"
    failing = ExerciseResult(id="04", title="t", file="f.py", checks=(
        _check("error", "lesson", "failed", diagnosed), _check("h", "lesson", "passed")))
    coloured = terminal.render(_report(failing), style=terminal.Style(colour=True))
    assert "\x1b[32m" in coloured and "\x1b[31m" in coloured and "\x1b[1;33mLikely mistake:" in coloured
    assert "\x1b[31mfake" not in coloured       # the student's own escape is cleaned before ours are added
    plain = terminal.render(_report(failing), style=terminal.Style())
    assert "\x1b" not in plain


@pytest.mark.parametrize("encoding", ["ascii", "cp932", "latin-1"])
def test_grade_py_survives_any_console_encoding(tmp_path, encoding):
    # The student's exception text holds characters no such console has; our marks fall back to ASCII.
    student = tmp_path / "07_backpropagation.py"
    student.write_text(edited_reference("07", "error = target - output  # SOLUTION",
                                        "raise ValueError('ü ✓ → 誤差')"), encoding="utf-8")
    result = subprocess.run([sys.executable, str(REPO / "grade.py"), str(student), "--json", str(tmp_path / "r.json")],
                            capture_output=True, cwd=REPO, timeout=120,
                            env={**os.environ, "PYTHONIOENCODING": encoding})
    out = result.stdout.decode(encoding)
    assert result.returncode == 1, result.stderr.decode(encoding, "replace")
    assert "Traceback" not in out + result.stderr.decode(encoding, "replace")
    assert "Total: 0 / 20" in out and "ValueError" in out
    assert "✓" not in out and "legend: ok passed  X failed" in out   # latin-1 has the middle dot, not the marks


def test_piped_output_has_no_colour(tmp_path):
    result = run_cli("07", "--json", str(tmp_path / "r.json"))
    assert "\x1b" not in result.stdout


# --- a path is a submission ---------------------------------------------------------------------------

def test_a_path_is_the_submission(tmp_path):
    student = tmp_path / "mine" / "07_backpropagation.py"
    student.parent.mkdir()
    student.write_text(reference_source("07"), encoding="utf-8")
    result = run_cli(str(student), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["score"] == report["max_score"] == 20 and [e["id"] for e in report["exercises"]] == ["07"]
    # A folder too, with ids; the repository's own stub as a path is `grade.py 07`.
    assert run_cli("07", str(student.parent), "--json", str(tmp_path / "f.json")).returncode == 0
    stub = run_cli("exercises/07_backpropagation.py", "--json", str(tmp_path / "s.json"))
    assert stub.returncode == 1 and "TODO still None" in stub.stdout


@pytest.mark.parametrize("args, words", [
    (["a/07_x.py", "b/07_y.py"], "one submission at a time"),
    (["no/such/07_backpropagation.py"], "no such file"),
    (["07_backpropagation.py", "--submission", "exercises"], "one submission at a time"),
])
def test_a_path_that_cannot_be_graded_is_one_line(args, words):
    result = run_cli(*args)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_failing_check_shows_the_students_prints_through_grade_py(tmp_path):
    source = edited_reference("07", "error = target - output  # SOLUTION",
                              "error = output - target\n    print('my error is', error)")
    student = tmp_path / "07_backpropagation.py"
    student.write_text(source, encoding="utf-8")
    result = run_cli(str(student), "--json", str(tmp_path / "r.json"))
    # Once per case (lesson, handout, two hidden): the second call that probes for hidden randomness prints nothing.
    assert result.returncode == 1 and result.stdout.count("| my error is") == 4


# --- the corpus: one student-style submission per item, on many seeds -------------------------------------

RENAMED_STUDENT_04 = '''import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_prime(x):
    return sigmoid(x) * (1 - sigmoid(x))


def gradient_step(x, y, w, learn_rate):
    # w and learn_rate, as in the lesson's notebook
    h = np.dot(x, w)
    nn_output = sigmoid(h)
    error = y - nn_output
    error_term = error * sigmoid_prime(h)
    del_w = learn_rate * error_term * x
    return {"h": h, "nn_output": nn_output, "error": error, "error_term": error_term, "del_w": del_w}
'''

FLOAT32_STUDENT_07 = '''import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    # float32 is plenty for a network this size
    x = np.asarray(x, dtype=np.float32)
    W1 = weights_input_hidden.astype(np.float32)
    W2 = weights_hidden_output.astype(np.float32)
    lr = np.float32(learnrate)
    hidden_layer_output = sigmoid(x @ W1)
    output = sigmoid(hidden_layer_output @ W2)
    error = np.float32(target) - output
    output_error_term = error * output * (1 - output)
    hidden_error_term = W2 * output_error_term * hidden_layer_output * (1 - hidden_layer_output)
    delta_w_h_o = lr * output_error_term * hidden_layer_output
    delta_w_i_h = lr * hidden_error_term * x[:, None]
    return {"error": error, "output_error_term": output_error_term, "hidden_error_term": hidden_error_term,
            "delta_w_h_o": delta_w_h_o, "delta_w_i_h": delta_w_i_h}
'''

DEBUG_LINE_STUDENT_04 = RENAMED_STUDENT_04.replace("def gradient_step(x, y, w, learn_rate):",
                                                  "def gradient_step(x, y, weights, learnrate):").replace(
    "np.dot(x, w)", "np.dot(x, weights)").replace("learn_rate * error_term", "learnrate * error_term").replace(
    "    return {", "    print(del_w.shapee)   # left over from debugging\n    return {")

ROUNDED_ACCURACY_05 = ("accuracy = np.mean(predictions == targets)  # SOLUTION",
                       "accuracy = round(np.mean(predictions == targets), 3)  # matches the lesson's printout")
IN_PLACE_05 = ("weights = weights + learnrate * del_w / n_records  # SOLUTION", "weights += learnrate * del_w / n_records")
PLUS_EQUALS_08 = ('''        del_w_hidden_output = del_w_hidden_output + terms["output_error_term"] * terms["hidden_output"]  # SOLUTION
        del_w_input_hidden = del_w_input_hidden + terms["hidden_error_term"] * x[:, None]  # SOLUTION''',
                  '''        del_w_hidden_output += terms["output_error_term"] * terms["hidden_output"]
        del_w_input_hidden += terms["hidden_error_term"] * x''')


def _statuses(exercise, function=None, case=None) -> set[str]:
    return {c.status for c in value_checks(exercise)
            if (function is None or c.function == function) and (case is None or c.case == case)}


def _renamed(exercise):
    assert "by position" in side_effects(exercise)["gradient_step"].message


def _float32(exercise):
    assert "float32" in side_effects(exercise)["backprop_step"].message


def _rounded(exercise):
    assert _statuses(exercise, "accuracy", "lesson") == {"passed"} and _statuses(exercise, "accuracy", "hidden-1") == {"failed"}


def _stopped(exercise):
    assert _statuses(exercise, "train_epoch") == {"error"}
    assert {c.misconception for c in value_checks(exercise) if c.function == "train_epoch"} == {"missing_column_vector"}
    assert all("raised ValueError" in c.message for c in value_checks(exercise) if c.status == "error")


def _in_place(exercise):
    assert side_effects(exercise)["train_epoch"].status == "failed"
    table = terminal.render(_report(exercise), style=terminal.Style()).split("legend")[0]
    assert "✗" not in table and "note: train_epoch() changed its input 'weights' in place" in table


CORPUS = [   # (id, exercise, the student's file, score, what else must hold)
    ("04-renamed-w", "04", lambda: RENAMED_STUDENT_04, MAX["04"], _renamed),
    ("07-float32", "07", lambda: FLOAT32_STUDENT_07, MAX["07"], _float32),
    ("05-accuracy-rounded", "05", lambda: edited_reference("05", *ROUNDED_ACCURACY_05), MAX["05"] - 1, _rounded),
    ("08-plus-equals-no-column", "08", lambda: edited_reference("08", *PLUS_EQUALS_08), 7 * 3 + 2 + 2, _stopped),
    ("04-debug-line-after-the-work", "04", lambda: DEBUG_LINE_STUDENT_04, MAX["04"], lambda exercise: None),
    ("05-in-place-update", "05", lambda: edited_reference("05", *IN_PLACE_05), MAX["05"], _in_place),
]


def _grade_corpus(tmp_path: Path, seeds) -> None:
    for seed in seeds:
        for name, exercise_id, source, score, holds in CORPUS:
            (exercise,) = grade_files({exercise_id: source()}, tmp_path / f"{name}-{seed}", seed=seed).exercises
            assert exercise.score == score, (name, seed, [c.message for c in exercise.checks if c.status != "passed"])
            holds(exercise)


def test_the_intent_corpus(tmp_path):
    _grade_corpus(tmp_path, seeds=(7, 2**31 - 1))


@pytest.mark.slow
def test_the_intent_corpus_on_many_seeds(tmp_path):
    _grade_corpus(tmp_path, seeds=range(200, 220))

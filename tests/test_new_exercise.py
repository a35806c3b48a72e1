"""An exercise is three files: a new one (ReLU hidden units with biases, one step) is added to a copy of the
project from its reference and its grader alone, its stub generated, and graded; an instructor's mistakes in
those files are each said in one line naming the file, never a traceback of ours, never a silent 0.

The expected scores are counted by hand from the spec below: 10 quantities, one visible and two hidden cases,
one point each (30).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

HERE = Path(__file__).resolve().parent / "new_exercise"
REFERENCE = (HERE / "reference.py").read_text(encoding="utf-8")
GRADER = (HERE / "grader.py").read_text(encoding="utf-8")
HIDDEN_TERM = "hidden_error_term = np.dot(output_error_term, weights_hidden_output) * (hidden_input > 0)  # SOLUTION"


def project(tmp_path: Path, reference: str = REFERENCE, grader: str = GRADER, name: str = "09_relu_bias") -> Path:
    root = tmp_path / "course"
    for folder in ("nngrade", "graders", "reference", "exercises", "data"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "grade.py", root / "grade.py")
    (root / "reference" / "09_relu_bias.py").write_text(reference, encoding="utf-8")
    (root / "graders" / f"test_{name}.py").write_text(grader, encoding="utf-8")
    return root


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=root, capture_output=True, text=True, timeout=300)


def graded(root: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = root / f"report-{len(list(root.glob('report-*.json')))}.json"
    result = run(root, "grade.py", "09", "--json", str(report), "--isolation", "process", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result, json.loads(report.read_text())


def checks(report: dict) -> list[dict]:
    (exercise,) = report["exercises"]
    return [c for c in exercise["checks"] if c["quantity"] != "side_effects"]


def test_a_new_exercise_from_three_files(tmp_path):
    root = project(tmp_path)
    made = run(root, "-m", "nngrade.stubs")
    assert made.returncode == 0, made.stderr
    stub = (root / "exercises" / "09_relu_bias.py").read_text()
    assert "    hidden_error_term = None\n" in stub and "MISTAKE" not in stub and "SOLUTION" not in stub
    assert "hidden_input > 0" not in stub   # the answer is not in the stub

    result, report = graded(root)                                  # the stub: nothing done yet
    assert result.returncode == 1 and report["score"] == 0 and report["max_score"] == 30
    assert {c["status"] for c in checks(report)} == {"not_implemented"}

    (root / "mine").mkdir()
    (root / "mine" / "09_relu_bias.py").write_text(REFERENCE)      # the reference itself: full marks
    result, report = graded(root, "--submission", "mine")
    assert result.returncode == 0 and report["score"] == 30, result.stdout

    # A declared mistake of its own: diagnosed; the two later steps follow through from the student's term.
    (root / "mine" / "09_relu_bias.py").write_text(REFERENCE.replace(
        HIDDEN_TERM, "hidden_error_term = np.dot(output_error_term, weights_hidden_output)"))
    result, report = graded(root, "--submission", "mine")
    wrong = [c for c in checks(report) if c["status"] != "passed"]
    assert {c["quantity"] for c in wrong} == {"hidden_error_term"} and len(wrong) == 3
    assert {c["misconception"] for c in wrong} == {"relu_derivative_missing"}
    assert "ReLU" in wrong[0]["message"]
    followed = {c["quantity"] for c in checks(report) if c["follow_through"]}
    assert followed == {"delta_w_i_h", "delta_b_h"}
    assert report["score"] == 27

    shown = run(root, "exercises/09_relu_bias.py")                 # the stub runs as a script
    assert shown.returncode == 0 and "TODO still open: hidden_input" in shown.stdout


BROKEN = {
    "quantity-not-a-solution-line": (REFERENCE, GRADER.replace('delta_b_h"),)', 'delta_b_h delta_x"),)'),
                                     "the quantity 'delta_x' of relu_step() is no"),
    "function-missing": (REFERENCE, GRADER.replace('Function("relu_step"', 'Function("relu_steps"'),
                         "relu_steps() is missing from reference/09_relu_bias.py"),
    "no-spec": (REFERENCE, GRADER.split("EXERCISE = Exercise(")[0], "defines no EXERCISE"),
    "undeclared-mistake": (REFERENCE.replace("# MISTAKE bias_missing", "# MISTAKE bias_forgotten"), GRADER,
                           "the mistake 'bias_forgotten' has no title and hint"),
    "reference-in-the-grader": (REFERENCE, GRADER.replace(
        "import lesson\n", "import lesson\nimport importlib.util\n_s = importlib.util.spec_from_file_location("
        "'r', __import__('pathlib').Path(__file__).parent.parent / 'reference' / '09_relu_bias.py')\n"
        "solution = importlib.util.module_from_spec(_s)\n_s.loader.exec_module(solution)\n"),
        "'solution' comes from reference/"),
    "grader-does-not-import": (REFERENCE, GRADER.replace("import lesson\n", "import lesson\nimport no_such_module\n"),
                               "importing it raised ModuleNotFoundError"),
    "bad-marker": (REFERENCE.replace("    hidden_output = np.maximum", "    return np.maximum"), GRADER,
                   "# SOLUTION must end a line"),
}


@pytest.mark.parametrize("reference, grader, said", BROKEN.values(), ids=BROKEN.keys())
def test_an_instructors_mistake_is_one_line_naming_the_file(tmp_path, reference, grader, said):
    root = project(tmp_path, reference, grader)
    for command in (("grade.py", "09"), ("-m", "nngrade.stubs", "--check")):
        result = run(root, *command)
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
        assert said in result.stderr and ("graders/test_09" in result.stderr or "reference/09" in result.stderr)
    other = run(root, "grade.py", "07", "--json", "r.json")   # the other exercises still grade
    assert "Traceback" not in other.stderr and json.loads((root / "r.json").read_text())["max_score"] == 20


def test_a_grader_named_otherwise_is_said(tmp_path):
    root = project(tmp_path, name="09_relu")
    result = run(root, "grade.py", "09")
    assert result.returncode == 2 and "no reference/09_relu.py beside it" in result.stderr


def test_a_mistake_that_changes_nothing_is_said(tmp_path):
    root = project(tmp_path, REFERENCE.replace("# MISTAKE flipped_error: output - target",
                                               "# MISTAKE flipped_error: target - output"))
    result = run(root, "-m", "nngrade.stubs", "--check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "reference/09_relu_bias.py:" in result.stderr and "'flipped_error' changes no graded quantity" in result.stderr


def test_an_exception_in_the_graders_code_is_loud_never_a_zero(tmp_path):
    root = project(tmp_path, grader=GRADER.replace("    n_input, n_hidden = lesson.sizes(rng, 2, 6, 2)\n",
                                                   "    n_input, n_hidden = lesson.sizes(rng, 2, 6, 2)\n    1 / 0\n"))
    (root / "mine").mkdir()
    (root / "mine" / "09_relu_bias.py").write_text(REFERENCE)
    result, report = graded(root, "--submission", "mine")
    assert result.returncode == 2 and "the grader failed, this is not a grade" in result.stderr
    assert "ZeroDivisionError" in report["grader_error"] and "test_09_relu_bias.py" in report["grader_error"]


# Words that are a quantity's name in this lesson but ordinary in any program's code (a call's `error`, a
# child's `output`, the shipped `sample`): the rule is about the lesson's own vocabulary.
ORDINARY = {"error", "output", "sample", "h"}


def _code_words(path: Path) -> list[tuple[int, str]]:
    """The identifiers and the words inside string literals of a module, leaving out comments and docstrings."""
    import io
    import re
    import tokenize
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline))
    layout = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT)
    words = []
    for i, token in enumerate(tokens):
        if token.type == tokenize.NAME:
            words.append((token.start[0], token.string))
        elif token.type == tokenize.STRING:
            before = next((t for t in reversed(tokens[:i]) if t.type not in layout), None)
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            docstring = (before is None or before.string == ":" or before.type == tokenize.NEWLINE) and \
                after is not None and after.type in (tokenize.NEWLINE, tokenize.NL)
            if not docstring:
                words += [(token.start[0], w) for w in re.findall(r"[A-Za-z_][\w.]*", token.string)]
    return words


def test_the_framework_names_nothing_of_the_lesson():
    """No exercise, function, quantity, mistake or data column of the lesson in nngrade/'s code."""
    from nngrade.judge.exercises import EXERCISES
    lesson_words = {"admissions", "binary.csv", "sigmoid", "train"}
    for exercise in EXERCISES.values():
        lesson_words |= {exercise.stem, *(m.id for m in exercise.mistakes)}
        lesson_words |= {f.name for f in exercise.functions} | {q.name for f in exercise.functions for q in f.quantities}
        lesson_words |= {c.name for c in exercise.data.columns} if exercise.data else set()
    found = [(str(path.relative_to(REPO)), line, word) for path in sorted((REPO / "nngrade").rglob("*.py"))
             for line, word in _code_words(path) if word in lesson_words - ORDINARY]
    assert found == []


def test_the_graders_own_tests_must_pass_or_the_report_is_no_grade(tmp_path):
    """A plain pytest test beside the checks (an instructor's check of the exercise's own material) runs with every
    grading; when it fails, grade.py says the grader failed and exits 2, with the test's message: never a score."""
    sanity = ("\n\ndef test_the_lesson_case_has_units_on_both_sides_of_zero():\n"
              "    h = LESSON['x'] @ LESSON['weights_input_hidden'] + LESSON['bias_hidden']\n"
              "    assert (h > 0).all(), 'a unit below zero'\n")
    root = project(tmp_path, grader=GRADER + sanity)
    (root / "mine").mkdir()
    (root / "mine" / "09_relu_bias.py").write_text(REFERENCE)
    result, report = graded(root, "--submission", "mine")
    assert result.returncode == 2 and "the grader failed, this is not a grade" in result.stderr
    assert "test_the_lesson_case_has_units_on_both_sides_of_zero failed" in report["grader_error"]
    assert "a unit below zero" in report["grader_error"]
    passing = sanity.replace("(h > 0).all()", "(h > 0).any() and (h < 0).any()")
    root = project(tmp_path / "again", grader=GRADER + passing)
    (root / "mine").mkdir()
    (root / "mine" / "09_relu_bias.py").write_text(REFERENCE)
    result, report = graded(root, "--submission", "mine")
    assert result.returncode == 0 and report["grader_error"] is None and report["score"] == 30


ESCAPE_HATCH = '''

def _bias_steps_unscaled(x, target, learnrate, weights_input_hidden, bias_hidden, weights_hidden_output, bias_output):
    """The whole step with the biases' steps not scaled by the learning rate (declared as a function)."""
    hidden_input = x @ weights_input_hidden + bias_hidden
    hidden_output = np.maximum(hidden_input, 0)
    output = 1 / (1 + np.exp(-(hidden_output @ weights_hidden_output + bias_output)))
    error = target - output
    output_error_term = error * output * (1 - output)
    hidden_error_term = output_error_term * weights_hidden_output * (hidden_input > 0)
    return {"hidden_input": hidden_input, "hidden_output": hidden_output, "output": output, "error": error,
            "output_error_term": output_error_term, "hidden_error_term": hidden_error_term,
            "delta_w_h_o": learnrate * output_error_term * hidden_output, "delta_b_o": output_error_term,
            "delta_w_i_h": learnrate * np.outer(x, hidden_error_term), "delta_b_h": hidden_error_term}


EXERCISE = dataclasses.replace(EXERCISE, mistakes=(*EXERCISE.mistakes, Mistake(
    "bias_steps_unscaled", "the biases' steps are not scaled by the learning rate",
    "a bias is a weight on a constant input of 1: its step is eta * delta too",
    replace={"relu_step": _bias_steps_unscaled})))
'''


def test_a_mistake_declared_as_a_function_is_diagnosed(tmp_path):
    """The escape hatch: a mistake written as a whole function in the grader, in place of the reference's."""
    grader = ("import dataclasses\n" + GRADER.replace("\n\n@pytest.mark.parametrize", ESCAPE_HATCH + "\n\n@pytest.mark.parametrize"))
    root = project(tmp_path, grader=grader)
    made = run(root, "-m", "nngrade.stubs")   # checks every exercise, its function-declared mistake too
    assert made.returncode == 0 and made.stderr == "", made.stderr
    (root / "mine").mkdir()
    (root / "mine" / "09_relu_bias.py").write_text(
        REFERENCE.replace("delta_b_o = learnrate * output_error_term  # SOLUTION", "delta_b_o = output_error_term")
                 .replace("delta_b_h = learnrate * hidden_error_term  # SOLUTION", "delta_b_h = hidden_error_term"))
    result, report = graded(root, "--submission", "mine")
    wrong = [c for c in checks(report) if c["status"] != "passed"]
    assert {c["quantity"] for c in wrong} == {"delta_b_o", "delta_b_h"} and report["score"] == 24
    assert {c["misconception"] for c in wrong} == {"bias_steps_unscaled"}

"""Judging that no submission can game: batch-mates judged apart, the grader's own faults never a grade,
no credit for values that carry no information, and hidden checks that give no number away.

Issue 13 ("Trust"): a value that could not be converted stopped the judge for a whole batch; follow-through
was farmed with values near 1e-14; hidden messages printed differences a probe could converge on.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from helpers import REPO, SAMPLE_DATA, edited_reference, grade_files, reference_source

from nngrade.judge import grading

from nngrade.bulk import ingest
from nngrade.judge.checks import compare
from nngrade.judge.exercises import EXERCISES
from nngrade.run.runner import CallResult, RunResult, run_file

HOSTILE = Path(__file__).with_name("hostile")
EX07 = EXERCISES["07"]


def _works(folder: Path, sources: dict[str, str]) -> list[grading.Work]:
    works = []
    for name, source in sources.items():
        (folder / name).mkdir(parents=True)
        path = folder / name / "07_backpropagation.py"
        path.write_text(source, encoding="utf-8")
        works.append(grading.Work(name, (grading.Task(EX07, path),)))
    return works


def _statuses(report) -> set[str]:
    return {c.status for e in report.exercises for c in e.checks if c.max_score > 0}


# --- batch-mates -----------------------------------------------------------------------------------

HUGE = '''
def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    return {"error": 10 ** 400, "output_error_term": -(2 ** 1100), "hidden_error_term": 10 ** 400,
            "delta_w_h_o": 10 ** 400, "delta_w_i_h": 10 ** 400}
'''


def test_an_int_of_400_digits_fails_only_its_own_checks_and_classmates_keep_full_marks(tmp_path):
    works = _works(tmp_path, {"alice": reference_source("07"), "mallory": HUGE, "bob": reference_source("07")})
    alice, mallory, bob = grading.grade_many(works, 7, None)
    for right in (alice, bob):
        assert right.score == right.max_score == 20 and right.grader_error is None
    assert mallory.score == 0 and mallory.grader_error is None
    assert _statuses(mallory) == {"failed"}
    assert all(f"'{c.quantity}'" in c.message for c in mallory.exercises[0].checks if c.max_score > 0)


def test_in_bulk_a_batch_mate_of_an_unconvertible_value_keeps_full_marks(tmp_path):
    """The same through engine.grade_batch, bulk's worker: one pytest session, children from the warm server."""
    from nngrade.bulk.engine import Job, grade_batch
    for name, source in {"alice": reference_source("07"), "mallory": HUGE, "zoe": reference_source("07")}.items():
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "07_backpropagation.py").write_text(source)
    submissions = {s.key: s for s in ingest.discover(tmp_path / "class")}
    alice, mallory, zoe = (outcome.report for outcome in
                           grade_batch([Job(submissions[n], ("07",), 7, None, 5.0) for n in ("alice", "mallory", "zoe")]))
    assert alice["score"] == zoe["score"] == 20 and alice["grader_error"] is zoe["grader_error"] is None
    assert mallory["score"] == 0 and mallory["grader_error"] is None
    assert {c["status"] for c in mallory["exercises"][0]["checks"] if c["max_score"]} == {"failed"}


class _Unconvertible:
    """What no child can send through the wire today, and the judge must survive anyway."""

    def __float__(self):
        raise RuntimeError("no float for you")

    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array either")


def test_values_that_raise_or_overflow_while_judged_are_that_students_failure(tmp_path):
    """A child's values that raise on conversion, or overflow in follow-through and diagnosis (an upstream
    error of 1e300 goes through the lesson's formulas), beside a real correct run in the same batch."""
    poisoned = {"error": 1e300, "output_error_term": _Unconvertible(), "hidden_error_term": np.full(2, 1e300),
                "delta_w_h_o": np.full(2, -1e308), "delta_w_i_h": 10 ** 400}

    def run_student(path, calls, limits):
        if path.parent.name != "mallory":
            return run_file(path, calls, limits)
        return RunResult(calls={call.id: CallResult(ok=True, values=dict(poisoned)) for call in calls}, started=True)

    works = _works(tmp_path, {"alice": reference_source("07"), "mallory": "", "bob": reference_source("07")})
    alice, mallory, bob = grading.grade_many(works, 7, None, run_student=run_student)
    assert alice.score == bob.score == 20 and alice.grader_error is bob.grader_error is None
    checks = {c.name: c for c in mallory.exercises[0].checks}
    assert mallory.score == 0 and mallory.grader_error is None and _statuses(mallory) == {"failed"}
    assert "no array either" in checks["backprop_step.output_error_term[lesson]"].message
    assert "cannot be converted" in checks["backprop_step.delta_w_i_h[hidden-1]"].message


def _break_the_diagnosis(monkeypatch):
    """A bug in the grader's own code: the oracle's mistake variants raise (only failing values reach them)."""
    from nngrade.judge.oracle import Expectations
    original = Expectations.variant

    def variant(self, function, case, mistake, given, others=None):
        if mistake is not None and not given:
            raise KeyError("a bug of the grader's")
        return original(self, function, case, mistake, given, others)
    monkeypatch.setattr(Expectations, "variant", variant)


def test_a_grader_bug_while_judging_one_submission_marks_it_ungraded_not_zero(tmp_path, monkeypatch):
    _break_the_diagnosis(monkeypatch)
    wrong = edited_reference("07", "error = target - output  # SOLUTION", "error = output - target")
    alice, bob = grading.grade_many(_works(tmp_path, {"alice": reference_source("07"), "bob": wrong}), 7, None)
    assert alice.score == 20 and alice.grader_error is None
    assert bob.grader_error and "KeyError" in bob.grader_error and "\n" not in bob.grader_error
    broken = [c for c in bob.exercises[0].checks if c.status == "error"]
    assert broken and all(c.message.startswith("internal grader error: KeyError") for c in broken)


def test_bulk_reports_say_ungraded_when_the_grader_fails(tmp_path, monkeypatch):
    """engine.grade_batch (bulk's worker): the report dict's top-level 'grader_error' is what bulk reads to
    leave the submission ungraded for the next run; a correct classmate of the same batch is unaffected."""
    from nngrade.bulk.engine import Job, grade_batch
    _break_the_diagnosis(monkeypatch)
    shutil.copytree(REPO / "reference", tmp_path / "class" / "alice")
    (tmp_path / "class" / "bob").mkdir()
    (tmp_path / "class" / "bob" / "07_backpropagation.py").write_text(
        edited_reference("07", "error = target - output  # SOLUTION", "error = output - target"))
    submissions = {s.key: s for s in ingest.discover(tmp_path / "class")}
    jobs = [Job(submissions[name], ("07",), 7, None, 5.0) for name in ("alice", "bob")]
    alice, bob = grade_batch(jobs)
    assert alice.failure is None and alice.report["grader_error"] is None
    assert alice.report["score"] == alice.report["max_score"] == 20
    assert bob.report["grader_error"].startswith("07 backprop_step.") and "internal grader error" in bob.report["grader_error"]
    assert bob.failure and "the grader itself failed" in bob.failure   # bulk leaves it ungraded, retried next run


def test_grade_py_exits_2_on_a_grader_fault_and_writes_the_report_marking_it(tmp_path, monkeypatch, capsys):
    import json

    from nngrade import cli
    from nngrade.judge.oracle import ReferenceOracle
    monkeypatch.setattr(grading, "_prepared", {})   # nothing prepared before the bug
    monkeypatch.setattr(ReferenceOracle, "expectations", lambda *args: 1 / 0)
    (tmp_path / "alice").mkdir()
    shutil.copy(REPO / "reference" / "07_backpropagation.py", tmp_path / "alice")
    out = tmp_path / "alice.json"
    status = cli.main(["07", "--submission", str(tmp_path / "alice"), "--json", str(out), "--seed", "5"])
    errors = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(errors) == 1 and errors[0].startswith("error: the grader failed") and "ZeroDivisionError" in errors[0]
    report = json.loads(out.read_text())
    assert "ZeroDivisionError" in report["grader_error"] and report["max_score"] == 20
    assert {c["status"] for c in report["exercises"][0]["checks"]} == {"error"}
    assert all(c["message"].startswith("internal grader error") for c in report["exercises"][0]["checks"])


def test_the_report_schema_takes_the_grader_error(tmp_path):
    import json

    import jsonschema
    schema = json.loads((REPO / "nngrade" / "schema" / "report.schema.json").read_text())
    report = grade_files({"07": reference_source("07")}, tmp_path).to_dict()
    jsonschema.validate(report, schema)
    jsonschema.validate({**report, "grader_error": "07 backprop_step.error[lesson]: internal grader error: x"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**report, "grader_error": 3}, schema)


# --- credit that was not earned ------------------------------------------------------------------

def _check(got, expected, visible=True, key=b""):
    return compare("q", got, np.asarray(expected, dtype=float), rtol=1e-6, atol=1e-12, visible=visible, key=key)


def test_tiny_values_are_not_equal_to_tiny_expectations():
    rng = np.random.default_rng(0)
    expected = 2.5e-15 * (1 + rng.random(5))
    assert _check(1e-14 * (1 + rng.random(5)), expected).status == "failed"
    assert _check(expected * (1 + 1e-9), expected).passed            # a right value on that scale still passes
    assert _check(np.zeros(5), expected).status == "failed"


def test_the_absolute_floor_scales_with_the_expected_values():
    # An element that cancels to nearly zero beside values near 1: rounding noise passes.
    assert _check([1.0, -3e-17, 0.5], [1.0, 1e-17, 0.5]).passed
    # The same noise, on a quantity whose values are all near 1e-6, is not within 1e-12 of their scale.
    assert _check([1e-6, 3e-15], [1e-6, -3e-15]).status == "failed"
    assert _check([1e-6, 3e-19], [1e-6, -3e-19]).passed
    # All-zero expectations keep the absolute floor.
    assert _check([1e-13, 0.0], [0.0, 0.0]).passed and _check([1e-11, 0.0], [0.0, 0.0]).status == "failed"


def test_an_upstream_value_that_is_zero_on_the_cases_scale_earns_no_follow_through(tmp_path):
    # error ~1e-14 where the real one is ~0.1, everything after it computed correctly from it: under the
    # old rules the four later quantities followed through (16 of 20); the error carries no information.
    source = edited_reference("07", "error = target - output  # SOLUTION",
                              "error = 1e-14 * (1 + (x.sum() * 1e6) % 1)")
    (exercise,) = grade_files({"07": source}, tmp_path).exercises
    assert not any(c.follow_through for c in exercise.checks)
    assert exercise.score == 0


def test_a_scaled_down_but_informative_upstream_still_follows_through(tmp_path):
    # The learning rate applied twice in 08 (0.005 in the lesson): the summed steps are 200 times too small,
    # yet they are the student's and the updates computed from them are right: follow-through, as before.
    source = edited_reference("08", 'del_w_hidden_output = del_w_hidden_output + terms["output_error_term"] * terms["hidden_output"]  # SOLUTION',
                              'del_w_hidden_output += learnrate * terms["output_error_term"] * terms["hidden_output"]')
    (exercise,) = grade_files({"08": source}, tmp_path).exercises
    followed = {c.case for c in exercise.checks if c.follow_through and c.quantity == "weights_hidden_output"}
    assert followed == {"lesson", "hidden-1", "hidden-2"}


@pytest.mark.parametrize("name", ["farm_tiny_04", "farm_tiny_05", "farm_tiny_06", "farm_tiny_07", "farm_tiny_08",
                                  "farm_passthrough_05", "farm_passthrough_08"])
def test_farming_files_earn_nothing(tmp_path, name):
    exercise_id = name[-2:]
    report = grade_files({exercise_id: HOSTILE / f"{name}.py"}, tmp_path, seed=12345, data=SAMPLE_DATA)
    (exercise,) = report.exercises
    assert exercise.score == 0, [c.name for c in exercise.checks if c.status == "passed" and c.max_score]
    assert not any(c.follow_through or c.misconception for c in exercise.checks)


# --- hidden checks give no number away ----------------------------------------------------------

_SAFE = re.compile(r"\d+ of \d+ values differ|shape \([\d, ]*\)|\(\d+(, \d+)*,?\)")


def test_hidden_messages_have_no_numbers_and_visible_ones_keep_them(tmp_path):
    wrong = {"04": edited_reference("04", "del_w = learnrate * error_term * x  # SOLUTION",
                                    "del_w = 1.03 * learnrate * error_term * x"),
             "07": edited_reference("07", "delta_w_i_h = learnrate * hidden_error_term * x[:, None]  # SOLUTION",
                                    "delta_w_i_h = learnrate * np.outer(hidden_error_term, x)")}
    report = grade_files(wrong, tmp_path)
    failed = [c for e in report.exercises for c in e.checks if c.status == "failed"]
    hidden = [c for c in failed if c.visibility == "hidden"]
    assert len(hidden) == 4 and len(failed) == 8
    for check in hidden:
        assert not re.search(r"\d", _SAFE.sub("", check.message)), check.message
    assert all("expected" in c.message for c in failed if c.visibility == "visible" and c.quantity == "del_w")
    step = next(c for c in hidden if c.quantity == "del_w")
    assert "off by a few percent" in step.message                      # 3% too large, in words
    outer = next(c for c in hidden if c.quantity == "delta_w_i_h")
    assert "outer" in outer.message and "shape" in outer.message       # the likely mistake and the shape stay


@pytest.mark.parametrize("factor, words", [(1 + 1e-4, "slightly off"), (1.03, "off by a few percent"),
                                           (0.7, "off by tens of percent"), (-1.0, "far off")])
def test_hidden_words_say_how_far_off(factor, words):
    expected = np.array([0.2, -0.5, 0.05])
    message = _check(expected * factor, expected, visible=False, key=b"k").message
    assert words in message and not re.search(r"\d", _SAFE.sub("", message))


def test_the_edges_of_the_words_cannot_be_found_by_bisection():
    """A probe that bisects on where the words change (each step one submission) recovers the expected value
    exactly when the edge is fixed; against the grader's blurred edges it ends outside the tolerance."""
    expected, key = np.array(0.3141), b"the grader's secret"

    def bisect(says_slightly_off) -> float:
        # The probe has found a value that is "slightly off" (0.4% above, within every blurred edge) and one
        # that is not (5% above); between them it looks for the edge, one submission per step.
        guess, low, high = 0.3141 * 1.004, 1.0, 1.05
        assert says_slightly_off(guess * low) and not says_slightly_off(guess * high)
        for _ in range(60):
            middle = (low + high) / 2
            low, high = (middle, high) if says_slightly_off(guess * middle) else (low, middle)
        return guess * low / 1.01     # the edge at 1% above the expected value, where the words change

    fixed_edge = bisect(lambda value: abs(value - expected) / abs(expected) < 0.01)
    assert _check(fixed_edge, expected).passed                      # the attack works on a fixed edge
    blurred = bisect(lambda value: "slightly off" in _check(value, expected, visible=False, key=key).message)
    assert not _check(blurred, expected).passed


def test_hidden_words_are_the_same_for_the_same_value_and_blurred_across_values():
    expected = np.array([1.0, 2.0])
    values = [expected * (1 + 0.0125 + i * 1e-9) for i in range(200)]   # 1.25%: inside the blurred edge
    words = {_check(v, expected, visible=False, key=b"s").message for v in values}
    assert any("slightly off" in w for w in words) and any("a few percent" in w for w in words)
    assert {_check(values[0], expected, visible=False, key=b"s").message for _ in range(5)} == \
        {_check(values[0], expected, visible=False, key=b"s").message}


def test_a_grader_that_does_not_run_is_a_grader_error_not_a_zero(tmp_path, monkeypatch):
    graders = tmp_path / "graders"
    graders.mkdir()
    (graders / "test_07_backpropagation.py").write_text("def test_quantity(:\n")   # the grader's own syntax error
    monkeypatch.setattr(grading, "grader_file", lambda exercise: graders / "test_07_backpropagation.py")
    report = grade_files({"07": reference_source("07")}, tmp_path / "alice")
    assert report.grader_error and "did not run" in report.grader_error
    assert {c.status for c in report.exercises[0].checks} == {"error"}


def test_an_exception_on_a_hidden_case_does_not_tell_its_message(tmp_path):
    """The student's code writes the exception's text, and could write the hidden inputs into it."""
    source = ("def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):\n"
              "    raise ValueError('seen: ' + repr(x.tolist()) + ' ' + repr(target))\n")
    checks = grade_files({"07": source}, tmp_path / "s").exercises[0].checks
    told = "seen: ["   # what the exception's text begins with (the source line shows "'seen: ' + ...")
    hidden = [c for c in checks if c.visibility == "hidden"]
    assert hidden and all("ValueError at line 2" in c.message and told not in c.message for c in hidden)
    assert all(told in c.message for c in checks if c.visibility == "visible" and c.case != "all")   # public inputs


def test_a_grader_bug_in_follow_through_is_a_grader_error_not_a_lower_score(tmp_path, monkeypatch):
    """Follow-through calls the grader's formulas on the student's upstream values: a bug there is ours."""
    from nngrade.judge.oracle import Expectations

    def broken(self, function, case, mistake, given, others=None):
        if given:
            raise KeyError("a bug of the grader's in follow-through")
        return original(self, function, case, mistake, given, others)
    original = Expectations.variant
    monkeypatch.setattr(Expectations, "variant", broken)
    flipped = edited_reference("07", "error = target - output  # SOLUTION", "error = output - target")
    bob = grade_files({"07": flipped}, tmp_path / "bob")
    alice = grade_files({"07": reference_source("07")}, tmp_path / "alice")
    assert alice.grader_error is None and alice.score == alice.max_score == 20
    assert bob.grader_error and "KeyError" in bob.grader_error


def test_follow_through_across_functions_takes_only_results_of_the_references_shape(tmp_path):
    """The reference's train_epoch is re-run on the student's own record_terms results only where each has the
    shape the reference's record_terms gives: a (600, 600) error term (a million values per record) would make
    every record of the replay broadcast to a huge array, and follows through to nothing sensible anyway."""
    source = edited_reference("05", "error_term = error * output * (1 - output)  # SOLUTION",
                              "error_term = np.full((600, 600), error)")
    source = source.replace('del_w = del_w + terms["error_term"] * x  # SOLUTION',
                            'del_w = del_w + terms["error_term"][0, 0] * x')
    exercise = grade_files({"05": source}, tmp_path).exercises[0]
    steps = [c for c in exercise.checks if c.function == "train_epoch" and c.quantity == "del_w"]
    assert steps and all(c.status == "failed" and not c.follow_through for c in steps)
    assert all("internal grader error" not in c.message for c in exercise.checks)


def test_the_judges_own_calls_never_cost_a_graded_one(tmp_path):
    """A record_terms that stalls from its 10th call on, in a file whose values are all right: the judge never
    needs the reference's 360 calls to it (no value to follow through), so every check is graded, the file has no
    problem and gets full marks. A stall in the judge's run itself: test_a_stall_in_the_judges_own_run_..."""
    source = edited_reference("05", "    # TODO: Calculate the output\n",
                              "    # TODO: Calculate the output\n    _count.append(1)\n"
                              "    if len(_count) > 10:\n        while True:\n            pass\n")
    source = source.replace("def sigmoid(x):", "_count = []\n\n\ndef sigmoid(x):", 1)
    source = source.replace('        terms = record_terms(x, y, weights)\n',
                            '        out = sigmoid(np.dot(x, weights))\n'
                            '        terms = {"error_term": (y - out) * out * (1 - out)}\n')
    report = grade_files({"05": source}, tmp_path, timeout=3.0)
    (exercise,) = report.exercises
    assert exercise.problem is None and report.grader_error is None
    assert exercise.score == exercise.max_score == 23, [c.message for c in exercise.checks if c.status != "passed"]


def _graded_with_runs(tmp_path: Path, source: str, timeout: float = 10.0):
    """Grade a 05 file, recording the calls of every run of it: (report, [the calls of each run])."""
    from nngrade.data import load
    from nngrade.run.runner import Limits
    folder = tmp_path / "student"
    folder.mkdir(parents=True)
    (folder / f"{EXERCISES['05'].stem}.py").write_text(source)
    runs = []

    def run_student(path, calls, limits):
        runs.append(calls)
        return run_file(path, calls, limits)
    work = grading.Work(str(folder), (grading.Task(EXERCISES["05"], folder / f"{EXERCISES['05'].stem}.py"),))
    report = grading.grade_many([work], 7, load(SAMPLE_DATA), Limits(timeout=timeout), run_student=run_student)[0]
    return report, runs


MISSING_DERIVATIVE = ("error_term = error * output * (1 - output)  # SOLUTION", "error_term = error")


def test_the_judges_own_calls_are_made_only_where_a_value_could_follow_through(tmp_path):
    """A right file is run once, on the graded calls alone: none of the judge's hundreds of calls for follow-through.
    A record_terms without the sigmoid's derivative makes train_epoch's values wrong; they are right given the
    student's own record_terms, which a second run, of the judge's calls only, brings back."""
    right, runs = _graded_with_runs(tmp_path / "right", reference_source("05"))
    assert right.score == right.max_score and len(runs) == 1 and not any(call.for_judge for call in runs[0])
    wrong, runs = _graded_with_runs(tmp_path / "wrong", edited_reference("05", *MISSING_DERIVATIVE))
    assert len(runs) == 2 and not any(c.for_judge for c in runs[0]) and all(c.for_judge for c in runs[1])
    steps = [c for c in wrong.exercises[0].checks if c.function == "train_epoch" and c.quantity == "del_w"]
    assert steps and all(c.status == "passed" and c.follow_through for c in steps)


def test_a_stall_in_the_judges_own_run_costs_only_follow_through(tmp_path):
    """The same wrong record_terms, and a train_epoch that repeats its arithmetic instead of calling it: the judge's
    run (record_terms on the reference's calls) stalls from its 10th call on and meets the time limit. Every graded
    check is graded, the file has no problem; train_epoch gets no follow-through, which without the stall it gets."""
    source = edited_reference("05", *MISSING_DERIVATIVE)
    source = source.replace('        terms = record_terms(x, y, weights)\n',
                            '        out = sigmoid(np.dot(x, weights))\n        terms = {"error_term": y - out}\n')
    stalling = source.replace("def record_terms(x, y, weights):\n",
                              "_count = []\n\n\ndef record_terms(x, y, weights):\n    _count.append(1)\n"
                              "    if len(_count) > 10:\n        while True:\n            pass\n")
    for text, stalls in ((source, False), (stalling, True)):
        report, runs = _graded_with_runs(tmp_path / str(stalls), text, timeout=3.0)
        (exercise,) = report.exercises
        assert exercise.problem is None and report.grader_error is None and len(runs) == 2
        steps = [c for c in exercise.checks if c.function == "train_epoch" and c.quantity == "del_w"]
        assert steps and all(c.follow_through is not stalls for c in steps)
        assert all(c.status == "passed" for c in exercise.checks if c.function in ("standardise", "split_sample"))

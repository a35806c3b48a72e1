"""A file's time limit comes from the reference's own run time on this machine: a multiple of it, never below a
floor, never above the run's --timeout; an endless loop is stopped there and the report says the limit."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import REPO, grade_files, reference_source
from nngrade.judge.grading import TIME_LIMIT_FLOOR, TIME_LIMIT_MULTIPLE, time_limit

LOOP = "while True:\n    pass\n"


@pytest.mark.parametrize("reference_seconds, maximum, expected", [
    (0.001, 10.0, 2.0),     # a quick reference: the floor (2 s), not 50 ms
    (0.1, 10.0, 5.0),       # 50 times 0.1 s
    (1.0, 10.0, 10.0),      # 50 s would pass the maximum: the maximum
    (0.001, 0.5, 0.5),      # a --timeout under the floor is the limit: never above it
    (0.0, 3.0, 2.0),
])
def test_the_rule(reference_seconds, maximum, expected):
    # The README's rule, with the constants it names: 50 times the reference, at least 2 s, at most --timeout.
    assert (TIME_LIMIT_FLOOR, TIME_LIMIT_MULTIPLE) == (2.0, 50.0)
    assert time_limit(reference_seconds, maximum) == pytest.approx(expected)


def test_a_loop_is_stopped_at_the_derived_limit_and_the_report_says_it(tmp_path):
    maximum = 60.0
    report = grade_files({"07": LOOP, "04": reference_source("04")}, tmp_path, timeout=maximum)
    looping, right = {e.id: e for e in report.exercises}["07"], {e.id: e for e in report.exercises}["04"]
    assert looping.problem.startswith("did not finish within the time limit of ")
    assert {c.status for c in looping.checks if c.quantity != "side_effects"} == {"timeout"}
    # The limit is the rule's: at least the floor, at most the maximum given, and said in the report and message.
    assert TIME_LIMIT_FLOOR <= looping.time_limit_seconds <= maximum
    assert f"{looping.time_limit_seconds:g} s" in looping.problem
    # It ran until the limit (the deadline counts from the child's start, so never less), then was stopped.
    assert looping.seconds >= looping.time_limit_seconds
    # The right file beside it had a limit of the same rule, and used it to full marks.
    assert TIME_LIMIT_FLOOR <= right.time_limit_seconds <= maximum and right.score == right.max_score


def test_an_explicit_timeout_below_the_floor_is_the_limit(tmp_path):
    report = grade_files({"07": LOOP}, tmp_path, timeout=0.5)
    (exercise,) = report.exercises
    assert exercise.time_limit_seconds == 0.5 and exercise.problem.endswith("time limit of 0.5 s")


def test_the_cli_report_records_the_limit_and_validates(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    (tmp_path / "07_backpropagation.py").write_text(LOOP)
    path = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "grade.py", "07", "--submission", str(tmp_path), "--json", str(path),
                           "--timeout", "1.5"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    report = json.loads(path.read_text())
    schema = json.loads((REPO / "nngrade" / "schema" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)
    assert report["exercises"][0]["time_limit_seconds"] == 1.5   # the floor is above it: --timeout is the most
    assert "time limit of 1.5 s" in done.stdout

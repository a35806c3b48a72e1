"""The student release: no reference code or hidden value inside, and student-mode grading works in it."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from nngrade.judge.exercises import EXERCISES
from nngrade.build.release import build
from nngrade.stubs import MARKER

from helpers import REPO, SAMPLE_DATA, edited_reference, grade_files, reference_source


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "nngrade-student"
    build(out, [])
    return out


def run(release, *args):
    return subprocess.run([sys.executable, "grade.py", *args], cwd=release, capture_output=True, text=True, timeout=120)


def test_no_reference_code_inside(release):
    assert not (release / "reference").exists()
    assert not (release / "tests").exists()
    for withheld in ("judge/derive.py", "judge/validate.py", "stubs.py", "build/release.py"):
        assert not (release / "nngrade" / withheld).exists()
    declared = re.compile(r"^\s*# MISTAKE \w+", re.M)   # the reference's declarations of mistakes, with their code
    assert not any(declared.search(path.read_text(encoding="utf-8")) for path in release.rglob("*.py"))
    # No solution line of the reference appears anywhere in the release's text.
    # (Expressions the stubs themselves show, like the given forward pass, do not count.)
    stubs = "".join((REPO / "exercises" / f"{ex.stem}.py").read_text() for ex in EXERCISES.values())
    solutions = [line.split("=", 1)[1].replace(MARKER, "").strip()
                 for ex in EXERCISES.values() for line in reference_source(ex.id).splitlines() if line.rstrip().endswith(MARKER)]
    solutions = [s for s in solutions if s not in stubs]
    assert len(solutions) > 20
    for path in release.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        leaked = [s for s in solutions if s in text]
        assert leaked == [], f"{path.relative_to(release)} holds {leaked}"


def test_stored_values_are_the_visible_cases_only(release):
    stored = json.loads((release / "nngrade" / "expected" / "visible.json").read_text())
    cases = {case for by_data in stored["exercises"].values() for entry in by_data.values()
             for function in entry.values() for case in function}
    assert cases == {"lesson", "handout"}
    visible = sum(1 for ex in EXERCISES.values() for c in ex.checks if c.visibility == "visible" and c.case != "all")
    stored_values = sum(len(case["values"]) for by_data in stored["exercises"].values() for entry in by_data.values()
                        for function in entry.values() for case in function.values())
    assert stored_values == visible


def test_student_mode_grades_the_visible_cases_and_names_the_hidden_ones(release, tmp_path):
    report_path = tmp_path / "r.json"
    result = run(release, "07", "--json", str(report_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "hidden checks (other inputs and sizes) run when you submit" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["mode"] == "student"
    (exercise,) = report["exercises"]
    assert {c["case"] for c in exercise["checks"] if c["quantity"] != "side_effects"} == {"lesson", "handout"}
    assert exercise["pending_hidden"] == 10 and exercise["max_score"] == 10


def test_reference_gets_the_visible_marks_in_the_release(release, tmp_path):
    for exercise in EXERCISES.values():
        (tmp_path / f"{exercise.stem}.py").write_text(reference_source(exercise.id))
    result = run(release, "--submission", str(tmp_path), "--data", str(SAMPLE_DATA), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["score"] == report["max_score"] > 0


def test_a_mistake_is_still_diagnosed_in_the_release(release, tmp_path):
    wrong = tmp_path / "07_backpropagation.py"
    wrong.write_text(edited_reference("07", "output_error_term = error * output * (1 - output)  # SOLUTION",
                                      "output_error_term = error"))
    result = run(release, "--submission", str(wrong))
    assert "Likely mistake: the sigmoid derivative is missing" in result.stdout


def test_the_release_says_where_follow_through_is_decided_on_submission(release, tmp_path):
    """The README's missing-derivative example: submitted, the three later quantities follow through from the
    student's own error term (16 of 20); the release cannot compute that, and says so on those checks, not
    on the checks that are right or that no earlier value explains."""
    wrong = tmp_path / "07_backpropagation.py"
    wrong.write_text(edited_reference("07", "output_error_term = error * output * (1 - output)  # SOLUTION",
                                      "output_error_term = error"))
    run(release, "--submission", str(wrong), "--json", str(tmp_path / "r.json"))
    checks = json.loads((tmp_path / "r.json").read_text())["exercises"][0]["checks"]
    said = {c["quantity"] for c in checks if "decided when you submit" in c["message"]}
    assert said == {"hidden_error_term", "delta_w_h_o", "delta_w_i_h"}
    submitted = grade_files({"07": wrong.read_text()}, tmp_path / "submitted")
    assert submitted.score == 16 and all(c.follow_through for c in submitted.exercises[0].checks
                                         if c.quantity in said)


def test_other_data_without_stored_values_is_a_clear_error(release, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text(SAMPLE_DATA.read_text().replace("\n0,", "\n1,", 3))
    result = run(release, "05", "--data", str(other))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.search(r"error: .*no expected values for exercise 05", result.stderr)


def test_release_refuses_to_overwrite(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        build(tmp_path, [])
    assert (tmp_path / "keep.txt").read_text() == "mine"

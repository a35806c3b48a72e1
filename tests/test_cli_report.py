"""grade.py as a user meets it: exit codes, one-line errors, the JSON report and its schema."""
from __future__ import annotations

import json

import jsonschema
import pytest

from nngrade.judge.exercises import EXERCISES
from nngrade.reports.results import SCHEMA_VERSION

from helpers import REPO, edited_reference, grade_files, reference_source, run_cli

SCHEMA = json.loads((REPO / "nngrade" / "schema" / "report.schema.json").read_text())


def validate(report: dict) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(report)


def test_stub_grading_writes_a_valid_report_and_exits_1(tmp_path):
    out = tmp_path / "r.json"
    result = run_cli("07", "--json", str(out), "--seed", "5")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads(out.read_text())
    validate(report)
    assert report["schema_version"] == SCHEMA_VERSION
    assert report["score"] == 0 and report["max_score"] == EXERCISES["07"].max_score
    assert report["seed"] == 5
    assert {c["status"] for c in report["exercises"][0]["checks"]} == {"not_implemented"}
    assert "TODO still None" in result.stdout


def test_reference_submission_exits_0_with_full_marks(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    for exercise in EXERCISES.values():
        (folder / f"{exercise.stem}.py").write_text(reference_source(exercise.id))
    out = tmp_path / "alice.json"
    result = run_cli("--submission", str(folder), "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    validate(report)
    assert report["score"] == report["max_score"] == sum(ex.max_score for ex in EXERCISES.values())
    assert [ex["id"] for ex in report["exercises"]] == list(EXERCISES)
    assert report["data"]["source"] in ("sample", "real")
    assert set(report["versions"]) >= {"nngrade", "python", "numpy", "pytest"}


def test_reports_of_broken_submissions_validate(tmp_path):
    broken = {"04": "def gradient_step(:\n", "06": "while True:\n    pass\n",
              "07": edited_reference("07", "error = target - output  # SOLUTION", "error = 1 / 0")}
    report = grade_files(broken, tmp_path, timeout=1.0).to_dict()
    validate(report)
    statuses = {ex["id"]: {c["status"] for c in ex["checks"]} for ex in report["exercises"]}
    assert statuses == {"04": {"error"}, "06": {"timeout"}, "07": {"error"}}
    assert report["score"] == 0 and report["max_score"] == sum(EXERCISES[i].max_score for i in broken)


def test_the_schema_rejects_a_report_that_lost_fields(tmp_path):
    report = grade_files({"04": reference_source("04")}, tmp_path).to_dict()
    del report["exercises"][0]["checks"][0]["status"]
    with pytest.raises(jsonschema.ValidationError):
        validate(report)


def test_same_seed_same_hidden_cases(tmp_path):
    wrong = edited_reference("04", "del_w = learnrate * error_term * x", "del_w = error_term * x")
    first = grade_files({"04": wrong}, tmp_path / "a", seed=123).to_dict()["exercises"][0]["checks"]
    again = grade_files({"04": wrong}, tmp_path / "b", seed=123).to_dict()["exercises"][0]["checks"]
    other = grade_files({"04": wrong}, tmp_path / "c", seed=124).to_dict()["exercises"][0]["checks"]
    messages = lambda checks: [c["message"] for c in checks if c["case"].startswith("hidden")]
    assert messages(first) == messages(again)
    assert messages(first) != messages(other)


@pytest.mark.parametrize("args, fragment", [
    (["09"], "unknown exercise '09'"),
    (["07", "--submission", "/nonexistent/alice"], "no such file or folder"),
    (["--submission", "{tmp}/notes.py"], "cannot tell which exercise"),
    (["07", "--submission", "{tmp}"], "no file for exercise 07"),
    (["05", "--data", "{tmp}/missing.csv"], "missing.csv"),
    (["07", "--timeout", "0"], "the time limit must be more than 0"),
    (["07", "--timeout", "nan"], "the time limit must be more than 0"),
    (["07", "--timeout", "1e300"], "at most 86400 seconds"),      # was a 0 for a right file, via an OverflowError
    (["07", "--timeout", "86401"], "at most 86400 seconds"),
    (["07", "--json", "{tmp}/notes.py/r.json"], "notes.py is a file, not a folder"),   # was "File exists"
    (["07", "--json", "{tmp}"], "is a folder"),
    (["07", "--seed", "-5"], "a seed is a whole number"),
    (["07", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_user_mistakes_get_one_line_and_exit_2(tmp_path, args, fragment):
    (tmp_path / "notes.py").write_text("x = 1\n")
    result = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_syntax_error_is_one_clear_line_not_a_traceback(tmp_path):
    bad = tmp_path / "07_backpropagation.py"
    bad.write_text("def backprop_step(x:\n    pass\n")
    result = run_cli("--submission", str(bad), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert f"{bad}: SyntaxError at line 1" in result.stdout


def test_a_report_path_under_a_file_is_refused_before_grading(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("04", "--json", str(blocker / "r.json"))
    assert result.returncode == 2 and result.stdout == ""             # nothing ran
    assert result.stderr == f"error: --json {blocker / 'r.json'}: {blocker} is a file, not a folder\n"


def _alice(tmp_path, name="alice"):
    folder = tmp_path / name
    folder.mkdir()
    source = reference_source("04")
    (folder / "04_gradient_descent.py").write_text(source)
    return folder, source


def test_the_report_never_replaces_a_file_of_the_submission(tmp_path):
    folder, source = _alice(tmp_path)
    (tmp_path / "link.json").symlink_to(folder / "04_gradient_descent.py")
    for target in (folder / "04_gradient_descent.py", tmp_path / "link.json", folder / "07_backpropagation.py",
                   folder / "notes.txt"):
        if target.name == "notes.txt":
            target.write_text("the student's own notes")
        result = run_cli("04", "--submission", str(folder), "--json", str(target))
        assert result.returncode == 2 and result.stdout == "", (target, result.stderr)
        assert result.stderr.startswith("error: --json ") and result.stderr.count("\n") == 1, result.stderr
    assert (folder / "04_gradient_descent.py").read_text() == source
    assert (folder / "notes.txt").read_text() == "the student's own notes"
    assert not (folder / "07_backpropagation.py").exists()
    single = run_cli("--submission", str(folder / "04_gradient_descent.py"),
                     "--json", str(folder / "04_gradient_descent.py"))
    assert single.returncode == 2 and "is a file of the submission" in single.stderr
    assert (folder / "04_gradient_descent.py").read_text() == source


def test_a_report_of_another_submission_is_never_overwritten(tmp_path):
    alice, _ = _alice(tmp_path, "alice")
    bob, _ = _alice(tmp_path, "bob")
    report = tmp_path / "alice.json"
    assert run_cli("04", "--submission", str(alice), "--json", str(report)).returncode == 0
    before = report.read_text()
    stolen = run_cli("04", "--submission", str(bob), "--json", str(report))
    assert stolen.returncode == 2 and "holds the report of another submission" in stolen.stderr
    assert "remove it or choose another path" in stolen.stderr and stolen.stderr.count("\n") == 1
    assert report.read_text() == before
    again = run_cli("04", "--submission", str(alice), "--json", str(report), "--seed", "3")   # its own: replaced
    assert again.returncode == 0 and json.loads(report.read_text())["seed"] == 3


def _comparable(report: dict) -> dict:
    """What does not depend on the machine or the moment: no timings, versions, isolation level."""
    kept = {k: v for k, v in report.items() if k not in ("timings", "versions", "isolation")}
    kept["exercises"] = [{k: v for k, v in ex.items() if k not in ("seconds", "time_limit_seconds")} for ex in report["exercises"]]
    return kept


def test_committed_sample_report_is_what_grading_gives_now(tmp_path):
    """docs/sample-report.json documents the format; NNGRADE_UPDATE_GOLDENS=1 regenerates it."""
    import os
    sample = REPO / "docs" / "sample-report.json"
    source = edited_reference("07", "error = target - output  # SOLUTION", "error = output - target")
    fresh = grade_files({"07": source}, tmp_path / "alice", seed=42).to_dict()
    fresh = json.loads(json.dumps(fresh).replace(str(tmp_path), "submissions"))
    if os.environ.get("NNGRADE_UPDATE_GOLDENS") == "1":
        sample.write_text(json.dumps(fresh, indent=2) + "\n")
    committed = json.loads(sample.read_text())
    validate(committed)
    assert _comparable(committed) == _comparable(fresh), "run NNGRADE_UPDATE_GOLDENS=1 python -m pytest tests/test_cli_report.py"


def test_two_files_of_the_same_name_elsewhere_each_get_a_default_report(tmp_path):
    """The default report is named after the file; another folder's file of the same name gets a report of its
    own beside it, instead of a refusal (an explicit --json over another's report is still refused)."""
    reports = []
    for who, text in (("alice", reference_source("07")), ("bob", edited_reference(
            "07", "error = target - output  # SOLUTION", "error = output - target"))):
        (tmp_path / who).mkdir()
        (tmp_path / who / "07_backpropagation.py").write_text(text)
        result = run_cli(str(tmp_path / who / "07_backpropagation.py"), "--seed", "3")
        assert result.returncode in (0, 1) and "error:" not in result.stderr, result.stderr
        reports.append(result.stdout.split("report: ")[1].split()[0])
    first, second = (json.loads((REPO / path).read_text()) for path in reports)
    assert reports[0] != reports[1] and first["score"] == 20 and second["score"] == 16
    assert first["submission"].endswith("alice/07_backpropagation.py")
    for path in reports:
        (REPO / path).unlink()

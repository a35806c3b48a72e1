"""A bulk folder's LMS files are never stale, and a run that would replace a class's outputs by another's is refused."""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

import junit_rules
from bench.classroom import reference_source, wrong_reference, write_all
from nngrade import bulk
from nngrade.run import sandbox
from nngrade.judge.exercises import EXERCISES

LEVEL = sandbox.BUBBLEWRAP if sandbox.unavailable_reason() is None else sandbox.PROCESS
FULL = EXERCISES["04"].max_score


def grade(folder: Path, out: Path, *extra: str) -> int:
    return bulk.main([str(folder), "--out", str(out), "--quiet", "--isolation", LEVEL, *extra])


def rows(out: Path) -> dict[str, list[str]]:
    table = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8"))))
    return {row[0]: row for row in table[2:]}


def lms_scores(out: Path, student: str) -> dict[str, float]:
    """What each file for `student` says, read the way its consumer reads it: the score, and (JUnit has no
    score) the number of checks that did not pass."""
    report = json.loads((out / "reports" / f"{student}.json").read_text())
    junit = junit_rules.check_file(out / "junit" / f"{student}.xml")
    return {"report": report["score"],
            "gradebook": float(rows(out)[student][-1]),
            "gradescope": json.loads((out / "gradescope" / f"{student}.json").read_text())["score"],
            "lti": json.loads((out / "lti" / f"{student}.json").read_text())["scoreGiven"],
            "report not passed": sum(c["status"] != "passed" for e in report["exercises"] for c in e["checks"]),
            "junit not passed": sum(int(s.get("failures")) + int(s.get("errors")) for s in junit.iter("testsuite"))}


def agree(scores: dict[str, float]) -> float:
    assert len({v for k, v in scores.items() if "passed" not in k}) == 1, scores
    assert scores["junit not passed"] == scores["report not passed"], scores
    return scores["report"]


@pytest.fixture
def graded(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    write_all(folder / "alice", {"04": reference_source("04")})
    write_all(folder / "bob", {"04": wrong_reference("04", 1)})
    assert grade(folder, out, "--exercises", "04", "--seed", "3", "--formats", "gradescope,lti,junit") == 0
    return folder, out


def test_a_rerun_without_formats_rewrites_every_file_from_the_current_reports(graded, capsys):
    folder, out = graded
    assert json.loads((out / "batch.json").read_text())["formats"] == ["gradescope", "lti", "junit"]
    assert agree(lms_scores(out, "bob")) < FULL                          # every file agrees, on the wrong score
    write_all(folder / "bob", {"04": reference_source("04")})            # bob fixes his file; the README's re-run
    capsys.readouterr()
    assert grade(folder, out) == 0
    assert "formats as in the last run" in capsys.readouterr().out
    assert agree(lms_scores(out, "bob")) == FULL                         # not 102 beside 122


def test_formats_survive_a_lost_batch_json(graded, capsys):
    folder, out = graded
    (out / "batch.json").unlink()
    write_all(folder / "bob", {"04": reference_source("04")})
    capsys.readouterr()
    assert grade(folder, out) == 0
    said = capsys.readouterr().out
    assert "formats as in the last run (recovered from" in said, said
    assert agree(lms_scores(out, "bob")) == FULL
    assert json.loads((out / "batch.json").read_text())["formats"] == ["gradescope", "lti", "junit"]


def test_files_no_current_grade_backs_are_removed_and_said(graded, capsys):
    folder, out = graded
    shutil.rmtree(folder / "bob")                                         # bob left the class
    capsys.readouterr()
    assert grade(folder, out) == 0
    said = capsys.readouterr().out
    assert "removed 4 per-student files that no current grade backs" in said, said
    for name in ("gradescope/bob.json", "lti/bob.json", "junit/bob.xml", "students/bob.html"):
        assert not (out / name).exists(), name
    assert (out / "reports" / "bob.json").exists()                        # his report is kept: nothing lost
    assert set(rows(out)) == {"alice"} and (out / "lti" / "alice.json").exists()
    assert grade(folder, out, "--formats", "lti") == 0                    # formats no longer chosen go too
    assert "removed 2 per-student files" in capsys.readouterr().out
    assert not (out / "gradescope").exists() and not (out / "junit").exists() and (out / "lti" / "alice.json").exists()
    assert grade(folder, out) == 0 and not (out / "gradescope").exists()   # and stay gone: lti is remembered


def test_an_empty_class_folder_never_wipes_a_gradebook(graded, tmp_path, capsys):
    folder, out = graded
    before = (out / "gradebook.csv").read_text(encoding="utf-8")
    for student in ("alice", "bob"):
        shutil.move(folder / student, tmp_path / student)                 # the folder emptied by mistake
    capsys.readouterr()
    assert grade(folder, out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "has no submission" in err and "--force" in err
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == before
    assert grade(folder, out, "--force") == 0                            # said on purpose
    assert rows(out) == {}


def test_another_class_into_the_same_out_is_refused(graded, tmp_path, capsys):
    _, out = graded
    other = tmp_path / "other-class"
    write_all(other / "carol", {"04": reference_source("04")})
    before = (out / "gradebook.csv").read_text(encoding="utf-8")
    capsys.readouterr()
    assert grade(other, out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another class folder" in err and str(tmp_path / "class") in err, err
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == before
    (out / "batch.json").unlink()                                         # the folder is recovered from the reports
    assert grade(other, out, "--exercises", "04", "--seed", "3") == 2
    assert "another class folder" in capsys.readouterr().err
    assert grade(other, out, "--exercises", "04", "--seed", "3", "--force") == 0
    assert set(rows(out)) == {"carol"}


@pytest.mark.parametrize("key, value", [("timeout", 1e300), ("timeout", -1), ("seed", 2 ** 40)])
def test_a_kept_setting_is_checked_as_the_option_would_be(graded, capsys, key, value):
    folder, out = graded
    batch = json.loads((out / "batch.json").read_text())
    (out / "batch.json").write_text(json.dumps({**batch, key: value}))
    capsys.readouterr()
    assert grade(folder, out) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: the last run's {key} ") and err.count("\n") == 1, err

"""Grading one class on many machines: `grade.py bulk --shard K/N` and `grade.py bulk merge OUT SHARD...`.

The acceptance test grades a class once whole and once as four shards, each a separate process with
its own PYTHONHASHSEED (the split must not depend on Python's salted hash), and shows that the merge
is the single run: the same reports, scores, gradebook rows, summary and per-student files. Which
student lands in which shard is computed here from the documented rule (sha256 of the student id,
its first 8 bytes big-endian, modulo N, plus 1), not by asking nngrade.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.classroom import make_class, reference_source
from helpers import REPO
from nngrade.run import sandbox
from nngrade.cli import UsageError
from nngrade.bulk.shard import Shard, parse

LEVEL = sandbox.BUBBLEWRAP if sandbox.unavailable_reason() is None else sandbox.PROCESS
SHARDS = 4
SEED = "23"


def bulk_command(*args: str) -> list[str]:
    isolation = ["--isolation", LEVEL] if args[:1] != ("merge",) else []   # a merge runs no student code
    return [sys.executable, str(REPO / "grade.py"), "bulk", *args, *isolation]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(bulk_command(*args), capture_output=True, text=True, timeout=600, cwd=REPO,
                          env=env or os.environ.copy())


def job_free_environment() -> dict:
    """This process's environment without a job's index (the tests may themselves run in a Slurm or Kubernetes job)."""
    return {k: v for k, v in os.environ.items() if k != "JOB_COMPLETION_INDEX" and not k.startswith("SLURM_ARRAY_")}


def expected_shard(student_id: str, count: int) -> int:
    return 1 + int.from_bytes(hashlib.sha256(student_id.encode("utf-8")).digest()[:8], "big") % count


GROUP_METADATA = """\
submission_900:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1815'
  - :name: Charles Babbage
    :sid: '1791'
"""


def make_the_class(folder: Path) -> list[str]:
    """Folders, zips, Canvas files and a Gradescope group of two; returns every student id (as bulk names them)."""
    made = make_class(folder, 14, ("correct", "wrong", "empty", "syntax", "canvas", "correct-zip", "one-file"))
    (folder / "submission_metadata.yml").write_text(GROUP_METADATA)
    (folder / "submission_900").mkdir()
    (folder / "submission_900" / "07_backpropagation.py").write_text(reference_source("07"))
    return [*made, "1815", "1791"]


def strip_timings(report: dict) -> dict:
    """A report without what depends on the machine's speed (the only fields two gradings of one file differ in)."""
    report = {**report, "timings": None}
    report["exercises"] = [{**exercise, "seconds": None} for exercise in report["exercises"]]
    return report


def json_files(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


def manifest(out: Path) -> dict[str, dict]:
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return {record["student"]: record for record in map(json.loads, filter(None, lines))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded whole, and as four shards run at the same time as separate processes."""
    root = tmp_path_factory.mktemp("shard")
    students = make_the_class(root / "class")
    common = ["--exercises", "04", "07", "--seed", SEED, "--timeout", "5", "--workers", "1", "--quiet",
              "--formats", "gradescope,lti,junit"]
    processes = []
    for index in range(SHARDS):
        # Shard K as the README's jobs run them: two from a Kubernetes Indexed Job's index (K-1), two from a Slurm
        # array's task (--array=1-4: K); each process with a hash seed of its own.
        job = ({"JOB_COMPLETION_INDEX": str(index)} if index < 2 else
               {"SLURM_ARRAY_TASK_ID": str(index + 1), "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"})
        env = {**job_free_environment(), **job, "PYTHONHASHSEED": str(index + 1)}
        processes.append(subprocess.Popen(
            bulk_command(str(root / "class"), "--out", str(root / f"shard-{index}"), "--shard", f"auto/{SHARDS}",
                         *common), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    single = run(str(root / "class"), "--out", str(root / "single"), *common)
    shard_runs = [process.communicate(timeout=600) + (process.returncode,) for process in processes]
    return root, students, single, shard_runs


def test_each_shard_grades_exactly_its_share_by_student_id(graded):
    root, students, single, shard_runs = graded
    assert single.returncode == 0, single.stderr
    for index, (stdout, stderr, code) in enumerate(shard_runs):
        assert code == 0, stderr
        assert f"shard {index + 1}/{SHARDS}: " in stdout
    share = {k: set() for k in range(1, SHARDS + 1)}
    for student in students:
        share[expected_shard(student, SHARDS)].add(student)
    # The Gradescope group is graded once, in the shard of its smallest id ("1791" < "1815").
    group = expected_shard("1791", SHARDS)
    share[expected_shard("1815", SHARDS)].discard("1815")
    share[group].add("1815")
    assert all(share.values()), "the class should give every shard someone, or the test shows little"
    for k in range(1, SHARDS + 1):
        out = root / f"shard-{k - 1}"
        assert {p.stem for p in (out / "reports").glob("*.json")} == share[k]
        assert set(manifest(out)) == share[k]
        state = json.loads((out / "shard.json").read_text())
        assert (state["shard"], state["finished"]) == (f"{k}/{SHARDS}", True)


def test_the_merge_of_the_shards_is_the_single_run(graded, tmp_path):
    root, students, single, shard_runs = graded
    merged = tmp_path / "merged"
    result = run("merge", str(merged), *(str(root / f"shard-{i}") for i in range(SHARDS)))
    assert result.returncode == 0, result.stderr
    assert f"merged {SHARDS} shards ({len(students)} students)" in result.stdout
    whole = root / "single"
    # Reports: the same students, the same grade, check for check.
    ours, theirs = json_files(merged / "reports"), json_files(whole / "reports")
    assert sorted(ours) == sorted(f"{s}.json" for s in students)
    assert {name: strip_timings(r) for name, r in ours.items()} == {name: strip_timings(r) for name, r in theirs.items()}
    # The manifest: every student once, with the single run's score, settings and grader.
    assert set(manifest(merged)) == set(manifest(whole)) == set(students)
    for student, record in manifest(merged).items():
        other = manifest(whole)[student]
        for key in ("score", "max_score", "complete", "content", "grader", "config", "settings"):
            assert record[key] == other[key], (student, key)
    # The gradebook, byte for byte: the same rows, in the same order.
    assert (merged / "gradebook.csv").read_bytes() == (whole / "gradebook.csv").read_bytes()
    summary, alone = (json.loads((f / "summary.json").read_text()) for f in (merged, whole))
    assert {k: v for k, v in summary.items() if k != "batch"} == {k: v for k, v in alone.items() if k != "batch"}
    for key in ("seed", "exercises", "timeout", "grader", "config", "isolation", "folder", "formats", "not_graded"):
        assert summary["batch"][key] == alone["batch"][key], key
    # Every per-student file: equal but for when and how fast it was graded.
    for name, volatile in (("gradescope", ("execution_time",)), ("lti", ("timestamp",))):
        drop = lambda files: {n: {k: v for k, v in d.items() if k not in volatile} for n, d in files.items()}
        assert drop(json_files(merged / name)) == drop(json_files(whole / name)), name
    untimed = lambda path: re.sub(r' (time|timestamp)="[^"]*"', "", path.read_text())
    assert sorted(p.name for p in (merged / "junit").iterdir()) == sorted(p.name for p in (whole / "junit").iterdir())
    for path in (whole / "junit").iterdir():
        assert untimed(merged / "junit" / path.name) == untimed(path)
    batch = json.loads((merged / "batch.json").read_text())
    assert batch["merged_from"] == [str((root / f"shard-{i}").resolve()) for i in range(SHARDS)]
    assert not (merged / "shard.json").exists()
    # A merge again (a shard was run again, say) replaces the last one.
    assert run("merge", str(merged), *(str(root / f"shard-{i}") for i in reversed(range(SHARDS)))).returncode == 0
    assert (merged / "gradebook.csv").read_bytes() == (whole / "gradebook.csv").read_bytes()
    # An ordinary output folder: a re-run over the class grades nobody, keeps every grade.
    again = run(str(root / "class"), "--out", str(merged))
    assert again.returncode == 0, again.stderr
    assert f"{len(students) - 1} of {len(students) - 1} submissions unchanged" in again.stdout   # the group is one
    assert "graded 0 submissions" in again.stdout
    assert (merged / "gradebook.csv").read_bytes() == (whole / "gradebook.csv").read_bytes()


def refused(*args: str, env: dict | None = None) -> str:
    result = run(*args, env=env)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_bad_shard_values_are_refused_before_anything_runs(tmp_path):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    out = tmp_path / "out"
    env = job_free_environment()
    cases = {"0/4": "must be 1 to 4", "5/4": "must be 1 to 4", "x/y": "give K/N", "1/0": "must be 1 to",
             "-1/4": "give K/N", "1/4/2": "give K/N", "": "give K/N", "1.5/4": "give K/N", "auto": "give K/N",
             "auto/4": "neither JOB_COMPLETION_INDEX"}
    for value, said in cases.items():
        assert said in refused(str(tmp_path / "class"), "--out", str(out), "--seed", "1", f"--shard={value}", env=env)
        assert not out.exists(), value
    for variables, said in (({"JOB_COMPLETION_INDEX": "4"}, "JOB_COMPLETION_INDEX=4 is not one of the 4"),
                            ({"JOB_COMPLETION_INDEX": "two"}, "not a whole number"),
                            ({"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "1"}, "not one of the 4"),
                            ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "8"}, "has 8 tasks, not 4")):
        assert said in refused(str(tmp_path / "class"), "--out", str(out), "--seed", "1", "--shard", "auto/4",
                               env={**env, **variables})
        assert not out.exists(), variables
    # Each shard would draw a seed of its own: a first run of a shard must say it.
    assert "give --seed" in refused(str(tmp_path / "class"), "--out", str(out), "--shard", "1/4")


def test_the_shard_index_from_kubernetes_or_slurm():
    assert parse("2/4", {}) == Shard(2, 4)
    assert parse("auto/4", {"JOB_COMPLETION_INDEX": "0"}) == Shard(1, 4)
    assert parse("auto/4", {"JOB_COMPLETION_INDEX": "3"}) == Shard(4, 4)
    assert parse("auto/4", {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0"}) == Shard(1, 4)    # --array=0-3
    assert parse("auto/4", {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1",
                            "SLURM_ARRAY_TASK_COUNT": "4"}) == Shard(4, 4)                               # --array=1-4
    assert parse("auto/4", {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0",
                            "SLURM_ARRAY_TASK_STEP": "2"}) == Shard(3, 4)                                # --array=0-6:2
    with pytest.raises(UsageError, match="not one of the 4 shards"):   # task 8 of --array=0-8:2 is a fifth
        parse("auto/4", {"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2"})
    # A Kubernetes index wins over a Slurm task (a Job never sets Slurm's variables; an outer allocation may).
    assert parse("auto/4", {"JOB_COMPLETION_INDEX": "1", "SLURM_ARRAY_TASK_ID": "3"}) == Shard(2, 4)


def test_a_shard_without_out_goes_beside_the_others_under_the_class_default(tmp_path):
    (tmp_path / "class" / "erin").mkdir(parents=True)
    result = run(str(tmp_path / "class"), "--shard", "1/1", "--seed", "1", "--exercises", "07", "--quiet")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "class-graded" / "shard-1" / "reports" / "erin.json").is_file()
    merged = run("merge", str(tmp_path / "class-graded"), str(tmp_path / "class-graded" / "shard-1"))
    assert merged.returncode == 0, merged.stderr
    assert (tmp_path / "class-graded" / "reports" / "erin.json").is_file()


def copy_shard(source: Path, target: Path, edit=None) -> Path:
    shutil.copytree(source, target)
    if edit:
        for name, change in edit.items():
            data = json.loads((target / name).read_text())
            change(data)
            (target / name).write_text(json.dumps(data))
    return target


def test_shards_that_do_not_fit_together_are_refused_with_a_reason(graded, tmp_path):
    root, students, _, _ = graded
    shards = [str(root / f"shard-{i}") for i in range(SHARDS)]
    out = tmp_path / "merged"
    common = ["--exercises", "04", "07", "--timeout", "5", "--workers", "1", "--quiet", "--formats",
              "gradescope,lti,junit"]

    def refuses(*given: str) -> str:
        said = refused("merge", str(out), *given)
        assert not out.exists()
        return said

    assert "shard 3/4 missing" in refuses(shards[0], shards[1], shards[3])
    assert "shard 2/4 is given twice" in refuses(shards[0], shards[1], shards[1], shards[2], shards[3])
    # Really graded otherwise: another seed; other exercises; a class folder that changed since.
    seed = root / "other-seed"
    assert run(str(root / "class"), "--out", str(seed), "--shard", "2/4", "--seed", "99", *common).returncode == 0
    said = refuses(shards[0], str(seed), shards[2], shards[3])
    assert "different seeds" in said and "23" in said and "99" in said
    fewer = root / "other-exercises"
    assert run(str(root / "class"), "--out", str(fewer), "--shard", "2/4", "--seed", SEED, *common[:1], "07",
               *common[3:]).returncode == 0
    assert "different exercises" in refuses(shards[0], str(fewer), shards[2], shards[3])
    late = root / "class-late"
    shutil.copytree(root / "class", late)
    (late / "zed").mkdir()
    later = root / "later"
    assert run(str(late), "--out", str(later), "--shard", "2/4", "--seed", SEED, *common).returncode == 0
    assert "different class folders" in refuses(shards[0], str(later), shards[2], shards[3])
    split = root / "thirds"
    assert run(str(root / "class"), "--out", str(split), "--shard", "2/3", "--seed", SEED, *common).returncode == 0
    assert "split the class differently" in refuses(shards[0], str(split), shards[2], shards[3])
    # Folders as they are found after an upgrade or a stopped run (edited here to be so).
    upgraded = copy_shard(Path(shards[1]), tmp_path / "upgraded", {"batch.json": lambda b: b.update(grader="0.2.0+x")})
    assert "different grader versions" in refuses(shards[0], str(upgraded), shards[2], shards[3])
    stopped = copy_shard(Path(shards[1]), tmp_path / "stopped", {"shard.json": lambda s: s.update(finished=False)})
    assert "did not finish" in refuses(shards[0], str(stopped), shards[2], shards[3])
    lost = copy_shard(Path(shards[1]), tmp_path / "lost")
    victim = next((lost / "reports").glob("*.json"))
    victim.write_text(victim.read_text().replace('"score"', '"score" ', 1))
    assert f"the report of {victim.stem}" in refuses(shards[0], str(lost), shards[2], shards[3])
    assert "not a shard's output folder" in refuses(shards[0], str(root / "single"), shards[2], shards[3])
    # Never into a shard, nor over a class graded whole.
    assert "is the folder of" in refused("merge", shards[0], *shards)
    assert "not a merge of shards" in refused("merge", str(root / "single"), *shards)


def test_a_shard_folder_is_not_reused_for_another_share(graded):
    root, _, _, _ = graded
    shard_one = root / "shard-0"
    before = (shard_one / "gradebook.csv").read_bytes()
    said = refused(str(root / "class"), "--out", str(shard_one), "--shard", "2/4")
    assert "holds the grades of shard 1/4" in said
    assert "holds the grades of shard 1/4" in refused(str(root / "class"), "--out", str(shard_one))
    assert (shard_one / "gradebook.csv").read_bytes() == before


def test_a_stopped_shard_is_not_merged_until_it_is_run_to_the_end(tmp_path):
    import signal
    import time
    make_class(tmp_path / "class", 3, ("correct", "loop", "empty"))
    command = bulk_command(str(tmp_path / "class"), "--out", str(tmp_path / "only"), "--shard", "1/1", "--seed", "5",
                           "--exercises", "07", "--timeout", "6", "--workers", "1", "--quiet")
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = tmp_path / "only" / "shard.json"
    try:
        deadline = time.monotonic() + 120
        while not state.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)      # the loop holds the run for 6 s: it is stopped midway
    finally:
        _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert json.loads(state.read_text())["finished"] is False
    assert "did not finish" in refused("merge", str(tmp_path / "merged"), str(tmp_path / "only"))
    again = run(*command[3:-2])       # the same command (bulk_command adds the isolation again)
    assert again.returncode == 0, again.stderr
    assert json.loads(state.read_text())["finished"] is True
    merged = run("merge", str(tmp_path / "merged"), str(tmp_path / "only"))
    assert merged.returncode == 0, merged.stderr
    assert sorted(p.stem for p in (tmp_path / "merged" / "reports").glob("*.json")) == ["s000", "s001", "s002"]

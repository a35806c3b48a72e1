"""Helpers for the framework's tests: grade a submission in-process, edit the reference, run the CLI."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bench.classroom import reference_source  # noqa: F401 - the tests' way to the reference's text

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "data" / "binary.csv"
SAMPLE_DATA = REPO / "data" / "admissions_sample.csv"


def grade_files(files: dict[str, str | Path], folder: Path, seed: int = 7, data: Path = SAMPLE_DATA,
                timeout: float = 10.0):
    """Grade a submission made of `files` (exercise id -> source text or a path to copy) and return the Report."""
    from nngrade.cli import find_tasks
    from nngrade.data import load
    from nngrade.judge.exercises import EXERCISES
    from nngrade.judge.grading import grade
    from nngrade.run.runner import Limits

    folder.mkdir(parents=True, exist_ok=True)
    for exercise_id, content in files.items():
        target = folder / f"{EXERCISES[exercise_id].stem}.py"
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_text(content, encoding="utf-8")
    tasks = find_tasks(sorted(files), True, folder)
    return grade(tasks, seed, load(data), submission=str(folder), limits=Limits(timeout=timeout))


def edited_reference(exercise_id: str, old: str, new: str) -> str:
    """The reference with one line changed, as a student's mistake; fails loudly if `old` is not there."""
    source = reference_source(exercise_id)
    assert source.count(old) == 1, f"{old!r} not found once in the reference of {exercise_id}"
    return source.replace(old, new)


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "grade.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)

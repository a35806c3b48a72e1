"""Generated class folders for the benchmark and the bulk tests: right, wrong, broken and hostile submissions.

Every submission is built from reference/ (right), a solution line off by a factor (wrong), or a
small broken or hostile file, laid out the ways instructors receive them (folders, zips, Canvas
file names), so that bulk grading meets what a real class hands in.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from nngrade.judge.exercises import EXERCISES

REPO = Path(__file__).resolve().parent.parent


def reference_source(exercise_id: str) -> str:
    """The reference as a student who solved it would hand it in: without the mistakes declared beside its lines."""
    text = (REPO / "reference" / f"{EXERCISES[exercise_id].stem}.py").read_text(encoding="utf-8")
    return "".join(line for line in text.splitlines(keepends=True) if not MISTAKE_LINE.match(line))


MISTAKE_LINE = re.compile(r"^\s*# MISTAKE\b")


SOLUTION_LINE = re.compile(r"^(\s*)(\w+) = (.+?)  # SOLUTION$", re.M)


def wrong_reference(exercise_id: str, which: int) -> str:
    """The reference with its `which`-th solution line off by a factor: a plausible slip of a student."""
    source = reference_source(exercise_id)
    lines = list(SOLUTION_LINE.finditer(source))
    line = lines[which % len(lines)]
    fixed = f"{line.group(1)}{line.group(2)} = ({line.group(3)}) * 1.5  # SOLUTION"
    return source[:line.start()] + fixed + source[line.end():]


def write_all(folder: Path, sources: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for exercise_id, text in sources.items():
        (folder / f"{EXERCISES[exercise_id].stem}.py").write_text(text, encoding="utf-8")


def references() -> dict[str, str]:
    return {i: reference_source(i) for i in EXERCISES}


def write_zip(path: Path, members: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in members.items():
            bundle.writestr(name, text)


KINDS = ("correct", "correct-zip", "canvas", "wrong", "nested-wrong", "stubs", "syntax", "import-error", "loop",
         "exit-at-import", "sys-exit", "flood", "empty", "readme-only", "zip-slip", "not-a-zip", "one-file")


# A class as the benchmark grades it: mostly right or partly wrong, some broken, a few hostile.
TYPICAL = (("correct",) * 11 + ("correct-zip", "canvas") + ("wrong",) * 4 + ("nested-wrong", "stubs", "syntax",
           "import-error", "exit-at-import", "sys-exit", "flood", "loop"))


def make_class(folder: Path, count: int, kinds: tuple[str, ...] = KINDS) -> dict[str, str]:
    """`count` submissions cycling through `kinds` (right, wrong in various ways, broken, hostile); id -> kind."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for number in range(count):
        kind = kinds[number % len(kinds)]
        student = f"s{number:03d}"
        refs = references()
        if kind == "correct":
            write_all(folder / student, refs)
        elif kind == "correct-zip":
            write_zip(folder / f"{student}.zip", {f"{student}/{EXERCISES[i].stem}.py": t for i, t in refs.items()})
        elif kind == "canvas":
            student = str(9000 + number)
            (folder / f"doe{number}_{student}_55{number}_07_backpropagation.py").write_text(refs["07"])
            (folder / f"doe{number}_LATE_{student}_55{number}_04_gradient_step-1.py").write_text(refs["04"])
        elif kind == "wrong":
            write_all(folder / student, {**refs, "07": wrong_reference("07", number), "04": wrong_reference("04", number)})
        elif kind == "nested-wrong":
            write_all(folder / student / "homework" / "nn", {**refs, "06": wrong_reference("06", number)})
        elif kind == "stubs":
            write_all(folder / student, {i: (REPO / "exercises" / f"{EXERCISES[i].stem}.py").read_text() for i in EXERCISES})
        elif kind == "syntax":
            write_all(folder / student, {**refs, "08": "def train(:\n"})
        elif kind == "import-error":
            write_all(folder / student, {**refs, "05": "import numpy as np\nraise RuntimeError('oops')\n"})
        elif kind == "loop":
            write_all(folder / student, {**refs, "07": "while True:\n    pass\n"})
        elif kind == "exit-at-import":
            write_all(folder / student, {**refs, "06": "import os\nos._exit(0)\n"})
        elif kind == "sys-exit":
            write_all(folder / student, {**refs, "04": "import sys\nsys.exit(3)\n"})
        elif kind == "flood":
            write_all(folder / student, {**refs, "04": "print('x' * 5_000_000)\n" + refs["04"]})
        elif kind == "empty":
            (folder / student).mkdir()
        elif kind == "readme-only":
            (folder / student).mkdir()
            (folder / student / "README.md").write_text("I did not finish, sorry\n")
        elif kind == "zip-slip":
            write_zip(folder / f"{student}.zip", {"../../escaped.py": "print('out')\n", "07_backpropagation.py": refs["07"]})
        elif kind == "not-a-zip":
            (folder / f"{student}.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
        elif kind == "one-file":
            (folder / f"{student}.py").write_text(refs["07"])
        made[student] = kind
    return made



"""Build the student release: stubs, graders, data, the framework, and the visible cases' expected values.

`python grade.py release --out DIR`. The release has no reference/, nothing that
computes answers, and none of the instructor's tools (nngrade/judge/derive.py, validate.py, stubs.py): in it,
`python grade.py 07` checks the visible cases against stored values and says how many
hidden checks run when the work is submitted.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from nngrade.judge.exercises import EXERCISES
from nngrade.paths import REPO

SHIPPED = ("grade.py", "README.md", "requirements.txt", "exercises", "graders", "nngrade")
# Code that computes right answers for any input: never in a student's hands.
WITHHELD = {"nngrade/judge/derive.py", "nngrade/judge/validate.py", "nngrade/stubs.py", "nngrade/build/release.py",
            "nngrade/build/gradescope_bundle.py"}


def _copy(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")) if source.is_dir() else [source]:
        relative = path.relative_to(REPO).as_posix()
        if path.is_dir() or "__pycache__" in path.parts or relative in WITHHELD or relative.startswith("nngrade/expected/"):
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def build(out: Path, data_paths: list[Path]) -> Path:
    """Write the release into `out` (which must not exist or be empty); returns the stored values' path."""
    from nngrade.data import load, sample_path
    from nngrade.judge.oracle import STORED_PATH, store_visible
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder: choose a new one")
    # The data first: a bad file must fail before anything is written.
    data_sets = [load(path) for path in dict.fromkeys([sample_path(), *data_paths])]
    for item in (*SHIPPED, *(f"data/{Path(d.path).name}" for d in data_sets if Path(d.path) == sample_path().resolve())):
        _copy(REPO / item, out)
    stored = out / STORED_PATH.relative_to(REPO)
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(json.dumps(store_visible(list(EXERCISES.values()), data_sets)), encoding="utf-8")
    return stored


def main(argv: list[str] | None = None) -> int:
    from nngrade.cli import ArgumentParser, UsageError, check_output_path
    parser = ArgumentParser(prog="grade.py release", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="a new (or empty) folder for the release")
    parser.add_argument("--data", type=Path, action="append", default=[],
                        help="also store 05 and 08's visible values for this data file (the sample is always stored)")
    from nngrade.data import DataError
    try:
        args = parser.parse_args(argv)
        check_output_path(args.out, "--out", folder=True)
        stored = build(args.out, args.data)
    except (UsageError, FileExistsError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the release to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote the student release to {args.out} (visible expected values: {stored.relative_to(args.out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate the student stubs in exercises/ from the reference solutions' `# SOLUTION` markers.

A reference line `    error = target - output  # SOLUTION` becomes `    error = None` in
the stub, so the stub reads like the lesson with its TODOs open; the `# MISTAKE` lines declared
beside it are left out. `python -m nngrade.stubs` checks every exercise (nngrade.judge.validate) and
rewrites exercises/; `--check` only reports drift and problems (a test runs it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nngrade.judge.derive import _ASSIGNMENT, _MISTAKE, MARKER
from nngrade.judge.exercises import EXERCISES, reference_file
from nngrade.spec import SpecError
from nngrade.paths import REPO



class MarkerError(SpecError):
    """A `# SOLUTION` marker on a line that is not a simple assignment."""


def make_stub(source: str, filename: str = "<reference>") -> str:
    lines = []
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        if _MISTAKE.match(line):
            continue
        if MARKER not in line:
            lines.append(line)
            continue
        match = _ASSIGNMENT.match(line.rstrip("\n"))
        if not match:
            raise MarkerError(f"{filename}:{number}: {MARKER} must end a line like 'name = expression'")
        lines.append(f"{match['indent']}{match['name']} = None\n")
    return "".join(lines)


def expected_stubs() -> dict[Path, str]:
    return {REPO / "exercises" / f"{ex.stem}.py":
            make_stub(reference_file(ex).read_text(encoding="utf-8"), f"reference/{ex.stem}.py")
            for ex in EXERCISES.values()}


def main(argv: list[str] | None = None) -> int:
    from nngrade.judge.validate import problems
    parser = argparse.ArgumentParser(prog="python -m nngrade.stubs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if exercises/ differs from the generated stubs")
    args = parser.parse_args(argv)
    found = problems()
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    try:
        stubs = expected_stubs()
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    drifted = [path for path, text in stubs.items() if not path.is_file() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in drifted:
            print(f"{path.relative_to(REPO)} differs from the stub generated from reference/", file=sys.stderr)
        return 1 if drifted or found else 0
    for path in drifted:
        path.write_text(stubs[path], encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

"""Gradescope: `python grade.py gradescope --out PATH.zip` builds an autograder zip; `--run` is what it runs.

The zip holds `setup.sh` (a Python >= 3.11 venv with requirements.txt), `run_autograder`, and the
project (grade.py, nngrade/, graders/, reference/, the data). Gradescope runs one container per
submission: `run_autograder` grades `/autograder/submission` with the engine bulk grading uses and
writes `/autograder/results/results.json`, always, even when grading itself fails.
`NNGRADE_AUTOGRADER_ROOT` replaces `/autograder` (for tests), `NNGRADE_PYTHON` the interpreter.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

from nngrade.bulk import ingest
from nngrade.run.runner import Limits
from nngrade.reports.writers import files, gradescope
from nngrade.paths import REPO

CONFIG = "nngrade-autograder.json"
PROJECT = ("grade.py", "requirements.txt", "nngrade", "graders", "reference")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: a Python >= 3.11 venv with nngrade's requirements.
set -euo pipefail
ROOT="${NNGRADE_AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY="$candidate"; break
  fi
done
if [ -z "$PY" ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y python3.11 python3.11-venv
  PY=python3.11
fi
if ! "$PY" -m venv "$ROOT/venv"; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$(basename "$PY")-venv"
  "$PY" -m venv "$ROOT/venv"
fi
"$ROOT/venv/bin/python" -m pip install --upgrade pip
"$ROOT/venv/bin/python" -m pip install -r requirements.txt
# bubblewrap, where the image allows it, puts each student file in nngrade's sandbox (best effort)
if ! command -v bwrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap) || true
fi
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission into /autograder/results/results.json.
set -u
ROOT="${NNGRADE_AUTOGRADER_ROOT:-/autograder}"
if [ -n "${NNGRADE_PYTHON:-}" ]; then
  PYTHON="$NNGRADE_PYTHON"
elif [ -x "$ROOT/venv/bin/python" ]; then
  PYTHON="$ROOT/venv/bin/python"
else
  PYTHON=python3
fi
cd "$ROOT/source" || exit 1
exec "$PYTHON" grade.py gradescope --run --root "$ROOT"
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    from nngrade.cli import ArgumentParser, add_isolation_option, seconds, seed
    parser = ArgumentParser(prog="grade.py gradescope", description="Build a Gradescope autograder zip (--out), "
                     "or grade inside Gradescope's container (--run, what run_autograder calls).")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--out", type=Path, help="write the autograder zip here")
    action.add_argument("--run", action="store_true", help="grade ROOT/submission into ROOT/results/results.json")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("NNGRADE_AUTOGRADER_ROOT", "/autograder")),
                        help="Gradescope's folder (default: $NNGRADE_AUTOGRADER_ROOT, else /autograder)")
    parser.add_argument("--exercises", nargs="+", metavar="ID", help="exercises the assignment grades (default: all)")
    parser.add_argument("--seed", type=seed, help="seed of the hidden cases for every submission (default: fresh, "
                        "fixed in the zip)")
    parser.add_argument("--timeout", type=seconds, default=Limits.timeout, help="seconds per exercise file")
    parser.add_argument("--hidden-visibility", default="after_published", choices=gradescope.VISIBILITIES,
                        help="when students see the hidden cases' results (default %(default)s)")
    add_isolation_option(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from nngrade.cli import UsageError, check_output_path, exercise_ids
    try:
        args = parse_args(list(sys.argv[2:] if argv is None else argv))
        if args.run:
            return run(args.root)
        ids = exercise_ids(args.exercises or [])
        check_output_path(args.out, "--out")
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = {"exercises": ids, "seed": args.seed if args.seed is not None else secrets.randbelow(2 ** 31),
              "timeout": args.timeout, "hidden_visibility": args.hidden_visibility, "isolation": args.isolation}
    try:
        names = build(args.out, config)
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {len(names)} files; exercises {' '.join(ids)}, seed {config['seed']}, "
          f"hidden cases {args.hidden_visibility}\nupload it as the autograder of a Gradescope programming assignment")
    return 0


def bundle_files() -> list[tuple[Path, str]]:
    """(file, name in the zip) for the project's part of the bundle."""
    found = []
    for name in PROJECT:
        path = REPO / name
        if path.is_file():
            found.append((path, name))
        for file in sorted(path.rglob("*")) if path.is_dir() else ():
            relative = file.relative_to(REPO)
            if file.is_file() and "__pycache__" not in relative.parts and file.suffix != ".pyc" \
                    and not any(part.startswith(".") for part in relative.parts):
                found.append((file, relative.as_posix()))
    found += [(path, f"data/{path.name}") for path in _data_files()]
    return found


def _data_files() -> list[Path]:
    """The declared data sets' files that are here: the shipped sample, and the real file where downloaded."""
    from nngrade.data import DATA_DIR
    from nngrade.judge.exercises import EXERCISES
    declared = dict.fromkeys(ex.data for ex in EXERCISES.values() if ex.data is not None)
    return [DATA_DIR / name for d in declared for name in (d.sample, d.file) if (DATA_DIR / name).is_file()]


def build(out: Path, config: dict) -> list[str]:
    """Write the autograder zip atomically; returns the names it holds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as bundle:
            _add_text(bundle, "setup.sh", SETUP_SH, executable=True)
            _add_text(bundle, "run_autograder", RUN_AUTOGRADER, executable=True)
            _add_text(bundle, CONFIG, json.dumps(config, indent=2) + "\n")
            for path, name in bundle_files():
                bundle.write(path, name)
            names = bundle.namelist()
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return names


def _add_text(bundle: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, text)


UNFINISHED = {"score": 0, "visibility": "visible", "stdout_visibility": "hidden", "tests": [],
              "output": "Grading did not finish: the autograder stopped before it could write your results. "
                        "Your instructor has its log; ask them to re-run the autograder."}


def run(root: Path) -> int:
    """Grade ROOT/submission; results.json is written whatever happens, and the exit status is 0.

    Before any student code runs, results.json says that grading did not finish, and the
    results folder, the submission and the project are out of the children's reach (as root
    they run as users of their own). The real results replace it last, atomically, once every
    process of the student's is dead: a grader killed midway leaves "did not finish", never a
    file a child could have written.
    """
    from nngrade.run import sandbox
    from nngrade.bulk import resolve_data
    from nngrade.bulk.engine import Job, close_server, fallback_report, grade_submission
    results = root / "results" / "results.json"
    (root / "results").mkdir(parents=True, exist_ok=True)
    sandbox.wall_off(root / "results", root / "submission")
    (root / "results" / "nngrade-report.json").unlink(missing_ok=True)
    files.write_json(results, UNFINISHED)
    config = {"exercises": None, "seed": 0, "timeout": Limits.timeout, "hidden_visibility": "after_published",
              "isolation": sandbox.AUTO}
    job = None
    try:
        config.update(json.loads((REPO / CONFIG).read_text(encoding="utf-8")) if (REPO / CONFIG).is_file() else {})
        from nngrade.judge.exercises import EXERCISES
        ids = tuple(config["exercises"] or EXERCISES)
        data_path, _, notices = resolve_data(None, list(ids))
        submission = ingest.Submission(key="submission", label="submission", students=(ingest.Student("student"),),
                                       sources=(ingest.Source(root / "submission", "submission"),))
        job = Job(submission=submission, exercise_ids=ids, seed=int(config["seed"]), data_path=data_path,
                  timeout=float(config["timeout"]), notices=notices, isolation=str(config["isolation"]))
        report = grade_submission(job)
    except Exception as exc:   # grading itself failed: the student still gets a results.json that says so
        traceback.print_exc(file=sys.stdout)
        if job is None:
            files.write_json(results, {**UNFINISHED, "output": "The autograder could not start; your instructor "
                                       "has its log."})
            return 0
        report = fallback_report(job, f"{type(exc).__name__}: {exc}"[:300])
    finally:
        close_server()   # the warm server and everything in it: no child outlives grading
    files.write_json(root / "results" / "nngrade-report.json", report)
    files.write_json(results, gradescope.to_gradescope(report, config["hidden_visibility"]))
    print(gradescope.summary_text(report))
    return 0

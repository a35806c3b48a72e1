"""Command line of grade.py: parse, find the files, grade, print the table, write the report."""
from __future__ import annotations

import argparse
import math
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nngrade.run.notebooks import SUBMISSION_SUFFIXES
from nngrade.run.runner import Limits
from nngrade.paths import REPO

if TYPE_CHECKING:
    from nngrade.judge.exercises import Exercise
# nngrade.judge.exercises (numpy, the graders, pytest) is imported where it is first needed: a student's run
# starts its warm servers first, so that their coming up overlaps these imports (main, _start_servers).

EXIT_FULL_MARKS, EXIT_NOT_FULL, EXIT_USAGE = 0, 1, 2
EXIT_GRADER_ERROR = 2   # as for bad input: something other than the submission went wrong
INSTRUCTOR_COMMANDS = {"bulk": "bulk", "gradescope": "build.gradescope_bundle", "release": "build.release",
                       "lti": "reports.lti_push"}   # name -> module


class UsageError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="grade.py", description="Grade the lesson's exercises (04 to 08) and write a JSON score report.",
        epilog="Exit status: 0 full marks, 1 graded but not full marks, 2 bad input (unknown id, missing file) "
               "or a fault of the grader itself.")
    parser.add_argument("ids", nargs="*", metavar="ID",
                        help="exercise ids to grade (04 05 06 07 08; default all), or the file or folder to grade "
                             "(python grade.py exercises/07_backpropagation.py)")
    parser.add_argument("--submission", type=Path, help="a student's file or folder (default: exercises/)")
    parser.add_argument("--json", type=Path, help="where to write the JSON report (default: reports/<name>.json)")
    parser.add_argument("--seed", type=seed, help="seed of the hidden cases (default: fresh; the report records it)")
    parser.add_argument("--data", type=Path, help="the data file of the exercises that read one "
                        "(default: the real file in data/, else the shipped sample)")
    parser.add_argument("--timeout", type=seconds, default=Limits.timeout, help="the most seconds an exercise file may take (default %(default)s); each file's limit is 50 "
                        "times the reference's own time on this machine, at least 2 s, at most this")
    parser.add_argument("--no-color", "--no-colour", dest="no_color", action="store_true",
                        help="no colour in the table (also: the NO_COLOR environment variable, or output not a terminal)")
    parser.add_argument("--watch", action="store_true",
                        help="grade again on every save of the file, printing only what changed (Ctrl-C stops)")
    add_isolation_option(parser)
    return parser




def _paths_as_submission(args: argparse.Namespace) -> argparse.Namespace:
    """`python grade.py exercises/07_backpropagation.py`: an argument that is no exercise id but a path (it exists,
    or names a .py or .ipynb file, or has a folder in it) is the submission, as if given with --submission."""
    from nngrade.judge.exercises import EXERCISES

    def is_path(raw: str) -> bool:
        key = raw.zfill(2) if raw.isdigit() else raw
        return key not in EXERCISES and (raw.lower().endswith(SUBMISSION_SUFFIXES) or "/" in raw
                                         or os.sep in raw or os.path.lexists(raw))
    paths = [raw for raw in args.ids if is_path(raw)]
    if not paths:
        return args
    if len(paths) > 1 or args.submission is not None:
        given = paths + ([str(args.submission)] if args.submission is not None else [])
        raise UsageError(f"one submission at a time: {', '.join(given)}")
    args.submission = Path(paths[0])
    args.ids = [raw for raw in args.ids if raw != paths[0]]
    return args


def add_isolation_option(parser: argparse.ArgumentParser) -> None:
    from nngrade.run.sandbox import AUTO, REQUESTS
    parser.add_argument("--isolation", choices=REQUESTS, default=AUTO,
                        help='how student code is isolated: "auto" (default): bubblewrap where this machine has it, else the process level; "bubblewrap": fail unless the sandbox works; "process": no sandbox')


def check_isolation(level: str) -> None:
    """Insisting on bubblewrap where it cannot run is the user's mistake, said before anything runs."""
    from nngrade.run.sandbox import Unavailable, choose
    try:
        choose(level)
    except Unavailable as exc:
        raise UsageError(str(exc)) from None


MAX_TIMEOUT = 24 * 3600.0   # a day per file: more is a typo (1e300 overflowed the limits' arithmetic)


def seconds(text: str) -> float:
    """An argparse type: a time limit (NaN, infinity, zero, negatives and more than a day are mistakes)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(f"'{text}': the time limit must be more than 0 and at most "
                                         f"{MAX_TIMEOUT:g} seconds (a day)")
    return value


def check_output_path(path: Path, option: str, folder: bool = False) -> None:
    """Refuse, before anything runs, a path we could not create: one under a plain file ("File exists" would be
    all mkdir says), a folder where a file goes, or a file where a folder goes."""
    for ancestor in path.parents:
        if os.path.lexists(ancestor):
            if not ancestor.is_dir():
                raise UsageError(f"{option} {path}: {ancestor} is a file, not a folder")
            break
    if folder and os.path.lexists(path) and not path.is_dir():
        raise UsageError(f"{option} {path}: is a file, not a folder")
    if not folder and path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give the file's name")


def seed(text: str) -> int:
    """An argparse type: a seed of the hidden cases, as numpy takes them."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"'{text}': a seed is a whole number from 0 to {2**32 - 1}")
    return value


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose mistakes are UsageErrors: the instructors' commands print them as one line, exit 2."""

    def error(self, message: str):
        raise UsageError(message)


def exercise_ids(ids: list[str]) -> list[str]:
    """The exercises asked for (all by default); an exercise whose grader does not load is said in one line."""
    from nngrade.judge.exercises import EXERCISES
    resolved = []
    for raw in ids:
        key = raw.zfill(2) if raw.isdigit() else raw
        if key not in EXERCISES:
            problem = EXERCISES.problem(key)
            if problem:
                raise UsageError(f"exercise {key} cannot be graded: {problem}")
            raise UsageError(f"unknown exercise '{raw}': choose from {', '.join(EXERCISES) or 'none'}")
        resolved.append(key)
    if not resolved and EXERCISES.problems:
        others = f" (python grade.py {' '.join(EXERCISES)} grades the others)" if EXERCISES else ""
        raise UsageError("; ".join(EXERCISES.problems.values()) + others)
    if not resolved and not EXERCISES:
        raise UsageError("no exercises: graders/ holds no test_NN_stem.py")
    return list(dict.fromkeys(resolved)) or list(EXERCISES)


def _find_in_folder(folder: Path, exercise: Exercise, notices: list[str]) -> Path | None:
    exact = [folder / f"{exercise.stem}{suffix}" for suffix in SUBMISSION_SUFFIXES]
    for path in exact:
        if os.path.lexists(path) and not path.is_file() and not path.is_dir():
            raise UsageError(f"{path}: not a regular file (a FIFO, a device, a broken link?)")
    found = [path for path in exact if path.is_file()]
    if len(found) > 1:
        # The stub as a .py beside the notebook the student works in (or the other way round): the one saved last.
        newest = max(found, key=lambda path: path.stat().st_mtime)
        notices.append(f"both {' and '.join(p.name for p in found)} are in {folder}: graded {newest.name}, "
                       "the one saved last (grade the other with: python grade.py PATH)")
        return newest
    if found:
        return found[0]
    matches = sorted(p for suffix in SUBMISSION_SUFFIXES for p in folder.glob(f"{exercise.id}*{suffix}") if p.is_file())
    if len(matches) > 1:
        raise UsageError(f"{folder}: several files for exercise {exercise.id}: {', '.join(p.name for p in matches)}")
    return matches[0] if matches else None


class Tasks(list):
    """The tasks to grade, and what the student should be told about how their files were chosen."""

    def __init__(self, tasks, notices=()):
        super().__init__(tasks)
        self.notices = list(notices)


def find_tasks(ids: list[str], explicit_ids: bool, submission: Path | None):
    from nngrade.judge.exercises import EXERCISES
    from nngrade.judge.grading import Task
    if submission is None:
        folder = REPO / "exercises"
    elif not submission.exists():
        raise UsageError(f"{submission}: no such file or folder")
    elif submission.is_file():
        if not explicit_ids:
            ids = [i for i in EXERCISES.declared() if submission.name.startswith(i) and i in EXERCISES]
            if not ids:
                raise UsageError(f"{submission}: cannot tell which exercise this is; name it like "
                                 f"07_backpropagation.py or give the id: python grade.py 07 --submission {submission}")
        if len(ids) != 1:
            raise UsageError(f"{submission} is one file: give exactly one exercise id")
        return Tasks([Task(EXERCISES[ids[0]], submission)])
    elif not submission.is_dir():
        raise UsageError(f"{submission}: not a regular file or a folder (a FIFO, a device?)")
    elif submission.suffix.lower() in SUBMISSION_SUFFIXES:
        raise UsageError(f"{submission}: is a folder, not a {submission.suffix} file")
    else:
        folder = submission
    notices: list[str] = []
    tasks = [Task(EXERCISES[i], _find_in_folder(folder, EXERCISES[i], notices)) for i in ids]
    missing = [t for t in tasks if t.path is None]
    if explicit_ids and missing:
        raise UsageError(f"{folder}: no file for exercise {missing[0].exercise.id} "
                         f"(expected {missing[0].exercise.stem}.py or .ipynb)")
    if submission is not None and len(missing) == len(tasks):
        raise UsageError(f"{folder}: no exercise files found (expected names like 07_backpropagation.py or .ipynb)")
    return Tasks(tasks, notices)


def _load_data(path: Path | None, tasks) -> tuple[object, tuple[str, ...]]:
    if not any(t.exercise.needs_data for t in tasks):
        return None, ()
    from nngrade.data import DataError, load, resolve_path
    resolved, notice = resolve_path(path)
    try:
        return load(resolved), ((notice,) if notice else ())
    except DataError as exc:
        raise UsageError(str(exc)) from None


def _default_json(ids: list[str], submission: Path | None) -> Path:
    # Named by the graders' file names: deciding "all" loads no grader that is not graded.
    from nngrade.judge.exercises import EXERCISES
    label = "all" if ids == EXERCISES.declared() else "-".join(ids)
    own = submission is not None and submission.resolve().parent == (REPO / "exercises").resolve()
    prefix = f"{submission.resolve().stem}-" if submission is not None and not own else ""
    return REPO / "reports" / f"{prefix}{label}.json"


def _unclaimed(path: Path, tasks, submission: str) -> Path:
    """The default report's path, or, where that holds the report of another file of the same name (two
    folders' 07_backpropagation.py), a path of this submission's own beside it: a default never refuses."""
    try:
        check_report_path(path, tasks, submission)
        return path
    except UsageError:
        import hashlib
        own = hashlib.sha256(str(Path(submission).resolve()).encode()).hexdigest()[:8]
        return path.with_name(f"{path.stem}-{own}{path.suffix}")


def check_report_path(path: Path, tasks, submission: str) -> None:
    """The report never replaces a file of the submission, nor another submission's report; said before grading.

    grade.py has no --force: the user removes the old report or chooses another path.
    """
    check_output_path(path, "--json")
    target = path.resolve()
    graded = {t.path.resolve() for t in tasks if t.path is not None}
    root = Path(submission).resolve()
    if target in graded or (root.is_dir() and root in target.parents and target.suffix.lower() in SUBMISSION_SUFFIXES) or target == root:
        raise UsageError(f"--json {path}: is a file of the submission; the report would replace it: choose another path")
    if not target.is_file():
        return
    try:
        import json
        with open(target, encoding="utf-8") as handle:
            owner = json.load(handle).get("submission")
    except (OSError, ValueError, AttributeError):
        raise UsageError(f"--json {path}: exists and is not an nngrade report; remove it or choose another path") \
            from None
    owner_path = Path(owner).resolve() if isinstance(owner, str) else None
    # The same work: the folder graded before and a file in it now, or the other way round.
    if owner_path is None or not (owner_path == root or owner_path in root.parents or root in owner_path.parents):
        raise UsageError(f"--json {path}: holds the report of another submission ({owner}); remove it or choose "
                         "another path")


def _printable_streams() -> None:
    """Whatever the console's encoding (cp932, ASCII), printing never raises: what it cannot show is replaced
    (the table's own marks fall back to ASCII, nngrade.reports.terminal)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError, OSError):
            pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The grader's arrays are small: BLAS threads would only spin between its calls, taking a core from the
    # students' children (and from bulk's other workers, which inherit this). Before numpy is imported.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    _printable_streams()
    if argv and argv[0] in INSTRUCTOR_COMMANDS:   # instructors' commands parse the rest themselves
        import importlib
        module = f"{__package__}.{INSTRUCTOR_COMMANDS[argv[0]]}"
        try:
            command = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if module.startswith(f"{exc.name}.") or exc.name == module:
                print(f"error: 'grade.py {argv[0]}' is not part of this copy (a student release)", file=sys.stderr)
            else:   # a dependency the command needs is not installed
                print(f"error: 'grade.py {argv[0]}' needs the module '{exc.name}': pip install -r requirements.txt",
                      file=sys.stderr)
            return EXIT_USAGE
        return command.main(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    servers = None
    try:
        servers = _start_servers(args)
        return _grade(args, servers)
    finally:
        if servers is not None:
            servers.close()


def _start_servers(args: argparse.Namespace):
    """The warm servers of a student's run (nngrade.run.warm.Servers), started before the exercises, numpy and
    pytest are imported: as many as the files to grade, at most one per core but the grader's. None for --watch (it keeps a
    server of its own), where bubblewrap is insisted on and missing (said as a usage error later), and where
    one cannot start at all (the files then run in cold children)."""
    from nngrade.run.sandbox import Unavailable
    from nngrade.run.warm import Servers
    if args.watch:
        return None
    if args.submission is not None and os.path.isfile(args.submission):
        files = 1
    elif args.ids and not any(os.path.isdir(raw) for raw in args.ids):
        files = len(args.ids)   # exercise ids, or one file's path
    else:   # all the exercises: as many as graders/ has graders (by name: loading them is what waits)
        from nngrade.paths import GRADERS
        files = max(1, len(list(GRADERS.glob("test_[0-9]*.py"))))
    try:
        # One core is the grader's own: a server more would take it from the grader's imports (measured on 2 cores:
        # one server for all five beat two by 5%, the dear files running while pytest judges the others).
        cores = max(1, (os.cpu_count() or 1) - 1)
        return Servers(min(files, cores), Limits(timeout=args.timeout, isolation=args.isolation))
    except (Unavailable, OSError):   # OSError: no process or folder for one now; cold children grade instead
        return None


def _grade(args: argparse.Namespace, servers) -> int:
    try:
        args = _paths_as_submission(args)
        ids = exercise_ids(args.ids)
        tasks = find_tasks(ids, bool(args.ids), args.submission)
        data, notices = _load_data(args.data, tasks)
        notices = (*tasks.notices, *notices)
        check_isolation(args.isolation)
        submission = str(args.submission or REPO / "exercises")
        json_path = args.json or _default_json([t.exercise.id for t in tasks], args.submission)
        if args.json is None:
            json_path = _unclaimed(json_path, tasks, submission)
        check_report_path(json_path, tasks, submission)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from nngrade.judge.grading import grade
    from nngrade.reports.report import write_json
    from nngrade.reports.terminal import render, style_for
    style = style_for(sys.stdout, no_colour=args.no_color)
    seed = args.seed if args.seed is not None else secrets.randbelow(2 ** 31)
    from nngrade.judge.oracle import OracleError
    limits = Limits(timeout=args.timeout, isolation=args.isolation)
    if args.watch:
        from nngrade.watch import watch
        try:
            return watch(tasks, seed, data, limits, notices, json_path, style,
                         str(args.submission or REPO / "exercises"))
        except OracleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        report = grade(tasks, seed, data, submission=str(args.submission or REPO / "exercises"),
                       limits=limits, notices=notices, servers=servers)
    except OracleError as exc:   # a student release without stored values for this data file
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        write_json(report, json_path)
    except OSError as exc:
        print(render(report, style=style))
        print(f"error: cannot write the report to {json_path}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    print(render(report, _shown(json_path), style))
    if report.grader_error:   # the grader's own fault, not the submission's: not a grade, and said loudly
        print(f"error: the grader failed, this is not a grade (report {_shown(json_path)}, 'grader_error'): "
              f"{report.grader_error}", file=sys.stderr)
        return EXIT_GRADER_ERROR
    return EXIT_FULL_MARKS if report.score == report.max_score else EXIT_NOT_FULL


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)

"""`python grade.py bulk FOLDER`: grade a whole class, in parallel and resumably, and write the class outputs.

Flow: the output folder is locked -> ingest finds the students -> the ledger says who is graded already
-> worker processes grade the rest (nngrade.bulk.engine, in batches; a batch whose worker dies, or a
submission that meets a failure that is not its own, again one submission at a time) -> this process
writes each report as it arrives -> at the end, the gradebook, the summary and any LMS formats are
rendered from the report files.

What a run promises: a grade is recorded only when the student's code decided it. Anything else (a
worker or a child killed from outside, a sandbox that stops, a full scratch disk, a file that
vanishes or changes while it is copied) leaves the submission "not graded": no row in the gradebook,
graded again by the next run. The isolation level is chosen once, before anyone is graded, and named
on the first line and in the summary; a run never falls back to a weaker one midway. SIGINT, SIGTERM
and SIGHUP stop it the same way: what is graded is saved, the rest is graded by running it again.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from nngrade.bulk import ingest
from nngrade.bulk import ledger
from nngrade.bulk import pool
from nngrade.run import sandbox
from nngrade.bulk import shard
from nngrade.cli import ArgumentParser, UsageError, add_isolation_option, check_output_path, exercise_ids, seconds
from nngrade.cli import seed as seed_type
from nngrade.bulk.engine import Job, fallback_report, grade_batch
from nngrade.judge.exercises import EXERCISES
from nngrade.bulk.progress import Progress, clock
from nngrade.run.runner import Limits
from nngrade.reports.writers import files, gradebook, gradescope, junit, lti, student_html, summary, summary_html

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
FORMATS = ("gradescope", "lti", "junit")
MAX_WORKERS = 512   # a mistake beyond this (each worker is a process with its own sandbox)
PAGES = "students"   # OUT/students/<page_name(id)>.html: each graded student's feedback page
SHOWN_WARNINGS = 20   # about the class folder, on the terminal; the summary lists them all
BATCH_SIZE = 16   # submissions per pytest session in a worker (the session costs ~0.2 s)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(prog="grade.py bulk", description="Grade a folder of submissions, one subfolder, .py or "
                     ".zip per student (Canvas and Gradescope exports understood); re-running grades only what is "
                     "missing or changed.")
    parser.add_argument("folder", type=Path, help="the class folder")
    parser.add_argument("--out", type=Path, help="output folder (default: FOLDER-graded beside FOLDER; with --shard "
                        "K/N, FOLDER-graded/shard-K)")
    parser.add_argument("--exercises", nargs="+", metavar="ID",
                        help="exercise ids to grade (default: the previous run's, else all five)")
    parser.add_argument("--workers", type=_workers, default=min(MAX_WORKERS, (os.cpu_count() or 1) + 1),
                        help="parallel worker processes (default: one more than the cores, %(default)s: a worker "
                             "waiting on an endless loop's time limit leaves its core to the others)")
    parser.add_argument("--seed", type=seed_type, help="seed of the hidden cases, the same for every student "
                        "(default: the previous run's, from OUT/batch.json, else fresh)")
    parser.add_argument("--timeout", type=seconds, help=f"seconds per exercise file (default: the previous run's, "
                        f"else {Limits.timeout:g})")
    parser.add_argument("--data", type=Path, help="the data file of the exercises that read one (default: the "
                        "previous run's, else the real file in data/, else the shipped sample)")
    parser.add_argument("--formats", type=_parse_formats, metavar="LIST",
                        help=f"also write these per-student formats, comma-separated: {', '.join(FORMATS)}, or "
                        "'none' (default: the previous run's; every output is rewritten on every run)")
    parser.add_argument("--hidden-visibility", choices=gradescope.VISIBILITIES,
                        help="Gradescope visibility of hidden cases (default: the previous run's, else after_published)")
    parser.add_argument("--force", action="store_true", help="grade every student again, even if unchanged; and "
                        "grade into an --out that holds another class's grades, or from an empty class folder")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--shard", type=shard.parse, metavar="K/N",
                        help="grade only shard K of N of the class (by student id), into an --out of its own; "
                        "auto/N takes K from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID; combine the shards with "
                        "'grade.py bulk merge OUT SHARD...'")
    add_isolation_option(parser)
    return parser.parse_args(argv)


@dataclass(frozen=True)
class Settings:
    folder: Path
    out: Path
    exercise_ids: tuple[str, ...]
    seed: int
    kept: tuple[str, ...]          # settings taken from the previous run
    timeout: float
    data_path: str | None
    data: dict
    notices: tuple[str, ...]
    workers: int
    formats: tuple[str, ...]
    hidden_visibility: str
    force: bool
    quiet: bool
    recovered_from: str = ""           # batch.json was lost: the settings kept came from this file or folder
    previous_folder: str = ""          # the class folder OUT was last graded from, if known
    isolation: str = sandbox.PROCESS   # the level this run grades at, chosen once (nngrade.run.sandbox.LEVELS)
    shard: shard.Shard | None = None   # grade only this share of the class (nngrade.bulk.shard)
    previous_shard: str | None = None  # the share OUT holds the grades of ("2/4"), None for a whole class


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[2:] if argv is None else argv)
    if argv[:1] == ["merge"]:   # `grade.py bulk merge OUT SHARD...` (a class folder named merge: ./merge)
        from nngrade.bulk import merge
        return merge.main(argv[1:])
    with _Signals() as signals:
        try:
            args = parse_args(argv)
            out = _out_folder(args)
            with ledger.Lock(out):
                settings = _settings(args, out)
                submissions = ingest.discover(settings.folder)
                if settings.shard is not None:
                    submissions = shard.Share(submissions, settings.shard)
                _refuse_to_mix(settings, submissions)
                return Batch(settings, submissions, signals).run()
        except (UsageError, ingest.IngestError, ledger.Locked) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except Interrupted as stop:   # before grading started, or while the outputs were written
            print(f"\ninterrupted ({stop.name}): nothing more was graded; run the same command again",
                  file=sys.stderr)
            return stop.exit_status
        except OSError as exc:
            print(f"error: cannot write {exc.filename or 'the output folder'}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP: stop starting work, keep what is saved, say how to go on."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name
        # 130 as for Ctrl-C, whatever stopped the run; SIGTERM says 143, as `kill` users expect.
        self.exit_status = EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED


class _Signals:
    """SIGINT, SIGTERM and SIGHUP all stop the run as one Ctrl-C does, once.

    The first raises Interrupted; every later one is ignored (a second Ctrl-C while the workers stop
    would otherwise end in a traceback, and a kill of what is being saved). While a report and its
    manifest line are written (`held()`), a signal waits until both are in place.
    """
    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self):
        self.saved: dict = {}
        self.holding = 0
        self.pending: int | None = None
        self.stopped: int | None = None    # the signal that stopped the run

    def __enter__(self) -> "_Signals":
        if threading.current_thread() is threading.main_thread():
            self.saved = {sig: signal.signal(sig, self._handler) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        if self.stopped is not None:
            return    # stopping: a later signal (the second Ctrl-C) finds nothing left to interrupt, up to the exit
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)

    def _handler(self, signum, frame) -> None:
        for sig in self.saved:
            signal.signal(sig, signal.SIG_IGN)
        self.stopped = signum
        if self.holding:
            self.pending = signum
            return
        raise Interrupted(signum)

    class _Held:
        def __init__(self, owner: "_Signals"):
            self.owner = owner

        def __enter__(self):
            self.owner.holding += 1

        def __exit__(self, kind, exc, tb):
            self.owner.holding -= 1
            if not self.owner.holding and self.owner.pending is not None and kind is None:
                raise Interrupted(self.owner.pending)

    def held(self) -> "_Signals._Held":
        return self._Held(self)


def _out_folder(args: argparse.Namespace) -> Path:
    if not args.folder.is_dir():
        raise UsageError(f"{args.folder}: no such folder")
    out = args.out or args.folder.resolve().parent / f"{args.folder.resolve().name}-graded"
    if args.out is None and args.shard is not None:   # the shards side by side, to merge into the folder above them
        out = out / f"shard-{args.shard.index}"
    check_output_path(out, "--out", folder=True)
    if out.resolve() == args.folder.resolve() or args.folder.resolve() in out.resolve().parents:
        raise UsageError(f"--out {out} is inside the class folder: every report would look like a submission")
    return out


def _settings(args: argparse.Namespace, out: Path) -> Settings:
    """The command's options; what it leaves out comes from the output folder's previous run, if any,
    so that re-running the same folder keeps its seed, exercises, time limit and data. Without a
    readable batch.json they are recovered from the manifest and the reports; what cannot be
    recovered must be given: a re-run never picks a new seed or other exercises on its own."""
    given_formats = args.formats
    previous, source = _previous(args, out)
    kept = []
    ids = exercise_ids(args.exercises or [])
    if args.exercises is None and previous.get("exercises"):
        ids, kept = exercise_ids([str(i) for i in previous["exercises"]]), kept + ["exercises"]
    timeout = args.timeout
    if timeout is None:
        timeout = _kept(previous, "timeout", seconds, "--timeout SECONDS") if "timeout" in previous else Limits.timeout
        kept += ["time limit"] if "timeout" in previous else []
    data_path, data, notices = resolve_data(_data_argument(args.data, previous.get("data"), ids), ids)
    if args.seed is not None:
        seed = args.seed
    elif isinstance(previous.get("seed"), int):
        seed, kept = _kept(previous, "seed", seed_type, "--seed N"), ["seed", *kept]
    elif args.shard is not None:
        raise UsageError(f"--shard {args.shard}: give --seed N, the same for every shard (each would pick a fresh "
                         "seed of its own, and shards with other hidden cases cannot be merged)")
    else:
        seed = secrets.randbelow(2 ** 31)
    formats = given_formats if given_formats is not None else _previous_formats(previous, out)
    if given_formats is None and formats:
        kept.append("formats")
    visibility = args.hidden_visibility or (previous.get("hidden_visibility") if previous.get(
        "hidden_visibility") in gradescope.VISIBILITIES else "after_published")
    return Settings(folder=args.folder, out=out, exercise_ids=tuple(ids), seed=seed,
                    kept=tuple(kept), recovered_from=source, previous_folder=_previous_folder(previous, out),
                    timeout=timeout, data_path=data_path, data=data, notices=notices, workers=args.workers,
                    formats=formats, hidden_visibility=visibility, force=args.force, quiet=args.quiet,
                    isolation=isolation_level(args.isolation), shard=args.shard,
                    previous_shard=(shard.read_state(out) or {}).get("shard"))


def _kept(previous: dict, key: str, check, option: str):
    """A setting of the last run, checked as the option would be: a batch.json edited or damaged by hand must
    not slip a time limit of 1e300 (or a seed numpy refuses) past the checks the command line has."""
    try:
        return check(str(previous[key]))
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise UsageError(f"the last run's {key} ({previous[key]!r}) is not valid ({exc}): pass {option}") from None


def _workers(text: str) -> int:
    """An argparse type: a number of worker processes, 1 to MAX_WORKERS."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"'{text}': give 1 to {MAX_WORKERS} worker processes")
    return value


def _parse_formats(text: str | None) -> tuple[str, ...] | None:
    """The formats `--formats` asks for; None when it is not given (then the last run's are kept)."""
    if text is None:
        return None
    formats = tuple(dict.fromkeys(f.strip() for f in text.split(",") if f.strip() and f.strip() != "none"))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UsageError(f"unknown format '{unknown[0]}': choose from {', '.join(FORMATS)}, or none")
    return formats


def _previous_formats(previous: dict, out: Path) -> tuple[str, ...]:
    """The formats the last run wrote: from batch.json, else (it was lost, or older) the format folders OUT holds."""
    remembered = previous.get("formats")
    if isinstance(remembered, list) and all(f in FORMATS for f in remembered):
        return tuple(remembered)
    return tuple(f for f in FORMATS if (out / f).is_dir())


def _previous_folder(previous: dict, out: Path) -> str:
    """The class folder OUT was graded from: batch.json says; without it, the folder every report's
    submission lies in (a report names its submission by its path in the class folder)."""
    if isinstance(previous.get("folder"), str) and previous["folder"]:
        # Written resolved; a relative one (an older batch.json) names a folder from a working folder unknown now.
        return previous["folder"] if os.path.isabs(previous["folder"]) else ""
    if ledger.read_batch(out) is not None:
        return ""
    parents = set()
    for path in sorted((out / "reports").glob("*.json"))[:200]:
        try:
            parents.add(str(Path(json.loads(path.read_text(encoding="utf-8"))["submission"]).resolve().parent))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return parents.pop() if len(parents) == 1 else ""


def _refuse_to_mix(settings: Settings, submissions: ingest.Found) -> None:
    """Refuse, unless --force, a run that would replace a class's outputs by another's: a class folder with
    no submission (it would empty an existing gradebook), or another class than OUT holds (rows mixed)."""
    if settings.force:
        return
    out, folder = settings.out, settings.folder.resolve()
    graded = len(ledger.Ledger(out).records) if (out / ledger.MANIFEST).exists() else 0
    share = f"shard {settings.shard} of " if settings.shard is not None else ""
    if graded and settings.previous_shard != (str(settings.shard) if settings.shard is not None else None):
        held = f"shard {settings.previous_shard} of a class" if settings.previous_shard else "a whole class"
        raise UsageError(f"{out} holds the grades of {held}, not of {share or 'the whole of '}{settings.folder}: "
                         "grading into it would mix them; give each shard an --out of its own (or pass --force)")
    if not list(submissions) and (graded or _has_rows(out / "gradebook.csv")):
        raise UsageError(f"{share}{settings.folder} has no submission, and {out} holds the grades of "
                         f"{graded or 'some'} students: grading it would empty their gradebook; check the folder "
                         "(or pass --force to write an empty gradebook)")
    if settings.previous_folder and Path(settings.previous_folder) != folder:
        raise UsageError(f"{out} holds the grades of another class folder ({settings.previous_folder}), not "
                         f"{folder}: grading this one into it would mix their rows; choose another --out "
                         "(or pass --force)")


def _has_rows(gradebook_csv: Path) -> bool:
    """A gradebook with a student's row (more than the header and the Points Possible row)."""
    try:
        with open(gradebook_csv, encoding="utf-8") as handle:
            return sum(1 for _ in zip(range(3), handle)) > 2
    except OSError:
        return False


def _previous(args: argparse.Namespace, out: Path) -> tuple[dict, str]:
    """The last run's settings and, when batch.json could not give them, where they were recovered from."""
    previous = ledger.read_batch(out)
    if previous is not None and isinstance(previous.get("seed"), int) and isinstance(previous.get("exercises"), list) \
            and isinstance(previous.get("timeout"), (int, float)):
        return previous, ""
    try:
        recovered, source = ledger.recover_settings(out, ledger.Ledger(out).records)
    except ValueError as exc:
        if args.seed is None or args.exercises is None:
            raise UsageError(f"{out / ledger.BATCH} is missing or unreadable, and {exc}: pass --seed and "
                             "--exercises to say which to grade with (or start a new --out)") from None
        return {}, ""
    if recovered and "timeout" not in recovered and args.timeout is None:
        raise UsageError(f"{out / ledger.BATCH} is missing or unreadable and the time limit of the graded reports "
                         f"cannot be recovered: pass --timeout SECONDS (the last run's; {Limits.timeout:g} if it "
                         "was not set)")
    return recovered, source


def _data_argument(given: Path | None, previous: dict | None, ids: list[str]) -> Path | None:
    """The data file to use: the one given, else the last run's; a last run's file that is gone is an error
    unless the default file is the same data (a class is never silently graded on other data)."""
    if given is not None or not isinstance(previous, dict) or not previous.get("path"):
        return given
    if Path(previous["path"]).is_file():
        return Path(previous["path"])
    if any(EXERCISES[i].needs_data for i in ids):
        default = resolve_data(None, ids)[1]
        if default.get("sha256") != previous.get("sha256"):
            raise UsageError(f"the last run's data file {previous['path']} is gone: pass --data with it "
                             "(another file would change every grade of 05 and 08)")
    return None


def resolve_data(path: Path | None, ids: list[str]) -> tuple[str | None, dict, tuple[str, ...]]:
    """(path, what the batch records of it, notices for every report). The notice depends only on the file
    graded with, not on how it was chosen: a first run and a re-run give the same reports."""
    if not any(EXERCISES[i].needs_data for i in ids):
        return None, {}, ()
    from nngrade.data import DataError, _shown, dataset, load, resolve_path, sample_path
    resolved, _ = resolve_path(path)
    try:
        data = load(resolved)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    sample = data.path.resolve() == sample_path().resolve()
    notices = (f"graded with the synthetic sample {_shown(sample_path())}, not the real {dataset().name} data "
               "(python -m nngrade.data download fetches it)",) if sample else ()
    return str(data.path), {"path": str(data.path), "source": data.source, "sha256": data.sha256}, notices


def isolation_level(requested: str) -> str:
    """The one level this run grades at, decided before anyone is graded.

    bulk grades strangers' code: "auto" that would end at the process level is refused, not obeyed;
    only an explicit `--isolation process` grades without the sandbox. As root, "auto" without bubblewrap
    is the "user" level (each file a user id of its own): contained, and said on the terminal.
    """
    if requested == sandbox.PROCESS:
        return sandbox.process_level()
    problem = sandbox.unavailable_reason() or _bubblewrap_problem()
    if problem is None:
        return sandbox.BUBBLEWRAP
    if requested == sandbox.BUBBLEWRAP:
        raise UsageError(f"bubblewrap isolation is not available: {problem}")
    if sandbox.process_level() == sandbox.USER:   # root: each file a user of its own still contains it
        return sandbox.USER
    raise UsageError(f"the bubblewrap sandbox cannot be used here ({problem}); bulk grades other people's code, so "
                     "it does not fall back to the weaker process level on its own: pass --isolation process to "
                     "grade without the sandbox (see the README's Security model)")


def _bubblewrap_problem() -> str | None:
    """Start one sandboxed child on an empty file (no student code): None if the sandbox works here."""
    from nngrade.run.runner import run_file
    with tempfile.TemporaryDirectory(prefix="nngrade-probe-") as folder:
        probe = Path(folder) / "probe.py"
        probe.write_text("")
        os.chmod(folder, 0o755)
        os.chmod(probe, 0o644)
        result = run_file(probe, [], Limits(timeout=30.0, isolation=sandbox.BUBBLEWRAP))
    if result.started and not result.timed_out and result.import_error is None:
        return None
    said = " ".join(result.output.split())[-200:]
    return f"a sandboxed child did not start (exit code {result.exit_code}){': ' + said if said else ''}"


class Batch:
    """One run over a class folder."""

    def __init__(self, settings: Settings, submissions: ingest.Found, signals: "_Signals | None" = None):
        self.settings = settings
        self.submissions = submissions
        self.signals = signals or _Signals()
        self.reports_dir = settings.out / "reports"
        self.grader = ledger.grader_version()
        self.config = ledger.fingerprint({"seed": settings.seed, "exercises": settings.exercise_ids,
                                          "timeout": settings.timeout, "data": settings.data.get("sha256"),
                                          "isolation": settings.isolation})
        self.ledger = ledger.Ledger(settings.out)
        self.contents: dict[str, str] = {}
        self.incomplete: list[str] = []
        self.sandbox_lost = 0    # submissions left ungraded because the sandbox stopped working

    def run(self) -> int:
        s = self.settings
        s.out.mkdir(parents=True, exist_ok=True)
        # As root, children run as other users: the class's work and the outputs (seed, reports) are out of their reach.
        sandbox.wall_off(s.folder, s.out)
        ledger.write_batch(s.out, self.batch_info())
        if isinstance(self.submissions, shard.Share):
            shard.write_state(s.out, self.submissions, finished=False)
        elif (s.out / shard.SHARD_FILE).exists():   # a shard's folder graded whole (--force): no longer a shard
            (s.out / shard.SHARD_FILE).unlink()
        todo = [sub for sub in self.submissions if not self._current(sub, forced=s.force)]
        kept = len(self.submissions) - len(todo)
        students = sum(len(sub.students) for sub in self.submissions)
        share = (f"shard {s.shard}: {students} of {self.submissions.class_info['students']} students in {s.folder}"
                 if isinstance(self.submissions, shard.Share) else f"{students} students in {s.folder}")
        self._say(f"nngrade bulk · isolation {s.isolation} · {share} · exercises "
                  f"{' '.join(s.exercise_ids)} · seed {s.seed} · grader {self.grader}")
        if s.isolation == sandbox.PROCESS:
            self._say("warning: student code runs at the process level, without the bubblewrap sandbox "
                      "(--isolation process): see the README's Security model for what that does not contain")
        elif s.isolation == sandbox.USER:
            self._say("note: no bubblewrap sandbox here; as root, each file runs as a user id of its own, walled off "
                      "from the project, the class folder and the outputs (README, Security model: user)")
        warnings = self.submissions.warnings       # entries skipped, identities renamed: never silently
        for warning in warnings[:SHOWN_WARNINGS]:
            self._say(f"warning: {warning}")
        if len(warnings) > SHOWN_WARNINGS:
            self._say(f"warning: ... and {len(warnings) - SHOWN_WARNINGS} more (all of them in the summary)")
        if s.kept:
            where = (f"recovered from {s.recovered_from}, as {s.out / ledger.BATCH} is missing or unreadable"
                     if s.recovered_from else str(s.out / ledger.BATCH))
            self._say(f"{', '.join(s.kept)} as in the last run ({where}); options change them")
        if kept:
            self._say(f"{kept} of {len(self.submissions)} submissions unchanged since the last run: kept")
        started = time.monotonic()
        try:
            self._grade_all(todo)
        except Interrupted as stop:
            done = sum(1 for sub in self.submissions if self._current(sub))
            print(f"\ninterrupted ({stop.name}): {done} of {len(self.submissions)} submissions graded and saved; "
                  "run the same command again to grade the rest", file=sys.stderr)
            return stop.exit_status
        elapsed = time.monotonic() - started
        self.ledger.compact()
        class_summary = self.write_outputs()
        if isinstance(self.submissions, shard.Share):
            shard.write_state(s.out, self.submissions, finished=True)
        self._report_end(len(todo), kept, elapsed, class_summary)
        return EXIT_INCOMPLETE if self.incomplete else EXIT_OK

    def batch_info(self) -> dict:
        s = self.settings
        return {"seed": s.seed, "exercises": list(s.exercise_ids), "timeout": s.timeout, "data": s.data,
                "grader": self.grader, "config": self.config, "folder": str(s.folder.resolve()),
                "isolation": s.isolation, "hidden_visibility": s.hidden_visibility, "formats": list(s.formats),
                **({"shard": str(s.shard)} if s.shard is not None else {})}

    # --- grading ---------------------------------------------------------------------------------

    def _current(self, submission: ingest.Submission, forced: bool = False) -> bool:
        content = self.contents.get(submission.key) or ingest.content_hash(submission)
        self.contents[submission.key] = content
        return not forced and all(self.ledger.is_current(st.id, content, self.grader, self.config, self._report_path(st.id))
                   for st in submission.students)

    def _job(self, submission: ingest.Submission) -> Job:
        s = self.settings
        return Job(submission=submission, exercise_ids=s.exercise_ids, seed=s.seed, data_path=s.data_path,
                   timeout=s.timeout, notices=s.notices, isolation=s.isolation)

    def _grade_all(self, todo: list[ingest.Submission]) -> None:
        """Batches first; what a dead worker, a bug of ours or a failure outside the student's control stopped
        is graded again alone, once (nngrade.bulk.pool runs a dead worker's jobs alone already)."""
        if not todo:
            return
        progress = Progress(len(todo), enabled=not self.settings.quiet, files_each=len(self.settings.exercise_ids))
        workers = min(self.settings.workers, len(todo))
        jobs = [self._job(sub) for sub in todo]
        # Batches share one pytest session in the worker; small enough that every worker gets several.
        size = max(1, min(BATCH_SIZE, len(jobs) // (2 * workers)))
        batches = [tuple(jobs[i:i + size]) for i in range(0, len(jobs), size)]
        again = []
        try:
            results = pool.run(grade_batch, batches, workers)
            try:
                for batch, outcomes, failure in results:
                    if failure is not None:
                        again.extend(batch)
                        continue
                    for job, outcome in zip(batch, outcomes):
                        if outcome.failure is not None:
                            again.append(job)
                        else:
                            self._store(job.submission, outcome.report, outcome.content)
                            progress.advance()
            finally:
                results.close()
            self._grade_alone(again, workers, progress)
        finally:
            progress.close()

    def _grade_alone(self, jobs: list[Job], workers: int, progress: Progress) -> None:
        """Each submission in a batch of its own: graded, or left ungraded with the reason (never a 0 for it)."""
        if not jobs:
            return
        results = pool.run(grade_batch, [(job,) for job in jobs], min(workers, len(jobs)))
        try:
            for (job,), outcomes, failure in results:
                outcome = outcomes[0] if failure is None else None
                if outcome is not None and outcome.failure is None:
                    self._store(job.submission, outcome.report, outcome.content)
                else:
                    reason = outcome.failure if outcome is not None else (
                        "the process grading it died twice (out of memory, or killed from outside)"
                        if failure == pool.KILLED else f"{type(failure).__name__}: {failure}"[:300])
                    self._not_graded(job, reason)
                progress.advance()
        finally:
            results.close()

    def _not_graded(self, job: Job, reason: str) -> None:
        if self.settings.isolation == sandbox.BUBBLEWRAP and "grading server" in reason:
            self.sandbox_lost += 1
            if self.sandbox_lost == 1:
                print(f"\nwarning: the bubblewrap sandbox stopped working ({reason}); submissions are left "
                      "ungraded rather than graded without it: fix the sandbox and run the same command again",
                      file=sys.stderr, flush=True)
        if all(self._graded_before(student.id) for student in job.submission.students):
            self.incomplete.append(job.submission.key)   # the last real grade stands; the next run tries again
            return
        self._store(job.submission, fallback_report(job, reason), None)

    def _graded_before(self, student_id: str) -> bool:
        record = self.ledger.records.get(student_id)
        return bool(record and record.get("complete") is True
                    and record.get("report_sha256") == ledger.file_sha256(self._report_path(student_id)))

    def _store(self, submission: ingest.Submission, report: dict, content: str | None) -> None:
        """The report first (atomically), then its record: a kill in between only costs a re-grade.

        `content`: the sha256 of the snapshot graded; None when it could not be graded (the record says
        so, and the next run grades it again). A signal waits until both are written.
        """
        complete = content is not None
        s = self.settings
        with self.signals.held():
            for student in submission.students:
                text = files.write_json(self._report_path(student.id), report)
                self.ledger.append({
                    "student": student.id, "submission": submission.key,
                    "content": content or self.contents[submission.key],
                    "grader": self.grader, "config": self.config, "report_sha256": ledger.sha256_text(text),
                    "complete": complete, "score": report["score"], "max_score": report["max_score"],
                    "seconds": report["timings"].get("total_seconds"),
                    "settings": {"seed": s.seed, "exercises": list(s.exercise_ids), "timeout": s.timeout,
                                 "data": s.data},
                    "graded_at": lti.iso_timestamp(datetime.now(timezone.utc))})
        if not complete:
            self.incomplete.append(submission.key)
        else:
            self.contents[submission.key] = content

    def _report_path(self, student_id: str) -> Path:
        return self.reports_dir / f"{student_id}.json"

    # --- class outputs ---------------------------------------------------------------------------

    def _students(self, graded: bool = True):
        """(student, report) for every student of the folder with a grade (`graded`), or without one."""
        for submission in self.submissions:
            for student in submission.students:
                if (self.ledger.records.get(student.id, {}).get("complete") is True) == graded:
                    with open(self._report_path(student.id), encoding="utf-8") as handle:
                        yield student, json.load(handle)

    def _ungraded(self) -> list[str]:
        return [student.id for submission in self.submissions for student in submission.students
                if self.ledger.records.get(student.id, {}).get("complete") is not True]

    def exercises(self) -> list[dict]:
        return [{"id": e.id, "title": e.title, "max_score": e.max_score}
                for e in (EXERCISES[i] for i in self.settings.exercise_ids)]

    def write_outputs(self) -> dict:
        """Every output of the folder, rendered again from the current reports, on every run (a re-run that
        grades nobody included): nothing in OUT ever says another grade than the reports. Only graded
        students count: one left ungraded has no row and no score (its LTI score says "Failed"), so that an
        import never records a 0 the student did not earn."""
        out, exercises = self.settings.out, self.exercises()
        files.write_csv(out / "gradebook.csv", gradebook.to_rows(
            exercises, ((asdict(student), report) for student, report in self._students())))
        batch = {**self.batch_info(), "not_graded": self._ungraded(), "generated_at": lti.iso_timestamp(),
                 "warnings": list(self.submissions.warnings)}
        pages: set[str] = set()
        class_summary = summary.to_summary(self._with_pages(pages), exercises, batch, (
            ({"id": student.id, "name": student.name}, report) for student, report in self._students(graded=False)))
        files.write_json(out / "summary.json", class_summary)
        files.write_text(out / "summary.html", summary_html.to_html(class_summary))
        removed = _stale_files(out / PAGES, pages, (".html",)) + self._write_formats()
        for path in removed:
            path.unlink(missing_ok=True)
        for name in FORMATS:
            if name not in self.settings.formats and (out / name).is_dir() and not any((out / name).iterdir()):
                (out / name).rmdir()
        if removed:
            shown = ", ".join(str(p.relative_to(out)) for p in removed[:5]) + (", ..." if len(removed) > 5 else "")
            self._say(f"removed {len(removed)} per-student file{'s' * (len(removed) != 1)} that no current grade "
                      f"backs (a student no longer in {self.settings.folder} or not graded now, or a format no "
                      f"longer chosen): {shown}")
        return class_summary

    def _with_pages(self, written: set[str]):
        """(student, report) of every graded student, for the summary, its feedback page written on the way
        (one report in memory at a time); the names written are added to `written`."""
        hidden_shown = self.settings.hidden_visibility != "hidden"
        for student, report in self._students():
            name = student_html.page_name(student.id)
            files.write_text(self.settings.out / PAGES / name,
                             student_html.to_html(report, {"id": student.id, "name": student.name}, hidden_shown))
            written.add(name)
            yield {"id": student.id, "name": student.name, "page": f"{PAGES}/{name}"}, report

    def _write_formats(self) -> list[Path]:
        """The per-student files of the chosen formats, for every student of the folder; returns any other file
        in a format folder (a student no longer in the class, or ungraded now; a format no longer chosen), which
        the caller removes, and says: an upload of that folder must hold only current grades."""
        out, formats = self.settings.out, self.settings.formats
        written: dict[str, set[str]] = {name: set() for name in FORMATS}
        if "lti" in formats:
            for student, report in self._students(graded=False):
                files.write_json(out / "lti" / f"{student.id}.json", lti.to_lti_score(
                    report, student.id, lti.iso_timestamp(), complete=False))
                written["lti"].add(f"{student.id}.json")
        for student, report in self._students():
            graded_at = self.ledger.records.get(student.id, {}).get("graded_at") or lti.iso_timestamp()
            if "gradescope" in formats:
                files.write_json(out / "gradescope" / f"{student.id}.json",
                                 gradescope.to_gradescope(report, self.settings.hidden_visibility))
                written["gradescope"].add(f"{student.id}.json")
            if "lti" in formats:
                files.write_json(out / "lti" / f"{student.id}.json", lti.to_lti_score(report, student.id, graded_at))
                written["lti"].add(f"{student.id}.json")
            if "junit" in formats:
                files.write_text(out / "junit" / f"{student.id}.xml", junit.to_junit(report, graded_at))
                written["junit"].add(f"{student.id}.xml")
        return [path for name in FORMATS for path in _stale_files(out / name, written[name])]

    def _report_end(self, graded: int, kept: int, elapsed: float, class_summary: dict) -> None:
        workers = min(self.settings.workers, graded)
        rate = f" ({graded / elapsed:.1f}/s, {workers} worker{'s' * (workers != 1)})" if graded and elapsed > 0 else ""
        print("\n".join([f"graded {graded} submission{'s' * (graded != 1)} in {clock(elapsed)}{rate}; "
                         f"{kept} kept from the last run", *self.outcome_lines(class_summary)]))

    def outcome_lines(self, class_summary: dict, again: str = "run the same command again") -> list[str]:
        """What the outputs say, and where they are: the end of a run (and of a merge of shards)."""
        s, scores, out = self.settings, class_summary["scores"], self.settings.out
        lines = []
        if class_summary["students"]:
            lines.append(f"scores: mean {round(scores['mean'], 1):g} / {class_summary['max_score']:g}, "
                         f"median {scores['median']:g}; {scores['full_marks']} with full marks, "
                         f"{class_summary['nothing_gradable']} with nothing gradable")
        if self.incomplete:
            lines.append(f"could not grade {len(self.incomplete)} submission{'s' * (len(self.incomplete) != 1)} "
                         f"({', '.join(self.incomplete[:5])}{', ...' if len(self.incomplete) > 5 else ''}) for "
                         "reasons that are not the students' (their reports say why; no 0 was recorded for them): "
                         f"{again} to grade them")
        if s.isolation == sandbox.PROCESS:
            lines.append("isolation: process level, without the bubblewrap sandbox (--isolation process)")
        if self.submissions.warnings:
            lines.append(f"{len(self.submissions.warnings)} warnings about the class folder (above, and in the summary)")
        lines += [f"{'reports:':<12}{self.reports_dir}{os.sep} ({class_summary['students']})",
                  f"{'gradebook:':<12}{out / 'gradebook.csv'}",
                  f"{'summary:':<12}{out / 'summary.json'}, {out / 'summary.html'}",
                  f"{'pages:':<12}{out / PAGES}{os.sep} ({class_summary['students']}, one per student)"]
        lines += [f"{name + ':':<12}{out / name}{os.sep}" for name in s.formats]
        return lines

    def _say(self, line: str) -> None:
        print(line, flush=True)


def _stale_files(folder: Path, current: set[str], suffixes: tuple[str, ...] = (".json", ".xml")) -> list[Path]:
    """The per-student files in a format folder (`<id>.json`, `<id>.xml`), or of feedback pages, not `current`."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix in suffixes and p.name not in current)

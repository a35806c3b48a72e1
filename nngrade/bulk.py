"""`python grade.py bulk FOLDER`: grade a whole class, in parallel and resumably, and write the class outputs.

Flow: ingest finds the students -> the ledger says who is graded already -> worker processes grade
the rest (nngrade.engine, in batches; a batch whose worker dies, one submission at a time) -> this process writes each report as it arrives
-> at the end, the gradebook, the summary and any LMS formats are rendered from the report files.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import ingest, ledger, pool
from .cli import ArgumentParser, UsageError, add_isolation_option, check_isolation, exercise_ids, seconds, seed
from .engine import Job, fallback_report, grade_batch, grade_submission
from .exercises import EXERCISES
from .progress import Progress, clock
from .runner import Limits
from .writers import files, gradebook, gradescope, junit, lti, summary, summary_html

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
FORMATS = ("gradescope", "lti", "junit")
SHOWN_WARNINGS = 20   # about the class folder, on the terminal; the summary lists them all
BATCH_SIZE = 16   # submissions per pytest session in a worker (the session costs ~0.2 s)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(prog="grade.py bulk", description="Grade a folder of submissions, one subfolder, .py or "
                     ".zip per student (Canvas and Gradescope exports understood); re-running grades only what is "
                     "missing or changed.")
    parser.add_argument("folder", type=Path, help="the class folder")
    parser.add_argument("--out", type=Path, help="output folder (default: FOLDER-graded beside FOLDER)")
    parser.add_argument("--exercises", nargs="+", metavar="ID",
                        help="exercise ids to grade (default: the previous run's, else all five)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="parallel worker processes (default: the number of cores, %(default)s)")
    parser.add_argument("--seed", type=seed, help="seed of the hidden cases, the same for every student "
                        "(default: the previous run's, from OUT/batch.json, else fresh)")
    parser.add_argument("--timeout", type=seconds, help=f"seconds per exercise file (default: the previous run's, "
                        f"else {Limits.timeout:g})")
    parser.add_argument("--data", type=Path, help="admissions CSV for 05 and 08 (default: the previous run's, "
                        "else data/binary.csv, else the sample)")
    parser.add_argument("--formats", default="", metavar="LIST",
                        help=f"also write these per-student formats, comma-separated: {', '.join(FORMATS)}")
    parser.add_argument("--hidden-visibility", default="after_published", choices=gradescope.VISIBILITIES,
                        help="Gradescope visibility of hidden cases (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="grade every student again, even if unchanged")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
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
    isolation: str = "auto"


def main(argv: list[str] | None = None) -> int:
    try:
        settings = _settings(parse_args(list(sys.argv[2:] if argv is None else argv)))
        submissions = ingest.discover(settings.folder)
    except (UsageError, ingest.IngestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return Batch(settings, submissions).run()
    except OSError as exc:
        print(f"error: cannot write {exc.filename or settings.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


def _settings(args: argparse.Namespace) -> Settings:
    """The command's options; what it leaves out comes from the output folder's previous run, if any,
    so that re-running the same folder keeps its seed, exercises, time limit and data."""
    if not args.folder.is_dir():
        raise UsageError(f"{args.folder}: no such folder")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UsageError(f"unknown format '{unknown[0]}': choose from {', '.join(FORMATS)}")
    out = args.out or args.folder.resolve().parent / f"{args.folder.resolve().name}-graded"
    if out.resolve() == args.folder.resolve() or args.folder.resolve() in out.resolve().parents:
        raise UsageError(f"--out {out} is inside the class folder: every report would look like a submission")
    previous = ledger.read_batch(out) or {}
    kept = []
    ids = exercise_ids(args.exercises or [])
    if args.exercises is None and previous.get("exercises"):
        ids, kept = exercise_ids([str(i) for i in previous["exercises"]]), kept + ["exercises"]
    timeout = args.timeout
    if timeout is None:
        timeout = previous.get("timeout") if isinstance(previous.get("timeout"), (int, float)) else Limits.timeout
        kept += ["time limit"] if "timeout" in previous else []
    check_isolation(args.isolation)
    data_arg = args.data
    if data_arg is None and previous.get("data", {}).get("path") and Path(previous["data"]["path"]).is_file():
        data_arg = Path(previous["data"]["path"])
    data_path, data, notices = resolve_data(data_arg, ids)
    if args.seed is not None:
        seed = args.seed
    elif isinstance(previous.get("seed"), int):
        seed, kept = previous["seed"], ["seed", *kept]
    else:
        seed = secrets.randbelow(2 ** 31)
    return Settings(folder=args.folder, out=out, exercise_ids=tuple(ids), seed=seed, kept=tuple(kept),
                    timeout=timeout, data_path=data_path, data=data, notices=notices, workers=args.workers,
                    formats=formats, hidden_visibility=args.hidden_visibility, force=args.force, quiet=args.quiet,
                    isolation=args.isolation)


def resolve_data(path: Path | None, ids: list[str]) -> tuple[str | None, dict, tuple[str, ...]]:
    if not any(EXERCISES[i].needs_data for i in ids):
        return None, {}, ()
    from .data import DataError, load_admissions, resolve_path
    resolved, notice = resolve_path(path)
    try:
        data = load_admissions(resolved)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    return str(data.path), {"path": str(data.path), "source": data.source, "sha256": data.sha256}, \
        ((notice,) if notice else ())


class Batch:
    """One run over a class folder."""

    def __init__(self, settings: Settings, submissions: ingest.Found):
        self.settings = settings
        self.submissions = submissions
        self.reports_dir = settings.out / "reports"
        self.grader = ledger.grader_version()
        self.config = ledger.fingerprint({"seed": settings.seed, "exercises": settings.exercise_ids,
                                          "timeout": settings.timeout, "data": settings.data.get("sha256")})
        self.ledger = ledger.Ledger(settings.out)
        self.contents: dict[str, str] = {}
        self.incomplete: list[str] = []

    def run(self) -> int:
        s = self.settings
        s.out.mkdir(parents=True, exist_ok=True)
        ledger.write_batch(s.out, self.batch_info())
        todo = [sub for sub in self.submissions if not self._current(sub, forced=s.force)]
        kept = len(self.submissions) - len(todo)
        students = sum(len(sub.students) for sub in self.submissions)
        self._say(f"nngrade bulk · {students} students in {s.folder} · exercises {' '.join(s.exercise_ids)} · "
                  f"seed {s.seed} · grader {self.grader}")
        warnings = self.submissions.warnings       # entries skipped, identities renamed: never silently
        for warning in warnings[:SHOWN_WARNINGS]:
            self._say(f"warning: {warning}")
        if len(warnings) > SHOWN_WARNINGS:
            self._say(f"warning: ... and {len(warnings) - SHOWN_WARNINGS} more (all of them in the summary)")
        if s.kept:
            self._say(f"{', '.join(s.kept)} as in the last run ({s.out / ledger.BATCH}); options change them")
        if kept:
            self._say(f"{kept} of {len(self.submissions)} submissions unchanged since the last run: kept")
        started = time.monotonic()
        try:
            self._grade_all(todo)
        except KeyboardInterrupt:
            done = sum(1 for sub in self.submissions if self._current(sub))
            print(f"\ninterrupted: {done} of {len(self.submissions)} submissions graded and saved; "
                  "run the same command again to grade the rest", file=sys.stderr)
            return EXIT_INTERRUPTED
        elapsed = time.monotonic() - started
        self.ledger.compact()
        class_summary = self.write_outputs()
        self._report_end(len(todo), kept, elapsed, class_summary)
        return EXIT_INCOMPLETE if self.incomplete else EXIT_OK

    def batch_info(self) -> dict:
        s = self.settings
        return {"seed": s.seed, "exercises": list(s.exercise_ids), "timeout": s.timeout, "data": s.data,
                "grader": self.grader, "config": self.config, "folder": str(s.folder),
                "hidden_visibility": s.hidden_visibility}

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
        if not todo:
            return
        progress = Progress(len(todo), enabled=not self.settings.quiet)
        workers = min(self.settings.workers, len(todo))
        jobs = [self._job(sub) for sub in todo]
        # Batches share one pytest session in the worker; small enough that every worker gets several.
        size = max(1, min(BATCH_SIZE, len(jobs) // (2 * workers)))
        batches = [tuple(jobs[i:i + size]) for i in range(0, len(jobs), size)]
        alone = []
        try:
            results = pool.run(grade_batch, batches, workers)
            try:
                for batch, reports, failure in results:
                    if failure is not None:   # one of them killed its worker, or a bug of ours: one by one
                        alone.extend(batch)
                        continue
                    for job, report in zip(batch, reports):
                        self._store(job.submission, report, True)
                        progress.advance()
            finally:
                results.close()
            self._grade_alone(alone, workers, progress)
        finally:
            progress.close()

    def _grade_alone(self, jobs: list[Job], workers: int, progress: Progress) -> None:
        """Each submission in a worker of its own turn: the one that kills its worker is known and scored."""
        if not jobs:
            return
        results = pool.run(grade_submission, jobs, min(workers, len(jobs)))
        try:
            for job, report, failure in results:
                complete = failure is None
                if failure == pool.KILLED:   # the student's code killed its worker: a grade, not our failure
                    report, complete = fallback_report(job, "grading stopped: this submission killed or crashed "
                                                       "the process grading it", retry=False), True
                elif failure is not None:    # a bug of ours: say so, grade the others, retry it next run
                    report = fallback_report(job, f"{type(failure).__name__}: {failure}"[:300])
                self._store(job.submission, report, complete)
                progress.advance()
        finally:
            results.close()

    def _store(self, submission: ingest.Submission, report: dict, complete: bool) -> None:
        """The report first (atomically), then its record: a kill in between only costs a re-grade."""
        for student in submission.students:
            text = files.write_json(self._report_path(student.id), report)
            self.ledger.append({
                "student": student.id, "submission": submission.key, "content": self.contents[submission.key],
                "grader": self.grader, "config": self.config, "report_sha256": ledger.sha256_text(text),
                "complete": complete, "score": report["score"], "max_score": report["max_score"],
                "seconds": report["timings"].get("total_seconds"),
                "graded_at": lti.iso_timestamp(datetime.now(timezone.utc))})
        if not complete:
            self.incomplete.append(submission.key)

    def _report_path(self, student_id: str) -> Path:
        return self.reports_dir / f"{student_id}.json"

    # --- class outputs ---------------------------------------------------------------------------

    def _students(self):
        """(student, report) for every student of the folder, reading one report at a time."""
        import json
        for submission in self.submissions:
            for student in submission.students:
                with open(self._report_path(student.id), encoding="utf-8") as handle:
                    yield student, json.load(handle)

    def exercises(self) -> list[dict]:
        return [{"id": e.id, "title": e.title, "max_score": e.max_score}
                for e in (EXERCISES[i] for i in self.settings.exercise_ids)]

    def write_outputs(self) -> dict:
        out, exercises = self.settings.out, self.exercises()
        files.write_csv(out / "gradebook.csv", gradebook.to_rows(
            exercises, ((asdict(student), report) for student, report in self._students())))
        batch = {**self.batch_info(), "generated_at": lti.iso_timestamp(), "warnings": list(self.submissions.warnings)}
        class_summary = summary.to_summary((report for _, report in self._students()), exercises, batch)
        files.write_json(out / "summary.json", class_summary)
        files.write_text(out / "summary.html", summary_html.to_html(class_summary))
        if self.settings.formats:
            self._write_formats()
        return class_summary

    def _write_formats(self) -> None:
        out, formats = self.settings.out, self.settings.formats
        for student, report in self._students():
            record = self.ledger.records.get(student.id, {})
            if "gradescope" in formats:
                files.write_json(out / "gradescope" / f"{student.id}.json",
                                 gradescope.to_gradescope(report, self.settings.hidden_visibility))
            if "lti" in formats:
                files.write_json(out / "lti" / f"{student.id}.json", lti.to_lti_score(
                    report, student.id, record.get("graded_at") or lti.iso_timestamp(),
                    complete=record.get("complete", True)))
            if "junit" in formats:
                files.write_text(out / "junit" / f"{student.id}.xml", junit.to_junit(report, f"nngrade {student.id}"))

    def _report_end(self, graded: int, kept: int, elapsed: float, class_summary: dict) -> None:
        s, scores, out = self.settings, class_summary["scores"], self.settings.out
        workers = min(s.workers, graded)
        rate = f" ({graded / elapsed:.1f}/s, {workers} worker{'s' * (workers != 1)})" if graded and elapsed > 0 else ""
        lines = [f"graded {graded} submission{'s' * (graded != 1)} in {clock(elapsed)}{rate}; "
                 f"{kept} kept from the last run"]
        if class_summary["students"]:
            lines.append(f"scores: mean {round(scores['mean'], 1):g} / {class_summary['max_score']:g}, "
                         f"median {scores['median']:g}; {scores['full_marks']} with full marks, "
                         f"{class_summary['nothing_gradable']} with nothing gradable")
        if self.incomplete:
            lines.append(f"could not grade {len(self.incomplete)} submissions ({', '.join(self.incomplete[:5])}"
                         f"{', ...' if len(self.incomplete) > 5 else ''}): their reports say why; re-run to retry")
        if self.submissions.warnings:
            lines.append(f"{len(self.submissions.warnings)} warnings about the class folder (above, and in the summary)")
        lines += [f"{'reports:':<12}{self.reports_dir}{os.sep} ({class_summary['students']})",
                  f"{'gradebook:':<12}{out / 'gradebook.csv'}",
                  f"{'summary:':<12}{out / 'summary.json'}, {out / 'summary.html'}"]
        lines += [f"{name + ':':<12}{out / name}{os.sep}" for name in s.formats]
        print("\n".join(lines))

    def _say(self, line: str) -> None:
        print(line, flush=True)

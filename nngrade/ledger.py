"""What a bulk run has graded, so that a re-run grades only what is missing or changed.

`OUT/batch.json` holds the batch's settings (seed, exercises, time limit, data, grader version),
written atomically. `OUT/manifest.jsonl` gets one line per graded student, appended and fsynced
only after that student's report is in place. A line counts only if the report it names still has
the sha256 the line recorded, and a line cut short by a kill is ignored: whatever the moment of a
crash, each student is either graded (report and line agree) or graded again by the next run.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from . import __version__
from .writers.files import write_json

REPO = Path(__file__).resolve().parent.parent
MANIFEST, BATCH = "manifest.jsonl", "batch.json"


def grader_version() -> str:
    """nngrade's version plus a hash of everything that decides a grade: references, graders, specs."""
    digest = hashlib.sha256()
    files = [*sorted((REPO / "reference").glob("*.py")), *sorted((REPO / "graders").glob("*.py")),
             REPO / "nngrade" / "exercises.py"]
    for path in files:
        digest.update(f"{path.relative_to(REPO).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def fingerprint(settings: dict) -> str:
    """A short hash of the settings that change every student's grade (seed, exercises, time limit, data)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def read_batch(out: Path) -> dict | None:
    try:
        batch = json.loads((out / BATCH).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return batch if isinstance(batch, dict) else None


def write_batch(out: Path, batch: dict) -> None:
    write_json(out / BATCH, batch)


class Ledger:
    """The manifest of one output folder: the latest record per student id."""

    def __init__(self, out: Path):
        self.path = out / MANIFEST
        self.records: dict[str, dict] = {}
        self._load()

    def _load(self) -> None:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue          # a line cut short by a kill, or garbage: not a record
                    if isinstance(record, dict) and isinstance(record.get("student"), str):
                        self.records[record["student"]] = record
        except FileNotFoundError:
            pass

    def is_current(self, student_id: str, content: str, grader: str, config: str, report: Path) -> bool:
        """Graded already, from this content, by this grader, with these settings, and its report intact."""
        record = self.records.get(student_id)
        return (record is not None and record.get("complete") is True and record.get("content") == content
                and record.get("grader") == grader and record.get("config") == config
                and record.get("report_sha256") == file_sha256(report))

    def append(self, record: dict) -> None:
        """Append one record durably; a previous line cut short is closed first so that this one parses."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True) + "\n"
        with open(self.path, "a+b") as handle:
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        self.records[record["student"]] = record

    def compact(self) -> None:
        """Rewrite the manifest with only the latest record per student (atomically)."""
        from .writers.files import write_text
        write_text(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.records.values()))

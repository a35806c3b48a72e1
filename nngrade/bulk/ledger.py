"""What a bulk run has graded, so that a re-run grades only what is missing or changed.

`OUT/batch.json` holds the batch's settings (seed, exercises, time limit, data, grader version),
written atomically. `OUT/manifest.jsonl` gets one line per graded student, appended and fsynced
only after that student's report is in place. A line counts only if the report it names still has
the sha256 the line recorded, and a line cut short by a kill is ignored: whatever the moment of a
crash, each student is either graded (report and line agree) or graded again by the next run.
Every line also carries the settings it was graded with, so that a lost batch.json is recovered
from the manifest (`recover_settings`) instead of silently replaced by fresh ones.

`OUT/bulk.lock` is held (flock) by the run grading into OUT, and names its pid and host: a second
run on the same folder is refused instead of grading the class twice at once.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

from nngrade import __version__
from nngrade.reports.writers.files import write_json
from nngrade.paths import REPO

MANIFEST, BATCH, LOCK = "manifest.jsonl", "batch.json", "bulk.lock"
# What decides a grade: the grader's code (specs, cases, judging, the child, the sandbox), the graders, the
# references and the shipped data. Every .py of them, not a hand-kept list: a list misses the next file.
GRADER_FILES = (("nngrade", "**/*.py"), ("graders", "**/*.py"), ("reference", "**/*.py"), ("data", "*.csv"))


def grader_version() -> str:
    """nngrade's version plus a hash of every file that decides a grade (GRADER_FILES)."""
    digest = hashlib.sha256()
    files = sorted({path for folder, pattern in GRADER_FILES for path in (REPO / folder).glob(pattern)
                    if path.is_file() and "__pycache__" not in path.parts})
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


SETTINGS = ("seed", "exercises", "timeout", "data")   # what a record keeps of its batch's settings


def recover_settings(out: Path, records: dict[str, dict]) -> tuple[dict, str]:
    """The settings of OUT's last run when batch.json is gone or unreadable: from the manifest's newest
    record (each carries its settings), else what every report agrees on (seed, exercises, data; a
    report does not say its time limit). Returns (settings, where they came from); ({}, "") if OUT
    has no graded student. Raises ValueError when the reports disagree (only the user can choose)."""
    newest = max((r for r in records.values() if isinstance(r.get("settings"), dict)),
                 key=lambda r: str(r.get("graded_at", "")), default=None)
    if newest is not None:
        return {k: v for k, v in newest["settings"].items() if k in SETTINGS}, str(out / MANIFEST)
    seen: dict[str, set] = {"seed": set(), "exercises": set(), "data": set()}
    for path in sorted((out / "reports").glob("*.json")):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
            seen["seed"].add(report["seed"])
            seen["exercises"].add(tuple(str(e["id"]) for e in report["exercises"]))
            seen["data"].add(json.dumps(report.get("data") or {}, sort_keys=True))
        except (OSError, ValueError, KeyError, TypeError):
            continue    # not one of ours
    if not seen["seed"]:
        return {}, ""
    for name, values in seen.items():
        if len(values) > 1:
            raise ValueError(f"the reports in {out / 'reports'} were graded with different {name}")
    settings = {"seed": seen["seed"].pop(), "exercises": list(seen["exercises"].pop())}
    data = json.loads(seen["data"].pop())
    if data:
        settings["data"] = data
    return settings, str(out / "reports")


class Locked(Exception):
    """Another run holds OUT's lock; the message names it."""


class Lock:
    """An exclusive, advisory lock on an output folder: `OUT/bulk.lock`, flock'ed, naming pid and host.

    flock is released by the kernel when its holder dies, however it dies, so a kill -9 leaves no
    lock behind. The pid and host in the file are for the message, and a second guard where flock
    cannot be trusted (a file written by a run on this host whose pid is still alive is respected;
    one whose pid is dead is taken over; one from another host is taken over only by its flock).
    """

    def __init__(self, out: Path):
        self.path = out / LOCK
        self.handle = None

    def __enter__(self) -> "Lock":
        try:
            import fcntl
        except ImportError:     # Windows: the pid and host in the file are the only guard
            fcntl = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(self.path, "a+", encoding="utf-8")
            try:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                owner = self._owner(handle)
                handle.close()
                raise Locked(f"{self.path.parent} is being graded by another run ({owner}); wait for it to end, "
                             f"or stop it, then run this again") from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:     # not a file its previous holder removed as we opened it
                break
            handle.close()
        owner = self._read(handle)
        if owner.get("host") == socket.gethostname() and _alive(owner.get("pid")):
            handle.close()
            raise Locked(f"{self.path.parent} is being graded by another run ({self._owner_text(owner)}); wait "
                         f"for it to end, or stop it (if no such run exists, delete {self.path}), then run this again")
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}) + "\n")
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            try:
                self.path.unlink()   # before unlocking: a run that opens it now finds another inode, and retries
            except OSError:
                pass
            self.handle.close()
            self.handle = None

    @staticmethod
    def _read(handle) -> dict:
        handle.seek(0)
        try:
            owner = json.loads(handle.read() or "{}")
        except ValueError:
            return {}
        return owner if isinstance(owner, dict) else {}

    def _owner(self, handle) -> str:
        return self._owner_text(self._read(handle))

    @staticmethod
    def _owner_text(owner: dict) -> str:
        return f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}, see {LOCK}"


def _alive(pid) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        from nngrade.reports.writers.files import write_text
        write_text(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.records.values()))

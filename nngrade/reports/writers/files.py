"""Writing output files atomically: a reader, or a re-run after a kill, never sees half a file."""
from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

from nngrade.run import untrusted


def _file_mode() -> int:
    """What a plain open() would create: mkstemp's 0600 would hide reports from the other instructors."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _file_mode()


class _Atomic:
    """Open a temporary file beside `path`; on success fsync and rename it over `path`, else remove it."""

    def __init__(self, path: Path, newline: str | None = None):
        self.path, self.newline = path, newline

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        os.chmod(self.tmp, _MODE)
        self.handle = os.fdopen(fd, "w", encoding="utf-8", newline=self.newline)
        return self.handle

    def __exit__(self, kind, exc, tb):
        try:
            if kind is None:
                self.handle.flush()
                os.fsync(self.handle.fileno())
            self.handle.close()
            if kind is None:
                os.replace(self.tmp, self.path)
        finally:
            Path(self.tmp).unlink(missing_ok=True)   # gone already after a successful rename
        return False


# A lone surrogate cannot be encoded as UTF-8: one in any text would stop the writer (and a bulk run).
_SURROGATE = re.compile("[\ud800-\udfff]")
# A cell a spreadsheet would run as a formula starts with =, +, -, @ or their full-width forms, perhaps after
# spaces (a tab or a line break before one is a space once the cell is one line of clean text).
_FORMULA = re.compile("\\s*[=+\\-@\uff1d\uff0b\uff0d\uff20]")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def write_text(path: Path, text: str) -> str:
    """Write `text` (any lone surrogate as U+FFFD); returns the text written."""
    text = _SURROGATE.sub("\ufffd", text)
    with _Atomic(path) as handle:
        handle.write(text)
    return text


def write_json(path: Path, data: dict | list) -> str:
    """Write `data` as indented JSON; returns the text written (its hash is what the ledger records)."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_csv(path: Path, rows: Iterable[list[str]]) -> int:
    """Stream rows into a UTF-8 CSV file (no byte-order mark: LMS importers read the header literally).

    Every cell is safe to open in a spreadsheet: one line of clean text, and one that would start a formula
    (a student's name `=HYPERLINK(...)`, `@SUM(...)`) is prefixed with an apostrophe, as OWASP recommends;
    numbers stay numbers.
    """
    count = 0
    with _Atomic(path, newline="") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow([csv_cell(cell) for cell in row])
            count += 1
    return count


def csv_cell(value: object) -> str:
    """One line of safe text (nngrade.run.untrusted), that no spreadsheet runs as a formula."""
    text = untrusted.text(value)
    return "'" + text if _FORMULA.match(text) and not _NUMBER.fullmatch(text) else text

"""The data files exercises read: load and validate against the declared columns, synthesize a sample, download.

What a data set is (its file, checksum, addresses, columns, sample) is declared beside the graders
(nngrade.spec.Dataset); nothing here knows a lesson's columns.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from nngrade.spec import Column, Dataset
from nngrade.paths import DATA, REPO

# No pandas here: it adds ~0.4 s to every grader run, and students run the grader after every edit.

DATA_DIR = DATA


class DataError(Exception):
    """A data file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class Table:
    """The raw table, one numpy array per declared column (read-only: loads are cached and shared);
    `table.name` is the column `name`."""

    path: Path
    source: str  # "real" (the declared file, by its sha256), "sample" or "custom"
    sha256: str
    columns: dict

    def __getattr__(self, name: str) -> np.ndarray:
        columns = self.__dict__.get("columns", {})
        if name in columns:
            return columns[name]
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def dataset(declared: Dataset | None = None) -> Dataset:
    """The data set in question: the one given, else the one the exercises declare."""
    if declared is not None:
        return declared
    from nngrade.judge.exercises import EXERCISES
    found = list(dict.fromkeys(ex.data for ex in EXERCISES.values() if ex.data is not None))
    if not found:
        raise DataError("no exercise declares a data file")
    return found[0]


def default_path(declared: Dataset | None = None) -> Path:
    return DATA_DIR / dataset(declared).file


def sample_path(declared: Dataset | None = None) -> Path:
    return DATA_DIR / dataset(declared).sample


def _shown(path: Path) -> str:
    """The path as a user would type it from the repository, for messages."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def resolve_path(path: Path | str | None, declared: Dataset | None = None) -> tuple[Path, str | None]:
    """The file to use and a notice when falling back to the shipped synthetic sample."""
    if path is not None:
        return Path(path), None
    if default_path(declared).exists():
        return default_path(declared), None
    return sample_path(declared), (
        f"{_shown(default_path(declared))} not found: using the synthetic sample {_shown(sample_path(declared))}"
        " (python -m nngrade.data download fetches the real file)"
    )


def load(path: Path | str, declared: Dataset | None = None) -> Table:
    """Read and validate a data file against its declared columns; repeated loads of an unchanged file return
    the cached table."""
    declared = dataset(declared)
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    # mtime and size in the key so that an edited or re-downloaded file is read again.
    return _load(declared, path, path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(declared: Dataset, path: Path, resolved: Path, mtime_ns: int, size: int) -> Table:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate the byte-order mark spreadsheets write
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})") from None
    try:
        columns = _parse(text, path, declared)
    except csv.Error as err:  # e.g. a field over the csv module's size limit
        raise DataError(f"{path}: not a readable CSV file ({err})") from None
    digest = hashlib.sha256(raw).hexdigest()
    source = ("real" if digest == declared.sha256 else "sample" if resolved == sample_path(declared).resolve()
              else "custom")
    kinds = {column.name: column.kind for column in declared.columns}
    arrays = {name: np.array(values, dtype=np.int64 if kinds[name] is int else np.float64)
              for name, values in columns.items()}
    for array in arrays.values():
        array.flags.writeable = False
    return Table(path=resolved, source=source, sha256=digest, columns=arrays)


def _allowed(column: Column) -> str:
    values = sorted(column.allowed)
    if column.kind is int and len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"an integer from {values[0]} to {values[-1]}"
    return " or ".join(f"{v:g}" for v in values)


def _parse(text: str, path: Path, declared: Dataset) -> dict[str, list[float]]:
    names = tuple(column.name for column in declared.columns)
    allowed = {column.name: column for column in declared.columns if column.allowed is not None}
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = ((reader.line_num, row) for row in reader if any(field.strip() for field in row))
    header_line, header = next(rows, (0, None))
    if header is None:
        raise DataError(f"{path}: the file is empty")
    header = [name.strip() for name in header]
    missing = [name for name in names if name not in header]
    if missing:
        raise DataError(f"{path} line {header_line}: header lacks column {', '.join(missing)}"
                        f" (found: {', '.join(header)})")
    repeated = sorted({name for name in names if header.count(name) > 1})
    if repeated:
        raise DataError(f"{path} line {header_line}: header repeats column {', '.join(repeated)}")
    where = {name: header.index(name) for name in names}
    columns: dict[str, list[float]] = {name: [] for name in names}
    for line, row in rows:
        if len(row) != len(header):
            raise DataError(f"{path} line {line}: {len(row)} fields, the header has {len(header)}")
        for name, index in where.items():
            field = row[index].strip()
            try:
                value = float(field)
            except ValueError:
                raise DataError(f"{path} line {line}: {name} {field!r} is not a number") from None
            if not np.isfinite(value):
                raise DataError(f"{path} line {line}: {name} {field!r} is not a finite number")
            if name in allowed and value not in allowed[name].allowed:
                raise DataError(f"{path} line {line}: {name} {field!r} is not {_allowed(allowed[name])}")
            columns[name].append(value)
    rows = len(columns[names[0]])
    if rows < declared.min_rows:
        raise DataError(f"{path}: {rows} data rows, at least {declared.min_rows} needed")
    return columns


def write_sample(path: Path | str | None = None, seed: int = 0, n: int = 400, declared: Dataset | None = None) -> Path:
    """Write the synthetic sample as the real file is written (its columns in the declared order, numbers
    in their shortest form: 3.61, 4)."""
    declared = dataset(declared)
    if declared.synthesize is None:
        raise DataError(f"the data set {declared.name} declares no way to synthesize a sample")
    names = [column.name for column in declared.columns]
    lines = [",".join(names)] + [",".join(f"{row[name]:g}" if isinstance(row[name], float) else str(row[name])
                                          for name in names) for row in declared.synthesize(seed, n)]
    path = Path(path) if path is not None else sample_path(declared)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    return path


def download(dest: Path | str | None = None, urls: Sequence[str] | None = None, force: bool = False,
             declared: Dataset | None = None) -> str | None:
    """Fetch the real file, verify its sha256, only then write it; the URL used, None if dest already had it."""
    # Imported here: urllib.request pulls in http.client and ssl, which the grader's hot path never needs.
    import http.client
    import urllib.error
    import urllib.request

    declared = dataset(declared)
    dest = Path(dest) if dest is not None else default_path(declared)
    if dest.exists() and not force:
        if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == declared.sha256:
            return None  # nothing to do, so scripts can run the download unconditionally
        raise DataError(f"{dest} already exists and is not the real file (use --force to replace it)")
    failures = []
    for url in urls or declared.urls:
        try:
            with urllib.request.urlopen(url, timeout=20) as response:
                body = response.read(1 << 20)  # the real file is 5 kB; a bigger answer fails the checksum anyway
        except urllib.error.HTTPError as err:
            failures.append(f"{url}: HTTP {err.code}")
            continue
        except urllib.error.URLError as err:
            failures.append(f"{url}: {err.reason}")
            continue
        except (OSError, ValueError, http.client.HTTPException) as err:
            failures.append(f"{url}: {str(err) or type(err).__name__}")
            continue
        digest = hashlib.sha256(body).hexdigest()
        if digest == declared.sha256:
            _write_atomically(dest, body)
            return url
        failures.append(f"{url}: sha256 checksum {digest[:12]}... does not match the expected {declared.sha256[:12]}...")
    raise DataError(f"download failed, nothing written: {'; '.join(failures)}")


def _write_atomically(dest: Path, body: bytes) -> None:
    """A temporary file in the same folder, then a rename: never a half-written file under dest's name."""
    import tempfile

    temporary = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", delete=False) as handle:
            temporary = Path(handle.name)
            handle.write(body)
        os.replace(temporary, dest)
    except OSError as err:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise DataError(f"cannot write {dest}: {err.strerror or err}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nngrade.data", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("download", help="fetch the real data file and verify its checksum")
    fetch.add_argument("--url", help="source URL (default: $NNGRADE_DATA_URL, else the addresses the exercises declare)")
    fetch.add_argument("--dest", type=Path, default=None, help="where to write it (default: data/ and the declared name)")
    fetch.add_argument("--force", action="store_true", help="replace an existing file")
    sample = commands.add_parser("sample", help="regenerate the synthetic sample")
    sample.add_argument("--dest", type=Path, default=None, help="default: the declared sample in data/")
    sample.add_argument("--seed", type=int, default=0)
    check = commands.add_parser("check", help="load and validate a data file, print its statistics")
    check.add_argument("path", nargs="?", type=Path, help="default: the real file in data/, else the sample")
    args = parser.parse_args(argv)
    try:
        if args.command == "download":
            # An explicit --url wins over the environment, which wins over the declared addresses.
            url = args.url or os.environ.get("NNGRADE_DATA_URL")
            source = download(args.dest, [url] if url else None, args.force)
            what = "already holds the real file" if source is None else f"downloaded from {source}"
            print(f"{args.dest or _shown(default_path())}: {what} (sha256 verified)")
        elif args.command == "sample":
            print(f"wrote {write_sample(args.dest, args.seed)}")
        else:
            path, notice = resolve_path(args.path)
            if notice:
                print(notice, file=sys.stderr)
            table = load(path)
            described = dataset().describe
            print(f"file    {_shown(path)}\nrows    {len(table)}\nsource  {table.source}\nsha256  {table.sha256}"
                  + (f"\n{described(table)}" if described else ""))
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

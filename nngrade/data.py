"""The admissions data (binary.csv): load, validate, prepare as the lesson does, synthesize a sample, download."""

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

# No pandas here: it adds ~0.4 s to every grader run, and students run the grader after every edit.

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO / "data" / "binary.csv"
SAMPLE_PATH = REPO / "data" / "admissions_sample.csv"
REAL_SHA256 = "2f5dcda0e455631215709575cc2eede4e5fb4e94cda9c37dab54e26d79dcf8c2"
# The address the lesson printed, then where UCLA moved it.
SOURCE_URLS = (
    "https://stats.idre.ucla.edu/stat/data/binary.csv",
    "https://stats.oarc.ucla.edu/stat/data/binary.csv",
)
FEATURES = ("gre", "gpa", "rank_1", "rank_2", "rank_3", "rank_4")
COLUMNS = ("admit", "gre", "gpa", "rank")
MIN_ROWS = 10


class DataError(Exception):
    """A data file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class Admissions:
    """The raw table, one numpy array per column (read-only: loads are cached and shared)."""

    path: Path
    source: str  # "real", "sample" or "custom"
    sha256: str
    admit: np.ndarray  # int64, 0 or 1
    gre: np.ndarray  # float64
    gpa: np.ndarray  # float64
    rank: np.ndarray  # int64, 1..4

    def __len__(self) -> int:
        return len(self.admit)


@dataclass(frozen=True, eq=False)
class Split:
    """Standardised features (columns FEATURES) and targets, train rows in sampled order, test rows in file order."""

    features: np.ndarray
    targets: np.ndarray
    features_test: np.ndarray
    targets_test: np.ndarray


def _shown(path: Path) -> str:
    """The path as a user would type it from the repository, for messages."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def resolve_path(path: Path | str | None) -> tuple[Path, str | None]:
    """The file to use and a notice when falling back to the shipped synthetic sample."""
    if path is not None:
        return Path(path), None
    if DEFAULT_PATH.exists():
        return DEFAULT_PATH, None
    return SAMPLE_PATH, (
        f"{_shown(DEFAULT_PATH)} not found: using the synthetic sample {_shown(SAMPLE_PATH)}"
        " (python -m nngrade.data download fetches the real file)"
    )


def load_admissions(path: Path | str) -> Admissions:
    """Read and validate an admissions CSV; repeated loads of an unchanged file return the cached table."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    # mtime and size in the key so that an edited or re-downloaded file is read again.
    return _load(path, path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(path: Path, resolved: Path, mtime_ns: int, size: int) -> Admissions:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate the byte-order mark spreadsheets write
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})") from None
    try:
        columns = _parse(text, path)
    except csv.Error as err:  # e.g. a field over the csv module's size limit
        raise DataError(f"{path}: not a readable CSV file ({err})") from None
    digest = hashlib.sha256(raw).hexdigest()
    source = "real" if digest == REAL_SHA256 else "sample" if resolved == SAMPLE_PATH.resolve() else "custom"
    arrays = {name: np.array(values, dtype=np.int64 if name in ("admit", "rank") else np.float64)
              for name, values in columns.items()}
    for array in arrays.values():
        array.flags.writeable = False
    return Admissions(path=resolved, source=source, sha256=digest, **arrays)


def _parse(text: str, path: Path) -> dict[str, list[float]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = ((reader.line_num, row) for row in reader if any(field.strip() for field in row))
    header_line, header = next(rows, (0, None))
    if header is None:
        raise DataError(f"{path}: the file is empty")
    header = [name.strip() for name in header]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise DataError(f"{path} line {header_line}: header lacks column {', '.join(missing)}"
                        f" (found: {', '.join(header)})")
    repeated = sorted({name for name in COLUMNS if header.count(name) > 1})
    if repeated:
        raise DataError(f"{path} line {header_line}: header repeats column {', '.join(repeated)}")
    where = {name: header.index(name) for name in COLUMNS}
    columns: dict[str, list[float]] = {name: [] for name in COLUMNS}
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
            if name == "admit" and value not in (0.0, 1.0):
                raise DataError(f"{path} line {line}: admit {field!r} is not 0 or 1")
            if name == "rank" and value not in (1.0, 2.0, 3.0, 4.0):
                raise DataError(f"{path} line {line}: rank {field!r} is not an integer from 1 to 4")
            columns[name].append(value)
    if len(columns["admit"]) < MIN_ROWS:
        raise DataError(f"{path}: {len(columns['admit'])} data rows, at least {MIN_ROWS} needed")
    return columns


def prepare(data: Admissions, seed: int) -> Split:
    """One-hot rank, standardise gre and gpa over all rows (sample std), then the lesson's 90/10 split."""
    def standardised(column: np.ndarray) -> np.ndarray:
        return (column - column.mean()) / column.std(ddof=1)

    # Comparing against 1..4, not against the values present, keeps four columns even if a rank is absent.
    one_hot = (data.rank[:, None] == np.arange(1, 5)).astype(np.float64)
    features = np.column_stack([standardised(data.gre), standardised(data.gpa), one_hot])
    targets = data.admit.astype(np.float64)
    n = len(targets)
    # The same stream as the lesson's np.random.seed(seed); np.random.choice(...), without
    # disturbing the caller's global random state.
    sample = np.random.RandomState(seed).choice(n, size=int(n * 0.9), replace=False)
    is_test = np.ones(n, dtype=bool)
    is_test[sample] = False
    return Split(features[sample], targets[sample], features[is_test], targets[is_test])


def generate_sample(seed: int = 0, n: int = 400) -> list[dict[str, int | float]]:
    """Synthetic admissions rows with the real file's marginals and a logit model of admission."""
    rng = np.random.default_rng(seed)
    # The real file's rank counts; largest-remainder rounding keeps their proportions for any n.
    shares = np.array([61, 151, 121, 67]) * n / 400
    counts = np.floor(shares).astype(int)
    counts[np.argsort(counts - shares, kind="stable")[: n - counts.sum()]] += 1
    rank = rng.permutation(np.repeat(np.arange(1, 5), counts))
    # Pre-clip parameters solved so that, after clipping and rounding, the expected mean and sd are the real
    # file's (gre 587.7, 115.5; gpa 3.39, 0.38); the gpa cap at 4.0 then holds ~28 rows, as in the real file.
    gre = np.round(np.clip(rng.normal(589.5, 119.7, n), 220, 800) / 20) * 20
    gpa = np.round(np.clip(rng.normal(3.402, 0.407, n), 2.26, 4.0), 2)
    # Coefficients of the well-known logit fit on the real file (admit ~ gre + gpa + factor(rank)).
    logit = -3.99 + 0.00226 * gre + 0.804 * gpa + np.array([0.0, -0.675, -1.34, -1.55])[rank - 1]
    admit = rng.random(n) < 1 / (1 + np.exp(-logit))
    return [{"admit": int(a), "gre": int(g), "gpa": float(p), "rank": int(r)}
            for a, g, p, r in zip(admit, gre, gpa, rank)]


def write_sample(path: Path | str = SAMPLE_PATH, seed: int = 0, n: int = 400) -> Path:
    """Write the synthetic sample as the real file is written (header admit,gre,gpa,rank; gpa like 3.61 or 4)."""
    lines = [",".join(COLUMNS)] + [f"{row['admit']},{row['gre']},{row['gpa']:g},{row['rank']}"
                                   for row in generate_sample(seed, n)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    return path


def download(dest: Path | str | None = None, urls: Sequence[str] | None = None, force: bool = False) -> str | None:
    """Fetch the real file, verify its sha256, only then write it; the URL used, None if dest already had it."""
    # Imported here: urllib.request pulls in http.client and ssl, which the grader's hot path never needs.
    import http.client
    import urllib.error
    import urllib.request

    dest = Path(dest) if dest is not None else DEFAULT_PATH
    if dest.exists() and not force:
        if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == REAL_SHA256:
            return None  # nothing to do, so scripts can run the download unconditionally
        raise DataError(f"{dest} already exists and is not the real file (use --force to replace it)")
    failures = []
    for url in urls or SOURCE_URLS:
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
        if digest == REAL_SHA256:
            _write_atomically(dest, body)
            return url
        failures.append(f"{url}: sha256 checksum {digest[:12]}... does not match the expected {REAL_SHA256[:12]}...")
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
    parser = argparse.ArgumentParser(prog="python -m nngrade.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("download", help="fetch the real binary.csv and verify its checksum")
    fetch.add_argument("--url", help="source URL (default: $NNGRADE_DATA_URL, else the UCLA addresses)")
    fetch.add_argument("--dest", type=Path, default=None, help=f"where to write it (default: {_shown(DEFAULT_PATH)})")
    fetch.add_argument("--force", action="store_true", help="replace an existing file")
    sample = commands.add_parser("sample", help="regenerate the synthetic sample")
    sample.add_argument("--dest", type=Path, default=None, help=f"default: {_shown(SAMPLE_PATH)}")
    sample.add_argument("--seed", type=int, default=0)
    check = commands.add_parser("check", help="load and validate a data file, print its statistics")
    check.add_argument("path", nargs="?", type=Path, help="default: data/binary.csv, else the sample")
    args = parser.parse_args(argv)
    try:
        if args.command == "download":
            # An explicit --url wins over the environment, which wins over the built-in addresses.
            url = args.url or os.environ.get("NNGRADE_DATA_URL")
            source = download(args.dest, [url] if url else None, args.force)
            what = "already holds the real file" if source is None else f"downloaded from {source}"
            print(f"{args.dest or _shown(DEFAULT_PATH)}: {what} (sha256 verified)")
        elif args.command == "sample":
            print(f"wrote {write_sample(args.dest or SAMPLE_PATH, args.seed)}")
        else:
            path, notice = resolve_path(args.path)
            if notice:
                print(notice, file=sys.stderr)
            data = load_admissions(path)
            counts = "  ".join(f"{r}: {(data.rank == r).sum()}" for r in range(1, 5))
            print(f"file    {_shown(path)}\nrows    {len(data)}\nsource  {data.source}\nsha256  {data.sha256}\n"
                  f"rank    {counts}\n"
                  f"gre     mean {data.gre.mean():.2f}  sd {data.gre.std(ddof=1):.2f}\n"
                  f"gpa     mean {data.gpa.mean():.4f}  sd {data.gpa.std(ddof=1):.4f}\n"
                  f"admit   rate {data.admit.mean():.4f}")
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

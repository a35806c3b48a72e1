"""A class folder in, one Submission per student out: plain folders and files, Canvas and Gradescope exports.

Layouts understood (mixed freely, one entry per student):
- a subfolder `alice/` or a file `alice.py` / `alice.zip`: the student id is the name;
- Canvas "Download Submissions": `name_userid_attemptid_original.py` (or `name_LATE_userid_...`);
  every file of one user id is one submission, the id is the Canvas user id;
- a Gradescope export: `submission_metadata.yml` beside `submission_<n>/` folders, each mapped to
  its submitters (sid, else email, else name); a group submission is graded once for each member.

Nothing here runs student code. Zip files are read with limits (members, sizes, no paths outside
the target, no links), and only `.py` and `.ipynb` files are ever taken out of them. A notebook
is taken like a `.py` file; it becomes Python source where the file is handed to the child
(nngrade.run.runner.read_source, nngrade.run.notebooks), never here.
"""
from __future__ import annotations

import errno
import hashlib
import json
import lzma
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from nngrade.run import notebooks
from nngrade.run import untrusted

GRADESCOPE_METADATA = "submission_metadata.yml"
CANVAS_NAME = re.compile(r"^(?P<name>[^_]+)(?P<late>_LATE)?_(?P<user>[0-9]+)_(?P<attempt>[0-9]+)_(?P<original>.+)$")
SAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")
_WINDOWS_DEVICE = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\.|$)", re.IGNORECASE)
MAX_DEPTH = 32   # folders below a submission's own that are searched for its files
IGNORED_NAMES = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints"}
GRADED_SUFFIXES = notebooks.SUBMISSION_SUFFIXES
TAKEN_SUFFIXES = (*GRADED_SUFFIXES, ".zip")     # what is looked at in a submission


# errno values that say the grader itself failed (its disk full, over quota, read-only or broken; out of file
# descriptors or memory), not a submission
SCRATCH_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EMFILE, errno.ENFILE,
                            errno.ENOMEM})


class IngestError(Exception):
    """The class folder itself cannot be read: a usage error, not a student's problem."""


@dataclass(frozen=True)
class Limits:
    """What one student's submission may hold before we stop reading it."""
    zip_members: int = 1000            # entries of its zip files, all of them together
    zip_bytes: int = 50_000_000        # uncompressed bytes read out of its zip files, all of them together
    file_bytes: int = 2_000_000        # one .py file (larger ones are not student solutions)
    notebook_bytes: int = notebooks.MAX_BYTES   # one .ipynb file (its outputs, plots, can be large)
    py_files: int = 200                # .py files taken from one submission


@dataclass(frozen=True)
class Student:
    id: str                  # the key: reports/<id>.json and the gradebook row
    name: str = ""
    email: str = ""
    canvas_id: str = ""      # Canvas user id, from the file names of a Canvas export
    sis_id: str = ""         # Gradescope's sid


@dataclass(frozen=True)
class Source:
    path: Path               # a file or folder inside the class folder
    name: str                # the name to grade it under (Canvas files: the student's original name)


@dataclass(frozen=True)
class Submission:
    key: str                               # unique in the batch
    label: str                             # what the report's `submission` field says
    students: tuple[Student, ...]
    sources: tuple[Source, ...] = ()
    notices: tuple[str, ...] = ()


@dataclass
class Collected:
    """The .py files found in a submission, each with how the report should name it."""
    files: list[tuple[str, Path, str]] = field(default_factory=list)   # (name, readable path, shown as)
    notices: list[str] = field(default_factory=list)


# --- discovery ---------------------------------------------------------------------------------

class Found(list):
    """The submissions of a class folder, in a stable order, and what the instructor must be told about the
    folder itself: entries not taken, identities that collided (also in the submissions' own notices)."""

    def __init__(self, submissions: list[Submission], warnings: list[str]):
        super().__init__(submissions)
        self.warnings = warnings


def discover(folder: Path) -> Found:
    """Every student in `folder`, in a stable order; raises IngestError if the folder is unusable.

    Only plain folders and regular files are entries (never a link, a FIFO, a socket or a device:
    reading a FIFO would hang the whole run), and every name taken from the folder is made safe text.
    """
    if not folder.is_dir():
        raise IngestError(f"{folder}: not a folder")
    warnings: list[str] = []
    metadata = folder / GRADESCOPE_METADATA
    gradescope = parse_gradescope_metadata(_read_text(metadata)) if _kind(metadata) == "file" else {}
    if _kind(metadata) not in ("file", "missing"):
        warnings.append(f"{_shown(metadata)}: {_kind(metadata)}, not a regular file: not read")
    submissions: list[Submission] = []
    canvas: dict[str, list[tuple[re.Match, Path]]] = {}
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise IngestError(f"{folder}: cannot list it ({exc.strerror})") from None
    for entry in entries:
        if _ignored(entry.name) or entry.name == GRADESCOPE_METADATA:
            continue
        kind = _kind(entry)
        if kind not in ("file", "folder"):
            if entry.suffix.lower() in TAKEN_SUFFIXES or kind == _LINK or entry.name in gradescope:
                warnings.append(f"{_shown(entry)}: {kind}, not a plain file or folder: skipped")
            continue
        match = CANVAS_NAME.match(entry.name) if kind == "file" else None
        if match:
            canvas.setdefault(match["user"], []).append((match, entry))
        elif kind == "folder" and entry.name in gradescope:
            submissions.append(_gradescope_submission(entry, gradescope[entry.name]))
        elif kind == "folder":
            submissions.append(_single(entry, entry.name, Source(entry, entry.name)))
        elif entry.suffix.lower() in TAKEN_SUFFIXES:
            submissions.append(_single(entry, entry.stem, Source(entry, entry.name)))
    submissions += [_canvas_submission(user, files) for user, files in sorted(canvas.items())]
    taken = {s.key for s in submissions}
    for name in sorted(set(gradescope) - taken):
        # Listed in the metadata, its folder not graded above: still students, but nothing is read for them.
        # Every plain folder of the export was taken above, so this name is absent, a link, a special file,
        # or a path (`../other`) that would lead outside the export.
        submissions.append(_missing_gradescope_submission(folder, name, gradescope[name]))
    submissions = _identities([_safe(s) for s in submissions], warnings)
    return Found(submissions, [untrusted.text(w, 1000) for w in warnings])


_LINK = "a symbolic link"


def _kind(path: Path) -> str:
    """What `path` is, without following a link: "file", "folder", "missing", or what else it is (a link, a FIFO...)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return {stat.S_IFLNK: _LINK, stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
            stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}.get(stat.S_IFMT(mode), "a special file")


def _shown(path: Path) -> str:
    return untrusted.text(str(path), 500)


def _single(entry: Path, student_id: str, source: Source) -> Submission:
    # The id is file-safe (`bj_rn`); the name stays as the folder gave it (`björn`): LMS imports match by it.
    return Submission(key=entry.name, label=str(entry), students=(Student(safe_id(student_id), name=student_id),),
                      sources=(source,))


def _canvas_submission(user: str, files: list[tuple[re.Match, Path]]) -> Submission:
    first = files[0][0]
    notices = ("submitted late (Canvas marked it LATE)",) if any(m["late"] for m, _ in files) else ()
    sources = tuple(Source(path, m["original"]) for m, path in files)
    label = str(files[0][1]) if len(files) == 1 else f"{files[0][1].parent}/*_{user}_*"
    return Submission(key=f"canvas-{user}", label=label, sources=sources, notices=notices,
                      students=(Student(safe_id(user), name=first["name"], canvas_id=user),))


def _gradescope_submission(entry: Path, submitters: list[dict[str, str]]) -> Submission:
    students = tuple(Student(safe_id(s.get("sid") or s.get("email") or s.get("name") or entry.name),
                             name=s.get("name", ""), email=s.get("email", ""), sis_id=s.get("sid", ""))
                     for s in submitters) or (Student(safe_id(entry.name)),)
    return Submission(key=entry.name, label=str(entry), students=students, sources=(Source(entry, entry.name),))


def _missing_gradescope_submission(folder: Path, name: str, submitters: list[dict[str, str]]) -> Submission:
    kind = _kind(folder / name) if _one_name(name) else "outside"
    why = {"missing": "its folder is not in the export",
           "outside": "its name leads outside the export: nothing there was read"}.get(
        kind, "it is a hidden or system folder: nothing was read" if kind == "folder"
        else f"it is {kind}, not a plain folder: nothing was read")
    submission = _gradescope_submission(folder / name, submitters)
    return replace(submission, key=name, sources=(),
                   notices=(f"{GRADESCOPE_METADATA} lists '{name}' but {why}",))


def _one_name(name: str) -> bool:
    """A plain name of an entry in the folder: no separator, no `..`, no drive."""
    return name not in ("", ".", "..") and not re.search(r"[/\\\0]|^[A-Za-z]:", name)


def _safe(submission: Submission) -> Submission:
    """Every name the submission took from the folder, as safe text (nngrade.run.untrusted)."""
    students = tuple(replace(st, name=untrusted.text(st.name, 200), email=untrusted.text(st.email, 200),
                             sis_id=untrusted.text(st.sis_id, 200)) for st in submission.students)
    return replace(submission, key=untrusted.text(submission.key, 200), label=untrusted.text(submission.label, 500),
                   students=students, notices=tuple(untrusted.text(n, 1000) for n in submission.notices))


def _identities(submissions: list[Submission], warnings: list[str]) -> list[Submission]:
    """Make ids, SIS ids and keys unique; a collision is never silent.

    A student id names the report file and a gradebook row, so two entries must never share one
    (alice/ and alice.zip; a folder `4242` and Canvas user 4242; one SID under two Gradescope
    submissions). Ids given by an LMS (a Canvas user id, a Gradescope SID or email) are kept first;
    a plain folder's or file's name yields to them. The one that yields is graded and reported
    under `id~2` (and, if it shared a SIS id, without one), its report and the run's warnings say so.
    """
    order = sorted(((i, j) for i, sub in enumerate(submissions) for j in range(len(sub.students))),
                   key=lambda ij: (not _from_lms(submissions[ij[0]].students[ij[1]]), ij))
    ids: dict[str, str] = {}     # lower-cased id -> the label of the entry holding it
    sis: dict[str, str] = {}     # lower-cased SIS id -> the label of the entry holding it
    students = [list(sub.students) for sub in submissions]
    notices: list[list[str]] = [list(sub.notices) for sub in submissions]
    for i, j in order:
        student, label = students[i][j], submissions[i].label
        if student.sis_id and student.sis_id.lower() in sis:
            message = (f"SIS id '{student.sis_id}' of {label} is also that of {sis[student.sis_id.lower()]}: "
                       "this one's gradebook row has no SIS User ID (check which is right)")
            warnings.append(message)
            notices[i].append(message)
            student = replace(student, sis_id="")
        elif student.sis_id:
            sis[student.sis_id.lower()] = label
        unique, n = student.id, 1
        while unique.lower() in ids:
            n += 1
            unique = f"{student.id}~{n}"
        if unique != student.id:
            message = (f"student id '{student.id}' is taken by another entry ({ids[student.id.lower()]}): "
                       f"{label} is reported as '{unique}'")
            warnings.append(message)
            notices[i].append(message)
            student = replace(student, id=unique)
        ids[unique.lower()] = label
        students[i][j] = student
    keys: set[str] = set()
    result = []
    for i, sub in enumerate(submissions):
        key, n = sub.key, 1
        while key in keys:     # two names made the same by cleaning, or a folder named `canvas-4242`
            n += 1
            key = f"{sub.key}~{n}"
        keys.add(key)
        result.append(replace(sub, key=key, students=tuple(students[i]), notices=tuple(notices[i])))
    return result


def _from_lms(student: Student) -> bool:
    return bool(student.canvas_id or student.sis_id or student.email)


def safe_id(raw: str) -> str:
    """A student id usable as a file name on every system: no separators, no leading dot, and not a name
    Windows keeps for a device (`nul.json` would be no file at all there: the report would be lost)."""
    cleaned = (SAFE_ID.sub("_", raw.strip()).strip("._") or "student")[:100]
    return f"_{cleaned}" if _WINDOWS_DEVICE.match(cleaned) else cleaned


def _ignored(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_NAMES or name.startswith("~$")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise IngestError(f"{path}: cannot read it ({exc.strerror})") from None


# --- Gradescope's submission_metadata.yml --------------------------------------------------------

_PAIR = re.compile(r"^(:?[A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*))?$")
_TOP_KEY = re.compile(r"^(['\"]?)([^'\"#:]+)\1:\s*$")


def parse_gradescope_metadata(text: str) -> dict[str, list[dict[str, str]]]:
    """Each top-level `submission_<n>` key with its submitters' name, sid and email.

    Gradescope writes this file from Ruby, with symbols as keys (`:submitters:`) and, under other
    keys, whole autograder results that may carry Ruby-specific tags. Only the submitters are read,
    line by line by indentation: everything else (results, history, scores) is skipped unparsed.
    """
    result: dict[str, list[dict[str, str]]] = {}
    folder = None
    child_indent = seq_indent = None
    in_submitters = False
    item: dict[str, str] | None = None
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or raw.startswith(("---", "...", "%")):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if indent == 0:                         # a submission folder's key
            top = _TOP_KEY.match(stripped)
            folder = top.group(2).strip() if top else None
            if folder is not None:
                result[folder] = []
            child_indent = seq_indent = item = None
            in_submitters = False
            continue
        if folder is None:
            continue
        child_indent = indent if child_indent is None else child_indent
        is_item = stripped == "-" or stripped.startswith("- ")
        if in_submitters and is_item and indent >= child_indent and seq_indent in (None, indent):
            seq_indent, item = indent, {}       # one submitter
            result[folder].append(item)
            _read_pair(stripped[1:].strip(), item)
        elif indent <= child_indent:            # a key of the submission: :submitters:, :results:, ...
            in_submitters = stripped in (":submitters:", "submitters:")
            seq_indent = item = None
        elif in_submitters and item is not None and indent == seq_indent + 2:
            _read_pair(stripped, item)
    return {name: [s for s in submitters if s] for name, submitters in result.items()}


def _read_pair(text: str, item: dict[str, str]) -> None:
    pair = _PAIR.match(text)
    if not pair:
        return
    key = pair.group(1).lstrip(":")
    if key in ("name", "sid", "email"):
        value = _scalar(pair.group(2) or "")
        if value:
            item[key] = value


def _scalar(text: str) -> str | None:
    """A one-line YAML scalar (plain, 'single' or "double" quoted); None for anything fancier."""
    text = text.strip()
    if not text or text in ("~", "null", "''", '""'):
        return None
    if text[0] == "'":
        return text[1:-1].replace("''", "'") if len(text) > 1 and text.endswith("'") else None
    if text[0] == '"':
        if len(text) < 2 or not text.endswith('"'):
            return None
        try:
            return json.loads(text)
        except ValueError:
            return re.sub(r"\\x([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text[1:-1])
    if text[0] in "!&*|>[{@`":
        return None
    return re.sub(r"\s+#.*$", "", text)


# --- content: hash and collect ------------------------------------------------------------------

def content_hash(submission: Submission) -> str:
    """sha256 over what can change the grade: each source's .py files (by name), each zip's bytes."""
    digest = hashlib.sha256()
    for source in sorted(submission.sources, key=lambda s: (s.name, str(s.path))):
        for relative, path in _hashed_files(source):
            digest.update(f"{relative}\0".encode("utf-8", "surrogatepass"))
            try:
                with _open_regular(path) as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
            except OSError as exc:   # a special file counts by its name alone, whatever its kind (see engine._snapshot)
                digest.update(b"not a regular file" if exc.errno == 0 else f"unreadable: {exc.strerror}".encode())
            digest.update(b"\0")
    return digest.hexdigest()


def _open_regular(path: Path):
    """Open a regular file for reading; never a FIFO or a device (reading would block, never end, or act), nor a
    link. Checked before opening, and again on what was opened (the file could be swapped in between)."""
    kind = _kind(path)
    if kind != "file":
        raise OSError(0, f"{kind}, not a regular file", str(path))
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(0, "not a regular file", str(path))
    return os.fdopen(fd, "rb")


def _hashed_files(source: Source) -> list[tuple[str, Path]]:
    if _kind(source.path) == "folder":
        return [(f"{source.name}/{rel}", path) for rel, path in _walk(source.path)]
    return [(source.name, source.path)] if _kind(source.path) == "file" else []


def _walk(folder: Path, notices: list[str] | None = None, strict: bool = False) -> list[tuple[str, Path]]:
    """The entries named .py or .zip under `folder`, relative names sorted; hidden and system folders skipped,
    links never followed. Links, FIFOs and devices among them are listed (to be refused by name in the
    report), never opened. Iterative, and at most `MAX_DEPTH` folders deep: a deeper tree exhausted
    Python's recursion in the parent and stopped the run for everyone. A folder that cannot be listed
    raises with `strict` (what is graded must be all there), else is said in `notices`."""
    found, stack, too_deep = [], [(folder, 0)], False
    while stack:
        current, depth = stack.pop()
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            if strict:
                raise
            if notices is not None:
                notices.append(f"{_shown(current)}: could not be read ({exc.strerror or exc}); its files were not graded")
            continue
        below = []
        for entry in entries:
            if _ignored(entry.name):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                below.append(path)
            elif entry.name.lower().endswith(TAKEN_SUFFIXES):
                found.append((path.relative_to(folder).as_posix(), path))
        too_deep = too_deep or bool(below and depth + 1 >= MAX_DEPTH)
        if depth + 1 < MAX_DEPTH:   # a folder's files, then its subfolders' in name order (as os.walk does)
            stack += [(path, depth + 1) for path in reversed(below)]
    if too_deep and notices is not None:
        notices.append(f"{folder}: folders more than {MAX_DEPTH} levels deep were not searched")
    return found


def collect(submission: Submission, scratch: Path, limits: Limits = Limits()) -> Collected:
    """The submission's .py files, its zips (and those in its folders) unpacked, only their .py members, into `scratch`.

    The unpacking limits are the submission's, over all its zips together: many small zips unpack no
    more than one large one. Names of files and members are made safe text for the report.
    """
    collected = Collected()
    found = []   # (name, path, shown as)
    for source in submission.sources:
        if _kind(source.path) == "folder":
            found += [(PurePosixPath(rel).name, path, f"{source.path}/{rel}")
                      for rel, path in _walk(source.path, collected.notices)]
        else:
            found.append((source.name, source.path, str(source.path)))
    budget = _Budget(limits.zip_members, limits.zip_bytes)
    for number, (name, path, shown) in enumerate(found):
        if name.lower().endswith(".zip"):     # one level: a zip inside a zip is not opened
            if not budget.exhausted:
                _unzip_py(path, scratch / f"zip{number}", collected, limits, budget)
        elif name.lower().endswith(GRADED_SUFFIXES):
            _take(collected, name, path, shown, limits)
    if len(collected.files) > limits.py_files:
        collected.notices.append(f"{len(collected.files)} .py files: only the first {limits.py_files} were looked at")
        del collected.files[limits.py_files:]
    collected.files = [(untrusted.text(name, 255), path, untrusted.text(shown, 1000))
                       for name, path, shown in collected.files]
    collected.notices = [untrusted.text(notice, 1000) for notice in collected.notices]
    return collected


@dataclass
class _Budget:
    """What is left of one submission's unpacking limits; once exhausted, no further zip is opened."""
    members: int
    bytes: int
    exhausted: bool = False


def _take(collected: Collected, name: str, path: Path, shown: str, limits: Limits) -> None:
    kind = _kind(path)
    if kind != "file":
        collected.notices.append(f"{shown}: {kind}, not a regular file: not graded")
        return
    try:
        info = path.lstat()
    except OSError as exc:
        collected.notices.append(f"{shown}: cannot read it ({exc.strerror})")
        return
    allowed = _file_limit(name, limits)
    if info.st_size > allowed:
        collected.notices.append(f"{shown}: {info.st_size} bytes, more than the {allowed} allowed: not graded")
        return
    collected.files.append((name, path, shown))


# What reading a damaged or hostile archive raises (corrupt deflate data is a zlib.error, a name that is not
# the UTF-8 it claims a UnicodeDecodeError, a malformed header a struct.error): the student's file, never our crash.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
               ValueError, OverflowError, struct.error, zlib.error, lzma.LZMAError)


def _unzip_py(archive: Path, target: Path, collected: Collected, limits: Limits, budget: _Budget) -> None:
    """Extract the .py members of `archive` into `target`, refusing what could escape it or exhaust us."""
    try:
        with _open_regular(archive) as handle, zipfile.ZipFile(handle) as bundle:
            members = bundle.infolist()
            others = " with those of its other zip files" if budget.members < limits.zip_members else ""
            budget.members -= len(members)
            if budget.members < 0:
                collected.notices.append(f"{archive.name}: {len(members)} entries{others}, more than the "
                                         f"{limits.zip_members} allowed in one submission: not unpacked")
                budget.exhausted = True
                return
            for number, member in enumerate(members):
                problem = _unsafe_member(member)
                if problem:
                    collected.notices.append(f"{archive.name}: skipped '{member.filename}': {problem}")
                    continue
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                if member.is_dir() or not parts[-1].lower().endswith(GRADED_SUFFIXES) or any(_ignored(p) for p in parts):
                    continue
                if member.file_size > _file_limit(parts[-1], limits):
                    collected.notices.append(f"{archive.name}: '{member.filename}' is too large: not graded")
                    continue
                out = target / f"{number}" / parts[-1]
                out.parent.mkdir(parents=True, exist_ok=True)
                written = _copy_limited(bundle, member, out, min(_file_limit(parts[-1], limits), budget.bytes))
                if written is None:
                    collected.notices.append(f"{archive.name}: '{member.filename}' unpacks past the size limit "
                                             f"({limits.zip_bytes:,} bytes per submission): stopped unpacking")
                    out.unlink(missing_ok=True)
                    budget.exhausted = True
                    return
                budget.bytes -= written
                collected.files.append((parts[-1], out, f"{archive}:{'/'.join(parts)}"))
    except _ZIP_ERRORS as exc:
        if isinstance(exc, OSError) and exc.errno in SCRATCH_ERRNOS:
            raise    # our scratch folder failed (full, read-only): not a fault of the zip
        collected.notices.append(f"{archive.name}: not a readable zip file ({_reason(exc)})")


def _file_limit(name: str, limits: Limits) -> int:
    return limits.notebook_bytes if notebooks.is_notebook(name) else limits.file_bytes


def _unsafe_member(member: zipfile.ZipInfo) -> str | None:
    name = member.filename.replace("\\", "/")
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a path outside the folder"
    if member.flag_bits & 0x1:
        return "encrypted"
    return None


def _copy_limited(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, out: Path, limit: int) -> int | None:
    """Copy one member, counting the bytes really produced (headers can lie); None past `limit`."""
    written = 0
    with bundle.open(member) as source, open(out, "wb") as target:
        while chunk := source.read(65536):
            written += len(chunk)
            if written > limit:
                return None
            target.write(chunk)
    return written


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def match_exercises(files: list[tuple[str, Path, str]], exercises: list, single_exercise: bool
                    ) -> tuple[dict[str, tuple[Path, str]], list[str]]:
    """Which collected file is which exercise: `07_backpropagation.py` (or `.ipynb`) exactly, else one named
    `07*.py` or `07*.ipynb`; of an exact .py and .ipynb pair, the .py (said in a notice).

    A submission of one file that names no exercise is taken as the exercise when only one is graded.
    Several candidates do not stop grading: the exact name, else the first by name, and a notice.
    """
    chosen: dict[str, tuple[Path, str]] = {}
    notices: list[str] = []
    for exercise in exercises:
        exact = sorted((f for f in files if f[0] in (f"{exercise.stem}.py", f"{exercise.stem}{notebooks.SUFFIX}")),
                       key=lambda f: notebooks.is_notebook(f[0]))
        candidates = exact or sorted((f for f in files if f[0].startswith(exercise.id)), key=lambda f: f[0])
        if not candidates:
            continue
        if len({f[2] for f in candidates}) > 1:
            notices.append(f"several files for exercise {exercise.id} "
                           f"({', '.join(f[0] for f in candidates[:5])}): graded {candidates[0][2]}")
        chosen[exercise.id] = (candidates[0][1], candidates[0][2])
    if not chosen and single_exercise and len(files) == 1:
        chosen[exercises[0].id] = (files[0][1], files[0][2])
    elif not chosen and files:
        notices.append(f"no file named like an exercise ({', '.join(f[0] for f in files[:5])}): "
                       "name them like 07_backpropagation.py")
    return chosen, notices

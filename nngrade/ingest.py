"""A class folder in, one Submission per student out: plain folders and files, Canvas and Gradescope exports.

Layouts understood (mixed freely, one entry per student):
- a subfolder `alice/` or a file `alice.py` / `alice.zip`: the student id is the name;
- Canvas "Download Submissions": `name_userid_attemptid_original.py` (or `name_LATE_userid_...`);
  every file of one user id is one submission, the id is the Canvas user id;
- a Gradescope export: `submission_metadata.yml` beside `submission_<n>/` folders, each mapped to
  its submitters (sid, else email, else name); a group submission is graded once for each member.

Nothing here runs student code. Zip files are read with limits (members, sizes, no paths outside
the target, no links), and only `.py` files are ever taken out of them.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

GRADESCOPE_METADATA = "submission_metadata.yml"
CANVAS_NAME = re.compile(r"^(?P<name>[^_]+)(?P<late>_LATE)?_(?P<user>\d+)_(?P<attempt>\d+)_(?P<original>.+)$")
SAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")
IGNORED_NAMES = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints"}


# errno values that say the grader's own disk failed (full, over quota, read-only, broken), not a submission
SCRATCH_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})


class IngestError(Exception):
    """The class folder itself cannot be read: a usage error, not a student's problem."""


@dataclass(frozen=True)
class Limits:
    """What one student's submission may hold before we stop reading it."""
    zip_members: int = 1000
    zip_bytes: int = 50_000_000        # uncompressed bytes read out of one zip file, in total
    file_bytes: int = 2_000_000        # one .py file (larger ones are not student solutions)
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

def discover(folder: Path) -> list[Submission]:
    """Every student in `folder`, in a stable order; raises IngestError if the folder is unusable."""
    if not folder.is_dir():
        raise IngestError(f"{folder}: not a folder")
    metadata = folder / GRADESCOPE_METADATA
    gradescope = parse_gradescope_metadata(_read_text(metadata)) if metadata.is_file() else {}
    submissions: list[Submission] = []
    canvas: dict[str, list[tuple[re.Match, Path]]] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if _ignored(entry.name) or entry.name == GRADESCOPE_METADATA:
            continue
        if entry.is_symlink():
            continue    # a link could point anywhere on the grading machine
        match = CANVAS_NAME.match(entry.name) if entry.is_file() else None
        if match:
            canvas.setdefault(match["user"], []).append((match, entry))
        elif entry.is_dir() and entry.name in gradescope:
            submissions.append(_gradescope_submission(entry, gradescope[entry.name]))
        elif entry.is_dir():
            submissions.append(_single(entry, entry.name, Source(entry, entry.name)))
        elif entry.suffix.lower() in (".py", ".zip"):
            submissions.append(_single(entry, entry.stem, Source(entry, entry.name)))
    submissions += [_canvas_submission(user, files) for user, files in sorted(canvas.items())]
    missing = sorted(set(gradescope) - {s.key for s in submissions})
    for name in missing:   # listed in the metadata, but its folder is not there: still a student
        submissions.append(_gradescope_submission(folder / name, gradescope[name]))
    return _unique_ids(submissions)


def _single(entry: Path, student_id: str, source: Source) -> Submission:
    return Submission(key=entry.name, label=str(entry), students=(Student(safe_id(student_id)),), sources=(source,))


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
    sources = (Source(entry, entry.name),) if entry.is_dir() else ()
    return Submission(key=entry.name, label=str(entry), students=students, sources=sources)


def _unique_ids(submissions: list[Submission]) -> list[Submission]:
    """Two entries mapping to one id (alice/ and alice.zip): later ones get a suffix, and say so."""
    seen: set[str] = set()
    result = []
    for submission in submissions:
        students = []
        for student in submission.students:
            unique, n = student.id, 1
            while unique.lower() in seen:
                n += 1
                unique = f"{student.id}~{n}"
            seen.add(unique.lower())
            students.append(student if unique == student.id else
                            Student(unique, student.name, student.email, student.canvas_id, student.sis_id))
        notices = submission.notices + tuple(f"student id '{old.id}' is taken by another entry: reported as '{new.id}'"
                                             for old, new in zip(submission.students, students) if old.id != new.id)
        result.append(Submission(submission.key, submission.label, tuple(students), submission.sources, notices))
    return result


def safe_id(raw: str) -> str:
    """A student id usable as a file name on every system: no separators, no leading dot."""
    cleaned = SAFE_ID.sub("_", raw.strip()).strip("._") or "student"
    return cleaned[:100]


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
            digest.update(f"{relative}\0".encode())
            try:
                with open(path, "rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
            except OSError as exc:
                digest.update(f"unreadable: {exc.strerror}".encode())
            digest.update(b"\0")
    return digest.hexdigest()


def _hashed_files(source: Source) -> list[tuple[str, Path]]:
    if source.path.is_dir():
        return [(f"{source.name}/{rel}", path) for rel, path in _walk(source.path)]
    return [(source.name, source.path)] if source.path.is_file() else []


def _walk(folder: Path) -> list[tuple[str, Path]]:
    """The .py and .zip files under `folder`, relative names sorted; hidden and system folders skipped,
    links never followed."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        for name in sorted(files):
            path = Path(root) / name
            if name.lower().endswith((".py", ".zip")) and not _ignored(name) and not path.is_symlink():
                found.append((path.relative_to(folder).as_posix(), path))
    return found


def collect(submission: Submission, scratch: Path, limits: Limits = Limits()) -> Collected:
    """The submission's .py files, its zips (and those in its folders) unpacked, only their .py members, into `scratch`."""
    collected = Collected()
    found = []   # (name, path, shown as)
    for source in submission.sources:
        if source.path.is_dir():
            found += [(PurePosixPath(rel).name, path, f"{source.path}/{rel}") for rel, path in _walk(source.path)]
        else:
            found.append((source.name, source.path, str(source.path)))
    for number, (name, path, shown) in enumerate(found):
        if name.lower().endswith(".zip"):     # one level: a zip inside a zip is not opened
            _unzip_py(path, scratch / f"zip{number}", collected, limits)
        elif name.endswith(".py"):
            _take(collected, name, path, shown, limits)
    if len(collected.files) > limits.py_files:
        collected.notices.append(f"{len(collected.files)} .py files: only the first {limits.py_files} were looked at")
        del collected.files[limits.py_files:]
    return collected


def _take(collected: Collected, name: str, path: Path, shown: str, limits: Limits) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        collected.notices.append(f"{shown}: cannot read it ({exc.strerror})")
        return
    if size > limits.file_bytes:
        collected.notices.append(f"{shown}: {size} bytes, more than the {limits.file_bytes} allowed: not graded")
        return
    collected.files.append((name, path, shown))


def _unzip_py(archive: Path, target: Path, collected: Collected, limits: Limits) -> None:
    """Extract the .py members of `archive` into `target`, refusing what could escape it or exhaust us."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > limits.zip_members:
                collected.notices.append(f"{archive.name}: {len(members)} entries, more than the "
                                         f"{limits.zip_members} allowed: not unpacked")
                return
            budget = limits.zip_bytes
            for number, member in enumerate(members):
                problem = _unsafe_member(member)
                if problem:
                    collected.notices.append(f"{archive.name}: skipped '{member.filename}': {problem}")
                    continue
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                if member.is_dir() or not parts[-1].endswith(".py") or any(_ignored(p) for p in parts):
                    continue
                if member.file_size > limits.file_bytes:
                    collected.notices.append(f"{archive.name}: '{member.filename}' is too large: not graded")
                    continue
                out = target / f"{number}" / parts[-1]
                out.parent.mkdir(parents=True, exist_ok=True)
                written = _copy_limited(bundle, member, out, min(limits.file_bytes, budget))
                if written is None:
                    collected.notices.append(f"{archive.name}: '{member.filename}' unpacks past the size limit: "
                                             "stopped unpacking")
                    out.unlink(missing_ok=True)
                    return
                budget -= written
                collected.files.append((parts[-1], out, f"{archive}:{'/'.join(parts)}"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno in SCRATCH_ERRNOS:
            raise    # our scratch folder failed (full, read-only): not a fault of the zip
        collected.notices.append(f"{archive.name}: not a readable zip file ({_reason(exc)})")


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
    """Which collected file is which exercise: `07_backpropagation.py` exactly, else one named `07*.py`.

    A submission of one file that names no exercise is taken as the exercise when only one is graded.
    Several candidates do not stop grading: the exact name, else the first by name, and a notice.
    """
    chosen: dict[str, tuple[Path, str]] = {}
    notices: list[str] = []
    for exercise in exercises:
        exact = [f for f in files if f[0] == f"{exercise.stem}.py"]
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

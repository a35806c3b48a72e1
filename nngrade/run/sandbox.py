"""Isolation levels for a student's child process: which one this machine offers, and bubblewrap's command line.

"process" works everywhere: a child process under resource limits, in its own session,
killed with its process group. "user" is the process level when the grader runs as root
(Gradescope's containers, where bwrap usually cannot start): each child also runs as a
user id of its own (nngrade.run.users), kept out of the project, swept after each file.
"bubblewrap" (Linux with bwrap installed) runs the same
child in a sandbox: no network, its own process and IPC namespaces, a read-only view of
the system and of Python, small private writable folders, nothing of the project but the
two files the child needs, and an unprivileged user when the grader runs as root. Whether
bwrap works here is learned from the first child: one that never starts marks it unusable
and this process falls back to "process" (the report says which level graded).
"""
from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from nngrade.paths import REPO

PROCESS, USER, BUBBLEWRAP, AUTO = "process", "user", "bubblewrap", "auto"
LEVELS = (PROCESS, USER, BUBBLEWRAP)   # what a report says graded, weakest first
REQUESTS = (AUTO, PROCESS, BUBBLEWRAP)  # what --isolation asks for ("process" as root is "user")
SUBMISSION_DIR = "/submission"      # where the submitted file appears inside the sandbox
SCRATCH_DIRS = ("/tmp", SUBMISSION_DIR, "/dev/shm")   # the sandbox's only writable folders (private tmpfs)
GRADER_DIR = "/nngrade"             # where child.py and wire.py appear inside the sandbox
TMP_BYTES = 64 * 2**20              # each of the sandbox's writable folders (memory-backed)
PROJECT = REPO
PROTECTED = (PROJECT / "reference", PROJECT / "graders", PROJECT / "reports")   # never visible to a student
# System paths the interpreter may need; where one is a symlink (merged /usr) the symlink is recreated.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Debian's shared libraries (BLAS for its numpy) are reached through /etc/alternatives symlinks.
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives")


class Unavailable(RuntimeError):
    """Bubblewrap was asked for and this machine cannot provide it."""


class _Verdict:
    """What the first sandboxed child taught this process: a sandbox that never started is not retried."""

    def __init__(self):
        self._lock = threading.Lock()
        self.failure: str | None = None

    def fail(self, reason: str) -> None:
        with self._lock:
            self.failure = self.failure or reason


_verdict = _Verdict()


def choose(requested: str) -> str:
    """The level a child runs at: "auto" takes bubblewrap where it works; "bubblewrap" insists on it."""
    if requested in (PROCESS, USER):   # "user" is what bulk chose once for all its workers
        return process_level()
    if requested not in (AUTO, BUBBLEWRAP):
        raise ValueError(f"unknown isolation {requested!r}: choose {', '.join(REQUESTS)}")
    problem = unavailable_reason()
    if problem is None:
        return BUBBLEWRAP
    if requested == BUBBLEWRAP:
        raise Unavailable(f"bubblewrap isolation is not available: {problem}")
    return process_level()


def process_level() -> str:
    """Without bubblewrap: "user" where the grader is root and can give each child a user id, else "process"."""
    from nngrade.run import users
    return USER if users.available() is None else PROCESS


def uses_own_user(level: str) -> bool:
    """Whether each child at this level runs as a user id of its own (the grader is root)."""
    from nngrade.run import users
    return level == USER or (level == BUBBLEWRAP and users.available() is None)


def uncontained() -> str:
    """What the process level without root does not contain, said once to whoever grades that way."""
    return ("student code ran as you, without a sandbox (no bubblewrap, not root): it could read and change your "
            "files, use the network and leave processes behind; only its time, memory and output were limited")


def unavailable_reason() -> str | None:
    """Why bubblewrap cannot be used here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return "it needs Linux"
    if _bwrap() is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if _python_roots() is None:
        return f"the Python installation's folder contains the project's {', '.join(p.name for p in PROTECTED)}"
    return _verdict.failure


def fallback_reason() -> str | None:
    """Why this process fell back from a bubblewrap that is installed but did not start, if it did."""
    return _verdict.failure


def record_failure(reason: str) -> None:
    """A sandboxed child never started: use the process level from now on in this process."""
    _verdict.fail(reason)


def wall_off(*extra: Path) -> list[str]:
    """As root, take other users' access away from the project (and `extra` folders): children run as other users.

    The whole project: nothing under it (reference, graders, data, reports, its git history) can be
    read or written by a child. Where the interpreter lives inside it (a virtual environment in the
    checkout), everything but the way to it: the folders on that way can only be passed through.
    """
    from nngrade.run import users
    python = {Path(os.path.realpath(p)) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    inside = [p for p in python if p.is_relative_to(PROJECT) and p != PROJECT]
    if not inside:
        return users.protect([PROJECT, *extra])
    ways = {folder for p in inside for folder in (p, *p.parents) if folder.is_relative_to(PROJECT)}
    passable = sorted(ways - set(inside), key=lambda folder: len(folder.parts))
    closed = [entry for folder in passable for entry in folder.iterdir() if entry not in ways]
    return users.protect([*closed, *extra], passable=passable)


def weakest(levels: Iterable[str]) -> str:
    """The level a whole report can claim: the weakest its children ran at ("process" if none ran)."""
    return min(levels, key=LEVELS.index, default=PROCESS)


def bubblewrap_command(files: Iterable[Path], child: Path, wire: Path) -> list[str]:
    """bwrap's arguments to run `python -I child.py` in SUBMISSION_DIR, where `files` are read-only."""
    args = [_bwrap(), "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        # bwrap runs privileged, without a user namespace: the child gets only what it needs to become
        # a user of its own (nngrade.run.users; child.py does that before the student's code), so that limits bite.
        # CAP_KILL lets a warm server (nngrade.run.warm) kill what a student's child left behind; the child
        # itself loses every capability when it becomes an unprivileged user.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_KILL"]
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in SYSTEM_FILES:
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    # Small private folders the student may write to, as at the process level: /tmp, the working folder,
    # and /dev/shm (multiprocessing's semaphores live there).
    for folder in SCRATCH_DIRS:
        args += ["--perms", "1777", *_size_option(), "--tmpfs", folder]
    created: set[str] = set()
    for root in _python_roots():    # after /tmp: a virtual environment may live under it
        args += _parents(root, created) + ["--ro-bind", root, root]
    args += ["--perms", "0755", "--dir", GRADER_DIR]
    for path in files:
        args += ["--ro-bind", str(path), f"{SUBMISSION_DIR}/{path.name}"]
    args += ["--ro-bind", str(child), f"{GRADER_DIR}/{child.name}", "--ro-bind", str(wire), f"{GRADER_DIR}/{wire.name}"]
    # The interpreter by an absolute, normalised path: one run as `../venv/bin/python` names a folder (the
    # project's) that the sandbox does not have; its links are kept (a venv's python is one, to its base).
    python = os.path.normpath(os.path.abspath(sys.executable))
    return args + ["--chdir", SUBMISSION_DIR, "--", python, "-I", f"{GRADER_DIR}/{child.name}"]


def mounted_in_scratch() -> list[str]:
    """Python's folders that the sandbox mounts inside its writable ones (a virtual environment under /tmp):
    they are the sandbox's own, not what a student left behind."""
    return [root for root in _python_roots() or ()
            if any(Path(root).is_relative_to(folder) for folder in SCRATCH_DIRS)]


@lru_cache(maxsize=1)
def _bwrap() -> str | None:
    return shutil.which("bwrap") or shutil.which("bwrap", path="/usr/bin:/bin")   # PATH may be a minimal one


@lru_cache(maxsize=1)
def _size_option() -> tuple[str, ...]:
    """--size caps a private tmpfs (bwrap 0.7 and later); older bwraps leave it at the tmpfs default."""
    import subprocess
    try:
        help_text = subprocess.run([_bwrap(), "--help"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return ("--size", str(TMP_BYTES)) if "--size" in help_text else ()


@lru_cache(maxsize=1)
def _python_roots() -> tuple[str, ...] | None:
    """The folders the child's interpreter and numpy live in, outside /usr; None if one would expose PROTECTED."""
    from importlib.util import find_spec   # where numpy is, without importing it (a student's run starts its
    numpy = find_spec("numpy")              # servers before the grader's own numpy import: nngrade.cli)
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  str(Path(os.path.realpath(sys.executable)).parent.parent), str(Path(numpy.origin).parent.parent)}
    roots: list[str] = []
    for path in sorted({os.path.realpath(p) for p in candidates}, key=len):
        if any(secret.exists() and secret.is_relative_to(path) for secret in PROTECTED):
            return None
        if not any(Path(path).is_relative_to(r) for r in ("/usr", *roots)):
            roots.append(path)
    return tuple(roots)


def _parents(path: str, created: set[str]) -> list[str]:
    """Directories above a bind target, world-readable (bwrap would copy the host's modes, e.g. /root's 0700)."""
    args = []
    for parent in reversed(Path(path).parents):
        name = str(parent)
        if name != "/" and name not in created:
            created.add(name)
            args += ["--perms", "0755", "--dir", name]
    return args

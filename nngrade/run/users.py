"""A user id of its own for each student child, when the grader runs as root: claimed, swept, and walled off.

As root, a child's user id is what keeps a student's code away from the grader: it cannot
signal the grader or ptrace it, read what only root may read, or lift its limits, and its
process limit (RLIMIT_NPROC counts per user) is its alone. This holds with bubblewrap (the
second wall) and without it, as in Gradescope's containers where bwrap cannot start.

- `claim()` hands out a user id no other child on this machine holds (an flock on a file
  per id, in a folder only root may write), so that a sweep never hits a neighbour.
- `sweep(uid)` kills every process of that user, however it left its process group
  (`setsid`, double forks), and removes what it left in the world-writable temp folders.
- `protect(paths)` takes other users' access away from the project, the reports, the
  class folder: what a child must never read or change, whatever the permissions were.
"""
from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import tempfile
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

# Ranges of user ids no account uses, first the one that fits the user namespace this grader runs in.
CANDIDATE_RANGES = (range(2_000_000, 2_065_536), range(200_000, 265_536), range(40_000, 60_000))
SHARED_TEMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")   # where any user may leave files behind
LOCKS = "/run/nngrade-uids"                      # root's own tmpfs; else a checked folder under the temp dir
_CAP_SETGID, _CAP_SETUID = 6, 7
SWEEP_SECONDS = 5.0


@lru_cache(maxsize=1)
def available() -> str | None:
    """Why children cannot get user ids of their own here, or None when they can."""
    if os.name != "posix" or not hasattr(os, "setuid"):
        return "it needs a POSIX system"
    if os.geteuid() != 0:
        return "the grader does not run as root"
    if not _can_change_user():
        return "this root lacks the capabilities to change user (CAP_SETUID, CAP_SETGID)"
    if uid_range() is None:
        return "no range of unused user ids is mapped in this user namespace"
    return None


@lru_cache(maxsize=1)
def uid_range() -> range | None:
    """The ids children get: the first candidate range mapped into this user namespace (all of it, usually)."""
    mapped = _mapped_ranges()
    for candidate in CANDIDATE_RANGES:
        if any(start <= candidate.start and candidate.stop <= start + length for start, length in mapped):
            return candidate
    return None


def _mapped_ranges() -> list[tuple[int, int]]:
    try:
        with open("/proc/self/uid_map", encoding="ascii") as handle:
            return [(int(inside), int(length)) for inside, _, length in (line.split() for line in handle)]
    except (OSError, ValueError):
        return [(0, 2**32 - 1)]   # no /proc: not Linux, nothing to learn; the first candidate is taken


def _can_change_user() -> bool:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            effective = next(int(line.split()[1], 16) for line in handle if line.startswith("CapEff:"))
    except (OSError, StopIteration, ValueError):
        return True   # no /proc (not Linux): root can
    return bool(effective >> _CAP_SETUID & 1 and effective >> _CAP_SETGID & 1)


@contextmanager
def claim(files: bool = True) -> Iterator[int]:
    """A user id held by this child alone until the block ends; whatever it left running is swept first.

    `files=False` where the child cannot write to this machine's shared folders (bubblewrap's are its own):
    sweeping them stats every entry of /tmp, twice per file, for nothing."""
    import fcntl
    ids, folder = uid_range(), _lock_folder()
    for _ in range(1000):
        uid = ids[secrets.randbelow(len(ids))]
        fd = os.open(os.path.join(folder, str(uid)), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue    # another child holds it
        try:
            sweep(uid, files)  # a grader killed earlier may have left its child's processes behind
            yield uid
        finally:
            try:
                sweep(uid, files)  # whatever the child left: setsid daemons, files in /tmp
            finally:
                os.close(fd)   # releases the lock
        return
    raise RuntimeError("no free user id for a student's child")


@lru_cache(maxsize=1)
def _lock_folder() -> str:
    """A folder only root can write to, shared by every grader on this machine (so ids are unique across them)."""
    for folder in (LOCKS, os.path.join(tempfile.gettempdir(), "nngrade-uids-root")):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError:
            continue
        info = os.lstat(folder)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o077:
            return folder
    return tempfile.mkdtemp(prefix="nngrade-uids-")   # someone else's folder was in the way: ids unique here only


def processes_of(uid: int) -> list[int]:
    """Live processes whose user is `uid`: one with any thread not dead (a zombie leader whose other
    threads run on is alive), not a zombie waiting for its reaper."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            threads = os.listdir(f"/proc/{name}/task")
        except OSError:
            continue     # gone meanwhile
        if any(_thread_alive(name, thread) for thread in threads):
            found.append(int(name))
    return found


def _thread_alive(pid: str, thread: str) -> bool:
    try:
        with open(f"/proc/{pid}/task/{thread}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def sweep(uid: int, files: bool = True) -> bool:
    """Kill every process of `uid` and remove its files from the shared temp folders (unless `files` is False);
    True when no process is left.

    Its process limit bounds how many there can be, and a killed process forks no more, so
    repeating kill-what-is-seen ends: a fork bomb cannot outrun it.
    """
    if not os.path.isdir("/proc"):
        return True
    deadline = time.monotonic() + SWEEP_SECONDS
    while True:
        alive = processes_of(uid)
        if not alive:
            break
        if time.monotonic() > deadline:
            return False
        for pid in alive:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.002)
    if files:
        for folder in SHARED_TEMP:
            _remove_owned(folder, uid)
        _remove_ipc(uid)
    return True


def _remove_owned(folder: str, uid: int) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            if entry.is_dir(follow_symlinks=False):
                remove_tree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def remove_tree(path: str) -> None:
    """Remove a folder a student's code may have filled, never following links, however deep it is.

    shutil.rmtree recurses, and a tree thousands of folders deep ends it with RecursionError;
    rm(1) walks iteratively. Errors are left: what remains is seen by whoever checks it is gone.
    """
    try:
        shutil.rmtree(path, ignore_errors=True)
    except RecursionError:
        import subprocess
        subprocess.run(["rm", "-rf", "--one-file-system", "--", path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)


# System V IPC objects outlive their processes: a segment, a queue or a semaphore set of the child's user.
_IPC = (("shm", "shmid", "shmctl"), ("msg", "msqid", "msgctl"), ("sem", "semid", "semctl"))
_IPC_RMID = 0


def _remove_ipc(uid: int) -> None:
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    for kind, id_column, control in _IPC:
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii") as handle:
                header, *rows = [line.split() for line in handle]
            ids = [int(row[header.index(id_column)]) for row in rows
                   if int(row[header.index("uid")]) == uid or int(row[header.index("cuid")]) == uid]
        except (OSError, ValueError, IndexError):
            continue
        for ipc_id in ids:
            if control == "semctl":
                libc.semctl(ipc_id, 0, _IPC_RMID, 0)
            else:
                getattr(libc, control)(ipc_id, _IPC_RMID, None)


def protect(paths, passable=()) -> list[str]:
    """Take other users' read, write and search rights from each path (the folder a link names); the changed paths.

    Only as root, where children run as other users: a child then cannot read the reference,
    the graders, the seed in a config file or another student's work, nor write where the
    grader will read. The group's rights stay: a child is in no group but its own. The folders
    in `passable` keep only other users' right to pass through (a way to Python inside them).
    """
    if available() is not None:
        return []
    changed = []
    for path in passable:
        path = os.path.realpath(path)
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        if mode & 0o007 != 0o001:
            os.chmod(path, mode & ~0o007 | 0o001)
            changed.append(str(path))
    for path in paths:
        path = os.path.realpath(path)   # named through a link, it is the folder behind it that must be walled off
        try:
            info = os.lstat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                continue
            raise
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o007:
            continue
        os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o007)
        changed.append(str(path))
    return changed


def give(path: Path, uid: int) -> None:
    """Make a child's own working folder (and what is in it) its user's."""
    os.chown(path, uid, uid)
    os.chmod(path, 0o700)

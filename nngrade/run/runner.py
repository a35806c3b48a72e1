"""Run one student file in a child process and bring back its quantities as validated plain data.

The child (nngrade/run/child.py) runs under `python -I` in a fresh temporary folder that
holds only the submitted file, with a scrubbed environment, in its own process group,
under resource limits it applies to itself before the student's code runs, and inside
bubblewrap where this machine offers it (nngrade.run.sandbox). The parent enforces the
wall-clock limit, kills the whole group when done, caps what it reads, and rebuilds
every value with nngrade.run.wire before anyone compares it.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from nngrade.run import notebooks
from nngrade.run import sandbox
from nngrade.run import untrusted

CHILD = Path(__file__).with_name("child.py")
WIRE = Path(__file__).with_name("wire.py")
# Variables the child may keep: OpenBLAS needs its core type on some processors to compute right.
KEPT_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0            # wall-clock seconds for the whole file (import and all calls)
    output_bytes: int = 20_000       # of the student's own prints kept for the report
    result_bytes: int = 64_000_000   # of result messages; past it the child is killed
    source_bytes: int = 1_000_000    # of the submitted file; a larger one is not run
    cpu_seconds: int | None = None   # per process; default: the wall-clock timeout plus one second
    memory_bytes: int = 2 * 2**30    # address space per process (numpy and OpenBLAS map ~0.3 GiB)
    file_bytes: int = 16 * 2**20     # largest file a process may write
    processes: int = 64              # processes and threads of the student's user (where it is the child's own)
    isolation: str = sandbox.AUTO    # "auto" (bubblewrap where it works), "process" or "bubblewrap"

    def rlimits(self, level: str) -> dict[str, tuple[int, int]]:
        """What the child sets on itself with resource.setrlimit: soft and hard limit by name."""
        cpu = self.cpu_seconds or int(self.timeout) + 1
        limits = {"RLIMIT_CPU": (cpu, cpu + 1), "RLIMIT_AS": (self.memory_bytes,) * 2,
                  "RLIMIT_FSIZE": (self.file_bytes,) * 2, "RLIMIT_CORE": (0, 0)}
        if level in (sandbox.BUBBLEWRAP, sandbox.USER):
            # RLIMIT_NPROC counts every process of the user: only in a sandbox (its own user namespace) or as a
            # user id of its own is that user the student's alone.
            limits["RLIMIT_NPROC"] = (self.processes,) * 2
        return limits


START_SECONDS = 30.0   # for a child to come up (an interpreter and numpy, on a loaded machine): not the student's time


@dataclass(frozen=True)
class Call:
    id: int
    function: str
    inputs: dict[str, Any]           # plain values (numpy arrays, floats, ints)
    quantities: tuple[str, ...]
    # A call made for the judge's own use (follow-through across functions): values larger than this many
    # elements come back as "too large" instead of filling the result budget that the graded calls share.
    max_elements: int | None = None

    @property
    def for_judge(self) -> bool:
        return self.max_elements is not None


@dataclass
class CallResult:
    ok: bool
    values: dict[str, Any] = field(default_factory=dict)
    error: dict | None = None        # {"type", "message", "line", "source"} of the student's exception
    missing: bool = False            # the function is not defined in the file
    seconds: float = 0.0
    mutated: tuple[str, ...] = ()    # inputs the function changed in place
    random_dependent: bool = False   # its values changed with the global random seed
    renamed: tuple[str, ...] | None = None   # called by position: the student's parameter names differ from the stub's
    dtypes: dict[str, str] = field(default_factory=dict)   # quantity -> the dtype it was computed in (float32, ...)


@dataclass
class RunResult:
    import_error: dict | None = None
    calls: dict[int, CallResult] = field(default_factory=dict)
    timed_out: bool = False
    exit_code: int | None = None
    protocol_error: str | None = None
    output: str = ""
    seconds: float = 0.0
    isolation: str = sandbox.PROCESS   # the level the child ran at (nngrade.run.sandbox.LEVELS)
    started: bool = False              # the child came up, confined, and was about to import the file
    notices: tuple[str, ...] = ()      # what the grader did to the file before it ran (a notebook converted)
    time_limit: float | None = None    # the wall-clock seconds the file was given (nngrade.judge.grading.time_limit)


@dataclass(frozen=True)
class Submitted:
    """A file as the child receives it: the name it imports it under and its Python source."""
    name: str
    source: bytes
    notices: tuple[str, ...] = ()      # a notebook's conversion: what was left out


def encode_calls(calls: list[Call]) -> list[dict]:
    """The calls as the child reads them (both the cold child and the warm server's forks)."""
    from nngrade.run import wire   # numpy: not imported before a student's run has started its servers (nngrade.cli)
    return [{"id": c.id, "function": c.function, "quantities": list(c.quantities),
             "inputs": {k: wire.encode(v) for k, v in c.inputs.items()},
             **({"max_elements": c.max_elements} if c.max_elements is not None else {})} for c in calls]


@contextmanager
def child_user(level: str) -> Iterator[int | None]:
    """Who runs the student's code: as root, a user id of its own (with bubblewrap or without), else None.

    Everything that user left running or in the shared temp folders is swept when the block ends.
    """
    if not sandbox.uses_own_user(level):
        yield None
        return
    from nngrade.run import users
    with users.claim(files=level != sandbox.BUBBLEWRAP) as uid:   # the sandbox's folders and IPC are its own
        yield uid


def read_source(path: Path, limits: Limits, level: str) -> Submitted | RunResult:
    """The submitted file as the child gets it, or the result of a file that is not run (too large, unreadable,
    not a file, a notebook that cannot be read).

    Opened without blocking and checked on what was opened: a FIFO or a device named like an
    exercise would otherwise hang the grader, or never end. A notebook becomes its code cells'
    Python source here, in the grader (nngrade.run.notebooks): the child never parses a notebook.
    """
    def refused(kind: str, message: str) -> RunResult:
        return RunResult(isolation=level, import_error={"type": kind, "line": None, "source": "", "message": message})
    notebook = notebooks.is_notebook(path.name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return refused("NotAFile", "it is not a regular file (a FIFO, a device, ...); it was not run")
            source = handle.read((notebooks.MAX_BYTES if notebook else limits.source_bytes) + 1)
    except OSError as exc:
        return refused("UnreadableFile", f"the file cannot be read ({exc.strerror or exc}); it was not run")
    notices: tuple[str, ...] = ()
    if notebook:
        if len(source) > notebooks.MAX_BYTES:
            return refused("FileTooLarge", f"the notebook has more than {notebooks.MAX_BYTES:,} bytes (it was not run)")
        try:
            source, converted = notebooks.to_source(source, untrusted.text(path.name, 100))
        except notebooks.NotebookError as exc:
            return refused("NotebookError", untrusted.text(exc, 300))
        notices = tuple(untrusted.text(n, 1000) for n in converted)
    if len(source) > limits.source_bytes:
        what = "its code cells have" if notebook else "the file has"
        size = len(source) if notebook else max(len(source), _size(path))
        return refused("FileTooLarge", f"{what} {size:,} bytes; the limit is {limits.source_bytes:,} (it was not run)")
    return Submitted(notebooks.python_name(path.name), source, notices)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def run_file(path: Path, calls: list[Call], limits: Limits = Limits()) -> RunResult:
    """Import `path` in a child process and make `calls`; never raises for anything the child does.

    Raises sandbox.Unavailable only when `limits.isolation` insists on bubblewrap and this machine has none.
    """
    level = sandbox.choose(limits.isolation)
    request = {"file": "", "module": "submission", "calls": encode_calls(calls)}
    started = time.perf_counter()
    submitted = read_source(path, limits, level)
    if isinstance(submitted, RunResult):
        result = submitted
    else:
        with _workdir() as workdir:
            target = Path(workdir) / submitted.name
            target.write_bytes(submitted.source)
            os.chmod(target, 0o644)   # readable by the unprivileged user of the sandbox
            result = _run_level(request, target, limits, {c.id for c in calls}, level)
            if result.isolation == sandbox.BUBBLEWRAP and not result.started and not result.timed_out \
                    and limits.isolation == sandbox.AUTO:
                sandbox.record_failure(f"a sandboxed child did not start (exit code {result.exit_code}): "
                                       + result.output[-300:].strip())
                result = _run_level(request, target, limits, {c.id for c in calls}, sandbox.process_level())
        result.notices = submitted.notices
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def _workdir() -> Iterator[str]:
    """The child's own temporary folder; removed however deep the student's code made it (nngrade.run.users)."""
    workdir = tempfile.mkdtemp(prefix="nngrade-")
    try:
        yield workdir
    finally:
        from nngrade.run.users import remove_tree
        remove_tree(workdir)


def _run_level(request: dict, target: Path, limits: Limits, call_ids: set[int], level: str) -> RunResult:
    with child_user(level) as uid:
        return _run_as(request, target, limits, call_ids, level, uid)


def _run_as(request: dict, target: Path, limits: Limits, call_ids: set[int], level: str, uid: int | None) -> RunResult:
    workdir = target.parent
    request = {**request, "limits": limits.rlimits(level), "uid": uid}
    if level == sandbox.BUBBLEWRAP:
        command = sandbox.bubblewrap_command([target], CHILD, WIRE)
        request["file"] = f"{sandbox.SUBMISSION_DIR}/{target.name}"
        env = child_env("/tmp")
    else:
        command = [sys.executable, "-I", str(CHILD)]
        request["file"] = str(target)
        env = child_env(str(workdir))
        if uid is not None:   # the working folder is the child's user's own, as the sandbox's would be
            from nngrade.run.users import give
            give(workdir, uid)
    result = _run_child(command, json.dumps(request).encode(), workdir, env, limits, call_ids)
    result.isolation = level
    if level == sandbox.BUBBLEWRAP and result.exit_code is not None and 128 < result.exit_code < 160:
        result.exit_code = 128 - result.exit_code   # bwrap says 128+N for a child killed by signal N
    return result


def child_env(home: str) -> dict[str, str]:
    env = {"PATH": os.defpath, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    env.update({k: os.environ[k] for k in KEPT_ENV if k in os.environ})
    return env


def _run_child(command: list[str], request: bytes, workdir: Path, env: dict[str, str], limits: Limits,
               call_ids: set[int]) -> RunResult:
    proc = subprocess.Popen(
        command, cwd=workdir, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=(os.name == "posix"))
    # Feed the request from a thread: a child that never reads stdin must not block us.
    threading.Thread(target=_feed, args=(proc.stdin, request), daemon=True).start()
    if os.name != "posix":
        return _collect_with_threads(proc, limits, call_ids)
    # The time limit is the student's: it runs from the child's first line (it is up and confined, the file not yet
    # imported), as a warm server's fork starts with the interpreter up. Coming up has START_SECONDS of its own.
    deadline = time.monotonic() + max(limits.timeout, START_SECONDS)
    up = False
    results, output = bytearray(), bytearray()
    result = RunResult()
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ, results)
    selector.register(proc.stderr, selectors.EVENT_READ, output)
    exited_at = None
    try:
        while selector.get_map():
            now = time.monotonic()
            if now > deadline:
                result.timed_out = True
                break
            if proc.poll() is not None:
                exited_at = exited_at or now
                if now - exited_at > 0.2:   # a grandchild holds the pipes open: stop listening
                    break
            for key, _ in selector.select(timeout=0.05):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = key.data
                if buffer is results and not up and b"\n" in chunk:
                    up, deadline = True, time.monotonic() + limits.timeout
                cap = limits.result_bytes if buffer is results else limits.output_bytes
                if len(buffer) < cap:
                    buffer.extend(chunk[: cap - len(buffer)])
                elif buffer is results:
                    result.protocol_error = "sent more result data than allowed"
                    raise _Stop
    except _Stop:
        pass
    finally:
        selector.close()
        _kill_group(proc)
        result.exit_code = proc.wait()
        for stream in (proc.stdout, proc.stderr):
            stream.close()
    result.output = untrusted.output(bytes(output))
    parse_events(bytes(results), call_ids, result)
    return result


def _collect_with_threads(proc: subprocess.Popen, limits: Limits, call_ids: set[int]) -> RunResult:
    """Windows: select() takes no pipes there, so one thread drains each pipe, capped, until the deadline."""
    result = RunResult()
    buffers = {"results": bytearray(), "output": bytearray()}
    caps = {"results": limits.result_bytes, "output": limits.output_bytes}

    def drain(stream, name: str) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):
            room = caps[name] - len(buffers[name])
            buffers[name].extend(chunk[:max(room, 0)])
            if room < len(chunk) and name == "results":
                result.protocol_error = "sent more result data than allowed"
                _kill_group(proc)

    readers = [threading.Thread(target=drain, args=(proc.stdout, "results"), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, "output"), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        result.exit_code = proc.wait(timeout=limits.timeout)
    except subprocess.TimeoutExpired:
        result.timed_out = True
        _kill_group(proc)
        result.exit_code = proc.wait()
    for reader in readers:
        reader.join(timeout=1.0)
    result.output = untrusted.output(bytes(buffers["output"]))
    parse_events(bytes(buffers["results"]), call_ids, result)
    return result


class _Stop(Exception):
    pass


def _feed(stream, data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except OSError:
        pass  # the child closed stdin or died; its result will say so


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the child and everything in its process group.

    A process that leaves the group (setsid) escapes this; under bubblewrap it dies with the
    sandbox's process namespace all the same.
    """
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def parse_events(data: bytes, call_ids: set[int], result: RunResult) -> None:
    """Validate the child's event lines strictly; anything malformed ends the parse with a protocol error.

    Nothing the child says is taken beyond validation: texts go through nngrade.run.untrusted, a timing
    that is not a sane number of seconds is dropped (the student may have patched the clock), and
    NaN or Infinity where JSON allows none is only a value to validate like any other.
    """
    from nngrade.run import wire
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            event = json.loads(line)
            kind = event["event"]
            if kind == "start":
                result.started = True
            elif kind == "import":
                if not event["ok"]:
                    result.import_error = _error_dict(event["error"])
            elif kind == "call":
                call_id = event["id"]
                if type(call_id) is not int or call_id not in call_ids or call_id in result.calls:
                    raise ValueError("unknown or repeated call id")
                values, mutated, renamed = event.get("values", {}), event.get("mutated", ()), event.get("renamed")
                if not isinstance(values, dict) or not isinstance(mutated, list | tuple) \
                        or not isinstance(renamed, list | None):
                    raise ValueError("values is not an object, or mutated or renamed not a list")
                result.calls[call_id] = CallResult(
                    ok=event["ok"] is True, missing=event.get("missing") is True,
                    values={untrusted.text(k, 80): _value(wire.decode(v)) for k, v in values.items()},
                    error=_error_dict(event["error"]) if event.get("error") is not None else None,
                    seconds=untrusted.seconds(event.get("seconds")) or 0.0,
                    mutated=tuple(untrusted.text(name, 80) for name in mutated[:50]),
                    random_dependent=event.get("random_dependent") is True,
                    renamed=None if renamed is None else tuple(untrusted.text(name, 80) for name in renamed[:50]),
                    dtypes={untrusted.text(k, 80): dtype for k, v in values.items() if (dtype := wire.precision(v))})
            elif kind != "done":
                raise ValueError("unknown event")
        except (ValueError, KeyError, TypeError, wire.WireError, RecursionError) as exc:
            result.protocol_error = result.protocol_error or f"sent malformed results ({type(exc).__name__})"
            return


def _value(value: Any) -> Any:
    """A decoded value; the texts of one the child could not express as numbers made safe."""
    from nngrade.run import wire
    if isinstance(value, wire.Invalid):
        return wire.Invalid(untrusted.text(value.type_name, 60), untrusted.text(value.reason, 200))
    return value


def _error_dict(error: Any) -> dict:
    if not isinstance(error, dict):
        raise ValueError("error is not an object")
    line = error.get("line")
    return {"type": untrusted.text(error.get("type", "Error"), 80),
            "message": untrusted.text(error.get("message", ""), 300),
            "line": line if type(line) is int and 0 < line < 10**9 else None,
            "source": untrusted.text(error.get("source", ""), 200)}

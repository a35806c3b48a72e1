"""The child side of a grading run: import one student file and call its functions on given inputs.

Run as `python -I child.py` by nngrade.run.runner (one file), or as `python -I child.py --serve` by
nngrade.run.warm (a warm server that forks a child per file); never imported by the grader.
It reads one JSON request on stdin and writes one JSON line per event to the pipe it
got as stdout, after moving the student's own prints to stderr: "start" once it has
confined itself (resource limits; inside bubblewrap as root, the unprivileged user),
the import, then each call with the quantities it returned (or computed before an
exception). It decides nothing: every value goes back as plain data for the parent
to validate and compare.
"""
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path

# Taken before any student code runs: a submission that patches time.perf_counter cannot break the timings.
_clock = time.perf_counter


def _load_wire():
    # Loaded by path under a private name: the grader's package is not on sys.path here. Once per interpreter:
    # a warm server's forks find it loaded.
    if "_nngrade_wire" not in _LOADED:
        spec = importlib.util.spec_from_file_location("_nngrade_wire", Path(__file__).with_name("wire.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _LOADED["_nngrade_wire"] = module
    return _LOADED["_nngrade_wire"]


_LOADED = {}


# Loaded before the child becomes a user of its own: a Python under a folder only root may enter (/root,
# mode 0700) can then still give the student numpy and the standard modules they reach for.
PRELOAD = ("numpy", "numpy.random", "numpy.linalg", "math", "random", "copy", "functools", "collections",
           "operator", "warnings", "typing", "dataclasses", "re")


def _preload() -> None:
    import importlib
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _keep_python_reachable() -> None:
    """Before becoming another user: keep the interpreter's folders importable even where that user may not enter.

    A Python under /root (mode 0700) is out of reach of any other user. A folder opened now
    stays reachable through /proc/self/fd/N, which checks no folder above it: sys.path and the
    loaded packages are pointed there, so the student's imports work as the grader's would.
    Only where that folder holds Pythons alone (pyenv's, conda's): all of it comes in reach.
    Done once per process: a warm server does it before it forks (its children inherit the paths and the
    opened folders), which spares each child a few thousand stat calls over numpy's packages.
    """
    if _REACHABLE:
        return
    _REACHABLE.append(True)
    import stat
    opened: dict[str, str] = {}

    def reachable(path: str) -> str:
        if not path or not os.path.isabs(path):
            return path
        parts = Path(path).parts
        blocked = None
        for depth in range(1, len(parts)):
            try:
                if not os.stat(os.path.join(*parts[:depth])).st_mode & stat.S_IXOTH:
                    blocked = depth
            except OSError:
                return path
        if blocked is None or blocked >= len(parts):
            return path
        anchor = os.path.join(*parts[:blocked + 1])   # the first folder below the last closed one
        if anchor not in opened and not _holds_only_pythons(anchor):
            return path   # ~/.local and the like hold more than Python: the student gets the preloaded modules only
        if anchor not in opened:
            try:
                opened[anchor] = f"/proc/self/fd/{os.open(anchor, os.O_RDONLY | os.O_DIRECTORY)}"
            except OSError:
                return path
        return os.path.join(opened[anchor], *parts[blocked + 1:])

    sys.path[:] = [reachable(entry) for entry in sys.path]
    for module in list(sys.modules.values()):
        package_path = getattr(module, "__path__", None)
        if isinstance(package_path, list):
            package_path[:] = [reachable(entry) for entry in package_path]
    sys.path_importer_cache.clear()


_REACHABLE: list = []   # not empty once _keep_python_reachable has run in this process (or the server it forked from)


# Folders that hold Python installations and nothing else of their owner's. Whatever lies below the
# first folder a child may enter is in its reach (".." from an opened folder climbs up to it).
PYTHON_HOMES = (".pyenv", ".conda", "miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba", ".rye")


def _holds_only_pythons(folder: str) -> bool:
    real = os.path.realpath(folder)
    installs = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return real in installs or os.path.basename(real) in PYTHON_HOMES


def _confine(request: dict) -> None:
    """Apply the request's resource limits and user before any student code runs.

    Hard limits too, so that unprivileged student code cannot lift them again. As root, the
    child then becomes the request's user id, with no way back to privileges: no groups, no
    capabilities, and no new privileges from a setuid program.
    """
    try:
        import resource
    except ImportError:
        return  # Windows: the parent's wall-clock limit is what there is
    for name, (soft, hard) in request.get("limits", {}).items():
        try:
            limit = getattr(resource, name)
            ceiling = resource.getrlimit(limit)[1]
            if ceiling != resource.RLIM_INFINITY:
                soft, hard = min(soft, ceiling), min(hard, ceiling)
            resource.setrlimit(limit, (soft, hard))
        except (AttributeError, ValueError, OSError):
            pass  # a limit this platform lacks or refuses (macOS and RLIMIT_AS): the others still hold
    uid = request.get("uid")
    if uid is not None and os.getuid() == 0:
        _keep_python_reachable()
        _no_new_privileges()
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:   # never run a student's code as root by mistake
            raise PermissionError("could not become the child's own user")


def _no_new_privileges() -> None:
    """PR_SET_NO_NEW_PRIVS: a setuid program (su, mount, ...) started by the student runs without its privileges."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    if ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0) != 0:   # PR_SET_NO_NEW_PRIVS = 38
        raise PermissionError("could not set no_new_privs")


def _describe(exc: BaseException, path: str) -> dict:
    """The exception as a student should see it: type, message, and the line of their file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    where = frames[-1] if frames else None
    if isinstance(exc, SyntaxError) and exc.filename == path:
        return {"type": "SyntaxError", "message": str(exc.msg)[:300], "line": exc.lineno,
                "source": (exc.text or "").strip()[:200]}
    return {"type": type(exc).__name__, "message": str(exc)[:300],
            "line": where.lineno if where else None, "source": (where.line or "")[:200] if where else ""}


def _partial_locals(exc: BaseException, code) -> dict:
    """Locals of the student's function at the moment it raised, so earlier quantities still count."""
    tb = exc.__traceback__
    found = {}
    while tb is not None:
        if tb.tb_frame.f_code is code:
            found = dict(tb.tb_frame.f_locals)
        tb = tb.tb_next
    return found


def _encode_values(wire, source: dict, quantities: list, limit: int | None = None) -> dict:
    return {q: _encode_bounded(wire, source[q], limit) for q in quantities if q in source}


def _encode_bounded(wire, value, limit: int | None) -> dict:
    """A value, or, past `limit` elements (a call the judge makes for itself), a note that it is too large."""
    if limit is not None:
        import numpy
        try:
            size = int(numpy.size(value))
        except BaseException:  # noqa: BLE001 - whatever the student's object does, wire.encode says what it is
            size = 0
        if size > limit:
            return {"kind": "invalid", "type": type(value).__name__[:60], "reason": f"is too large ({size} values)"}
    return wire.encode(value)


def _seed_global_random(seed: int) -> None:
    # Both global generators a student might reach for: numpy's legacy one and the random module.
    import random
    import numpy
    numpy.random.seed(seed)
    random.seed(seed)


PROBE_SECONDS = 0.002   # calls cheaper than this are all probed for hidden randomness; dearer ones once a function


def _arguments(function, inputs: dict) -> tuple[tuple, dict, list | None]:
    """How to pass `inputs` (in the stub's parameter order) to the student's function: (args, kwargs, renamed).

    By name where the student's signature takes the stub's names (keyword-only parameters and
    **kwargs included); else by position where it takes that many positional arguments (a student
    who wrote `w` for `weights`, as the lesson's own code names it): then `renamed` lists the
    student's names, for the parent to say so. Anything else is called by name, and its TypeError
    is the student's to read.
    """
    names = tuple(inputs)
    known = _BINDINGS.get((id(function), names))
    if known is None or known[0] is not function:
        known = (function, *_binding(function, inputs))
        _BINDINGS[(id(function), names)] = known
    _, by_name, positional = known
    return ((), inputs, None) if by_name else (tuple(inputs.values()), {}, positional)


# (id of a student's function, the parameter names passed) -> (the function, by name?, its positional names): how to
# call it is found once (inspect.signature is dear, and a file's functions are called hundreds of times). Keyed by
# id, the function kept beside it, so that no hash or == of the student's is ever called.
_BINDINGS: dict = {}


def _binding(function, inputs: dict) -> tuple[bool, list | None]:
    import inspect
    try:
        signature = inspect.signature(function)
        try:
            signature.bind(**inputs)
            return True, None
        except TypeError:
            pass
        signature.bind(*inputs.values())
        positional = [str(p.name) for p in signature.parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:len(inputs)]
    except BaseException:  # noqa: BLE001 - a builtin, an odd callable, a __signature__ of the student's that raises
        return True, None   # by name: what the call then raises is the student's result
    return False, positional


def _for_judge(call: dict) -> bool:
    """A call the judge makes for itself (follow-through only): it carries a size limit (runner.Call.for_judge)."""
    return "max_elements" in call


def _call(module, call: dict, wire, path: str, probe: bool = True) -> dict:
    """Call one student function on decoded inputs; report its values, its exception, its side effects."""
    function = getattr(module, call["function"], None)
    event = {"event": "call", "id": call["id"]}
    if not callable(function):
        return {**event, "ok": False, "missing": True}
    inputs = {name: wire.decode(value) for name, value in call["inputs"].items()}
    # Inputs changed in place are said of graded calls; the judge's own calls (hundreds) are asked only for values.
    judged = not _for_judge(call)
    snapshot = {name: value.copy() for name, value in inputs.items() if hasattr(value, "copy")} if judged else {}
    args, kwargs, renamed = _arguments(function, inputs)
    if renamed is not None:
        event["renamed"] = renamed
    _seed_global_random(1)
    started = _clock()
    try:
        returned = function(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - a student's exception is a result
        values = _encode_values(wire, _partial_locals(exc, getattr(function, "__code__", None)), call["quantities"],
                                call.get("max_elements"))
        return {**event, "ok": False, "error": _describe(exc, path), "values": values,
                "seconds": _clock() - started}
    seconds = _clock() - started
    if not isinstance(returned, dict):
        return {**event, "ok": False, "seconds": seconds,
                "error": {"type": "ReturnValue", "line": None, "source": "",
                          "message": f"{call['function']} returned {type(returned).__name__}, "
                                     "expected the dict of quantities that the stub returns"}}
    try:
        values = _encode_values(wire, returned, call["quantities"], call.get("max_elements"))
    except BaseException as exc:  # noqa: BLE001 - a dict subclass of the student's may raise
        return {**event, "ok": False, "error": _describe(exc, path), "seconds": seconds}
    import numpy
    mutated = [name for name, before in snapshot.items()
               if not numpy.array_equal(before, inputs[name], equal_nan=True)]
    return {**event, "ok": True, "values": values, "seconds": seconds, "mutated": mutated,
            "random_dependent": judged and (probe or seconds < PROBE_SECONDS)
            and _depends_on_global_random(function, call, wire, values)}


def _depends_on_global_random(function, call: dict, wire, values: dict) -> bool:
    """Call again on fresh inputs under another global seed: different values mean hidden randomness."""
    _seed_global_random(2)
    shown, sys.stdout = sys.stdout, _Discard()   # the student's prints of the first call are theirs; not twice
    try:
        args, kwargs, _ = _arguments(function, {name: wire.decode(value) for name, value in call["inputs"].items()})
        again = function(*args, **kwargs)
        return _encode_values(wire, again, call["quantities"]) != values
    except BaseException:  # noqa: BLE001 - failing only on the second call is itself a dependence on state
        return True
    finally:
        sys.stdout = shown


class _Discard:
    """A stdout that keeps nothing (the probe's second call would print everything twice)."""

    def write(self, text) -> int:
        return len(text) if isinstance(text, str) else 0

    def flush(self) -> None:
        pass


JUDGE_FLUSH_SECONDS = 0.02   # how long the results of the judge's own calls may wait in this process's buffer
CHANNEL_BUFFER = 1 << 16     # bytes of results held before a write (a pipe holds as much)


def _grade(request: dict, channel) -> None:
    """Confine this process, import the student's file, make the calls; every event goes to `channel`."""
    flushed = [_clock()]

    def send(event: dict, now: bool = True) -> None:
        # Each graded call's result leaves at once: a later call that never ends must not take it along. The
        # judge's own calls (hundreds, for follow-through only) leave in batches: a write per call would wake
        # the reader for each and cost more than the calls (what one lost in a batch cost is only follow-through).
        channel.write(json.dumps(event) + "\n")
        if now or _clock() - flushed[0] > JUDGE_FLUSH_SECONDS:
            channel.flush()
            flushed[0] = _clock()

    wire = _load_wire()   # before the child's user may no longer read the grader's folder
    _preload()
    _confine(request)
    # The parent's proof that this interpreter came up confined (and, inside bubblewrap, that the sandbox works).
    send({"event": "start"})
    path = request["file"]
    sys.dont_write_bytecode = True   # -I ignores PYTHONDONTWRITEBYTECODE: no __pycache__ beside the student's file
    sys.path.insert(0, str(Path(path).parent))
    started = _clock()
    try:
        spec = importlib.util.spec_from_file_location(request["module"], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - SystemExit at import is the student's, report it
        send({"event": "import", "ok": False, "error": _describe(exc, path),
              "seconds": _clock() - started})
        return
    send({"event": "import", "ok": True, "seconds": _clock() - started})

    # The second call that detects hidden randomness doubles a call's cost: for the dear calls (a training
    # epoch on the lesson's 360 records) it is made once per function, on its last (smallest, hidden) case.
    last = {call["function"]: call["id"] for call in request["calls"]}
    for call in request["calls"]:
        send(_call(module, call, wire, path, probe=last[call["function"]] == call["id"]), now=not _for_judge(call))
    send({"event": "done"})


def main() -> None:
    # The result channel is the original stdout pipe; fd 1 then points at stderr, so that a
    # student's print() can never be mistaken for results (portable: no pass_fds needed).
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=CHANNEL_BUFFER)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.read())
    sys.stdin.close()
    _grade(request, channel)


# --- warm mode: one interpreter with numpy imported, a fork per submitted file (POSIX) -------------

def serve(config: dict) -> None:
    """Grade one request per line on stdin, each in a fork of a clean template; two lines back per request.

    numpy is imported once here, so a child costs a fork instead of an interpreter's start-up.
    This process is the template: it never reads a request, so nothing of any student is ever
    in its memory. For each request it forks a handler, which reads the request, lays out the
    files, forks the student's child (which runs exactly what a cold child runs, `_grade`),
    collects its results and writes the reply line, then exits with everything it held. The
    template then kills what the child left (in a sandbox of its own) and removes its folder,
    and writes a status line (`{"clean": ...}`). If anything of the child is left all the same
    (a process, a file it cannot remove, a full /tmp), the template ends after saying so: the
    next file gets a fresh server (and sandbox), never a dirty one. The grader enforces the
    wall clock: it kills this whole server when a request takes too long.
    """
    import signal

    _SERVER.update(workspace=str(config["workspace"]), scratch=[str(d) for d in config["scratch"]], pid=os.getpid(),
                   mounted=[str(d) for d in config.get("mounted", ())])
    _not_dumpable()
    _load_wire()
    _preload()   # the point of a warm server: numpy (numpy.random too: each child seeds it), imported once
    if os.getuid() == 0:
        _keep_python_reachable()   # as root, each child becomes a user of its own (_confine)
    control_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    control_out.write(b'{"ready": true}\n')   # the student's time starts after this server's own start-up
    control_out.flush()
    sandboxed = _in_own_pid_namespace()
    for number in range(2**62):
        handler = os.fork()
        if handler == 0:
            status = 1
            try:
                status = _handle(number, control_out)
            finally:
                os._exit(status)
        status = os.waitstatus_to_exitcode(os.waitpid(handler, 0)[1])
        if status == _NO_MORE_REQUESTS:
            return
        clean = _kill_the_rest(signal) if sandboxed else True
        folder = _folder(number)
        _remove_tree(folder)
        clean = clean and status == 0 and not os.path.lexists(folder) and (not sandboxed or _sandbox_is_empty())
        control_out.write(json.dumps({"clean": clean, "handled": status == 0}).encode() + b"\n")
        control_out.flush()
        if not clean:
            return


_NO_MORE_REQUESTS = 3   # the handler's exit status when the grader closed the server's stdin


def _remove_tree(folder: str) -> None:
    """As nngrade.run.users.remove_tree (this file stands alone): rmtree, and rm(1) for a tree too deep to recurse."""
    import shutil
    try:
        shutil.rmtree(folder, ignore_errors=True)
    except RecursionError:
        import subprocess
        subprocess.run(["rm", "-rf", "--one-file-system", "--", folder], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)


def _handle(number: int, control_out) -> int:
    """The handler of one request: read it, fork the student's child, reply. Its memory dies with it."""
    import base64
    import selectors
    line = _read_request()
    if line is None:
        return _NO_MORE_REQUESTS
    request = json.loads(line)
    try:
        folder = _job_folder(request, number, base64)
    except OSError:   # the files could not be written (a full /tmp?): a fresh server is the fix
        control_out.write(json.dumps({"setup_failed": True}).encode() + b"\n")
        control_out.flush()
        return 0
    request["file"] = os.path.join(folder, os.path.basename(request["file"]))
    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: nothing of the server's survives into the student's code
        try:
            os.setsid()
            os.close(result_r)
            os.close(output_r)
            os.close(control_out.fileno())
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(output_w, 1)
            os.dup2(output_w, 2)
            os.chdir(folder)
            sys.stdout = sys.stderr   # as in a cold child: the student's prints are output, never results
            _grade(request, os.fdopen(result_w, "w", encoding="utf-8", buffering=CHANNEL_BUFFER))
        finally:
            try:
                sys.stderr.flush()
            finally:
                os._exit(0)
    os.close(result_w)
    os.close(output_w)
    results, output, status, flooded = _collect(pid, result_r, output_r, request["caps"], selectors)
    _kill_group(pid)
    reply = {"results": base64.b64encode(results).decode(), "output": base64.b64encode(output).decode(),
             "exit_code": status, "flooded": flooded}
    control_out.write(json.dumps(reply).encode() + b"\n")
    control_out.flush()
    return 0


def _read_request() -> bytes | None:
    """One request line from stdin, read unbuffered: the next line belongs to the next handler."""
    buffer = bytearray()
    while not buffer.endswith(b"\n"):
        chunk = os.read(0, 1 << 20)
        if not chunk:
            return None
        buffer.extend(chunk)
    return bytes(buffer)


_SERVER = {}   # where this server lays out its jobs ("workspace") and the sandbox's writable folders ("scratch")


def _job_folder(request: dict, number: int, base64) -> str:
    """A folder for one child, named by the server's own count, in a folder only the server may write to
    (children cannot take or fill the next one's name in advance)."""
    os.makedirs(_jobs(), mode=0o711, exist_ok=True)   # enterable, not listable: no child learns the others' names
    os.chmod(_jobs(), 0o711)
    folder = _folder(number)
    os.mkdir(folder, 0o700)   # the server's alone until the files are in: no other child may look in meanwhile
    for name, content in request.pop("files").items():
        target = os.path.join(folder, os.path.basename(name))
        with open(target, "wb") as handle:
            handle.write(base64.b64decode(content))
        os.chmod(target, 0o644)
    uid = request.get("uid")
    if uid is not None and not request.get("sandboxed"):
        # The process level as root: the folder is the child's user's alone (other children cannot look in).
        os.chown(folder, uid, uid)
    else:
        os.chmod(folder, 0o1777)   # the student's code may write files where it runs, as in a cold child
    return folder


def _jobs() -> str:
    # This server's own: a new server never meets an old one's leftovers.
    return os.path.join(_SERVER["workspace"], f".jobs-{_SERVER['pid']}")


def _folder(number: int) -> str:
    return os.path.join(_jobs(), str(number))


def _in_own_pid_namespace() -> bool:
    """kill(-1) is only ever sent where it reaches the sandbox alone: process 1 must be bubblewrap's."""
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            return os.path.basename(handle.read().split(b"\0")[0]) == b"bwrap"
    except OSError:
        return False


def _kill_the_rest(signal) -> bool:
    """Kill every process of the sandbox but process 1 and this server; True when none is left.

    One kill(-1) reaches them all at once (a process that keeps forking cannot slip past it, as it
    could past a list of /proc); it is repeated a few times for anything caught half-way.
    """
    me = os.getpid()
    for _ in range(5):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        if not [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]:
            return True
        time.sleep(0.01)
    return False


def _sandbox_is_empty() -> bool:
    """Nothing left in the sandbox's writable folders but the (empty) folder of jobs and the folders that hold
    the sandbox's own mounts (Python in a virtual environment under /tmp)."""
    jobs = _jobs()

    def ours(path: str) -> bool:   # a mount, or a folder on the way to one holding nothing else
        if path == jobs or path in _SERVER["mounted"]:
            return True
        return any(mount.startswith(path + os.sep) for mount in _SERVER["mounted"]) and \
            all(ours(os.path.join(path, name)) for name in os.listdir(path))
    try:
        return all(not [n for n in os.listdir(d) if not ours(os.path.join(d, n))]
                   for d in _SERVER["scratch"] if os.path.isdir(d)) and not os.listdir(jobs) and _no_ipc_left()
    except OSError:
        return False


def _no_ipc_left() -> bool:
    """No System V segment, queue or semaphore set in the sandbox's IPC namespace: they outlive their
    processes, and the next child would find them (and their memory would stay held)."""
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii") as handle:
                if len(handle.read().strip().splitlines()) > 1:   # a header line, then one line per object
                    return False
        except OSError:
            pass
    return True


def _collect(pid: int, result_r: int, output_r: int, caps: dict, selectors) -> tuple[bytes, bytes, int, bool]:
    """Read the child's results and output (capped) until it has exited and its pipes are quiet."""
    flooded = False
    buffers = {result_r: bytearray(), output_r: bytearray()}
    limits = {result_r: caps["result_bytes"], output_r: caps["output_bytes"]}
    selector = selectors.DefaultSelector()
    for fd in buffers:
        selector.register(fd, selectors.EVENT_READ)
    status, exited_at = None, None
    while selector.get_map():
        if status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
                exited_at = time.monotonic()
        elif time.monotonic() - exited_at > 0.2:   # a grandchild holds the pipes open: stop listening
            break
        for key, _ in selector.select(timeout=0.05):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fd)
                continue
            room = limits[key.fd] - len(buffers[key.fd])
            buffers[key.fd].extend(chunk[:max(room, 0)])
            if len(chunk) > room and key.fd == result_r:   # a flood of results: stop it now
                flooded = True
                selector.unregister(key.fd)
                _kill_group(pid)
    selector.close()
    os.close(result_r)
    os.close(output_r)
    if status is None:
        _kill_group(pid)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return bytes(buffers[result_r]), bytes(buffers[output_r]), status, flooded


def _kill_group(pid: int) -> None:
    import signal
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _not_dumpable() -> None:
    """No process of the same user (a student's child) may ptrace the server or read its memory."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)   # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    serve(json.loads(sys.argv[2])) if sys.argv[1:2] == ["--serve"] else main()

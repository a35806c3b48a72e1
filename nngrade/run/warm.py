"""Warm child servers: one interpreter with numpy imported, a fork per student file (bulk's workers,
--watch, and a student's own run, which starts its servers before it imports anything dear: Servers).

A cold child (nngrade.run.runner.run_file) pays an interpreter's start-up and numpy's import,
about 90 ms, for every file; a class of thousands pays that five times per student. The
server (`child.py --serve`, inside bubblewrap where available) pays it once and forks a
child per file, which then runs exactly what a cold child runs, under the same limits and
user. Whatever goes wrong (a timeout, a server that dies or says nonsense) the server is
killed with everything in it and a new one starts for the next file; the file at fault
gets the same result a cold child would have given it.
"""
from __future__ import annotations

import base64
import json
import os
import queue
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nngrade.run import sandbox
from nngrade.run import untrusted
from nngrade.run.runner import CHILD, START_SECONDS, WIRE, Call, Limits, RunResult, child_env, child_user, encode_calls, parse_events, read_source, run_file

SERVER_STOPPED = "the grading server stopped"
REPLY_SLACK = 1_000_000   # bytes of a reply beyond the result and output caps (base64 and framing)


class ChildServer:
    """Grades files one at a time in forked children; not thread-safe (one per worker thread)."""

    def __init__(self, limits: Limits = Limits()):
        self.level = sandbox.choose(limits.isolation)
        self.proc: subprocess.Popen | None = None
        self._ready = False                # the server has said it is up (numpy imported)
        self._stopped = False              # stop() was called: no server is started again
        self._pending = bytearray()    # what the server sent past the last line read
        self.workspace: str | None = None   # the process level's folder of jobs (the sandbox has its own)

    def run(self, path: Path, calls: list[Call], limits: Limits) -> RunResult:
        """Like runner.run_file, answered by a fork of the warm server."""
        if os.name != "posix":
            return run_file(path, calls, limits)   # no fork here
        started = time.perf_counter()
        submitted = read_source(path, limits, self.level)
        if isinstance(submitted, RunResult):
            return submitted   # refused: too large or unreadable, as a cold child would say
        request = {
            "files": {submitted.name: base64.b64encode(submitted.source).decode()}, "file": submitted.name,
            "module": "submission", "caps": {"result_bytes": limits.result_bytes, "output_bytes": limits.output_bytes},
            "calls": encode_calls(calls)}
        claimed = self.level
        with child_user(claimed) as uid:   # as root: a user of its own, swept when the block ends
            result = self._ask({**request, "uid": uid}, limits)
            if result.protocol_error == SERVER_STOPPED and not self._stopped:
                # The server died without an answer (what a student's child cannot do to it: only the server's own
                # trouble, or a previous student's leftovers): this file deserves one run on a fresh server.
                result = self._ask({**request, "uid": uid}, limits)
            if uid is not None and claimed == sandbox.BUBBLEWRAP and self.level != sandbox.BUBBLEWRAP:
                from nngrade.run import users
                users.sweep(uid)   # the sandbox fell away meanwhile: the file ran on this machine, its files too
        result.isolation = self.level
        result.notices = submitted.notices
        result.seconds = time.perf_counter() - started
        return result

    def _ask(self, request: dict, limits: Limits) -> RunResult:
        result = RunResult()
        call_ids = {c["id"] for c in request["calls"]}
        if not self._up():
            if self._stopped:
                result.protocol_error = SERVER_STOPPED
                return result
            if self.level == sandbox.BUBBLEWRAP and limits.isolation == sandbox.AUTO:
                # As with cold children: a sandbox that never starts is not retried; the process level grades.
                sandbox.record_failure("the sandboxed grading server did not start")
                self.level = sandbox.process_level()
                return self._ask(request, limits)
            result.protocol_error = "the grading server did not start"
            return result
        request = {**request, "limits": limits.rlimits(self.level), "sandboxed": self.level == sandbox.BUBBLEWRAP}
        deadline = time.monotonic() + limits.timeout
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            self.close()
            result.protocol_error = SERVER_STOPPED
            return result
        line = self._read_line(deadline, limits.result_bytes * 2 + limits.output_bytes * 2 + REPLY_SLACK)
        status = self._read_line(time.monotonic() + START_SECONDS, 1000) if line is not None else None
        if line is None or status is None:
            result.timed_out = time.monotonic() >= deadline
            if not result.timed_out:
                result.protocol_error = SERVER_STOPPED
            self.close()   # everything the student started dies with the server (and its sandbox)
            return result
        try:
            reply, status = json.loads(line), json.loads(status)
            if reply.get("setup_failed") is True or "clean" in reply:
                # The server could not lay out the files, or its handler failed before replying: a fresh server.
                self.close()
                result.protocol_error = SERVER_STOPPED
                return result
            results = base64.b64decode(reply["results"], validate=True)
            output = base64.b64decode(reply["output"], validate=True)
            result.exit_code = int(reply["exit_code"])
            flooded = reply.get("flooded") is True
        except (ValueError, KeyError, TypeError):
            self.close()
            result.protocol_error = "the grading server sent a malformed reply"
            return result
        if status.get("clean") is not True:   # the child left something the server could not clean: start afresh
            self.close()
        result.output = untrusted.output(output)
        parse_events(results, call_ids, result)
        if flooded:
            result.protocol_error = "sent more result data than allowed"
        return result

    def _read_line(self, deadline: float, cap: int) -> bytes | None:
        """One line from the server, or None at the deadline, at its end, or past `cap` bytes.

        Two lines answer each request (the handler's reply, then the template's status), and one read
        may bring both: what follows a line is kept for the next call.
        """
        buffer = self._pending
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in buffer:
                if len(buffer) > cap or time.monotonic() >= deadline:
                    return None
                if not selector.select(timeout=min(0.1, max(0.0, deadline - time.monotonic()))):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return None
                buffer.extend(chunk)
        end = buffer.index(b"\n")
        line = bytes(buffer[:end])
        del buffer[:end + 1]
        return line if len(line) <= cap else None

    def _up(self) -> bool:
        """A server ready for a request: the one started early (once it has imported numpy), else a new one."""
        if self._stopped:
            return False
        if self.proc is not None and not self._ready:
            return self._await_ready()
        if self.proc is not None and self.proc.poll() is None:
            return True
        self.start()   # a new one, waited for until it has imported numpy (its own time, not a student's)
        return self._await_ready()

    def start(self) -> None:
        """Start a server without waiting for it: it comes up while the grader does its own work (the first
        request waits for it). A request is the first thing it ever reads, so it may start before the graders load."""
        if os.name != "posix":
            return   # run() grades with cold children there
        self.close()
        self._pending = bytearray()
        if self.level == sandbox.BUBBLEWRAP:
            config = {"workspace": sandbox.SUBMISSION_DIR, "scratch": list(sandbox.SCRATCH_DIRS),
                      "mounted": sandbox.mounted_in_scratch()}
            command = sandbox.bubblewrap_command([], CHILD, WIRE) + ["--serve", json.dumps(config)]
            env = child_env("/tmp")
        else:
            config = {"workspace": self._workspace(), "scratch": []}
            command = [sys.executable, "-I", str(CHILD), "--serve", json.dumps(config)]
            env = child_env(self._workspace())
        self.proc = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     cwd=self._workspace() if self.level != sandbox.BUBBLEWRAP else None)

    def _await_ready(self) -> bool:
        self._ready = self._read_line(time.monotonic() + START_SECONDS, 1000) == b'{"ready": true}'
        if not self._ready:
            self.close()
        return self._ready

    def _workspace(self) -> str:
        if self.workspace is None:
            self.workspace = tempfile.mkdtemp(prefix="nngrade-warm-")
            os.chmod(self.workspace, 0o755)
        return self.workspace

    def stop(self) -> None:
        """Kill the server at once and start none again (Ctrl-C, from a signal handler: no waiting here). A run
        in flight then ends without results; close() still reaps it."""
        self._stopped = True
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass

    def close(self) -> None:
        """Kill the server and everything it started (its session; at the bubblewrap level, its sandbox)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.proc, self._ready = None, False

    def __enter__(self) -> "ChildServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        if self.workspace is not None:
            from nngrade.run.users import remove_tree   # however deep a student's code left its folder
            remove_tree(self.workspace)
            self.workspace = None


class Servers:
    """The warm servers of one student's run: started at once, each file graded on whichever is free.

    `python grade.py` starts them before it imports its own numpy, pytest and graders, so that a server's
    coming up (an interpreter and numpy) overlaps the grader's; all five files then cost one start-up per
    server instead of one per file. Thread-safe: grading threads wait here for a free server.
    """

    def __init__(self, count: int, limits: Limits = Limits()):
        self._servers = [ChildServer(limits) for _ in range(max(1, count))]
        self._free: queue.SimpleQueue[ChildServer] = queue.SimpleQueue()
        try:
            for server in self._servers:
                server.start()
                self._free.put(server)
        except BaseException:   # one that could not start (no process, no folder), or Ctrl-C: none is left behind
            self.close()
            raise

    def __len__(self) -> int:
        return len(self._servers)

    def run(self, path: Path, calls: list[Call], limits: Limits) -> RunResult:
        server = self._free.get()
        try:
            return server.run(path, calls, limits)
        finally:
            self._free.put(server)

    def close(self) -> None:
        for server in self._servers:
            server.__exit__(None, None, None)

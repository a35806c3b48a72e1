"""A warm child server for bulk grading: one interpreter with numpy imported, a fork per student file.

A cold child (nngrade.runner.run_file) pays an interpreter's start-up and numpy's import,
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
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import sandbox, untrusted
from .runner import (CHILD, WIRE, Call, Limits, RunResult, child_env, child_uid, encode_calls, parse_events, read_source,
                     run_file)

SERVER_STOPPED = "the grading server stopped"
REPLY_SLACK = 1_000_000   # bytes of a reply beyond the result and output caps (base64 and framing)
START_SECONDS = 30.0      # for a server to import numpy, on a loaded machine


class ChildServer:
    """Grades files one at a time in forked children; not thread-safe (one per worker thread)."""

    def __init__(self, limits: Limits = Limits()):
        self.level = sandbox.choose(limits.isolation)
        self.proc: subprocess.Popen | None = None
        self.workspace: tempfile.TemporaryDirectory | None = None

    def run(self, path: Path, calls: list[Call], limits: Limits) -> RunResult:
        """Like runner.run_file, answered by a fork of the warm server."""
        if os.name != "posix":
            return run_file(path, calls, limits)   # no fork here
        started = time.perf_counter()
        source = read_source(path, limits, self.level)
        if isinstance(source, RunResult):
            return source   # refused: too large or unreadable, as a cold child would say
        request = {
            "files": {path.name: base64.b64encode(source).decode()}, "file": path.name,
            "module": "submission", "limits": limits.rlimits(self.level), "uid": child_uid(self.level),
            "caps": {"result_bytes": limits.result_bytes, "output_bytes": limits.output_bytes},
            "sandboxed": self.level == sandbox.BUBBLEWRAP, "scratch": list(sandbox.SCRATCH_DIRS),
            "workspace": sandbox.SUBMISSION_DIR if self.level == sandbox.BUBBLEWRAP else self._workspace(),
            "calls": encode_calls(calls)}
        result = self._ask(request, limits)
        if result.protocol_error == SERVER_STOPPED:
            # The server died without an answer (what a student's child cannot do to it: only the server's own
            # trouble, or a previous student's leftovers): this file deserves one run on a fresh server.
            result = self._ask(request, limits)
        result.isolation = self.level
        result.seconds = time.perf_counter() - started
        return result

    def _ask(self, request: dict, limits: Limits) -> RunResult:
        result = RunResult()
        call_ids = {c["id"] for c in request["calls"]}
        if (self.proc is None or self.proc.poll() is not None) and not self._start():
            if self.level == sandbox.BUBBLEWRAP and limits.isolation == sandbox.AUTO:
                # As with cold children: a sandbox that never starts is not retried; the process level grades.
                sandbox.record_failure("the sandboxed grading server did not start")
                self.level = sandbox.PROCESS
                return self._ask({**request, "sandboxed": False, "uid": None, "workspace": self._workspace(),
                                  "limits": limits.rlimits(self.level)}, limits)
            result.protocol_error = "the grading server did not start"
            return result
        deadline = time.monotonic() + limits.timeout
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            self.close()
            result.protocol_error = SERVER_STOPPED
            return result
        line = self._read_line(deadline, limits.result_bytes * 2 + limits.output_bytes * 2 + REPLY_SLACK)
        if line is None:
            result.timed_out = time.monotonic() >= deadline
            if not result.timed_out:
                result.protocol_error = SERVER_STOPPED
            self.close()   # everything the student started dies with the server (and its sandbox)
            return result
        try:
            reply = json.loads(line)
            if reply.get("setup_failed") is True:   # the server could not lay out the files: it has ended
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
        if reply.get("restart") is True:   # the child left something the server could not clean: start afresh
            self.close()
        result.output = untrusted.output(output)
        parse_events(results, call_ids, result)
        if flooded:
            result.protocol_error = "sent more result data than allowed"
        return result

    def _read_line(self, deadline: float, cap: int) -> bytes | None:
        """One reply line from the server, or None at the deadline, at its end, or past `cap` bytes."""
        buffer = bytearray()
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=min(0.1, max(0.0, deadline - time.monotonic()))):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return None
                buffer.extend(chunk)
                if b"\n" in buffer:
                    return bytes(buffer[:buffer.index(b"\n")])
                if len(buffer) > cap:
                    return None
        return None

    def _start(self) -> bool:
        """Start a server and wait until it has imported numpy (its own time, not a student's)."""
        self.close()
        if self.level == sandbox.BUBBLEWRAP:
            command = sandbox.bubblewrap_command([], CHILD, WIRE) + ["--serve"]
            env = child_env("/tmp")
        else:
            command = [sys.executable, "-I", str(CHILD), "--serve"]
            env = child_env(self._workspace())
        self.proc = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     cwd=self._workspace() if self.level == sandbox.PROCESS else None)
        if self._read_line(time.monotonic() + START_SECONDS, 1000) != b'{"ready": true}':
            self.close()
            return False
        return True

    def _workspace(self) -> str:
        if self.workspace is None:
            self.workspace = tempfile.TemporaryDirectory(prefix="nngrade-warm-")
            os.chmod(self.workspace.name, 0o755)
        return self.workspace.name

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
            self.proc = None

    def __enter__(self) -> "ChildServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        if self.workspace is not None:
            self.workspace.cleanup()
            self.workspace = None

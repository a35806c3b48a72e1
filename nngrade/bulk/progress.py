"""The bulk run's progress line: exercise files graded, submissions saved, rate and time left, kept live.

Workers grade a batch of submissions at a time and return it whole, so counting returned batches
froze the line for tens of seconds and made early estimates far too high. Instead each worker says
when it has graded one exercise file (`file_done`: one byte on a FIFO the bulk process reads; it
never blocks and never fails, and a worker killed midway simply stops saying), and a thread of the
bulk process redraws the line at least once a second, estimating the time left from the files done.
Where there is no FIFO (Windows), the count falls back to the files of the submissions saved.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from typing import TextIO

ENV = "NNGRADE_PROGRESS_FIFO"   # set for the workers while a bulk run grades; unset, file_done does nothing
TICK = 0.25                     # seconds between two looks at the FIFO (the line is redrawn at least each second)


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


_writer: int | None = None
_writer_lock = threading.Lock()


def file_done() -> None:
    """In a worker: one exercise file is graded (or found missing). Never blocks, never raises."""
    global _writer
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        with _writer_lock:
            if _writer is None:
                _writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.write(_writer, b".")     # one byte: atomic on a pipe, whatever the other workers write
    except OSError:
        pass                            # no reader any more, or the pipe is full: the line is only a display


class _Fifo:
    """The read end the workers' bytes arrive on, in a private folder; None where FIFOs do not exist."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="nngrade-progress-")
        self.path = os.path.join(self.folder, "files")
        os.mkfifo(self.path, 0o600)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self.keep = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)   # so that no reader ever sees end-of-file
        os.environ[ENV] = self.path

    def read(self) -> int:
        count = 0
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except (BlockingIOError, InterruptedError):
                return count
            if not chunk:
                return count
            count += len(chunk)

    def close(self) -> None:
        if os.environ.get(ENV) == self.path:
            del os.environ[ENV]
        for fd in (self.fd, self.keep):
            os.close(fd)
        shutil.rmtree(self.folder, ignore_errors=True)


class Progress:
    """`total` submissions to grade, each `files_each` exercise files; `advance()` after each one is saved.

    Rates and the estimate count only the files graded in this run. The line is drawn by a thread
    (`poll`, every TICK seconds), in place on a terminal, else as a line every 10 s or tenth.
    """

    def __init__(self, total: int, stream: TextIO = sys.stderr, enabled: bool = True, width: int = 28,
                 files_each: int = 1, live: bool = True):
        self.total, self.stream, self.enabled, self.width = total, stream, enabled, width
        self.files_each, self.total_files = files_each, total * files_each
        self.done = 0              # submissions saved
        self.ticks = 0             # exercise files the workers said they graded
        self.started = time.monotonic()
        self.interactive = enabled and getattr(stream, "isatty", lambda: False)()
        self._last_line, self._last_fraction, self._drawn = 0.0, 0.0, ""
        self._fifo = _open_fifo() if enabled else None
        self._stop = threading.Event()
        self._thread = None
        if enabled and live:
            self._thread = threading.Thread(target=self._run, name="nngrade-progress", daemon=True)
            self._thread.start()

    def advance(self, count: int = 1) -> None:
        self.done += count         # drawn by the thread (or the next poll): one writer of the line

    def files_done(self) -> int:
        """Files graded so far: the workers' count, never less than the saved submissions' files nor more than all."""
        if self.done >= self.total:
            return self.total_files
        return min(self.total_files - 1, max(self.ticks, self.done * self.files_each)) if self.total_files else 0

    def poll(self, now: float | None = None) -> None:
        """Take the workers' news and redraw if it is time (a terminal: every call; a log: 10 s or a tenth)."""
        if self._fifo is not None:
            self.ticks += self._fifo.read()
        if not self.enabled:
            return
        now = time.monotonic() if now is None else now
        fraction = self.files_done() / self.total_files if self.total_files else 1.0
        if self.interactive:
            line = self.line(now)
            if line != self._drawn:
                self.stream.write("\r" + line + "\x1b[K")
                self.stream.flush()
                self._drawn = line
        elif now - self._last_line >= 10 or fraction - self._last_fraction >= 0.1 - 1e-9 or self.done == self.total:
            if self.done == self.total and self._last_fraction == 1.0:
                return
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()
            self._last_line, self._last_fraction = now, fraction

    def line(self, now: float | None = None) -> str:
        elapsed = (time.monotonic() if now is None else now) - self.started
        files = self.files_done()
        fraction = files / self.total_files if self.total_files else 1.0
        filled = int(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        rate = files / elapsed if elapsed > 0 else 0.0
        left = clock((self.total_files - files) / rate) if rate > 0 else "?"
        return (f"grading [{bar}] {files}/{self.total_files} files, {self.done}/{self.total} saved  "
                f"{rate:.1f} files/s  {clock(elapsed)} elapsed, {left} left")

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self.poll()
            except (OSError, ValueError):    # the stream closed under us: the line is only a display
                return

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        try:
            self.poll()
            if self.enabled and self.interactive:
                self.stream.write("\n")
                self.stream.flush()
        finally:
            if self._fifo is not None:
                self._fifo.close()
                self._fifo = None


def _open_fifo() -> _Fifo | None:
    if not hasattr(os, "mkfifo"):
        return None
    try:
        return _Fifo()
    except OSError:
        return None

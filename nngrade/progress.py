"""The bulk run's progress line: count, rate, time left; redrawn in place on a terminal, else a line now and then."""
from __future__ import annotations

import sys
import time
from typing import TextIO


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """`total` submissions to grade; `advance()` after each one. Rates count only work done in this run."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, enabled: bool = True, width: int = 28):
        self.total, self.stream, self.enabled, self.width = total, stream, enabled, width
        self.done = 0
        self.started = time.monotonic()
        self.interactive = enabled and getattr(stream, "isatty", lambda: False)()
        self._last_line = 0.0
        self._last_fraction = 0.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        if not self.enabled:
            return
        now = time.monotonic()
        if self.interactive:
            if now - self._last_line >= 0.1 or self.done == self.total:
                self.stream.write("\r" + self.line(now) + "\x1b[K")
                self.stream.flush()
                self._last_line = now
        elif (now - self._last_line >= 10 or self.done / max(self.total, 1) - self._last_fraction >= 0.1
              or self.done == self.total):
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()
            self._last_line, self._last_fraction = now, self.done / max(self.total, 1)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        fraction = self.done / self.total if self.total else 1.0
        filled = int(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = clock((self.total - self.done) / rate) if rate > 0 else "?"
        return f"grading [{bar}] {self.done}/{self.total}  {rate:.1f}/s  {clock(elapsed)} elapsed, {left} left"

    def close(self) -> None:
        if self.enabled and self.interactive:
            self.stream.write("\n")
            self.stream.flush()

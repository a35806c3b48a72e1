"""`python grade.py 07 --watch`: grade again on every save of the file, printing only what changed.

One grading session: the seed stays (a check's status changes because the code did, not the hidden
cases), the graders stay loaded and the reference's expected values computed, and the student's file
runs in a fork of a warm child server (nngrade.run.warm, as bulk runs it) kept for the session, so a
re-grade costs no interpreter start and no numpy import. A file is polled (its mtime, size and inode,
and a hash of its content: a save that changes nothing grades nothing); a save is graded once the
file has stood still for one poll, and one that looks cut short (empty, not compiling) a second more:
an editor that writes in pieces is not caught half-way. A file briefly missing (an editor that deletes
and writes anew) is waited for. Ctrl-C ends it, exit status 130.
"""
from __future__ import annotations

import hashlib
import os
import signal
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from nngrade.reports.results import Report, points
from nngrade.reports.terminal import Style, exercise_view, explained

POLL_SECONDS = 0.005        # a stat of one file 200 times a second costs nothing; a save is seen at once
RECENT_SECONDS = 2.0         # a file written this recently is hashed at every poll (a timestamp's tick is coarse)
HASHED_BYTES = 2_000_000     # ... when it is no larger than this
INCOMPLETE_SECONDS = 1.0     # a file that looks cut short (empty, not Python, not JSON) is waited for this long
MISSING_SECONDS = 2.0        # a file gone this long is said to be awaited (once)
EXIT_INTERRUPTED = 130       # 128 + SIGINT, as a shell reports Ctrl-C


class WatchedFile:
    """A file whose saves are noticed by polling; `poll()` says when new content has settled."""

    def __init__(self, path: Path):
        self.path = path
        self._seen = self._key()           # the last stat seen (None: missing)
        self._checked = self._seen         # the stat whose content was last hashed
        self._digest = self._hash()        # the content last graded
        self._since = time.monotonic()     # when the last stat seen was first seen
        self.missing_since: float | None = None if self._seen else time.monotonic()

    def _key(self):
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size, stat.st_ino

    def _read(self) -> bytes | None:
        try:
            with open(self.path, "rb") as handle:
                return handle.read()
        except OSError:
            return None

    def _hash(self) -> str | None:
        content = self._read()
        return hashlib.sha256(content).hexdigest() if content is not None else None

    def poll(self) -> bool:
        """True once when the file holds content other than the last graded, unchanged since the poll before
        (and, if it looks cut short, for INCOMPLETE_SECONDS)."""
        key, now = self._key(), time.monotonic()
        if key is None:
            self.missing_since = self.missing_since or now
            self._seen = None
            return False
        self.missing_since = None
        if key != self._seen:   # still being written, maybe: wait for it to stand still one poll
            self._seen, self._since = key, now
            return False
        recent = time.time() - key[0] / 1e9 < RECENT_SECONDS and key[1] <= HASHED_BYTES
        if key == self._checked and not recent:
            return False
        content = self._read()
        if content is None:
            return False
        digest = hashlib.sha256(content).hexdigest()
        if digest == self._digest:
            self._checked = key
            return False
        if not looks_complete(self.path.name, content) and now - self._since < INCOMPLETE_SECONDS:
            return False   # an editor half-way through its save, most likely: look again at the next poll
        self._checked, self._digest = key, digest
        return True

    def missing_for(self) -> float:
        return time.monotonic() - self.missing_since if self.missing_since is not None else 0.0


def looks_complete(name: str, content: bytes) -> bool:
    """Whether a file looks whole: not empty, and Python that compiles (a notebook: JSON that parses).
    Only parsed here, never run; a real syntax error is graded all the same, INCOMPLETE_SECONDS later."""
    if not content.strip():
        return False
    try:
        if name.lower().endswith(".ipynb"):
            import json
            json.loads(content)
        else:
            compile(content, name, "exec", dont_inherit=True)
        return True
    except (ValueError, SyntaxError, RecursionError, MemoryError, OverflowError):
        return False


def changes(before: Report, after: Report, style: Style) -> list[str]:
    """What differs from one grade to the next: each check whose status changed (by quantity, the cases
    together), the lines of explanation that are new, and the total."""
    lines = []
    old = {e.id: e for e in before.exercises}
    for exercise in after.exercises:
        previous = old.get(exercise.id)
        was, now = (exercise_view(previous) if previous else None), exercise_view(exercise)
        if now.problem and (was is None or was.problem != now.problem):
            lines.append(f"  {exercise.id} {now.problem}")
        old_rows = dict(was.rows) if was else {}
        moved: dict[tuple[str, str, str], list[str]] = {}
        for row, statuses in now.rows:
            for case, status in statuses.items():
                previous_status = old_rows.get(row, {}).get(case)
                if previous_status != status:
                    moved.setdefault((row, previous_status or "", status), []).append(case)
        width = max((len(row) for row, _, _ in moved), default=0)
        for (row, previous_status, status), cases in moved.items():
            arrow = "→" if style.unicode else "->"
            frm = style.mark(previous_status) if previous_status else "new"
            lines.append(f"  {exercise.id} {row:<{width}}  {frm} {arrow} {style.mark(status)}  {', '.join(cases)}")
        known = set(was.explanations) if was else set()
        lines += [explained(line, style) for line in now.explanations if line not in known]
        if now.output and (was is None or was.output != now.output):
            lines += ["  your output (print):"] + [f"  | {line}" for line in now.output]
    if after.notices != before.notices:
        lines += [f"  note: {notice}" for notice in after.notices if notice not in before.notices]
    total = f"Total: {points(after.score)} / {points(after.max_score)}"
    if not lines:
        return [f"  nothing changed: {total}"]
    return lines + [f"  {total}" + (f" (was {points(before.score)})" if before.score != after.score else "")]


class _Interrupted:
    """Ctrl-C, remembered: pytest turns the KeyboardInterrupt it meets into a result, the flag stays. The server is
    stopped at once: a file running (an endless loop) or waiting to run must not hold the exit up."""

    def __init__(self, server=None):
        self.flag, self.server = False, server

    def __call__(self, signum, frame):
        self.flag = True
        if self.server is not None:
            self.server.stop()
        raise KeyboardInterrupt


def watch(tasks, seed: int, data, limits, notices, json_path: Path, style: Style, submission: str) -> int:
    """Grade `tasks`, then again on every save of one of their files, until Ctrl-C (exit status 130)."""
    from concurrent.futures import ThreadPoolExecutor

    from nngrade.run.warm import ChildServer
    server = ChildServer(limits)
    interrupted = _Interrupted(server)
    previous_handler = signal.signal(signal.SIGINT, interrupted)
    # The session's files run in one thread of their own, which lives as long as the session: a server it
    # (re)starts lives as long as it (bwrap's --die-with-parent follows the thread that started it), and a save's
    # run overlaps pytest's setting up in this thread. Ctrl-C stops the server (see _Interrupted).
    runs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nngrade-watch-runs")
    runs.submit(server.start)   # up while the first grading prepares its cases

    def run_student(path, calls, file_limits):
        return runs.submit(server.run, path, calls, file_limits).result()
    try:
        return _loop(tasks, seed, data, limits, notices, json_path, style, submission, run_student, interrupted)
    except KeyboardInterrupt:
        return _stopped()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C while the server is closed: no traceback
        runs.shutdown(wait=True)
        server.__exit__(None, None, None)
        signal.signal(signal.SIGINT, previous_handler)


def _stopped() -> int:
    print("\nstopped watching", flush=True)
    return EXIT_INTERRUPTED


def _loop(tasks, seed, data, limits, notices, json_path, style, submission, run_student, interrupted) -> int:
    from nngrade.judge.grading import Work, grade_many
    from nngrade.reports.report import write_json
    from nngrade.reports.terminal import render

    def grade(chosen) -> Report:
        try:
            report = grade_many([Work(submission, tuple(chosen), tuple(notices))], seed, data, limits,
                                threads=1, run_student=run_student)[0]
        except Exception:
            if interrupted.flag:   # what an interrupted pytest left half-done: not a fault to show
                raise KeyboardInterrupt from None
            raise
        if interrupted.flag:
            raise KeyboardInterrupt
        return report

    def saved(report: Report) -> str:
        try:
            write_json(report, json_path)
            return ""
        except OSError as exc:
            return f"error: cannot write the report to {json_path}: {exc.strerror}"

    report = grade(tasks)
    problem = saved(report)
    print(render(report, None if problem else str(json_path), style))
    _grader_error(report, problem)
    watched = {task.exercise.id: WatchedFile(task.path) for task in tasks if task.path is not None}
    names = ", ".join(str(w.path) for w in watched.values())
    if not watched:
        print("error: no file to watch", file=sys.stderr)
        return 2
    print(f"\nwatching {names}: save to grade again (Ctrl-C stops)", flush=True)
    told_missing: set[str] = set()
    while True:
        time.sleep(POLL_SECONDS)
        changed = [task for task in tasks if task.exercise.id in watched and watched[task.exercise.id].poll()]
        for exercise_id, file in watched.items():
            if file.missing_for() > MISSING_SECONDS and exercise_id not in told_missing:
                told_missing.add(exercise_id)
                print(f"[{_now()}] {file.path.name} is gone: waiting for it to come back", flush=True)
            elif file.missing_since is None:
                told_missing.discard(exercise_id)
        if not changed:
            continue
        regraded = grade(changed)
        merged = _merged(report, regraded, [task.path.name for task in changed])
        print(f"\n[{_now()}] {', '.join(t.path.name for t in changed)} saved: graded again", flush=True)
        print("\n".join(changes(report, merged, style)), flush=True)
        report = merged
        _grader_error(report, saved(report))


def _merged(report: Report, regraded: Report, files: list[str]) -> Report:
    """The session's report with the exercises graded again replaced (the others stand), and so the notices
    about their files (a notebook's conversion); the others' notices stay."""
    new = {e.id: e for e in regraded.exercises}
    kept = [n for n in report.notices if not any(name in n for name in files)]
    return replace(regraded, exercises=tuple(new.get(e.id, e) for e in report.exercises),
                   notices=tuple(dict.fromkeys([*regraded.notices, *kept])))


def _grader_error(report: Report, problem: str) -> None:
    if problem:
        print(problem, file=sys.stderr, flush=True)
    if report.grader_error:
        print(f"error: the grader failed, this is not a grade: {report.grader_error}", file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.now().strftime("%H:%M:%S")

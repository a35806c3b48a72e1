"""`python grade.py 07 --watch`: a save is noticed (and a touch or a half-written file is not graded), only what
changed is printed, and Ctrl-C ends it with status 130 and no traceback."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nngrade import watch
from nngrade.reports.results import CheckResult, ExerciseResult, Report
from nngrade.reports.terminal import Style
from nngrade.watch import WatchedFile, changes

from helpers import REPO, edited_reference, reference_source

STUB = REPO / "exercises" / "07_backpropagation.py"


def polls(file: WatchedFile, times: int = 3) -> list[bool]:
    return [file.poll() for _ in range(times)]


# --- noticing a save ---------------------------------------------------------------------------------

def test_a_save_is_noticed_once_after_it_stood_still_for_a_poll(tmp_path):
    path = tmp_path / "07_backpropagation.py"
    path.write_text("x = 1\n")
    file = WatchedFile(path)
    assert polls(file) == [False, False, False]
    path.write_text("x = 2\n")
    assert polls(file) == [False, True, False]     # settled at the second look, graded once


def test_a_touch_or_the_same_content_written_again_is_no_change(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("x = 1\n")
    file = WatchedFile(path)
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert polls(file) == [False, False, False]
    path.write_text("x = 1\n")
    assert polls(file) == [False, False, False]


def test_new_content_within_one_timestamp_tick_is_noticed_by_its_hash(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("x = 1\n")
    stamp = time.time_ns()
    os.utime(path, ns=(stamp, stamp))
    file = WatchedFile(path)
    assert polls(file) == [False, False, False]
    path.write_text("x = 2\n")                     # same size, same inode, same mtime: only the content differs
    os.utime(path, ns=(stamp, stamp))
    assert polls(file) == [True, False, False]


def test_a_file_briefly_missing_is_waited_for(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("x = 1\n")
    file = WatchedFile(path)
    path.unlink()
    assert polls(file) == [False, False, False] and file.missing_for() > 0
    path.write_text("x = 1\n")                     # written anew, as before: nothing to grade
    assert polls(file) == [False, False, False] and file.missing_for() == 0
    path.unlink()
    file.poll()
    tmp = tmp_path / "f.py.swp"
    tmp.write_text("x = 3\n")
    os.replace(tmp, path)                          # an editor's atomic save
    assert polls(file) == [False, True, False]


@pytest.mark.parametrize("cut", ["", "def f(x):\n    return (x +", '{"cells": ['])
def test_a_file_cut_short_is_waited_for_then_graded_whole(tmp_path, cut):
    path = tmp_path / ("f.ipynb" if cut.startswith("{") else "f.py")
    path.write_text("x = 1\n" if path.suffix == ".py" else '{"cells": []}')
    file = WatchedFile(path)
    path.write_text(cut)
    assert polls(file, 4) == [False] * 4           # half-way through a save: not graded
    path.write_text("x = 2\n" if path.suffix == ".py" else '{"cells": [1]}')
    assert polls(file) == [False, True, False]


def test_a_real_syntax_error_is_graded_once_it_has_stood_still(tmp_path, monkeypatch):
    monkeypatch.setattr(watch, "INCOMPLETE_SECONDS", 0.2)
    path = tmp_path / "f.py"
    path.write_text("x = 1\n")
    file = WatchedFile(path)
    path.write_text("def f(x)\n    return x\n")
    seen, started = [], time.monotonic()
    while not any(seen) and time.monotonic() - started < 30:
        seen.append(file.poll())
        time.sleep(0.02)
    assert any(seen) and seen[:2] == [False, False]


# --- printing what changed ---------------------------------------------------------------------------

def report(statuses: dict[str, dict[str, str]], message: str = "", notices=()) -> Report:
    checks = tuple(CheckResult(name=f"{q}[{case}]", function="f", quantity=q, case=case, visibility="visible",
                               status=status, score=2.0 if status == "passed" else 0.0, max_score=2.0,
                               message=message if status != "passed" else "")
                   for q, by_case in statuses.items() for case, status in by_case.items())
    return Report(exercises=(ExerciseResult("07", "Backpropagation", "07_backpropagation.py", checks),), seed=1,
                  submission="s", data={}, isolation="process", timings={}, versions={}, notices=tuple(notices))


def test_only_the_checks_whose_status_changed_and_the_new_total():
    before = report({"error": {"lesson": "failed", "hidden-1": "failed"}, "delta": {"lesson": "passed", "hidden-1": "passed"},
                     "term": {"lesson": "passed", "hidden-1": "failed"}}, "Likely mistake: the sign.")
    after = report({"error": {"lesson": "passed", "hidden-1": "passed"}, "delta": {"lesson": "passed", "hidden-1": "passed"},
                    "term": {"lesson": "passed", "hidden-1": "not_implemented"}}, "Likely mistake: the sign.")
    lines = changes(before, after, Style(unicode=False))
    text = "\n".join(lines)
    assert "delta" not in text                                        # unchanged: not printed
    assert [line for line in lines if " error " in line] == ["  07 error  X -> ok  lesson, hidden-1"]
    assert any(" term " in line and "X -> ." in line and "hidden-1" in line and "lesson" not in line for line in lines)
    assert "TODO still None: term" in text                            # a new explanation line
    assert lines[-1] == "  Total: 10 / 12 (was 6)"                   # 5 passing checks of 2 points; before 3


def test_an_unchanged_grade_says_so_in_one_line():
    same = report({"error": {"lesson": "failed"}}, "Likely mistake: the sign.")
    assert changes(same, same, Style()) == ["  nothing changed: Total: 0 / 2"]


def test_a_failure_whose_message_changed_is_printed_though_its_status_did_not():
    before = report({"error": {"lesson": "failed"}}, "Likely mistake: the sign.")
    after = report({"error": {"lesson": "failed"}}, "Likely mistake: the learning rate.")
    lines = changes(before, after, Style(unicode=False))
    assert len(lines) == 2 and "the learning rate" in lines[0] and lines[1] == "  Total: 0 / 2"


# --- the command ---------------------------------------------------------------------------------------

class Watching:
    """`python grade.py 07 FILE --watch` in a subprocess, its output read as it comes."""

    def __init__(self, path: Path, tmp_path: Path):
        self.proc = subprocess.Popen([sys.executable, str(REPO / "grade.py"), "07", str(path), "--watch", "--seed", "5",
                                      "--json", str(tmp_path / "report.json"), "--isolation", "process"],
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     encoding="utf-8")
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, after: int = 0, seconds: float = 120) -> int:
        """The index of the first line from `after` on that holds `text` (fails after `seconds`)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for index in range(after, len(self.lines)):
                if text in self.lines[index]:
                    return index
            assert self.proc.poll() is None, "\n".join(self.lines) + self.proc.stderr.read()
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} in:\n" + "\n".join(self.lines))

    def interrupt(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        return code, self.proc.stderr.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def watched(tmp_path):
    path = tmp_path / "07_backpropagation.py"
    path.write_text(STUB.read_text())
    session = Watching(path, tmp_path)
    yield path, session
    session.close()


def save(path: Path, text: str, pause: float = 0.0) -> None:
    """As a slow editor saves: in place, in two writes `pause` apart, cut in the middle of a line in between."""
    cut = text.index("np.dot(") + len("np.dot(")
    with open(path, "w") as handle:
        handle.write(text[:cut])
        handle.flush()
        time.sleep(pause)
        handle.write(text[cut:])


def test_watch_prints_what_changed_waits_out_a_slow_save_and_stops_on_ctrl_c(watched):
    path, session = watched
    first = session.wait_for("watching")
    assert any("Total: 0 / 20" in line for line in session.lines[:first])   # the whole table, once
    save(path, reference_source("07"), pause=0.3)                           # half a file for a while
    done = session.wait_for("Total: 20 / 20 (was 0)", first)
    regraded = session.lines[first + 1:done + 1]
    assert sum("saved: graded again" in line for line in regraded) == 1      # the half-written file was not graded
    assert all(name in "\n".join(regraded) for name in ("error", "delta_w_i_h"))
    assert not any("legend" in line or "lesson   handout" in line for line in regraded)  # not the whole table again
    path.unlink()                                                           # deleted, then written anew
    time.sleep(0.3)
    path.write_text(edited_reference("07", "error = target - output  # SOLUTION", "error = output - target"))
    wrong = session.wait_for("(was 20)", done + 1)
    text = "\n".join(session.lines[done + 1:wrong + 1])
    assert "the error has the wrong sign" in text and "Total: 16 / 20" in text
    assert "output_error_term" not in text.split("Likely mistake")[0].split("graded again", 1)[1].replace(
        "follow-through", "")   # right before and after: not printed as a change
    code, stderr = session.interrupt()
    assert code == 130 and "Traceback" not in stderr and session.lines[-1] == "stopped watching"


def test_ctrl_c_while_grading_exits_cleanly(watched):
    path, session = watched
    session.wait_for("watching")
    path.write_text(reference_source("07"))
    time.sleep(0.2)   # about when the grade has started (no timing is asserted: any moment must be clean)
    code, stderr = session.interrupt()
    assert code == 130 and "Traceback" not in stderr, stderr


def test_the_benchmark_sets_a_watch_regrade_against_a_cold_start_in_one_run():
    from bench.run import watch_vs_cold
    figures = watch_vs_cold(runs=1)
    assert figures["cold_median"] > 0 and figures["regrade_median"] > 0
    assert abs(figures["cold_over_regrade"] - figures["cold_median"] / figures["regrade_median"]) < 1e-9


def test_ctrl_c_stops_the_files_in_flight_and_runs_none_of_those_waiting(tmp_path):
    """Five files that each note that they started, then loop forever: the first grading of a --watch session runs
    them one after another, each to its time limit. Ctrl-C while the first runs ends the session: the server is
    stopped at once and no later file is started (each would have held the exit up for its time limit)."""
    import shutil
    import tempfile
    from nngrade.judge.exercises import EXERCISES
    marks = Path(tempfile.mkdtemp(prefix="nngrade-marks-"))   # where a child of a user of its own can reach
    marks.chmod(0o777)
    folder = tmp_path / "alice"
    folder.mkdir()
    for exercise_id in EXERCISES:
        (folder / f"{EXERCISES[exercise_id].stem}.py").write_text(
            f"open({str(marks / exercise_id)!r}, 'w').close()\nwhile True:\n    pass\n")
    proc = subprocess.Popen([sys.executable, str(REPO / "grade.py"), "--submission", str(folder), "--watch",
                             "--json", str(tmp_path / "report.json"), "--isolation", "process"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any(marks.iterdir()) and time.monotonic() < deadline:   # the first file has started
            time.sleep(0.05)
        assert any(marks.iterdir())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        started = len(list(marks.iterdir()))
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(marks, ignore_errors=True)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert started < len(EXERCISES), "files were still run after Ctrl-C"

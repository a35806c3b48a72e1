"""The bulk progress line: counted per graded file from the workers, live, its estimate from the files done."""
from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from helpers import REPO
from nngrade.bulk import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drawn(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().replace("\x1b[K", "").split("\r") if line.strip()]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here: the count falls back to saved submissions")
def test_files_graded_in_other_processes_are_counted_before_any_submission_is_saved():
    stream = Terminal()
    line = progress.Progress(4, stream=stream, files_each=5, live=False)   # 20 files; polled by hand here
    try:
        assert os.environ[progress.ENV]
        # three files graded in a worker process (spawned, as bulk's are: it inherits the environment)
        subprocess.run([sys.executable, "-c", "from nngrade.bulk import progress\nfor _ in range(3): progress.file_done()"],
                       cwd=REPO, check=True, timeout=60)
        line.poll(now=line.started + 6.0)
        assert drawn(stream)[-1].startswith("grading [####------------------------] 3/20 files, 0/4 saved")
        # 3 files in 6 s: 0.5 files/s, so the 17 left take 34 s
        assert "0.5 files/s  0:06 elapsed, 0:34 left" in drawn(stream)[-1]
    finally:
        line.close()
    assert progress.ENV not in os.environ


def test_saved_submissions_count_their_files_and_the_count_never_passes_the_total():
    stream = Terminal()
    line = progress.Progress(2, stream=stream, files_each=3, live=False)
    try:
        line.ticks = 50                    # a batch graded again alone counts its files twice
        line.poll(now=line.started + 1.0)
        assert "5/6 files, 0/2 saved" in drawn(stream)[-1]        # all but the last until everything is saved
        line.ticks = 0
        line.advance()
        line.poll(now=line.started + 2.0)
        assert "3/6 files, 1/2 saved" in drawn(stream)[-1]
        line.advance()
        line.poll(now=line.started + 3.0)
        assert "6/6 files, 2/2 saved" in drawn(stream)[-1] and "0:00 left" in drawn(stream)[-1]
    finally:
        line.close()


def test_the_line_is_redrawn_as_time_passes_even_when_nothing_finishes():
    stream = Terminal()
    line = progress.Progress(3, stream=stream, files_each=1, live=False)
    try:
        for second in range(1, 4):
            line.poll(now=line.started + second)
        assert [d.split("  ")[-1][:4] for d in drawn(stream)] == ["0:01", "0:02", "0:03"]   # the elapsed time moves
    finally:
        line.close()


def test_file_done_without_a_bulk_run_does_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv(progress.ENV, raising=False)
    progress.file_done()
    monkeypatch.setenv(progress.ENV, str(tmp_path / "no-such-fifo"))
    progress.file_done()                  # a reader gone, or never there: never an error for the worker


def test_a_log_gets_a_line_per_tenth_not_a_redraw():
    stream = io.StringIO()
    line = progress.Progress(10, stream=stream, files_each=1, live=False)
    try:
        for done in range(10):
            line.advance()
            line.poll(now=line.started + done + 1)
    finally:
        line.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 10 and lines[-1].startswith("grading [#####")
    assert "10/10 files, 10/10 saved" in lines[-1]

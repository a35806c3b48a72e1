"""The benchmark runs end to end in its quick mode (as CI runs it); timings are reported, never asserted."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import REPO


def test_quick_benchmark_writes_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "bench/run.py", "--quick", "-n", "6", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["quick"] is True and result["machine"]["cores"] >= 1
    assert result["results"]["bulk"]["submissions"] == 6 and result["results"]["bulk_large"]["submissions"] == 12
    figures, results = result["figures"], result["results"]
    assert set(figures) >= set(result["targets"]) | {"naive_per_second", "numpy_floor_seconds"}
    assert all(value > 0 for value in figures.values())
    assert set(result["met"]) == set(result["targets"])
    # Every target is a ratio of two figures measured in the same run.
    floor = results["numpy_floor"]["median"]
    assert figures["student_07_vs_floor"] == pytest.approx(results["student_07"]["median"] / floor)
    assert figures["student_all_vs_floor"] == pytest.approx(results["student_all"]["median"] / floor)
    assert figures["bulk_vs_naive"] == pytest.approx(figures["bulk_per_second"] / figures["naive_per_second"])
    assert figures["bulk_memory_large_vs_small"] == pytest.approx(
        results["bulk_large"]["peak_rss_mib"] / results["bulk"]["peak_rss_mib"])
    # The table names each ratio beside its target, and the machine's cores.
    bulk = results["bulk"]
    assert 0 <= bulk["timed_out_seconds"] <= bulk["file_seconds"] and bulk["file_seconds"] > 0
    assert results["bulk_without_loops"]["submissions"] == 6 and results["bulk_without_loops"]["timed_out_seconds"] == 0
    for row in ("grade.py 07 / numpy floor", "all five / numpy floor", "bulk / naive throughput",
                "endless loops at their limit", "without its loops / naive", "12 / 6 peak memory"):
        assert row in done.stdout
    assert f"{result['machine']['cores']} cores" in done.stdout

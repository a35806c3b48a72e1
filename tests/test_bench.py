"""The benchmark runs end to end in its quick mode (as CI runs it); timings are reported, never asserted."""
from __future__ import annotations

import json
import subprocess
import sys

from helpers import REPO


def test_quick_benchmark_writes_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "bench/run.py", "--quick", "-n", "6", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["quick"] is True and result["machine"]["cores"] >= 1
    assert result["results"]["bulk"]["submissions"] == 6
    figures = result["figures"]
    assert set(figures) >= set(result["targets"]) | {"naive_per_second"}
    assert all(value > 0 for value in figures.values())
    # The ratio is computed from the two throughputs measured in the same run.
    assert abs(figures["bulk_vs_naive"] - figures["bulk_per_second"] / figures["naive_per_second"]) < 1e-9
    assert "bulk / naive throughput" in done.stdout

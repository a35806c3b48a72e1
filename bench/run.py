"""Benchmark nngrade on this machine: a student's `python grade.py 07`, all five, and bulk grading of a
generated class against the naive baseline of one `python grade.py` process per submission, measured
in the same run.

    python bench/run.py                 # the full benchmark (200 submissions, 7 runs per command)
    python bench/run.py --quick         # a small one (CI runs it; no timing is asserted anywhere)

It prints a table and writes JSON (default bench/results/latest.json): medians, throughput, ratios,
peak memory, the machine. Every figure is a ratio or a rate measured here, next to its baseline.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.classroom import TYPICAL, make_class, references, write_all  # noqa: E402
from nngrade.judge.exercises import EXERCISES  # noqa: E402

TIMEOUT = 2.0   # seconds per file, for bulk and the naive loop alike: a looping submission costs it once
TARGETS = {"student_07_seconds": 0.5, "student_all_seconds": 1.0, "bulk_per_second": 10.0,
           "bulk_vs_naive": 5.0, "bulk_peak_rss_mib": 1024.0}


def _run(args: list[str], cwd: Path = REPO, accept: tuple[int, ...] = (0, 1)) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=3600)
    elapsed = time.perf_counter() - started
    if done.returncode not in accept:
        raise SystemExit(f"error: {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed


def _median_wall(args: list[str], runs: int) -> dict:
    _run(args)   # warm the file cache and the byte-code once, as a student's second run is
    times = [_run(args) for _ in range(runs)]
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": runs}


class _PeakRss:
    """Samples the resident memory of a process and all its descendants (Linux /proc); the peak of the sum."""

    def __init__(self, pid: int):
        self.pid, self.peak_kib, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(pid) for pid in _tree(self.pid)))
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _bulk(folder: Path, out: Path) -> dict:
    from nngrade.run import sandbox
    # The level a student's own run takes here: bulk refuses to choose the bare process level by itself.
    level = sandbox.BUBBLEWRAP if sandbox.choose(sandbox.AUTO) == sandbox.BUBBLEWRAP else sandbox.PROCESS
    args = [sys.executable, "grade.py", "bulk", str(folder), "--out", str(out), "--quiet", "--seed", "1",
            "--timeout", str(TIMEOUT), "--isolation", level]
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = _PeakRss(proc.pid)
    _, stderr = proc.communicate(timeout=3600)
    elapsed, peak = time.perf_counter() - started, sampler.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"error: bulk grading exited {proc.returncode}: {stderr.strip()[-500:]}")
    graded = len(list((out / "reports").glob("*.json")))
    return {"seconds": elapsed, "submissions": graded, "per_second": graded / elapsed, "peak_rss_mib": peak}


def _naive(folder: Path, sample: int) -> dict:
    """What an instructor's shell loop does: one `python grade.py --submission` per student, one after another."""
    # grade.py takes folders (not zips or Canvas names): the first student folders of the class, whose
    # mix has no endless loop, so the baseline is if anything flattered.
    students = sorted(p for p in folder.iterdir() if p.is_dir())[:sample]
    started = time.perf_counter()
    for student in students:
        # Exit 2 too: a nested folder grade.py cannot find files in is a loop iteration all the same.
        _run(["grade.py", "--submission", str(student), "--json", str(student / "report.json"), "--seed", "1",
              "--timeout", str(TIMEOUT)], accept=(0, 1, 2))
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "submissions": len(students), "per_second": len(students) / elapsed}


def measure(n: int, runs: int, naive_sample: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="nngrade-bench-") as scratch:
        scratch = Path(scratch)
        alice = scratch / "alice"
        write_all(alice, references())
        single = ["grade.py", "07", "--submission", str(alice / f"{EXERCISES['07'].stem}.py"),
                  "--json", str(scratch / "07.json")]
        every = ["grade.py", "--submission", str(alice), "--json", str(scratch / "all.json")]
        results = {"student_07": _median_wall(single, runs), "student_all": _median_wall(every, runs)}
        make_class(scratch / "class", n, TYPICAL)
        results["bulk"] = _bulk(scratch / "class", scratch / "graded")
        naive_folder = scratch / "naive"
        shutil.copytree(scratch / "class", naive_folder)
        results["naive"] = _naive(naive_folder, naive_sample)
    return results


def watch_vs_cold(runs: int) -> dict:
    """A save's re-grade under `grade.py 07 --watch` (from the write to the new total on its output: the poll, the
    warm server's fork, the graders kept loaded) against a cold `python grade.py 07` of the same file."""
    import signal
    import queue
    from bench.classroom import reference_source
    with tempfile.TemporaryDirectory(prefix="nngrade-bench-watch-") as scratch:
        path = Path(scratch) / f"{EXERCISES['07'].stem}.py"
        source = reference_source("07")
        path.write_text(source)
        cold = _median_wall(["grade.py", "07", str(path), "--json", str(Path(scratch) / "cold.json")], runs)
        proc = subprocess.Popen([sys.executable, "grade.py", "07", str(path), "--watch", "--seed", "1",
                                 "--json", str(Path(scratch) / "watch.json")], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

        def until(text: str) -> None:
            while text not in lines.get(timeout=300):
                pass
        try:
            until("watching")
            times = []
            for run in range(runs + 1):   # the first save warms the server's fork, as a student's first save does
                started = time.perf_counter()
                path.write_text(source + f"\n# save {run}\n")
                until("Total:")
                times.append(time.perf_counter() - started)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    regrade = statistics.median(times[1:])
    return {"cold_median": cold["median"], "regrade_median": regrade, "runs": runs,
            "cold_over_regrade": cold["median"] / regrade}


def machine() -> dict:
    import numpy

    from nngrade.run import sandbox
    model = ""
    if os.path.exists("/proc/cpuinfo"):
        model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    return {"cores": os.cpu_count(), "cpu": model or platform.processor(), "system": platform.platform(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "isolation": sandbox.BUBBLEWRAP if sandbox.unavailable_reason() is None else sandbox.PROCESS}


def summarize(results: dict) -> dict:
    figures = {"student_07_seconds": results["student_07"]["median"],
               "student_all_seconds": results["student_all"]["median"],
               "bulk_per_second": results["bulk"]["per_second"],
               "naive_per_second": results["naive"]["per_second"],
               "bulk_vs_naive": results["bulk"]["per_second"] / results["naive"]["per_second"],
               "bulk_peak_rss_mib": results["bulk"]["peak_rss_mib"]}
    met = {name: (figures[name] <= target if name.endswith(("seconds", "mib")) else figures[name] >= target)
           for name, target in TARGETS.items()}
    return {"figures": figures, "targets": TARGETS, "met": met}


def table(summary: dict, results: dict, info: dict) -> str:
    f, met = summary["figures"], summary["met"]
    def target(name: str) -> str:
        value, unit = TARGETS[name], {"seconds": " s", "second": " /s", "naive": "x", "mib": " MiB"}[name.rsplit("_", 1)[1]]
        return f"{'<=' if name.endswith(('seconds', 'mib')) else '>='} {value:g}{unit}"
    rows = [("python grade.py 07 (median wall)", f"{f['student_07_seconds']:.3f} s", target("student_07_seconds"),
             met["student_07_seconds"]),
            ("python grade.py, all five (median)", f"{f['student_all_seconds']:.3f} s", target("student_all_seconds"),
             met["student_all_seconds"]),
            (f"bulk, {results['bulk']['submissions']} submissions", f"{f['bulk_per_second']:.1f} /s",
             target("bulk_per_second"), met["bulk_per_second"]),
            (f"naive loop, {results['naive']['submissions']} submissions", f"{f['naive_per_second']:.2f} /s", "baseline", None),
            ("bulk / naive throughput", f"{f['bulk_vs_naive']:.1f}x", target("bulk_vs_naive"), met["bulk_vs_naive"]),
            ("bulk peak memory (process tree)", f"{f['bulk_peak_rss_mib']:.0f} MiB", target("bulk_peak_rss_mib"),
             met["bulk_peak_rss_mib"])]
    width = max(len(r[0]) for r in rows)
    lines = [f"nngrade benchmark: {info['cores']} cores, {info['cpu']}, Python {info['python']}, "
             f"numpy {info['numpy']}, isolation {info['isolation']}", ""]
    lines += [f"{name:<{width}}  {value:>10}  {target:>10}  {'' if ok is None else ('met' if ok else 'NOT met')}"
              for name, value, target, ok in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N and few runs (CI); no timing is asserted")
    parser.add_argument("-n", type=int, help="submissions in the generated class (default 200; quick 12)")
    parser.add_argument("--runs", type=int, help="runs per student command (default 7; quick 1)")
    parser.add_argument("--naive", type=int, help="submissions the naive loop grades (default 20; quick 2)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    n = args.n or (12 if args.quick else 200)
    runs = args.runs or (1 if args.quick else 7)
    naive = args.naive or (2 if args.quick else 20)
    info = machine()
    results = measure(n, runs, naive)
    results["watch"] = watch_vs_cold(runs)
    summary = summarize(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": info, "quick": args.quick, "results": results, **summary},
                                   indent=2) + "\n")
    print(table(summary, results, info))
    print(f"grade.py 07 --watch, a save's re-grade: {results['watch']['regrade_median']:.3f} s, "
          f"{results['watch']['cold_over_regrade']:.1f}x faster than a cold start")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

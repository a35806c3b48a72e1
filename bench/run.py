"""Benchmark nngrade on this machine: a student's `python grade.py 07`, all five, and bulk grading of a
generated class against the naive baseline of one `python grade.py` process per submission, measured
in the same run.

    python bench/run.py                 # the full benchmark (200 and 2000 submissions, 7 runs per command)
    python bench/run.py --large 600     # the same, with 600 for the memory comparison (a slower machine)
    python bench/run.py --quick         # a small one (CI runs it; no timing is asserted anywhere)

It prints a table and writes JSON (default bench/results/latest.json): medians, throughput, ratios,
peak memory, the machine and its cores. Every target is a ratio of two figures measured in the same run:
grade.py against a Python that only imports numpy, bulk against the naive loop, a large class's peak
memory against a small one's.
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

# Every target is a ratio of two figures measured in the same run, on this machine (absolute times are not stable on
# shared machines). name -> (how it compares, the bound).
TARGETS = {"student_07_vs_floor": ("<=", 2.5), "student_all_vs_floor": ("<=", 4.0), "bulk_vs_naive": (">=", 8.0),
           "bulk_memory_large_vs_small": ("<=", 1.10)}


def _student_env() -> dict:
    """The environment of a student's shell: Python caches byte-code (a harness may set PYTHONDONTWRITEBYTECODE,
    which makes every run compile nngrade again); the cache goes to a scratch folder, not the project."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "nngrade-bench-pycache")
    return env


def _run(args: list[str], cwd: Path = REPO, accept: tuple[int, ...] = (0, 1)) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=3600, env=_student_env())
    elapsed = time.perf_counter() - started
    if done.returncode not in accept:
        raise SystemExit(f"error: {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed


def _paired(commands: dict[str, list[str]], runs: int) -> dict:
    """Each command `runs` times, interleaved (floor, 07, all, floor, ...), so that the machine's load of the moment
    weighs on all of them alike; the median of each. One run of each first warms the file cache and the byte-code,
    as a student's second run finds them."""
    for args in commands.values():
        _run(args)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, args in commands.items():
            times[name].append(_run(args))
    return {name: {"median": statistics.median(t), "min": min(t), "max": max(t), "runs": runs}
            for name, t in times.items()}


def _student(scratch: Path, runs: int) -> dict:
    """`python grade.py 07` and `python grade.py` (all five) on a right submission, against the floor: a Python that
    only imports numpy, which no grading run can beat (the grader imports it, and so does the student's child)."""
    alice = scratch / "alice"
    write_all(alice, references())
    return _paired({"numpy_floor": ["-c", "import numpy"],
                    "student_07": ["grade.py", "07", "--submission", str(alice / f"{EXERCISES['07'].stem}.py"),
                                   "--json", str(scratch / "07.json")],
                    "student_all": ["grade.py", "--submission", str(alice), "--json", str(scratch / "all.json")]}, runs)


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
            "--isolation", level]
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=_student_env())
    sampler = _PeakRss(proc.pid)
    _, stderr = proc.communicate(timeout=3600)
    elapsed, peak = time.perf_counter() - started, sampler.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"error: bulk grading exited {proc.returncode}: {stderr.strip()[-500:]}")
    reports = [json.loads(path.read_text()) for path in (out / "reports").glob("*.json")]
    files = [(e.get("seconds") or 0.0, any(c.get("status") == "timeout" for c in e.get("checks", ())))
             for report in reports for e in report["exercises"]]
    # What holds bulk back: the files' own time (a child each), and of it the endless loops waiting out their limit.
    return {"seconds": elapsed, "submissions": len(reports), "per_second": len(reports) / elapsed,
            "peak_rss_mib": peak, "file_seconds": sum(t for t, _ in files),
            "timed_out_seconds": sum(t for t, out in files if out)}


def _naive(folder: Path, sample: int) -> dict:
    """What an instructor's shell loop does: one `python grade.py --submission` per student, one after another."""
    # grade.py takes folders (not zips or Canvas names): the first student folders of the class, whose
    # mix has no endless loop, so the baseline is if anything flattered.
    students = sorted(p for p in folder.iterdir() if p.is_dir())[:sample]
    started = time.perf_counter()
    for student in students:
        # Exit 2 too: a nested folder grade.py cannot find files in is a loop iteration all the same.
        _run(["grade.py", "--submission", str(student), "--json", str(student / "report.json"), "--seed", "1"],
             accept=(0, 1, 2))
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "submissions": len(students), "per_second": len(students) / elapsed}


def _class(scratch: Path, n: int, naive_sample: int) -> dict:
    """Bulk grading of a class of `n` (a typical mix: right, wrong, broken, a few endless loops) against the naive
    loop of one `python grade.py` per student, on the class's first folders."""
    make_class(scratch / "class", n, TYPICAL)
    bulk = _bulk(scratch / "class", scratch / "graded")
    # The same class with its endless loops right instead: what the loops' time limits cost, measured.
    make_class(scratch / "class-no-loops", n, tuple("correct" if kind == "loop" else kind for kind in TYPICAL))
    without_loops = _bulk(scratch / "class-no-loops", scratch / "graded-no-loops")
    naive_folder = scratch / "naive"
    shutil.copytree(scratch / "class", naive_folder)
    return {"bulk": bulk, "bulk_without_loops": without_loops, "naive": _naive(naive_folder, naive_sample)}


def _memory(scratch: Path, large: int) -> dict:
    """Bulk's peak memory for a larger class of the same mix, to set beside the first class's: flat in the class size."""
    make_class(scratch / "large", large, TYPICAL)
    return _bulk(scratch / "large", scratch / "large-graded")


def measure(n: int, runs: int, naive_sample: int, large: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="nngrade-bench-") as scratch:
        scratch = Path(scratch)
        results = _student(scratch, runs)
        results.update(_class(scratch, n, naive_sample))
        results["bulk_large"] = _memory(scratch, large)
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
        cold_run = ["grade.py", "07", str(path), "--json", str(Path(scratch) / "cold.json")]
        cold = _paired({"cold": cold_run}, runs)["cold"]
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
            "isolation": sandbox.BUBBLEWRAP if sandbox.unavailable_reason() is None else sandbox.PROCESS,
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"}


def _ratios(results: dict) -> dict:
    floor = results["numpy_floor"]["median"]
    return {"numpy_floor_seconds": floor,
            "student_07_seconds": results["student_07"]["median"],
            "student_all_seconds": results["student_all"]["median"],
            "student_07_vs_floor": results["student_07"]["median"] / floor,
            "student_all_vs_floor": results["student_all"]["median"] / floor,
            "bulk_per_second": results["bulk"]["per_second"],
            "naive_per_second": results["naive"]["per_second"],
            "bulk_vs_naive": results["bulk"]["per_second"] / results["naive"]["per_second"],
            "bulk_peak_rss_mib": results["bulk"]["peak_rss_mib"],
            "bulk_large_peak_rss_mib": results["bulk_large"]["peak_rss_mib"],
            "bulk_memory_large_vs_small": results["bulk_large"]["peak_rss_mib"] / results["bulk"]["peak_rss_mib"]}


def summarize(results: dict) -> dict:
    figures = _ratios(results)
    met = {name: (figures[name] <= bound if sign == "<=" else figures[name] >= bound)
           for name, (sign, bound) in TARGETS.items()}
    return {"figures": figures, "targets": {name: f"{sign} {bound:g}" for name, (sign, bound) in TARGETS.items()},
            "met": met}


def _rows(summary: dict, results: dict) -> list[tuple[str, str, str, bool | None]]:
    f, met = summary["figures"], summary["met"]

    def target(name: str) -> str:
        sign, bound = TARGETS[name]
        return f"{sign} {bound:g}x"
    b, large = results["bulk"], results["bulk_large"]
    loops = b["timed_out_seconds"] / b["file_seconds"] if b["file_seconds"] else 0.0
    free = results["bulk_without_loops"]["per_second"] / results["naive"]["per_second"]
    return [
        ("numpy floor: python -c 'import numpy' (median)", f"{f['numpy_floor_seconds']:.3f} s", "baseline", None),
        ("python grade.py 07 (median)", f"{f['student_07_seconds']:.3f} s", "", None),
        ("  grade.py 07 / numpy floor", f"{f['student_07_vs_floor']:.2f}x", target("student_07_vs_floor"),
         met["student_07_vs_floor"]),
        ("python grade.py, all five (median)", f"{f['student_all_seconds']:.3f} s", "", None),
        ("  all five / numpy floor", f"{f['student_all_vs_floor']:.2f}x", target("student_all_vs_floor"),
         met["student_all_vs_floor"]),
        (f"naive loop, {results['naive']['submissions']} submissions", f"{f['naive_per_second']:.2f} /s", "baseline",
         None),
        (f"bulk, {b['submissions']} submissions", f"{f['bulk_per_second']:.2f} /s", "", None),
        ("  bulk / naive throughput", f"{f['bulk_vs_naive']:.1f}x", target("bulk_vs_naive"), met["bulk_vs_naive"]),
        ("  of its files' time, endless loops at their limit", f"{loops:.0%}", "", None),
        ("  the same class without its loops / naive", f"{free:.1f}x", "", None),
        (f"bulk peak memory, {b['submissions']} submissions", f"{f['bulk_peak_rss_mib']:.0f} MiB", "baseline", None),
        (f"bulk peak memory, {large['submissions']} submissions", f"{f['bulk_large_peak_rss_mib']:.0f} MiB", "", None),
        (f"  {large['submissions']} / {b['submissions']} peak memory", f"{f['bulk_memory_large_vs_small']:.2f}x",
         target("bulk_memory_large_vs_small"), met["bulk_memory_large_vs_small"])]


def table(summary: dict, results: dict, info: dict) -> str:
    rows = _rows(summary, results)
    width = max(len(r[0]) for r in rows)
    lines = [f"nngrade benchmark: {info['cores']} cores, {info['cpu']}, Python {info['python']}, "
             f"numpy {info['numpy']}, isolation {info['isolation']}, load {info['load']}", ""]
    lines += [f"{name:<{width}}  {value:>10}  {target:>8}  {'' if ok is None else ('met' if ok else 'NOT met')}"
              for name, value, target, ok in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N and few runs (CI); no timing is asserted")
    parser.add_argument("-n", type=int, help="submissions in the generated class (default 200; quick 12)")
    parser.add_argument("--runs", type=int, help="runs per student command (default 7; quick 1)")
    parser.add_argument("--naive", type=int, help="submissions the naive loop grades (default 20; quick 2)")
    parser.add_argument("--large", type=int, help="submissions of the larger class whose peak memory is set beside "
                        "the first's (default 2000; quick 2n)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    n = args.n or (12 if args.quick else 200)
    runs = args.runs or (1 if args.quick else 7)
    naive = args.naive or (2 if args.quick else 20)
    large = args.large or (2 * n if args.quick else 2000)
    info = machine()
    results = measure(n, runs, naive, large)
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

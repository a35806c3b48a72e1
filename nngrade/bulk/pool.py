"""Worker processes for bulk grading: jobs in, (job, result, failure) out as each one finishes.

A worker that dies, by any signal (the OOM killer, an operator's kill -9 or SIGTERM, or, at the
process level, a student's code) breaks the whole pool, and every job in flight fails with it. The
pool is replaced and those jobs are run again one at a time, so that one whose worker dies even when
it runs alone is known (failure KILLED); the others are graded normally.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator

from nngrade.bulk.engine import init_worker

CLEANUP_SECONDS = 10.0    # for the workers told to stop to kill what their students started
TASKS_PER_WORKER = 50      # a worker is replaced after this many jobs, so that nothing accumulates in it
KILLED = "killed"


def run(function: Callable, jobs: Iterable, workers: int) -> Iterator[tuple[object, object, BaseException | str | None]]:
    """Yield (job, result, None), (job, None, exception) or (job, None, KILLED), in completion order."""
    pending, suspects = deque(jobs), deque()
    in_flight: dict[Future, tuple[object, bool, int]] = {}     # future -> (job, run alone?, pool generation)
    generation, executor = 0, _executor(workers)

    def submit(job, alone: bool) -> None:
        nonlocal generation, executor
        while True:
            try:
                in_flight[executor.submit(function, job)] = (job, alone, generation)
                return
            except BrokenProcessPool:
                generation, executor = generation + 1, _restart(executor, workers)

    try:
        while pending or suspects or in_flight:
            if suspects:
                if not in_flight:
                    submit(suspects.popleft(), alone=True)
            else:
                while pending and len(in_flight) < 2 * workers:
                    submit(pending.popleft(), alone=False)
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            restart = False
            for future in done:
                job, alone, born = in_flight.pop(future)
                if future.cancelled():     # never started: its pool was replaced under it
                    (suspects if alone else pending).appendleft(job)
                    continue
                failure = future.exception()
                # A worker told to stop leaves by SystemExit: dead, like a killed one (never this process's own exit).
                if isinstance(failure, BrokenProcessPool) or (failure is not None and not isinstance(failure, Exception)):
                    restart |= born == generation
                    if alone:
                        yield job, None, KILLED
                    else:
                        suspects.append(job)
                    continue
                yield (job, None, failure) if failure is not None else (job, future.result(), None)
            if restart:
                generation, executor = generation + 1, _restart(executor, workers)
    except BaseException:   # Ctrl-C, or the caller stopped: stop the workers now
        stop(executor)
        raise
    executor.shutdown(wait=True)


def stop(executor: ProcessPoolExecutor) -> None:
    _end(executor)


def _executor(workers: int) -> ProcessPoolExecutor:
    # spawn: the worker runs pytest in-process and must not inherit this process's state
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=init_worker, initargs=(os.getpid(),), max_tasks_per_child=TASKS_PER_WORKER)


def _restart(broken: ProcessPoolExecutor, workers: int) -> ProcessPoolExecutor:
    """A new pool for a broken one, whose workers are ended and reaped now: one left to itself could keep its
    management thread, and so this process, alive after the run has ended."""
    _end(broken)
    return _executor(workers)


def _end(executor: ProcessPoolExecutor) -> None:
    """Stop a pool's workers: SIGTERM first, on which a worker unwinds its job (killing and sweeping the student's
    processes, nngrade.bulk.engine), a grace period for that, and only then SIGKILL."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + CLEANUP_SECONDS
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(timeout=5)

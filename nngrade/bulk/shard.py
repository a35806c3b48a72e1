"""A class too large for one machine: `grade.py bulk --shard K/N` grades a deterministic share of it.

Which shard grades a submission depends only on its student id (the smallest, for a Gradescope
group) and N: a stable hash (sha256, never Python's salted `hash`), so that N machines that each
see the whole class folder split it without talking to each other, and a shard run again grades the
same share. Each shard's output folder is a complete bulk output folder for its share, plus
`shard.json`: which shard it is, the class it was cut from (a hash of every submission and student
id, in the order bulk lists them) and its share's place in that order, so that `grade.py bulk
merge` (nngrade.bulk.merge) can check that the shards fit together exactly and rebuild the class's
outputs, rows in the order one run would write them, without the class folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

from nngrade.bulk import ingest
from nngrade.cli import UsageError
from nngrade.reports.writers import files

SHARD_FILE = "shard.json"
MAX_SHARDS = 10_000   # more is a typo (a shard per handful of students at the largest class)
USAGE = "give K/N (shard K of N, 1 <= K <= N), or auto/N to take K from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID"


@dataclass(frozen=True)
class Shard:
    index: int   # 1 to count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(student_id: str, count: int) -> int:
    """The shard (1 to count) of a student id: the first 8 bytes of its sha256, modulo count."""
    digest = hashlib.sha256(student_id.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def owner(submission: ingest.Submission) -> str:
    """The id that places a submission: its student's, or the smallest of a group's (a group is graded once)."""
    return min(student.id for student in submission.students) if submission.students else submission.key


def parse(text: str, environ: Mapping[str, str] = os.environ) -> Shard:
    """`--shard K/N` or `--shard auto/N`; a UsageError (one line) for anything else."""
    match = re.fullmatch(r"\s*([0-9]+|auto)\s*/\s*([0-9]+)\s*", text)
    if not match:
        raise UsageError(f"--shard {text}: {USAGE}")
    count = int(match[2])
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"--shard {text}: the number of shards must be 1 to {MAX_SHARDS}")
    index = _index_from_environment(text, count, environ) if match[1] == "auto" else int(match[1])
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text}: the shard must be 1 to {count}")
    return Shard(index, count)


def _index_from_environment(text: str, count: int, environ: Mapping[str, str]) -> int:
    """K for `auto/N`: a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0 to N-1), else a Slurm job array's
    task (its offset from SLURM_ARRAY_TASK_MIN, in steps of SLURM_ARRAY_TASK_STEP: --array=0-3 and
    --array=1-4 both give shards 1 to 4)."""
    def number(name: str, default: int | None = None) -> int:
        raw = environ.get(name, "").strip()
        if not raw and default is not None:
            return default
        if not re.fullmatch(r"[0-9]+", raw):
            raise UsageError(f"--shard {text}: {name}={raw!r} is not a whole number")
        return int(raw)

    if environ.get("JOB_COMPLETION_INDEX", "").strip():
        position, name = number("JOB_COMPLETION_INDEX"), "JOB_COMPLETION_INDEX"
    elif environ.get("SLURM_ARRAY_TASK_ID", "").strip():
        step = number("SLURM_ARRAY_TASK_STEP", 1) or 1
        position, name = (number("SLURM_ARRAY_TASK_ID") - number("SLURM_ARRAY_TASK_MIN", 0)) // step, "SLURM_ARRAY_TASK_ID"
        if environ.get("SLURM_ARRAY_TASK_COUNT", "").strip() and number("SLURM_ARRAY_TASK_COUNT") != count:
            raise UsageError(f"--shard {text}: the Slurm array has {number('SLURM_ARRAY_TASK_COUNT')} tasks, "
                             f"not {count}: give --shard auto/{number('SLURM_ARRAY_TASK_COUNT')}")
    else:
        raise UsageError(f"--shard {text}: neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) nor "
                         "SLURM_ARRAY_TASK_ID (a Slurm job array) is set: give the shard as K/N")
    if not 0 <= position < count:
        raise UsageError(f"--shard {text}: {name}={environ[name].strip()} is not one of the {count} shards "
                         f"(0 to {count - 1} from the first task)")
    return position + 1


def roster(submissions: list[ingest.Submission]) -> str:
    """A hash of the class as bulk lists it (each submission's key and student ids, in order): shards cut
    from a different folder, or from the same one after a submission came or went, do not fit together."""
    listed = [[sub.key, [student.id for student in sub.students]] for sub in submissions]
    return hashlib.sha256(json.dumps(listed, ensure_ascii=False).encode("utf-8")).hexdigest()


class Share(ingest.Found):
    """The submissions of one shard, with their places in the whole class and what identifies that class."""

    def __init__(self, found: ingest.Found, shard: Shard):
        mine = [(position, sub) for position, sub in enumerate(found) if shard_of(owner(sub), shard.count) == shard.index]
        super().__init__([sub for _, sub in mine], found.warnings)
        self.shard = shard
        self.positions = [position for position, _ in mine]
        self.class_info = {"submissions": len(found), "students": sum(len(sub.students) for sub in found),
                           "roster": roster(list(found))}


def write_state(out: Path, share: Share, finished: bool) -> None:
    """OUT/shard.json: written unfinished before grading starts and finished once every output is written, so
    that a merge refuses a shard that is still running or was stopped."""
    files.write_json(out / SHARD_FILE, {
        "shard": str(share.shard), "index": share.shard.index, "count": share.shard.count, "finished": finished,
        "class": share.class_info, "warnings": list(share.warnings),
        "submissions": [{"position": position, "key": sub.key, "label": sub.label,
                         "students": [asdict(student) for student in sub.students]}
                        for position, sub in zip(share.positions, share)]})


def read_state(out: Path) -> dict | None:
    """OUT/shard.json as written, or None when OUT is no shard's folder (or the file is unreadable)."""
    try:
        state = json.loads((out / SHARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None

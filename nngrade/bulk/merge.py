"""`grade.py bulk merge OUT SHARD...`: the output folders of `grade.py bulk --shard K/N` combined into one.

OUT becomes what one `grade.py bulk` run over the whole class would have written: every report (the
files the shards wrote, byte for byte), `manifest.jsonl`, `batch.json`, and every output rendered
again from the merged reports by bulk's own writer (`Batch.write_outputs`): the gradebook's rows in
the class's order, the summary, each chosen format. It is an ordinary output folder: `grade.py bulk
CLASS --out OUT` grades only what changed since.

The shards must fit together exactly, or nothing is written: the same number of shards, each of
them once, every one finished, all cut from the same class (nngrade.bulk.shard.roster) and graded with
the same seed, grader version, exercises, time limit, data and isolation level, each holding
exactly the students its shard number gives them, and a grade record that matches every report.
Each refusal is one line (exit 2) naming the shard folders and what differs.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from nngrade import bulk
from nngrade.bulk import ingest
from nngrade.bulk import ledger
from nngrade.bulk import shard
from nngrade.cli import ArgumentParser, UsageError, check_output_path, exercise_ids
from nngrade.reports.writers import files, gradescope

STUDENT_FIELDS = tuple(f.name for f in fields(ingest.Student))
SAFE_ID = re.compile(r"[^./\\\0][^/\\\0]{0,199}")   # as ingest.safe_id makes them (and `id~2`): a plain file name


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(prog="grade.py bulk merge", description="Combine the output folders of "
                            "'grade.py bulk --shard K/N' runs (all N of them) into one output folder, as one run "
                            "over the whole class would have written it.")
    parser.add_argument("out", type=Path, metavar="OUT", help="the merged output folder (new, or an earlier merge's)")
    parser.add_argument("shards", type=Path, nargs="+", metavar="SHARD", help="the shards' output folders")
    parser.add_argument("--formats", type=bulk._parse_formats, metavar="LIST",
                        help=f"per-student formats to write: {', '.join(bulk.FORMATS)}, or 'none' (default: the "
                        "shards')")
    parser.add_argument("--hidden-visibility", choices=gradescope.VISIBILITIES,
                        help="Gradescope visibility of hidden cases (default: the shards')")
    parser.add_argument("--force", action="store_true", help="merge into an OUT that holds other grades")
    return parser.parse_args(argv)


@dataclass
class Loaded:
    """One shard's output folder, read."""
    folder: Path
    state: dict               # shard.json
    batch: dict               # batch.json
    records: dict[str, dict]  # manifest.jsonl: the latest record per student

    @property
    def name(self) -> str:
        return f"{self.folder} (shard {self.state['shard']})"


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
        shards = [_load(folder) for folder in args.shards]
        placed = _fit(shards)
        settings = _settings(args, shards)
        _check_out(args.out, shards, args.force)
        with ledger.Lock(args.out):
            _check_out(args.out, shards, args.force)   # again, now that no run can start in it
            merged = _write(settings, shards, placed)
            class_summary = merged.write_outputs()
    except (UsageError, ledger.Locked) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return bulk.EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: the merge did not finish (no shard was changed); run it again", file=sys.stderr)
        return bulk.EXIT_INTERRUPTED
    except OSError as exc:
        print(f"error: cannot read or write {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return bulk.EXIT_USAGE
    students = sum(len(sub.students) for sub in merged.submissions)
    first = shards[0].batch
    print(f"merged {len(shards)} shard{'s' * (len(shards) != 1)} ({students} student{'s' * (students != 1)}) into "
          f"{args.out} · exercises "
          f"{' '.join(settings.exercise_ids)} · seed {settings.seed} · grader {first['grader']}")
    print("\n".join(merged.outcome_lines(class_summary, again="run their shards again, then merge again")))
    return bulk.EXIT_INCOMPLETE if merged.incomplete else bulk.EXIT_OK


# --- reading and checking the shards -----------------------------------------------------------

def _load(folder: Path) -> Loaded:
    if not folder.is_dir():
        raise UsageError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
    state = shard.read_state(folder)
    if state is None:
        raise UsageError(f"{folder}: not a shard's output folder (no readable {shard.SHARD_FILE}): shards are "
                         "graded with 'grade.py bulk CLASS --shard K/N --out FOLDER'")
    problem = _damaged(state)
    if problem:
        raise UsageError(f"{folder / shard.SHARD_FILE}: damaged ({problem}): run the shard again")
    if state["finished"] is not True:
        raise UsageError(f"{folder}: shard {state['shard']} did not finish (it is still running, or was stopped): "
                         "run it again to the end, then merge")
    batch = ledger.read_batch(folder)
    if batch is None or not (isinstance(batch.get("seed"), int) and isinstance(batch.get("exercises"), list)
                             and isinstance(batch.get("timeout"), (int, float)) and isinstance(batch.get("grader"), str)
                             and isinstance(batch.get("isolation"), str) and isinstance(batch.get("folder"), str)):
        raise UsageError(f"{folder / ledger.BATCH}: missing, unreadable or incomplete: run the shard again")
    return Loaded(folder, state, batch, ledger.Ledger(folder).records)


def _damaged(state: dict) -> str:
    """What is wrong with a shard.json's shape, or "" (it is ours, but may have been cut short or edited)."""
    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)
    if not (whole(state.get("index")) and whole(state.get("count")) and 1 <= state["index"] <= state["count"]):
        return "no shard number"
    if state.get("shard") != f"{state['index']}/{state['count']}":
        return "its shard number disagrees with itself"
    cls = state.get("class")
    if not (isinstance(cls, dict) and whole(cls.get("submissions")) and whole(cls.get("students"))
            and isinstance(cls.get("roster"), str)):
        return "no class"
    if not (isinstance(state.get("warnings"), list) and all(isinstance(w, str) for w in state["warnings"])):
        return "no warnings list"
    subs = state.get("submissions")
    if not isinstance(subs, list):
        return "no submissions list"
    for sub in subs:
        if not (isinstance(sub, dict) and whole(sub.get("position")) and isinstance(sub.get("key"), str)
                and isinstance(sub.get("label"), str) and isinstance(sub.get("students"), list) and sub["students"]
                and all(isinstance(st, dict) and set(st) == set(STUDENT_FIELDS) and all(isinstance(v, str) for v in
                        st.values()) for st in sub["students"])):
            return "a submission without its place, key or students"
        if not all(SAFE_ID.fullmatch(st["id"]) for st in sub["students"]):
            return "a student id that is no file name"   # it names a report file in OUT: never a path
    return ""


# What every shard must share, with how a refusal names it.
SHARED = (("seeds", lambda b: b.get("seed")),
          ("grader versions", lambda b: b.get("grader")),
          ("exercises", lambda b: b.get("exercises")),
          ("time limits", lambda b: b.get("timeout")),
          ("data", lambda b: (b.get("data") or {}).get("sha256")),
          ("isolation levels", lambda b: b.get("isolation")))


def _fit(shards: list[Loaded]) -> list[tuple[Loaded, dict]]:
    """Refuse shards that do not make one class exactly; returns (shard, its entry) for every submission of the
    class, in the class's order."""
    first = shards[0]
    count = first.state["count"]
    for shard_ in shards[1:]:
        if shard_.state["count"] != count:
            raise UsageError(f"the shards split the class differently: {first.name} and {shard_.name}: merge the "
                             "shards of one split (the same N)")
    for what, value in SHARED:
        for shard_ in shards[1:]:
            if value(shard_.batch) != value(first.batch):
                raise UsageError(f"the shards were graded with different {what}: {first.name} with "
                                 f"{_shown(value(first.batch))}, {shard_.name} with {_shown(value(shard_.batch))}: "
                                 "grade every shard with the same settings and grader")
    for shard_ in shards[1:]:
        if shard_.state["class"] != first.state["class"]:
            raise UsageError(f"the shards were cut from different class folders, or from one that changed between "
                             f"their runs: {first.name} saw {first.state['class']['students']} students, "
                             f"{shard_.name} {shard_.state['class']['students']} (other ones, or in another order): "
                             "run every shard again on the same folder")
    given: dict[int, Loaded] = {}
    for shard_ in shards:
        index = shard_.state["index"]
        if index in given:
            raise UsageError(f"shard {index}/{count} is given twice: {given[index].folder} and {shard_.folder}")
        given[index] = shard_
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in given]
    if missing:
        raise UsageError(f"shard{'s' * (len(missing) > 1)} {', '.join(missing)} missing: the merge needs all {count} "
                         f"shards of the class (given: {', '.join(str(k) for k in sorted(given))})")
    placed: dict[int, tuple[Loaded, dict]] = {}
    holder: dict[str, Loaded] = {}
    for shard_ in shards:
        index = shard_.state["index"]
        for sub in shard_.state["submissions"]:
            ids = [student["id"] for student in sub["students"]]
            belongs = shard.shard_of(min(ids), count)
            if belongs != index:
                raise UsageError(f"{shard_.name} holds {ids[0]}, who belongs to shard {belongs}/{count}: it was not "
                                 f"cut by this version's split; run it again")
            for student_id in ids:
                if student_id in holder:
                    raise UsageError(f"{student_id} is in two shards, {holder[student_id].name} and {shard_.name}")
                holder[student_id] = shard_
                _check_record(shard_, student_id)
            if sub["position"] in placed:
                other = placed[sub["position"]][0]
                raise UsageError(f"{other.name} and {shard_.name} both hold the class's submission "
                                 f"#{sub['position'] + 1}: their shard.json files were edited or mixed up")
            placed[sub["position"]] = (shard_, sub)
    total = first.state["class"]["submissions"]
    if sorted(placed) != list(range(total)):
        raise UsageError(f"the shards hold {len(placed)} of the class's {total} submissions (a shard.json was cut "
                         "short or edited): run the shards again")
    return [placed[position] for position in range(total)]


def _check_record(shard_: Loaded, student_id: str) -> None:
    """A student of a finished shard has a grade record, and the report it names is the one in the folder."""
    record = shard_.records.get(student_id)
    report = shard_.folder / "reports" / f"{student_id}.json"
    if record is None or record.get("report_sha256") != ledger.file_sha256(report):
        raise UsageError(f"{shard_.name}: the report of {student_id} is missing or is not the one graded "
                         f"({report}; the folder was changed after the run?): run the shard again")


def _shown(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else "none" if value is None else str(value)


def _common(shards: list[Loaded], key: str, option: str, given):
    """A per-run choice the merge writes again (formats, Gradescope visibility): the option, else the shards' own."""
    if given is not None:
        return given
    values = [shard_.batch.get(key) for shard_ in shards]
    if any(value != values[0] for value in values):
        raise UsageError(f"the shards chose different {key.replace('_', ' ')} ({shards[0].name}: "
                         f"{_shown(values[0])}; {next(s.name for s, v in zip(shards, values) if v != values[0])}: "
                         f"{_shown(next(v for v in values if v != values[0]))}): pass {option}")
    return values[0]


def _settings(args: argparse.Namespace, shards: list[Loaded]) -> bulk.Settings:
    batch = shards[0].batch
    formats = _common(shards, "formats", "--formats LIST", args.formats)
    if not (isinstance(formats, (list, tuple)) and all(f in bulk.FORMATS for f in formats)):
        raise UsageError(f"{shards[0].folder / ledger.BATCH}: its formats are not readable: pass --formats LIST")
    visibility = _common(shards, "hidden_visibility", "--hidden-visibility V", args.hidden_visibility)
    if visibility not in gradescope.VISIBILITIES:
        visibility = "after_published"
    data = batch.get("data") if isinstance(batch.get("data"), dict) else {}
    return bulk.Settings(
        folder=Path(_class_folder(shards)), out=args.out,
        exercise_ids=tuple(exercise_ids([str(i) for i in batch["exercises"]])), seed=batch["seed"], kept=(),
        timeout=batch["timeout"], data_path=data.get("path"), data=data, notices=(), workers=1,
        formats=tuple(formats), hidden_visibility=visibility, force=False, quiet=True, isolation=batch["isolation"])


def _class_folder(shards: list[Loaded]) -> str:
    """The class folder the shards were graded from, or "" when their machines had it in different places (a
    collected output folder): the roster says it is the same class either way."""
    folders = {shard_.batch["folder"] for shard_ in shards}
    return folders.pop() if len(folders) == 1 else ""


def _check_out(out: Path, shards: list[Loaded], force: bool) -> None:
    check_output_path(out, "OUT", folder=True)
    target = out.resolve()
    for shard_ in shards:
        folder = shard_.folder.resolve()
        if target == folder or folder in target.parents:
            raise UsageError(f"OUT {out} is {'the' if target == folder else 'inside the'} folder of {shard_.name}: "
                             "merge into a folder of its own")
    previous = ledger.read_batch(out)
    graded = bool(ledger.Ledger(out).records) or bulk._has_rows(out / "gradebook.csv")
    if graded and not force and not (previous and previous.get("merged_from")):
        raise UsageError(f"{out} holds grades that are not a merge of shards (a class graded into it): merging "
                         "into it would mix them; choose a new OUT (or pass --force)")


class Merged(bulk.Batch):
    """The whole class, rebuilt from its shards: bulk's outputs, written from the merged reports and manifest."""

    def __init__(self, settings: bulk.Settings, found: ingest.Found, shards: list[Loaded]):
        super().__init__(settings, found)
        self.grader = shards[0].batch["grader"]    # what graded the reports, not this copy of nngrade
        self.config = shards[0].batch.get("config", self.config)
        self.sources = [str(shard_.folder.resolve()) for shard_ in sorted(shards, key=lambda s: s.state["index"])]
        self.folder = _class_folder(shards)

    def batch_info(self) -> dict:
        return {**super().batch_info(), "folder": self.folder, "merged_from": self.sources}

    def take_records(self) -> None:
        """The merged manifest, once written: the grades the outputs are rendered from."""
        self.ledger = ledger.Ledger(self.settings.out)
        self.incomplete = [sub.key for sub in self.submissions if any(
            self.ledger.records.get(st.id, {}).get("complete") is not True for st in sub.students)]


def _write(settings: bulk.Settings, shards: list[Loaded], placed: list[tuple[Loaded, dict]]) -> Merged:
    """batch.json, the merged reports and manifest, then a Batch over them (its outputs are written by the caller)."""
    out = settings.out
    submissions = [ingest.Submission(key=sub["key"], label=sub["label"], students=tuple(
        ingest.Student(**{name: st[name] for name in STUDENT_FIELDS}) for st in sub["students"])) for _, sub in placed]
    merged = Merged(settings, ingest.Found(submissions, list(shards[0].state["warnings"])), shards)
    # batch.json first: a merge stopped midway leaves an OUT that the next merge may replace without --force.
    ledger.write_batch(out, merged.batch_info())
    (out / shard.SHARD_FILE).unlink(missing_ok=True)    # --force over a shard's own folder: not a shard now
    records = []
    for (shard_, _), submission in zip(placed, submissions):
        for student in submission.students:
            text = (shard_.folder / "reports" / f"{student.id}.json").read_text(encoding="utf-8")
            files.write_text(out / "reports" / f"{student.id}.json", text)
            records.append(shard_.records[student.id])
    # The manifest whole, atomically: a re-merge replaces the last one's records.
    files.write_text(out / ledger.MANIFEST, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    merged.take_records()
    return merged

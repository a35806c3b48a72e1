"""Where expected values come from: the reference solutions, or, in a student release, stored visible values.

With reference/ (an instructor's copy, the Gradescope bundle) every case is graded, hidden
ones included, and mistakes and follow-through are derived from the reference (nngrade.judge.derive).
A student release has no reference: it ships the expected values of the visible cases only
(and of each known mistake's variant on them, for the diagnosis), so nothing in it computes a
hidden answer; follow-through, which needs the formulas, is decided when the work is submitted.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from nngrade.paths import PACKAGE
from nngrade import __version__
from nngrade.run import wire
from nngrade.judge.exercises import Exercise, reference_file

STORED_PATH = PACKAGE / "expected" / "visible.json"
NO_DATA = "none"   # the key of exercises that read no data file


def _sample() -> str:
    from nngrade.data import REPO, sample_path
    return str(sample_path().relative_to(REPO))


class OracleError(Exception):
    """No expected values can be had for this run; the message says why and what to do."""


class Expectations:
    """What one exercise's checks are judged against, for one set of inputs."""

    def __init__(self, expected: dict, flavours: dict, variant, traced: dict | None = None,
                 follows_through: bool = True, calling: frozenset = frozenset()):
        self.expected = expected      # (function, case) -> quantity -> float64 array
        self.flavours = flavours      # known mistakes that apply: flavour -> misconception id
        self._variant = variant
        # (function, case) -> the reference's calls to the exercise's other functions there, [(name, kwargs)]:
        # the child makes them on the student's functions too, for follow-through across functions.
        self.traced = traced or {}
        self.follows_through = follows_through   # False in a release: it has no reference to compute it
        self.calling = calling or frozenset(f for f, _ in self.traced)   # functions that call the others
        self._cache: dict = {}        # shared by every submission judged against these expectations

    def variant(self, function: str, case: str, mistake: str | None, given: dict,
                others: dict | None = None) -> dict | None:
        """All quantities of one call computed with `mistake` (None: right) from the student's `given`
        upstream values and, in `others`, the student's results for the traced calls to other functions
        (name -> (their arguments, the results)); None where that cannot be had."""
        if given or others:
            return self._variant(function, case, mistake, given, others)
        key = (function, case, mistake)
        if key not in self._cache:
            self._cache[key] = self._variant(function, case, mistake, given, None)
        return self._cache[key]


class ReferenceOracle:
    """The instructor's side: the reference for expected values, its variants for mistakes and follow-through."""
    grades_hidden = True

    @staticmethod
    def parameters(exercise: Exercise, function: str) -> tuple[str, ...]:
        from nngrade.judge.derive import source
        return source(reference_file(exercise)).functions[function].parameters

    def expectations(self, exercise: Exercise, inputs: dict, data) -> Expectations:
        from nngrade.judge.derive import model
        reference = model(exercise)
        graded = tuple(f.name for f in exercise.functions)
        expected, traced = {}, {}
        for (function, case), kwargs in inputs.items():
            returned, traced[(function, case)] = reference.traced(function, kwargs, graded)
            expected[(function, case)] = {q.name: np.asarray(returned[q.name], dtype=np.float64)
                                          for q in exercise.function(function).quantities}

        def variant(function, case, mistake, given, others):
            try:
                with np.errstate(all="ignore"):
                    return reference.call(mistake, function, inputs[(function, case)], given, others)
            except Exception:  # noqa: BLE001 - the mistake (or the student's values) makes this call impossible
                return None
        return Expectations(expected, reference.flavours, variant, {k: v for k, v in traced.items() if v})


class StoredOracle:
    """The student's side: visible cases only, from the values stored when the release was built."""
    grades_hidden = False

    def __init__(self, stored: dict):
        self.stored = stored

    def parameters(self, exercise: Exercise, function: str) -> tuple[str, ...]:
        return tuple(self.stored["parameters"][exercise.id][function])

    def expectations(self, exercise: Exercise, inputs: dict, data) -> Expectations:
        key = data.sha256 if exercise.needs_data and data is not None else NO_DATA
        entry = self.stored["exercises"].get(exercise.id, {}).get(key)
        if entry is None:
            raise OracleError(f"this release has no expected values for exercise {exercise.id} with the data file "
                              f"{getattr(data, 'path', '?')}: grade with the shipped sample (--data {_sample()})")
        expected = {(f, c): {q: np.asarray(wire.decode(v), dtype=np.float64) for q, v in entry[f][c]["values"].items()}
                    for f, c in inputs}

        def variant(function, case, mistake, given, others):
            if given or others or mistake is None:
                return None   # follow-through needs the formulas, which a release does not ship
            stored = entry[function][case]["variants"].get(mistake)
            return None if stored is None else {q: wire.decode(v) for q, v in stored.items()}
        return Expectations(expected, self.stored["flavours"].get(exercise.id, {}), variant, follows_through=False,
                            calling=frozenset(self.stored.get("calling", {}).get(exercise.id, ())))


@lru_cache(maxsize=4)
def load_oracle(repo: Path) -> ReferenceOracle | StoredOracle:
    """The reference where it is there; else the release's stored values; else a clear error."""
    if (repo / "reference").is_dir():
        return ReferenceOracle()
    if STORED_PATH.is_file():
        try:
            return StoredOracle(json.loads(STORED_PATH.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise OracleError(f"{STORED_PATH} is unreadable ({exc}): rebuild the release") from None
    raise OracleError(f"no reference/ folder and no stored expected values ({STORED_PATH}): "
                      "this copy cannot grade; use the full project or a student release")


def store_visible(exercises: list[Exercise], data_sets: list) -> dict:
    """The stored values a release ships: every visible case's expected values and its mistakes' variants."""
    reference = ReferenceOracle()
    stored = {"format": 2, "nngrade": __version__, "exercises": {}, "flavours": {}, "parameters": {}, "calling": {}}
    for exercise in exercises:
        stored["parameters"][exercise.id] = {f.name: list(reference.parameters(exercise, f.name))
                                             for f in exercise.functions}
        for data in (data_sets if exercise.needs_data else [None]):
            inputs = exercise.inputs(0, data, visible_only=True)   # visible cases do not depend on the seed
            expectations = reference.expectations(exercise, inputs, data)
            stored["flavours"][exercise.id] = expectations.flavours
            stored["calling"][exercise.id] = sorted(expectations.calling)
            entry: dict = {}
            for (function, case) in inputs:
                expected = expectations.expected[(function, case)]
                variants = {}
                for flavour in expectations.flavours:
                    variant = expectations.variant(function, case, flavour, {})
                    if variant is not None:
                        variants[flavour] = {q: wire.encode(np.asarray(variant[q], dtype=np.float64))
                                             for q in expected if q in variant}
                entry.setdefault(function, {})[case] = {
                    "values": {q: wire.encode(v) for q, v in expected.items()}, "variants": variants}
            stored["exercises"].setdefault(exercise.id, {})[data.sha256 if data is not None else NO_DATA] = entry
    return stored

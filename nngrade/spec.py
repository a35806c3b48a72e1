"""What a grader declares: an exercise's functions, graded quantities, cases, known mistakes and data.

A grader, `graders/test_NN_stem.py`, is one exercise's spec and a real pytest module:

    EXERCISE = Exercise(__file__, title=..., functions=(Function("f", "a b c"), ...),
                        visible={"lesson": inputs}, hidden=hidden_inputs, mistakes=lesson.MISTAKES)

    @pytest.mark.parametrize("check", EXERCISE.checks, ids=str)
    def test_quantity(check, judge):
        judge(check)

The id ("NN") and the stem come from the file's name: the reference is `reference/NN_stem.py`,
the student's stub `exercises/NN_stem.py`. Nothing here knows a lesson; expected values, the
mistakes' variants and follow-through are all derived from the reference (nngrade.judge.derive).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

# Tolerances: float64 sums done in another order (vectorised against a loop, x @ w against
# np.dot) differ by ~1e-15 relative; a mistake worth naming changes values by far more than
# 1e-6 relative. The absolute floor only matters for values that are near zero.
RTOL, ATOL = 1e-6, 1e-12

# A check of its own per function: inputs changed in place, or hidden global randomness. Worth no
# points (a lesson may itself write `weights += ...`), it tells the student what would bite later.
SIDE_EFFECTS = "side_effects"

_FILE_NAME = re.compile(r"^test_(?P<id>\d+)_(?P<rest>\w+)\.py$")


class SpecError(ValueError):
    """An exercise that cannot be graded as declared: the message names the file and what is wrong."""


@dataclass(frozen=True)
class Quantity:
    name: str
    points: float = 1.0
    rtol: float = RTOL
    atol: float = ATOL
    follow_through_points: float | None = None   # earned when right given the student's own upstream values; None: full


@dataclass(frozen=True)
class Function:
    """A function of the stub, its graded quantities (in the order it computes them) and its cases:
    the visible ones by name (the lesson's inputs), and how many hidden ones."""
    name: str
    quantities: tuple[Quantity, ...] | str
    visible: tuple[str, ...] = ("lesson",)
    hidden: int = 2

    def __post_init__(self):
        if isinstance(self.quantities, str):   # "a b c": one point each, the default tolerance
            object.__setattr__(self, "quantities", tuple(Quantity(name) for name in self.quantities.split()))
        object.__setattr__(self, "quantities", tuple(q if isinstance(q, Quantity) else Quantity(q)
                                                     for q in self.quantities))

    @property
    def cases(self) -> tuple[str, ...]:
        return (*self.visible, *(f"hidden-{n}" for n in range(1, self.hidden + 1)))

    def is_visible(self, case: str) -> bool:
        return case in self.visible

    def quantity(self, name: str) -> Quantity:
        return next(q for q in self.quantities if q.name == name)


@dataclass(frozen=True)
class Mistake:
    """A mistake students make: a stable id, what went wrong, and a hint that points at the formula.

    Most mistakes are declared in the reference beside the line they change (`# MISTAKE id: expression`)
    and diagnosed by the value their variant gives. Some show otherwise: `raises`, a regular expression
    matched against the exception's message (a broadcast that fails), and `line`, one the student's line
    that raised must match too (where the message alone could be another mistake's); `transposed`, a value
    that is the expected one transposed; `constant`, a value that is the same on every case and right on a
    visible one (no edit of a line makes a function ignore its arguments). `at` narrows `raises` and
    `transposed` to these quantities (or to a line of the student's that assigns one of them), so that one
    symptom can point to different mistakes in different places.
    """
    id: str
    title: str
    hint: str
    raises: str | None = None
    transposed: bool = False
    at: tuple[str, ...] = ()
    line: str | None = None
    constant: bool = False
    # The escape hatch, for a mistake no line edit can say: function name -> a function with the mistake, called
    # in place of the reference's own with the same arguments (it sees none of the follow-through substitution).
    replace: Mapping[str, Callable] | None = None

    def __hash__(self) -> int:
        return hash((self.id, self.title, self.hint, self.raises, self.line, self.transposed, self.constant, self.at,
                     tuple(sorted((self.replace or {}).items()))))


@dataclass(frozen=True)
class Column:
    name: str
    kind: type = float                      # float or int
    allowed: tuple | None = None            # the only values it may hold, where it has a fixed set


@dataclass(frozen=True)
class Dataset:
    """A data file some exercises read: where to get it, how to check it, the sample shipped instead.

    `file` and `sample` are paths relative to the project's data/ folder. `synthesize(seed, n)` makes the
    sample's rows (a list of dicts by column), `describe(table)` a few lines of statistics for `check`.
    """
    name: str
    file: str
    sha256: str
    urls: tuple[str, ...]
    columns: tuple[Column, ...]
    sample: str
    min_rows: int = 10
    synthesize: Callable[[int, int], list[dict]] | None = None
    describe: Callable[[object], str] | None = None


@dataclass(frozen=True)
class Check:
    exercise: str
    function: str
    quantity: Quantity
    case: str
    visible: bool = True

    @property
    def name(self) -> str:
        return f"{self.function}.{self.quantity.name}[{self.case}]"

    @property
    def visibility(self) -> str:
        return "visible" if self.visible else "hidden"

    @property
    def points_on_follow_through(self) -> float:
        points = self.quantity.follow_through_points
        return self.quantity.points if points is None else points

    def __str__(self) -> str:   # pytest's test id
        return self.name


# (function, case, the prepared data or None) -> the keyword arguments of that call; or a mapping
# case -> (function, the prepared data or None) -> the keyword arguments
VisibleInputs = Callable[[str, str, object], dict]
# (function, random generator of the case, the prepared data or None) -> the keyword arguments
HiddenInputs = Callable[[str, np.random.Generator, object], dict]


@dataclass(frozen=True, eq=False)
class Exercise:
    """One exercise, as its grader declares it (see the module's docstring)."""
    file: str | Path                       # the grader's own __file__: it names the exercise
    title: str
    functions: tuple[Function, ...]
    visible: VisibleInputs | Mapping[str, Callable] = field(default_factory=dict)
    hidden: HiddenInputs | None = None
    mistakes: tuple[Mistake, ...] = ()
    data: Dataset | None = None
    prepare: Callable[[object], object] | None = None   # the data table -> what the cases are built from
    script: Callable[[object, object], None] | None = None   # what `python exercises/NN_stem.py` prints

    def __post_init__(self):
        path = Path(self.file)
        match = _FILE_NAME.match(path.name)
        if not match:
            raise SpecError(f"{path}: a grader is named test_NN_stem.py (NN the exercise's number)")
        object.__setattr__(self, "file", path)
        object.__setattr__(self, "functions", tuple(self.functions))
        object.__setattr__(self, "mistakes", tuple(self.mistakes))

    @property
    def id(self) -> str:
        return _FILE_NAME.match(self.file.name)["id"]

    @property
    def stem(self) -> str:
        """The file name without .py, the same in exercises/ and reference/."""
        return self.file.stem[len("test_"):]

    @cached_property
    def checks(self) -> tuple[Check, ...]:
        values = tuple(Check(self.id, f.name, q, case, f.is_visible(case))
                       for f in self.functions for case in f.cases for q in f.quantities)
        side_effects = tuple(Check(self.id, f.name, Quantity(SIDE_EFFECTS, points=0.0), "all") for f in self.functions)
        return values + side_effects

    @property
    def max_score(self) -> float:
        return sum(check.quantity.points for check in self.checks)

    @property
    def needs_data(self) -> bool:
        return self.data is not None

    def function(self, name: str) -> Function:
        return next(f for f in self.functions if f.name == name)

    def mistake(self, mistake_id: str) -> Mistake | None:
        return next((m for m in self.mistakes if m.id == mistake_id), None)

    def inputs(self, seed: int, data: object = None, visible_only: bool = False) -> dict[tuple[str, str], dict]:
        """The keyword arguments of every (function, case) for one grading run, built once.

        Every visible case comes before any hidden one, and the child makes the calls in this order:
        a call whose message the student sees can never have met a hidden input (a function that
        remembered them would tell them in its exception).
        """
        prepared = self.prepare(data) if self.prepare is not None and data is not None else None
        visible = [(f, case) for f in self.functions for case in f.visible]
        hidden = [] if visible_only else [(f, case) for f in self.functions for case in f.cases if not f.is_visible(case)]
        built = {}
        for f, case in visible:
            if not isinstance(self.visible, Mapping):
                built[(f.name, case)] = dict(self.visible(f.name, case, prepared))
            elif case in self.visible:
                built[(f.name, case)] = dict(self.visible[case](f.name, prepared))
            else:
                raise SpecError(f"{self.file}: no inputs for the visible case '{case}' of {f.name}()")
        for f, case in hidden:
            if self.hidden is None:
                raise SpecError(f"{self.file}: {f.name}() has hidden cases but the spec no hidden-case generator")
            built[(f.name, case)] = dict(self.hidden(f.name, case_rng(seed, self.id, case), prepared))
        return built


def case_rng(seed: int, exercise: str, case: str) -> np.random.Generator:
    """The generator for one hidden case: every function of an exercise sees the same network for it."""
    return np.random.default_rng([seed, int(exercise), sum(ord(c) * 31 ** i for i, c in enumerate(case))])

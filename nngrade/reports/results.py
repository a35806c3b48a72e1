"""Results as small dataclasses; every total is derived from the checks, never stored twice."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class CheckResult:
    name: str
    function: str
    quantity: str
    case: str
    visibility: str
    status: str
    score: float
    max_score: float
    message: str = ""
    follow_through: bool = False        # passed on the student's own upstream values
    misconception: str | None = None    # the likely mistake behind a failure (a mistake id the exercise declares)


@dataclass(frozen=True)
class ExerciseResult:
    id: str
    title: str
    file: str | None
    checks: tuple[CheckResult, ...]
    problem: str | None = None     # why the file could not be graded at all, if so
    output: str = ""               # the student's own prints, capped
    seconds: float = 0.0
    pending_hidden: int = 0        # hidden checks a student release leaves for the submission
    time_limit_seconds: float | None = None   # the wall-clock limit the file ran under (None: it did not run)

    @property
    def score(self) -> float:
        return sum(check.score for check in self.checks)

    @property
    def max_score(self) -> float:
        return sum(check.max_score for check in self.checks)


@dataclass(frozen=True)
class Report:
    exercises: tuple[ExerciseResult, ...]
    seed: int
    submission: str
    data: dict
    isolation: str
    timings: dict
    versions: dict
    notices: tuple[str, ...] = field(default_factory=tuple)
    mode: str = "full"             # "full": every case graded; "student": a release, visible cases only
    grader_error: str | None = None   # the grader failed itself on some check: not a grade (exit 2, bulk retries)

    @property
    def score(self) -> float:
        return sum(exercise.score for exercise in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(exercise.max_score for exercise in self.exercises)

    def to_dict(self) -> dict:
        """The canonical JSON report; every other format is rendered from this."""
        return {
            "schema_version": SCHEMA_VERSION,
            "score": self.score,
            "max_score": self.max_score,
            "submission": self.submission,
            "mode": self.mode,
            "grader_error": self.grader_error,
            "seed": self.seed,
            "isolation": self.isolation,
            "data": self.data,
            "notices": list(self.notices),
            "timings": self.timings,
            "versions": self.versions,
            "exercises": [{**{k: v for k, v in asdict(ex).items() if k != "checks"},
                           "score": ex.score, "max_score": ex.max_score,
                           "checks": [asdict(check) for check in ex.checks]} for ex in self.exercises],
        }


def report_from_dict(data: dict) -> Report:
    """The Report of a canonical report dict (Report.to_dict's output, read back from reports/<id>.json).
    Keys a later version adds are left out; the derived totals are derived again."""
    def known(cls, values: dict) -> dict:
        names = {f.name for f in fields(cls)}
        return {k: v for k, v in values.items() if k in names}
    exercises = tuple(ExerciseResult(**{**known(ExerciseResult, ex),
                                        "checks": tuple(CheckResult(**known(CheckResult, c)) for c in ex["checks"])})
                      for ex in data["exercises"])
    return Report(**{**known(Report, data), "exercises": exercises, "notices": tuple(data.get("notices", ()))})


def points(value: float) -> str:
    """A score as every output writes it: 20, 2.5, never 20.0."""
    return f"{value:g}"

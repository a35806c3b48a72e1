"""Expected values: the trusted reference solutions in reference/, run in the grading process once per run."""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np

from .exercises import Exercise

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


class ReferenceMissing(Exception):
    """This copy has no reference solutions (a student release): expected values must come from elsewhere."""


@lru_cache(maxsize=None)
def load(exercise: Exercise) -> ModuleType:
    path = REFERENCE_DIR / f"{exercise.stem}.py"
    if not path.is_file():
        raise ReferenceMissing(f"{path} not found")
    spec = importlib.util.spec_from_file_location(f"nngrade_reference_{exercise.id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_values(exercise: Exercise, inputs: dict[tuple[str, str], dict]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Every quantity of every (function, case), as float64 arrays."""
    module = load(exercise)
    expected = {}
    for (function, case), kwargs in inputs.items():
        returned = getattr(module, function)(**_copied(kwargs))
        names = [q.name for q in exercise.function(function).quantities]
        expected[(function, case)] = {name: np.asarray(returned[name], dtype=np.float64) for name in names}
    return expected


def _copied(kwargs: dict) -> dict:
    # The same inputs also go to the student; the reference must not be able to change them.
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}

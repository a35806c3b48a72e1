"""Trusted comparisons: one student value against one expected value, with one message template.

Order of the questions, as a student needs them answered: was it computed at all, is it
real numbers, is it finite, has it the right shape (and what a wrong shape points to),
and only then how far off it is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .wire import Invalid

PASSED, FAILED, ERROR, TIMEOUT, NOT_IMPLEMENTED = "passed", "failed", "error", "timeout", "not_implemented"


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str = ""
    follow_through: bool = False        # passed against the reference applied to the student's own upstream values
    misconception: str | None = None    # id in nngrade.variants.MISCONCEPTIONS

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def as_numbers(got) -> np.ndarray | None:
    """The value as a finite float array, or None when it is not one (None, Invalid, NaN, infinity)."""
    if got is None or isinstance(got, Invalid):
        return None
    array = np.asarray(got, dtype=np.float64)
    return array if np.all(np.isfinite(array)) else None


def aligned(array: np.ndarray, expected: np.ndarray) -> np.ndarray | None:
    """`array` in the expected shape, where the shapes agree; a number as shape () or (1,) is the same number."""
    if array.shape == expected.shape:
        return array
    return array.reshape(expected.shape) if array.size == expected.size == 1 else None


def matches(got, expected: np.ndarray, rtol: float, atol: float) -> bool:
    """Finite real numbers of the expected shape, within tolerance."""
    array = as_numbers(got)
    expected = np.asarray(expected, dtype=np.float64)
    array = None if array is None else aligned(array, expected)
    return array is not None and bool(np.isclose(array, expected, rtol=rtol, atol=atol).all())


def compare(name: str, got, expected: np.ndarray, rtol: float, atol: float, visible: bool) -> Outcome:
    """Judge one value; `visible` decides whether the message may show expected numbers."""
    if got is None:
        return Outcome(NOT_IMPLEMENTED, f"'{name}' is still None: its TODO is not done yet")
    if isinstance(got, Invalid):
        return Outcome(FAILED, f"'{name}' {got.reason} (got a {got.type_name})")
    got = np.asarray(got, dtype=np.float64)
    if not np.all(np.isfinite(got)):
        bad = int(np.count_nonzero(~np.isfinite(got)))
        return Outcome(FAILED, f"'{name}' has {bad} NaN or infinite value(s) out of {got.size}: "
                               "an overflow, a division by zero, or a log of a non-positive number?")
    shaped = aligned(got, expected)
    if shaped is None:
        return Outcome(FAILED, f"'{name}' has shape {got.shape}, expected {expected.shape}"
                               + shape_cause(got.shape, expected.shape))
    close = np.isclose(shaped, expected, rtol=rtol, atol=atol)
    if close.all():
        return Outcome(PASSED)
    return Outcome(FAILED, _mismatch(name, shaped, expected, close, visible))


def shape_cause(got: tuple, expected: tuple) -> str:
    """What a wrong shape usually comes from in this lesson, as a short clause."""
    if len(got) == len(expected) == 2 and got == expected[::-1]:
        return ": the transpose of the expected shape (a product in the wrong order, or np.outer the wrong way round?)"
    if len(expected) == 1 and got in ((expected[0], 1), (1, expected[0])):
        return ": an extra axis of length 1 (a column or row where a flat array was expected?)"
    if len(expected) == 1 and len(got) == 2 and got[0] == got[1] == expected[0]:
        return ": an (n,) array broadcast against an (n, 1) column gives (n, n)"
    if len(expected) == 2 and len(got) == 1:
        return ": a flat array where a matrix is expected (make the inputs a column, x[:, None], before the product?)"
    if len(expected) == 2 and len(got) == 2 and got[0] == got[1] and got[0] in expected:
        return ": a square result from broadcasting two flat arrays of the same length?"
    return ""


def _excerpt(values: np.ndarray, limit: int = 4) -> str:
    flat = values.ravel()
    shown = ", ".join(f"{v:.6g}" for v in flat[:limit])
    return f"[{shown}{', ...' if flat.size > limit else ''}]" if values.ndim else f"{float(values):.6g}"


def _mismatch(name: str, got: np.ndarray, expected: np.ndarray, close: np.ndarray, visible: bool) -> str:
    diff = np.abs(got - expected)
    worst = np.unravel_index(int(np.argmax(np.where(close, -1, diff))), got.shape) if got.ndim else ()
    relative = diff[worst] / abs(expected[worst]) if expected[worst] != 0 else np.inf
    where = f" at index {tuple(int(i) for i in worst)}" if got.ndim else ""
    count = f"{int((~close).sum())} of {got.size} values differ, " if got.size > 1 else ""
    detail = f"{count}largest difference {diff[worst]:.3g} ({_relative(relative)} relative){where}"
    if visible:
        detail = f"expected {_excerpt(expected)}, got {_excerpt(got)}; " + detail
    return f"'{name}' is wrong: {detail}"


def _relative(ratio: float) -> str:
    return f"{ratio:.1%}" if ratio >= 1e-3 else f"{ratio:.2g}"

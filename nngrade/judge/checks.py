"""Trusted comparisons: one student value against one expected value, with one message template.

Order of the questions, as a student needs them answered: was it computed at all, is it
real numbers, is it finite, has it the right shape (and what a wrong shape points to),
and only then how far off it is. Nothing here raises on what a student sent: a value that
cannot be converted is that student's failure, never an exception that stops a batch.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from nngrade.run.wire import Invalid

PASSED, FAILED, ERROR, TIMEOUT, NOT_IMPLEMENTED = "passed", "failed", "error", "timeout", "not_implemented"
GRADER_ERROR = "internal grader error"   # how a check that the grader itself failed to judge begins


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str = ""
    follow_through: bool = False        # passed against the reference applied to the student's own upstream values
    misconception: str | None = None    # the id of a mistake the exercise declares
    internal: bool = False              # the grader's own code failed: not a grade (grade.py exits 2, bulk retries)

    @property
    def passed(self) -> bool:
        return self.status == PASSED


# A value computed in a floating dtype coarser than float64 is judged at that dtype's precision: the
# lesson's sums and three-epoch trajectories in float32 differ from float64 by up to ~1e-6 relative
# (measured over the five references on many seeds, with the hidden cases kept well-conditioned), so
# float32 gets 256 epsilons (3.1e-5) as rtol and as its relative floor; float16 about 10 of its own.
# Every mistake of the lesson's list still changes values by far more than that.
LOW_PRECISION = {"float32": 256 * float(np.finfo(np.float32).eps), "float16": 1e-2}


def tolerance(rtol: float, atol: float, dtype: str | None) -> tuple[float, float]:
    """The (rtol, atol) a check applies to a value computed in `dtype` (None: float64, the quantity's own)."""
    coarse = LOW_PRECISION.get(dtype or "")
    return (rtol, atol) if coarse is None else (max(rtol, coarse), max(atol, coarse))


def grader_fault(reason: str) -> Outcome:
    """The outcome of a check the grader could not judge because of its own fault (never the student's)."""
    return Outcome(ERROR, f"{GRADER_ERROR}: {reason}"[:300], internal=True)


def numbers(got) -> np.ndarray | Invalid | None:
    """The student's value as a float64 array, or None (not computed), or Invalid (not numbers); never raises.

    An int of 400 digits, or an object whose conversion raises, becomes Invalid with the reason.
    """
    if got is None or isinstance(got, Invalid):
        return got
    try:
        with np.errstate(all="ignore"):
            return np.asarray(got, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - whatever a conversion raises, the value is not numbers
        return Invalid(type(got).__name__[:60], f"cannot be converted to numbers ({type(exc).__name__}: {exc})"[:200])


def as_numbers(got) -> np.ndarray | None:
    """The value as a finite float array, or None when it is not one (None, Invalid, NaN, infinity)."""
    array = numbers(got)
    return array if isinstance(array, np.ndarray) and np.all(np.isfinite(array)) else None


def aligned(array: np.ndarray, expected: np.ndarray) -> np.ndarray | None:
    """`array` in the expected shape, where the shapes agree; a number as shape () or (1,) is the same number."""
    if array.shape == expected.shape:
        return array
    return array.reshape(expected.shape) if array.size == expected.size == 1 else None


def scale(values: np.ndarray) -> float:
    """The size of a quantity on one case: its largest magnitude."""
    return float(np.max(np.abs(values))) if values.size else 0.0


def within(array: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Elementwise closeness. The absolute floor `atol` is relative to the expected values' scale, so that
    tiny values are never "equal" to tiny expectations (values near 1e-14 farmed follow-through credit
    under an absolute 1e-12), while an element that cancels to nearly zero still has a floor. All-zero
    expectations keep `atol` as it is."""
    size = scale(expected)
    with np.errstate(all="ignore"):
        return np.isclose(array, expected, rtol=rtol, atol=atol * size if size > 0 else atol)


def matches(got, expected: np.ndarray, rtol: float, atol: float) -> bool:
    """Finite real numbers of the expected shape, within tolerance."""
    array = as_numbers(got)
    expected = np.asarray(expected, dtype=np.float64)
    array = None if array is None else aligned(array, expected)
    return array is not None and bool(within(array, expected, rtol, atol).all())


def compare(name: str, got, expected: np.ndarray, rtol: float, atol: float, visible: bool, key: bytes = b"") -> Outcome:
    """Judge one value; `visible` decides whether the message may show numbers. `key` (secret, from the
    run's seed) blurs the edges of a hidden message's words, see _size_in_words."""
    got = numbers(got)
    if got is None:
        return Outcome(NOT_IMPLEMENTED, f"'{name}' is still None: its TODO is not done yet")
    if isinstance(got, Invalid):
        return Outcome(FAILED, f"'{name}' {got.reason} (got a {got.type_name})")
    if not np.all(np.isfinite(got)):
        bad = int(np.count_nonzero(~np.isfinite(got)))
        return Outcome(FAILED, f"'{name}' has {bad} NaN or infinite value(s) out of {got.size}: "
                               "an overflow, a division by zero, or a log of a non-positive number?")
    shaped = aligned(got, expected)
    if shaped is None:
        return Outcome(FAILED, f"'{name}' has shape {got.shape}, expected {expected.shape}"
                               + shape_cause(got.shape, expected.shape))
    close = within(shaped, expected, rtol, atol)
    if close.all():
        return Outcome(PASSED)
    if visible:
        return Outcome(FAILED, _mismatch(name, shaped, expected, close))
    return Outcome(FAILED, _hidden_mismatch(name, shaped, expected, close, key))


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


def _mismatch(name: str, got: np.ndarray, expected: np.ndarray, close: np.ndarray) -> str:
    """A visible case's message: the values, how far off, where."""
    with np.errstate(all="ignore"):
        diff = np.abs(got - expected)
    worst = np.unravel_index(int(np.argmax(np.where(close, -1, diff))), got.shape) if got.ndim else ()
    relative = diff[worst] / abs(expected[worst]) if expected[worst] != 0 else np.inf
    where = f" at index {tuple(int(i) for i in worst)}" if got.ndim else ""
    detail = f"{_count(close)}largest difference {diff[worst]:.3g} ({_relative(relative)} relative){where}"
    return f"'{name}' is wrong: expected {_excerpt(expected)}, got {_excerpt(got)}; {detail}"


def _count(close: np.ndarray) -> str:
    return f"{int((~close).sum())} of {close.size} values differ, " if close.size > 1 else ""


def _relative(ratio: float) -> str:
    return f"{ratio:.1%}" if ratio >= 1e-3 else f"{ratio:.2g}"


# How far off a hidden value is, in words, by its largest difference relative to the quantity's scale.
_SIZES = ((0.01, "slightly off"), (0.1, "off by a few percent"), (1.0, "off by tens of percent"))
_FAR = "far off (by about the size of the values or more: a wrong sign, a missing factor, another formula?)"


def _hidden_mismatch(name: str, got: np.ndarray, expected: np.ndarray, close: np.ndarray, key: bytes) -> str:
    """A hidden case's message: which values, and how far off in words; no number from which the expected
    value could be recovered (no expected value, difference, relative size or worst index)."""
    return f"'{name}' is wrong: {_count(close)}{_size_in_words(got, expected, key)}"


def _size_in_words(got: np.ndarray, expected: np.ndarray, key: bytes) -> str:
    """Coarse words whose edges move by up to a factor 2 with a keyed hash of the value: a fixed edge could be
    found by bisection over many submissions and would give the expected value back; a blurred one gives
    a few percent at best. The key (from the run's seed) is the grader's, so the hash cannot be predicted."""
    size = scale(expected)
    with np.errstate(all="ignore"):
        ratio = float(np.max(np.abs(got - expected))) / size if size > 0 else np.inf
    digest = hashlib.blake2b(got.tobytes(), key=key[:64], digest_size=8).digest()
    blur = 2.0 ** (2 * int.from_bytes(digest, "big") / 2**64 - 1)   # in [1/2, 2)
    return next((words for edge, words in _SIZES if ratio < edge * blur), _FAR)

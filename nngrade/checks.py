"""Trusted comparisons: one student value against its expected value, with one message template.

Order of the questions, as a student needs them answered: was it computed at all, is it
real numbers, is it finite, has it the right shape, and only then how far off it is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .exercises import Check
from .runner import RunResult
from .wire import Invalid

PASSED, FAILED, ERROR, TIMEOUT, NOT_IMPLEMENTED = "passed", "failed", "error", "timeout", "not_implemented"
STATUSES = (PASSED, FAILED, ERROR, TIMEOUT, NOT_IMPLEMENTED)


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def compare(name: str, got, expected: np.ndarray, rtol: float, atol: float, visible: bool) -> Outcome:
    """Judge one value; `visible` decides whether the message may show expected numbers."""
    if got is None:
        return Outcome(NOT_IMPLEMENTED, f"'{name}' is still None: its TODO is not done yet")
    if isinstance(got, Invalid):
        return Outcome(FAILED, f"'{name}' {got.reason} (got a {got.type_name})")
    got = np.asarray(got, dtype=np.float64)
    if not np.all(np.isfinite(got)):
        bad = int(np.count_nonzero(~np.isfinite(got)))
        return Outcome(FAILED, f"'{name}' has {bad} NaN or infinite value(s) out of {got.size}")
    if got.shape != expected.shape:
        if got.size == expected.size == 1:
            got = got.reshape(expected.shape)   # a number as shape () or (1,) is the same number
        else:
            return Outcome(FAILED, f"'{name}' has shape {got.shape}, expected {expected.shape}")
    close = np.isclose(got, expected, rtol=rtol, atol=atol)
    if close.all():
        return Outcome(PASSED)
    return Outcome(FAILED, _mismatch(name, got, expected, close, visible))


def _mismatch(name: str, got: np.ndarray, expected: np.ndarray, close: np.ndarray, visible: bool) -> str:
    diff = np.abs(got - expected)
    worst = np.unravel_index(int(np.argmax(np.where(close, -1, diff))), got.shape) if got.ndim else ()
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = diff[worst] / abs(expected[worst]) if expected[worst] != 0 else np.inf
    where = f" at index {tuple(int(i) for i in worst)}" if got.ndim else ""
    count = f"{int((~close).sum())} of {got.size} values differ; " if got.size > 1 else ""
    detail = f"{count}largest difference {diff[worst]:.3g} ({_relative(relative)} relative){where}"
    if visible:
        detail = f"expected {_fmt(expected[worst])}, got {_fmt(got[worst])}{where}; " + detail.replace(where, "")
    return f"'{name}' is wrong: {detail}"


def _relative(ratio: float) -> str:
    return f"{ratio:.1%}" if ratio >= 1e-3 else f"{ratio:.2g}"


def _fmt(value: float) -> str:
    return f"{float(value):.6g}"


def judge(check: Check, run: RunResult, call_id: int, expected: np.ndarray) -> Outcome:
    """The outcome of one check from what the student's child process sent back."""
    quantity = check.quantity.name
    call = run.calls.get(call_id)
    if call is not None and quantity in call.values:
        # Graded even when the function raised later on: a slip in the last line costs only that line.
        return compare(quantity, call.values[quantity], expected, check.quantity.rtol,
                       check.quantity.atol, check.visibility == "visible")
    if run.import_error is not None:
        return Outcome(ERROR, "the file could not be imported: " + _error_text(run.import_error))
    if call is None:
        if run.timed_out:
            return Outcome(TIMEOUT, f"{check.function}() did not finish in time (an endless loop?)")
        reason = run.protocol_error or f"its process ended (exit code {run.exit_code})"
        return Outcome(ERROR, f"{check.function}() was not graded: {reason}")
    if call.missing:
        return Outcome(ERROR, f"function {check.function}() is not defined in the file")
    if call.error is not None:
        return Outcome(ERROR, f"{check.function}() raised " + _error_text(call.error))
    return Outcome(ERROR, f"{check.function}() did not return '{quantity}' in its dict")


def _error_text(error: dict) -> str:
    line = f" at line {error['line']}" if error.get("line") else ""
    source = f" ({error['source']})" if error.get("source") else ""
    return f"{error['type']}{line}: {error['message']}{source}"

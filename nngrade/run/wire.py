"""The plain-data format between the grader and a student's child process: numbers and arrays as JSON.

Both sides use this one module (the child loads it by path, so the student's code
cannot import the rest of the grader through it). Nothing is ever pickled: an array
travels as its shape, its original dtype name and its float64 bytes in base64, and
the receiving side rebuilds it only after checking every field and size. The dtype the
student computed in travels beside it (`precision`): the grader judges a float32 result at
float32's precision.
"""
from __future__ import annotations

import base64
import math
import sys
from typing import Any

import numpy as np

MAX_ELEMENTS = 1_000_000   # far above any lesson quantity; caps what a child can make us allocate
MAX_NDIM = 4
_FLOAT_MAX = int(sys.float_info.max)


class WireError(ValueError):
    """A message that does not follow the format (from a broken or hostile child)."""


def encode(value: Any) -> dict:
    """Turn a value computed by (or for) student code into plain JSON-able data."""
    if value is None:
        return {"kind": "none"}
    if isinstance(value, bool | int | float) and type(value) in (bool, int, float):
        if type(value) is int and not _fits_float(value):
            return {"kind": "invalid", "type": "int", "reason": _too_large(value)}
        # Python scalars keep their type so that `epochs` stays an int and `y` a float.
        return {"kind": "scalar", "type": type(value).__name__, "value": _json_float(value)}
    try:
        array = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any failure means "not a number"
        return {"kind": "invalid", "type": _type_name(value), "reason": f"cannot be read as numbers ({type(exc).__name__})"}
    if array.dtype == object:
        items = list(array.ravel())
        if items and all(item is None for item in items):
            return {"kind": "none", "type": _type_name(value)}
        if any(item is None for item in items):
            return {"kind": "invalid", "type": _type_name(value), "reason": "contains None (a TODO still open?)"}
        return {"kind": "invalid", "type": _type_name(value), "reason": "is not an array of real numbers"}
    if array.dtype.kind == "c":
        return {"kind": "invalid", "type": _type_name(value), "reason": "has complex values"}
    if array.dtype.kind not in "biuf":
        return {"kind": "invalid", "type": _type_name(value), "reason": f"has dtype {array.dtype}, not numbers"}
    if array.size > MAX_ELEMENTS or array.ndim > MAX_NDIM:
        return {"kind": "invalid", "type": _type_name(value), "reason": f"is too large (shape {array.shape})"}
    data = np.ascontiguousarray(array, dtype="<f8").tobytes()
    return {"kind": "array", "type": _type_name(value), "dtype": _dtype_text(array.dtype),
            "shape": list(array.shape), "data": base64.b64encode(data).decode("ascii")}


_DTYPE_TEXT: dict = {}


def _dtype_text(dtype) -> str:
    """str(dtype), once per dtype: numpy computes it in Python, and a child encodes thousands of values."""
    text = _DTYPE_TEXT.get(dtype)
    if text is None:
        text = _DTYPE_TEXT[dtype] = str(dtype)
    return text


def decode(message: Any) -> Any:
    """Rebuild a value from `encode`'s output, validating every field; raises WireError."""
    if not isinstance(message, dict):
        raise WireError("value is not an object")
    kind = message.get("kind")
    if kind == "none":
        return None
    if kind == "scalar":
        kind_type, value = message.get("type"), message.get("value")
        if kind_type == "int" and isinstance(value, int) and not isinstance(value, bool):
            # An int no float64 can hold would make every comparison raise: it is no number of the lesson.
            return value if _fits_float(value) else Invalid("int", _too_large(value))
        if kind_type == "bool" and isinstance(value, bool):
            return value
        if kind_type == "float" and isinstance(value, int | float | str):
            return _float_from_json(value)
        raise WireError("malformed scalar")
    if kind == "array":
        shape = message.get("shape")
        if (not isinstance(shape, list) or len(shape) > MAX_NDIM
                or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ELEMENTS for n in shape)):
            raise WireError("malformed shape")
        size = math.prod(shape)
        data = message.get("data")
        if size > MAX_ELEMENTS or not isinstance(data, str) or len(data) > 4 * (8 * size + 2) // 3 + 4:
            raise WireError("array too large or malformed")
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError as exc:
            raise WireError("array data is not base64") from exc
        if len(raw) != 8 * size:
            raise WireError("array data does not match its shape")
        return np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64)
    if kind == "invalid":
        return Invalid(str(message.get("type", "?"))[:60], str(message.get("reason", "is not a number"))[:200])
    raise WireError(f"unknown kind {str(kind)[:20]!r}")


# The dtypes a value may say it was computed in; anything else is reported as no dtype (judged as float64).
DTYPES = frozenset({"float16", "float32", "float64", "longdouble", "float128", "bool",
                    *(f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64))})


def precision(message: Any) -> str | None:
    """The dtype an encoded array was computed in, when it is one of DTYPES; None otherwise (scalars, junk)."""
    dtype = message.get("dtype") if isinstance(message, dict) and message.get("kind") == "array" else None
    return dtype if isinstance(dtype, str) and dtype in DTYPES else None


class Invalid:
    """A value the child could not express as numbers; kept to explain the failure."""

    def __init__(self, type_name: str, reason: str):
        self.type_name, self.reason = type_name, reason

    def __repr__(self) -> str:
        return f"Invalid({self.type_name!r}, {self.reason!r})"


def _fits_float(value: int) -> bool:
    return abs(value) <= _FLOAT_MAX


def _too_large(value: int) -> str:
    digits = int(value.bit_length() * math.log10(2)) + 1   # str() of a huge int is slow, or refused
    return f"is too large for a number (an int of about {digits} digits)"


def _type_name(value: Any) -> str:
    return type(value).__name__[:60]


def _json_float(value: bool | int | float) -> bool | int | float | str:
    # JSON has no NaN or infinity; spell them as strings so that the parser stays strict.
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _float_from_json(value: int | float | str) -> float:
    if isinstance(value, str):
        if value not in ("nan", "inf", "-inf"):
            raise WireError("malformed float")
        return float(value)
    if isinstance(value, int) and not _fits_float(value):
        raise WireError("float out of range")
    return float(value)

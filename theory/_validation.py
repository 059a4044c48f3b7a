"""Input validation shared by theory and empirics: clear errors naming the argument."""

from __future__ import annotations

import numbers

import numpy as np


def as_array(
    x,
    name: str,
    *,
    integer: bool = False,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    allow_inf: bool = False,
) -> np.ndarray:
    """Return ``x`` as a float64 array after checking it.

    Raises ``TypeError`` for non-numeric input and ``ValueError`` naming ``name`` and the accepted
    range for NaN, infinities (unless ``allow_inf``), non-integers (``integer=True``) or values
    outside the bounds ``gt``/``ge``/``lt``/``le``.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be numeric, got {type(x).__name__}")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be numeric, got {x!r}") from err
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not be NaN, got {x!r}")
    if not allow_inf and np.isinf(arr).any():
        raise ValueError(f"{name} must be finite, got {x!r}")
    if integer and not np.all(np.isinf(arr) | (arr == np.round(arr))):
        raise ValueError(f"{name} must be an integer, got {x!r}")
    for bound, ok, word in (
        (gt, lambda a, b: a > b, ">"),
        (ge, lambda a, b: a >= b, ">="),
        (lt, lambda a, b: a < b, "<"),
        (le, lambda a, b: a <= b, "<="),
    ):
        if bound is not None and not np.all(ok(arr, bound)):
            raise ValueError(f"{name} must be {word} {bound}, got {x!r}")
    return arr


def as_int(x, name: str, *, ge: int | None = None, gt: int | None = None) -> int:
    """A scalar integer argument (bools refused), checked against ``ge``/``gt``."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Integral, np.integer)):
        if isinstance(x, (float, np.floating)) and float(x).is_integer():
            x = int(x)
        else:
            raise TypeError(f"{name} must be an int, got {x!r}")
    x = int(x)
    if ge is not None and x < ge:
        raise ValueError(f"{name} must be >= {ge}, got {x}")
    if gt is not None and x <= gt:
        raise ValueError(f"{name} must be > {gt}, got {x}")
    return x


def scalar_or_array(result: np.ndarray, *inputs):
    """Return a Python float when every input was a scalar, else the array."""
    if all(np.ndim(i) == 0 for i in inputs):
        return float(np.asarray(result))
    return result

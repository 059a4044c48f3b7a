"""Input validation shared by theory and empirics: clear errors naming the argument."""

from __future__ import annotations

import numbers

import numpy as np

_NUMERIC_KINDS = "iuf"  # signed/unsigned integers and floats; bools, complex, text, objects refused


def _show(x) -> str:
    """``repr(x)`` cut to 80 characters for error messages (a 10**400 int has 401 digits)."""
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def _numeric_array(x, name: str) -> np.ndarray:
    """``x`` as a float64 array, or ``TypeError`` naming ``name`` unless every element is real.

    Refused: ``None``, strings/bytes, booleans (``True`` is not the number 1 here), complex numbers
    and any container holding one of them (``np.asarray(["3"], dtype=float)`` would parse the text).
    """
    if x is None or isinstance(x, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be numeric, got {type(x).__name__} {_show(x)}")
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError) as err:  # ragged nesting, objects numpy cannot hold
        raise TypeError(f"{name} must be a number or an array of numbers, got {_show(x)}") from err
    kind = raw.dtype.kind
    if kind in "iuf" and not isinstance(x, (np.ndarray, np.generic, int, float)):
        # a sequence: [1, True] becomes a numeric array, so look at its items
        if any(isinstance(item, (bool, np.bool_)) for item in np.asarray(x, dtype=object).flat):
            raise TypeError(f"{name} must contain only real numbers, got a bool in {_show(x)}")
    if kind == "O":
        for item in raw.ravel().tolist():
            if isinstance(item, bool) or not isinstance(item, numbers.Real):
                raise TypeError(f"{name} must contain only real numbers, got {_show(item)}")
    elif kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} must be real-valued numbers, got dtype {raw.dtype} ({_show(x)})")
    try:
        return np.asarray(raw, dtype=np.float64)
    except OverflowError as err:  # a Python int beyond the float64 range
        raise ValueError(f"{name} must be finite in float64, got {_show(x)}") from err


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

    Raises ``TypeError`` naming ``name`` for non-numeric input (``None``, text, booleans, complex
    numbers, or arrays holding them) and ``ValueError`` naming ``name`` and the accepted range for
    NaN, infinities (unless ``allow_inf``), non-integers (``integer=True``) or values outside the
    bounds ``gt``/``ge``/``lt``/``le``.
    """
    arr = _numeric_array(x, name)
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not be NaN, got {_show(x)}")
    if not allow_inf and np.isinf(arr).any():
        raise ValueError(f"{name} must be finite, got {_show(x)}")
    if integer and not np.all(np.isinf(arr) | (arr == np.round(arr))):
        raise ValueError(f"{name} must be an integer, got {_show(x)}")
    for bound, ok, word in (
        (gt, lambda a, b: a > b, ">"),
        (ge, lambda a, b: a >= b, ">="),
        (lt, lambda a, b: a < b, "<"),
        (le, lambda a, b: a <= b, "<="),
    ):
        if bound is not None and not np.all(ok(arr, bound)):
            raise ValueError(f"{name} must be {word} {bound}, got {_show(x)}")
    return arr


def as_int(
    x, name: str, *, ge: int | None = None, gt: int | None = None, le: int | None = None
) -> int:
    """A scalar integer argument checked against ``ge``/``gt``/``le``.

    Integral floats (``3.0``) are accepted; booleans, text, ``None`` and fractional floats raise
    ``TypeError``, NaN/infinity and out-of-range values ``ValueError`` naming ``name``.
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Integral, np.integer)):
        if isinstance(x, (float, np.floating)):
            if not np.isfinite(x):
                raise ValueError(f"{name} must be a finite integer, got {_show(x)}")
            if not float(x).is_integer():
                raise TypeError(f"{name} must be an int, got {_show(x)}")
            x = int(x)
        else:
            raise TypeError(f"{name} must be an int, got {type(x).__name__} {_show(x)}")
    x = int(x)
    if ge is not None and x < ge:
        raise ValueError(f"{name} must be >= {ge}, got {x}")
    if gt is not None and x <= gt:
        raise ValueError(f"{name} must be > {gt}, got {x}")
    if le is not None and x > le:
        raise ValueError(f"{name} must be <= {le}, got {x}")
    return x


def as_flag(x, name: str) -> bool:
    """A boolean switch: ``True``/``False`` (or NumPy bools) only, else ``TypeError``."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {_show(x)}")
    return bool(x)


def as_choice(x, name: str, choices: tuple[str, ...]) -> str:
    """A string option: ``TypeError`` for non-strings, ``ValueError`` for one not in ``choices``."""
    if not isinstance(x, str):
        raise TypeError(f"{name} must be one of {choices}, got {type(x).__name__} {_show(x)}")
    if x not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {_show(x)}")
    return x


def finite_result(out, what: str) -> np.ndarray:
    """``out`` unchanged if every value is finite; else ``OverflowError`` (finite inputs, a true
    value beyond the float64 range: never returned as inf or NaN)."""
    out = np.asarray(out)
    if not np.all(np.isfinite(out)):
        raise OverflowError(f"{what}: the result exceeds the float64 range for these inputs")
    return out


def scalar_or_array(result: np.ndarray, *inputs):
    """Return a Python float when every input was a scalar, else the array."""
    if all(np.ndim(i) == 0 for i in inputs):
        return float(np.asarray(result))
    return result

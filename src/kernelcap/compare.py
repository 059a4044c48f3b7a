"""Comparisons that turn measured numbers and theory into :class:`~kernelcap.claim.Check` s.

Every claim builds its checks from these few shapes, so a tolerance always reads the same way:

* :func:`max_abs_z` — measured points against theory in units of their standard errors;
* :func:`z_score` — one estimate against a theory value;
* :func:`at_most` / :func:`at_least` — a bound on a measured number;
* :func:`between` — a number inside a bracket (two checks: the lower and the upper side);
* :func:`loglog_slope` and :func:`crossing` — the two estimators claims share: a power-law exponent
  and the location where a decreasing curve crosses a level, each with its standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kernelcap.claim import Check

__all__ = [
    "Estimate",
    "at_least",
    "at_most",
    "between",
    "crossing",
    "loglog_slope",
    "max_abs_z",
    "z_score",
]


@dataclass(frozen=True)
class Estimate:
    """A measured number and its standard error (NaN when unknown)."""

    value: float
    stderr: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "stderr", float(self.stderr))


def _arr(x, name: str) -> np.ndarray:
    a = np.atleast_1d(np.asarray(x, dtype=float))
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    return a


def z_values(measured, predicted, stderr) -> np.ndarray:
    """|measured − predicted| / stderr elementwise (NaN where stderr is not positive)."""
    m, p, s = _arr(measured, "measured"), _arr(predicted, "predicted"), _arr(stderr, "stderr")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, np.abs(m - p) / s, np.nan)


def max_abs_z(
    measured, predicted, stderr, *, bound: float, reason: str, name: str = "max |z|"
) -> Check:
    """max_j |measured_j − predicted_j| / stderr_j ≤ ``bound``; a NaN z (zero stderr) fails."""
    z = z_values(measured, predicted, stderr)
    value = float("nan") if np.isnan(z).any() else float(z.max())
    return Check(name=name, value=value, op="<=", bound=bound, reason=reason)


def z_score(name: str, estimate: Estimate, expected: float, *, bound: float, reason: str) -> Check:
    """|estimate − expected| / stderr ≤ ``bound``."""
    z = abs(estimate.value - expected) / estimate.stderr if estimate.stderr > 0 else float("nan")
    return Check(name=name, value=z, op="<=", bound=bound, reason=reason)


def at_most(name: str, value: float, bound: float, *, reason: str) -> Check:
    """``value ≤ bound``."""
    return Check(name=name, value=value, op="<=", bound=bound, reason=reason)


def at_least(name: str, value: float, bound: float, *, reason: str) -> Check:
    """``value ≥ bound``."""
    return Check(name=name, value=value, op=">=", bound=bound, reason=reason)


def between(
    name: str, value: float, low: float, high: float, *, reason: str
) -> tuple[Check, Check]:
    """``low ≤ value ≤ high`` as two checks (each side visible in the record)."""
    return (
        Check(name=f"{name} (upper side)", value=value, op="<=", bound=high, reason=reason),
        Check(name=f"{name} (lower side)", value=value, op=">=", bound=low, reason=reason),
    )


def loglog_slope(x, y, stderr=None, *, weighted: bool = False) -> Estimate:
    """Least-squares slope of log y on log x, with its standard error.

    The standard error propagates the per-point standard errors of y (relative errors σ_j/y_j on
    log y) through the OLS weights; without ``stderr`` it is the residual standard error of the fit
    (NaN for two points).

    With ``weighted=True`` (needs ``stderr``) the fit is inverse-variance weighted instead, with
    weights w_j = (y_j/σ_j)², so precise points count more: slope = Σ w c log y / Σ w c² with
    c = log x minus its weighted mean, standard error 1/√(Σ w c²).
    """
    lx, ly = np.log(_arr(x, "x")), np.log(_arr(y, "y"))
    if lx.size != ly.size or lx.size < 2:
        raise ValueError(
            f"need at least two (x, y) pairs of equal length, got {lx.size}, {ly.size}"
        )
    if weighted:
        if stderr is None:
            raise ValueError("a weighted fit needs the standard errors of y (stderr)")
        w = (np.exp(ly) / _arr(stderr, "stderr")) ** 2
        c = lx - (w * lx).sum() / w.sum()
        swxx = float((w * c**2).sum())
        return Estimate(float((w * c * ly).sum() / swxx), 1.0 / math.sqrt(swxx))
    c = lx - lx.mean()
    sxx = float((c**2).sum())
    slope = float((c * (ly - ly.mean())).sum() / sxx)
    if stderr is not None:
        rel = _arr(stderr, "stderr") / np.exp(ly)
        se = float(np.sqrt(((c * rel) ** 2).sum()) / sxx)
    elif lx.size > 2:
        resid = ly - ly.mean() - slope * c
        se = float(math.sqrt((resid**2).sum() / (lx.size - 2) / sxx))
    else:
        se = float("nan")
    return Estimate(slope, se)


def crossing(x, f, level: float = 0.5, *, n_trials: int | None = None) -> Estimate:
    """Where a decreasing curve ``f(x)`` first falls below ``level``, by linear interpolation.

    The standard error is the delta-method error of a binomial fraction at the crossing,
    √(level(1−level)/n_trials) / |f′|, with f′ the slope of the interpolating segment (NaN without
    ``n_trials``). Where the curve meets ``level`` exactly at a grid point (e.g. 12 of 24 trials),
    the crossing is that point and has a slope on either side; f′ is then the central difference
    over both adjacent segments, not the one after it alone (which may be nearly flat by chance).
    The value is NaN when the curve never falls below ``level``; the first grid point when it
    starts below.
    """
    x, f = _arr(x, "x"), _arr(f, "f")
    below = np.nonzero(f < level)[0]
    if below.size == 0:
        return Estimate(float("nan"), float("nan"))
    k = int(below[0])
    if k == 0:
        return Estimate(float(x[0]), float("nan"))
    slope = (f[k - 1] - f[k]) / (x[k] - x[k - 1])
    value = x[k - 1] + (f[k - 1] - level) / slope
    if f[k - 1] == level and k >= 2:  # f[k-2] ≥ level = f[k-1] > f[k]: a positive slope
        slope = (f[k - 2] - f[k]) / (x[k] - x[k - 2])
    se = float("nan") if n_trials is None else math.sqrt(level * (1 - level) / n_trials) / slope
    return Estimate(float(value), float(se))

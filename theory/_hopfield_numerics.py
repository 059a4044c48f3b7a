"""Numerics behind :mod:`kernelcap.theory.hopfield`: Cover's count in exact integers and in
logs, dense-memory signal-to-noise ratios without overflow, and the modern Hopfield exponent.

NumPy/SciPy only; private (the public functions validate their arguments first).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

_LN2 = math.log(2.0)

_EXACT_TERMS = 1023  # N < P with N > 1023 has C(P, N) ≥ 2^1025 − 2: beyond float64 anyway


def _exact_cover_count(p: int, n: int) -> int:
    """2 Σ_{k<N} binom(P−1, k) in integer arithmetic, for N < P and N ≤ 1023."""
    term, total = 1, 1  # binom(P−1, 0)
    for k in range(1, n):
        term = term * (p - k) // k
        total += term
    return 2 * total


def _cover_count_scalar(p: int, n: int) -> float:
    """C(P, N) correctly rounded to float64, +inf when it exceeds the float64 range."""
    if p <= n:
        return math.ldexp(1.0, p) if p < 1024 else math.inf
    # N < P. C(P, N) ≥ C(N+1, N) = 2^{N+1} − 2 and ≥ 2·binom(P−1, N−1): skip hopeless big sums.
    if n > _EXACT_TERMS or (n - 1) * math.log((p - 1) / (n - 1) if n > 1 else 1.0) > 710.0:
        return math.inf
    try:
        return float(_exact_cover_count(p, n))
    except OverflowError:
        return math.inf


def _log_binom(m: int, k: int) -> float:
    """ln binom(m, k) for 0 ≤ k ≤ m/2, to ~1e-16 relative even for m ~ 1e15.

    ln Γ(m+1) − ln Γ(m−k+1) is formed from Stirling's series as one expression in log1p(k/z₂)
    (z₂ = m−k+1 ≥ m/2), not as a difference of two numbers ~m ln m: that difference (and
    scipy's betaln) lose ~10 digits at m ~ 1e13.
    """
    z1, z2 = m + 1.0, m - k + 1.0
    if z2 < 1000.0:  # k < 1000 terms, each log of an exact integer (a gammaln difference of
        # numbers ~m ln m cancelled to 2.5e-13 relative at m = 756, k = 1)
        return math.fsum(math.log(m - i) - math.log(k - i) for i in range(k))
    diff = (
        (z2 - 0.5) * math.log1p(k / z2)
        + k * math.log(z1)
        - k
        + (1.0 / z1 - 1.0 / z2) / 12.0
        - (1.0 / z1**3 - 1.0 / z2**3) / 360.0  # next term 1/(1260 z⁵) < 1e-18
    )
    return diff - float(special.gammaln(k + 1.0))


def _log_cover_count_scalar(p: int, n: int) -> float:
    """ln C(P, N) = ln 2 + (P−1) ln 2 + ln P(Binomial(P−1, ½) ≤ N−1), without overflow."""
    if p <= n:
        return p * _LN2
    if n <= _EXACT_TERMS:  # ln of the exact integer (ints of ≤ 1023·53 bits)
        return math.log(_exact_cover_count(p, n))
    m, k = p - 1, n - 1  # k < m, k ≥ 1023: P ln 2 and ln(cdf) no longer nearly cancel
    cdf = float(stats.binom.cdf(k, m, 0.5))
    if cdf > 1e-250:
        return p * _LN2 + math.log(cdf)
    # Deep lower tail: the terms binom(m, j), j ≤ k, decrease geometrically away from j = k (ratio
    # j/(m−j+1) < 1, itself decreasing), so sum them from j = k down, relative to the top one.
    log_top = _log_binom(m, k)
    total, prod, j = 1.0, 1.0, k
    while j > 0:
        js = np.arange(j, max(j - 65536, 0), -1, dtype=np.float64)
        ratios = prod * np.cumprod(js / (m - js + 1.0))  # binom(m, j−1)/binom(m, k), ...
        total += float(ratios.sum())
        prod, j = float(ratios[-1]), j - len(js)
        if prod <= 1e-17 * total * (1.0 - js[-1] / (m - js[-1] + 1.0)):  # geometric tail bound
            break
    return _LN2 + log_top + math.log(total)


def _per_pair(fn, p, n):
    out = np.empty(p.shape)
    cache: dict[tuple[int, int], float] = {}
    for idx in np.ndindex(p.shape):
        key = (int(p[idx]), int(n[idx]))
        if key not in cache:
            cache[key] = fn(*key)
        out[idx] = cache[key]
    return out


def _log_double_factorial(m):
    """ln(m!!) for odd m ≥ −1: (2j−1)!! = (2j)!/(2^j j!) with j = (m+1)/2."""
    j = (m + 1.0) / 2.0
    return special.gammaln(2.0 * j + 1.0) - j * _LN2 - special.gammaln(j + 1.0)


def _dense_ratio(n, d, denominator, log_denominator):
    """N^{n−1} / ((2n−3)!! · denominator): the textbook expression while every factor is finite
    (bit-identical to it), else from logarithms — where it gave inf/inf = NaN (e.g. N = 100,
    n = 400, whose capacity ~1e-188 is representable); inf only where the value overflows."""
    small = d <= 150  # (2n−3)!! is finite in float64 up to n ≈ 150
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        dfact = special.factorial2(np.where(small, 2 * d - 3, 1).astype(np.int64), exact=False)
        direct = n ** (d - 1) / (dfact * denominator)
        log_value = (d - 1) * np.log(n) - _log_double_factorial(2 * d - 3) - log_denominator
        via_log = np.exp(log_value)
    ok = small & np.isfinite(direct) & (direct > 0)
    return np.where(ok, direct, via_log)


_MAX_FINITE_WINDOW = 10**7  # values of the crosstalk sum held at once by method="finite"


def _dense_finite_scalar(nn: int, kk: float, dd: int) -> float:
    """Φ(−signal/√((K−1) E g(x)²)) with every power divided by N^n and summed in logs."""
    return 0.0 if kk == 1 else float(stats.norm.sf(_dense_finite_sqrt_snr(nn, kk, dd)))


def _dense_finite_sqrt_snr(nn: int, kk: float, dd: int) -> float:
    """signal/√((K−1) E g(x)²) for K > 1, every power divided by N^n and summed in logs."""
    # x = 2B − (N−1), B ~ Binomial(N−1, ½); g(x) = (x+1)^n − (x−1)^n, g(−x)² = g(x)². The terms
    # pmf·g² peak near |x| ≈ 2σ√(n−1) (σ = √(N−1)/2): keep 40σ beyond that, which loses < 1e-300.
    sigma = 0.5 * math.sqrt(nn - 1.0)
    half = 0.5 * (nn - 1.0)
    width = (40.0 + 2.0 * math.sqrt(2.0 * dd)) * sigma
    b = np.arange(max(0, math.floor(half - width)), min(nn - 1, math.ceil(half + width)) + 1)
    ax = np.abs(2.0 * b - (nn - 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        # ln|g/N^n| = n ln((|x|+1)/N) + ln(1 − ((|x|−1)/(|x|+1))^n) for |x| ≥ 1, the bracket via
        # expm1/log1p (exact where |x| ≫ n, where (x+1)^n − (x−1)^n cancels); g(0) = 1 − (−1)^n.
        log_g = dd * np.log((ax + 1.0) / nn) + np.log(-np.expm1(dd * np.log1p(-2.0 / (ax + 1.0))))
        log_g = np.where(ax == 0, (math.log(2.0) if dd % 2 else -np.inf) - dd * math.log(nn), log_g)
    with np.errstate(under="ignore"):
        g2 = float(np.sum(stats.binom.pmf(b, nn - 1, 0.5) * np.exp(2.0 * log_g)))
    if g2 > 1e-280:  # linear sum: logpmf's lgamma differences would cost ~ε·N ln N absolute
        log_g2 = math.log(g2)
    else:  # every term underflows: the same sum in logs
        log_g2 = float(special.logsumexp(stats.binom.logpmf(b, nn - 1, 0.5) + 2.0 * log_g))
    with np.errstate(divide="ignore"):  # N = 2: (N−2)^n = 0
        log_signal = np.log(-np.expm1(dd * np.log1p(-2.0 / nn)))  # (N^n − (N−2)^n)/N^n
    return float(np.exp(log_signal - 0.5 * (math.log(kk - 1.0) + log_g2)))


def _modern_exponent(b, delta, d, m):
    """β(2dM − Δ), overflowing only where the exponent itself does (then e^{±∞} is exact).

    While dM is finite, (2dM − Δ)/4 cannot overflow and β times it overflows only genuinely;
    when dM overflows, 2dM − Δ ≥ dM > 0 and the exponent is 2βdM − βΔ with βΔ ≤ βdM, βdM from
    logarithms (β tiny, dM huge).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        dm = d * m
        direct = 4.0 * (b * (0.5 * dm - 0.25 * delta))
        bdm = np.exp(np.log(b) + np.log(d) + np.log(m))
        alt = np.where(np.isinf(bdm), np.inf, 2.0 * bdm - b * delta)
    return np.where(np.isfinite(dm), direct, alt)


def _scaled_exp(prefactor, log_prefactor, exponent):
    """prefactor·e^exponent, from logs where the direct product is not finite (or underflows)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        direct = prefactor * np.exp(exponent)
        via_log = np.exp(log_prefactor + exponent)
    ok = np.isfinite(direct) & ((direct > 0) | (prefactor == 0))
    return np.where(prefactor == 0, 0.0, np.where(ok, direct, via_log))

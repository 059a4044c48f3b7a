"""Benign overfitting: effective ranks of a covariance spectrum and the critical index of
Bartlett, Long, Lugosi & Tsigler (2020).

Re-exported by :mod:`kernelcap.theory.double_descent`, where these functions are documented and
imported from; NumPy only.
"""

from __future__ import annotations

import numpy as np

from kernelcap.theory._validation import as_array, as_int, scalar_or_array

__all__ = ["effective_ranks", "benign_overfitting_bound"]


def effective_ranks(eigenvalues, k):
    """Effective ranks of a covariance spectrum (Bartlett, Long, Lugosi & Tsigler 2020).

        r_k = Σ_{i>k} λᵢ / λ_{k+1},      R_k = (Σ_{i>k} λᵢ)² / Σ_{i>k} λᵢ²,

    for eigenvalues λ1 ≥ λ2 ≥ … (sorted here), k = 0, 1, … (0-based count of removed top
    directions).

    Args:
        eigenvalues: (p,) non-negative, at least one positive beyond index k.
        k: int or int array with 0 ≤ k < p.

    Returns:
        (r_k, R_k), floats for scalar k, arrays of k's shape otherwise.

    Reference: Bartlett, Long, Lugosi & Tsigler (2020), PNAS 117(48), Def. 3.
    """
    lam = np.sort(as_array(eigenvalues, "eigenvalues", ge=0).ravel())[::-1]
    if lam.size == 0:
        raise ValueError("eigenvalues must not be empty")
    kk = as_array(k, "k", integer=True, ge=0, lt=lam.size).astype(int)
    r_all, big_r_all = _effective_ranks_all(lam)
    r, big_r = r_all[kk], big_r_all[kk]
    if np.any(~np.isfinite(r)):
        raise ValueError("eigenvalues: λ_{k+1} must be > 0 for every requested k")
    return scalar_or_array(r, k), scalar_or_array(big_r, k)


def _effective_ranks_all(lam):
    """(r_k, R_k) for every k of a descending spectrum; inf where λ_{k+1} = 0.

    Both are scale-free, so the spectrum is first brought to max ≤ 1 by a power of two (exact:
    sums of λ ~ 1e308 overflowed). When some λ² would still underflow (a positive λ below
    1e-150 of the largest: R_k came out 0/0 = NaN), the suffix sums are taken relative to each
    λ_{k+1} by the recurrence t_k = 1 + (λ_{k+2}/λ_{k+1}) t_{k+1}, whose terms are ratios ≤ 1.
    """
    pos = lam[lam > 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        if pos.size == 0 or pos[-1] >= 1e-150 * pos[0]:
            lam = np.ldexp(lam, -np.frexp(lam[0])[1])
            tail = np.cumsum(lam[::-1])[::-1]  # tail[j] = Σ_{i≥j} λᵢ (0-based)
            tail2 = np.cumsum((lam**2)[::-1])[::-1]
            r = tail / lam
            return r, np.where(lam > 0, tail**2 / tail2, np.inf)
        r, rr = np.full(lam.size, np.inf), np.full(lam.size, np.inf)
        t = t2 = 0.0  # Σ_{i>j} λᵢ/λ_{j+1} and Σ_{i>j} (λᵢ/λ_{j+1})², carried down from the end
        for j in range(pos.size - 1, -1, -1):
            ratio = lam[j + 1] / lam[j] if j + 1 < pos.size else 0.0
            t, t2 = 1.0 + ratio * t, 1.0 + ratio * ratio * t2
            r[j], rr[j] = t, t * t / t2
        return r, rr


def benign_overfitting_bound(eigenvalues, n, b=1.0):
    """Critical index and variance terms of benign overfitting (Bartlett et al. 2020, Thm 4).

        k* = min{k ≥ 0 : r_k ≥ b n},     variance ≍ k*/n + n / R_{k*},

    the excess risk of min-norm interpolation is small iff k*/n → 0 and n/R_{k*} → 0 (up to
    constants and the bias term ‖θ*‖² ‖Σ‖ √(r_0/n)). Returns a dict with ``k_star``, ``r_k``,
    ``R_k``, ``k_over_n``, ``n_over_R``, ``variance_term`` (= k*/n + n/R_{k*}) and
    ``bias_scale`` = ‖Σ‖ max(√(r_0/n), r_0/n). When no k qualifies (r_k < bn for every k with
    λ_{k+1} > 0), ``k_star`` is −1, the four k-dependent entries are NaN (undefined, not a
    failed computation) and ``variance_term`` is inf (the bound is vacuous).

    Args:
        eigenvalues: (p,) covariance eigenvalues (≥ 0). n: samples (int ≥ 1). b: constant b > 0.

    Reference: Bartlett, Long, Lugosi & Tsigler (2020), PNAS 117(48), Thm 4.
    """
    lam = np.sort(as_array(eigenvalues, "eigenvalues", ge=0).ravel())[::-1]
    n = as_int(n, "n", ge=1)
    b = float(as_array(b, "b", gt=0))
    positive = int(np.sum(lam > 0))
    if positive == 0:
        raise ValueError("eigenvalues must contain a positive value")
    ks = np.arange(positive)
    r_all, big_r_all = effective_ranks(lam, ks)
    ok = np.nonzero(np.asarray(r_all) >= b * n)[0]
    r0 = float(np.atleast_1d(r_all)[0])
    bias_scale = float(lam[0] * max(np.sqrt(r0 / n), r0 / n))
    if ok.size == 0:
        return {
            "k_star": -1,
            "r_k": float("nan"),
            "R_k": float("nan"),
            "k_over_n": float("nan"),
            "n_over_R": float("nan"),
            "variance_term": float("inf"),
            "bias_scale": bias_scale,
        }
    k = int(ok[0])
    rk, big_rk = float(np.atleast_1d(r_all)[k]), float(np.atleast_1d(big_r_all)[k])
    return {
        "k_star": k,
        "r_k": rk,
        "R_k": big_rk,
        "k_over_n": k / n,
        "n_over_R": n / big_rk,
        "variance_term": k / n + n / big_rk,
        "bias_scale": bias_scale,
    }

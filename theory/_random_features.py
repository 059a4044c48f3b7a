"""Numerics behind :mod:`kernelcap.theory.double_descent`: Gauss–Hermite quadrature for the
Hermite coefficients of an activation, and the Mei–Montanari random-features fixed point.

NumPy/SciPy only; private (the public functions validate their arguments first).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg


def _normed_hermite_pair(x, n):
    """(p̃_n(x), p̃_{n−1}(x), e) with p̃_k the orthonormal probabilists' Hermite polynomials,
    both divided by 2^e (e ≥ 0 per node) so that neither overflows: p̃_n grows like e^{x²/4}."""
    prev = np.zeros_like(x)
    cur = np.ones_like(x)
    log2_scale = np.zeros_like(x)
    for k in range(n):  # p̃_{k+1} = (x p̃_k − √k p̃_{k−1}) / √(k+1)
        prev, cur = cur, (x * cur - np.sqrt(k) * prev) / np.sqrt(k + 1.0)
        big = np.abs(cur) > 2.0**500
        if big.any():  # rescale by an exact power of two
            cur = np.where(big, np.ldexp(cur, -500), cur)
            prev = np.where(big, np.ldexp(prev, -500), prev)
            log2_scale = log2_scale + 500.0 * big
    return cur, prev, log2_scale


def gauss_hermite(n):
    """Nodes and weights (summing to 1) of n-point Gauss quadrature for the N(0, 1) measure.

    Golub–Welsch nodes (eigenvalues of the Jacobi matrix, off-diagonal √k), one Newton step on
    p̃_n, and weights w_i ∝ 1/p̃_{n−1}(x_i)² evaluated in log₂ — NumPy's ``hermegauss`` recipe,
    which overflows to NaN weights beyond ~300 nodes; here the outermost weights underflow
    gracefully to 0 instead.
    """
    x = linalg.eigvalsh_tridiagonal(np.zeros(n), np.sqrt(np.arange(1.0, n)))
    pn, pm, _ = _normed_hermite_pair(x, n)
    x = x - pn / (np.sqrt(n) * pm)  # p̃_n' = √n p̃_{n−1}
    _, pm, log2_scale = _normed_hermite_pair(x, n)
    log2_fm = np.log2(np.abs(pm)) + log2_scale
    w = np.exp2(-2.0 * (log2_fm - log2_fm.min()))
    w, x = (w + w[::-1]) / 2, (x - x[::-1]) / 2
    return x, w / w.sum()


def _rf_chi(psi1, psi2, z2, lam_bar):
    """χ = ν1ν2 < 0 at the Mei–Montanari fixed point, and f1, f2 > 0 (see below), to ~1 ulp.

    Eliminating ν1 = −(ψ1 + cχ)/ξ and ν2 = −(ψ2 + cχ)/ξ, c = 1 + ζ²/(1 − ζ²χ), from the fixed
    point leaves one equation for χ:

        f1(χ) f2(χ) = ψ1ψ2λ̄ (−χ)(1 − ζ²χ)²,   f_i(χ) = ψ_i(1 − ζ²χ) + (1 + ζ² − ζ²χ)χ,

    with f1, f2 > 0 on the branch with Im ν_i > 0. Since f_b − f_a = |ψ1 − ψ2|(1 − ζ²χ) is known,
    the smaller factor is f_a = 2p/(e + √(e² + 4p)) (p the right side, e that difference):
    a simple root of f_a(χ) − 2p/(e + √(e² + 4p)) between χ₀ (the ridgeless root, f_a(χ₀) = 0)
    and 0, found by bisection on the bits of −χ (64 steps). At the interpolation peak
    (ψ1 = ψ2, λ → 0) the root of the original equation is double and χ − χ₀ ~ √λ; solving in
    this form keeps f_a, and with it E0 ∝ f_a, to full relative precision down to λ = 1e-300.
    """
    a = np.minimum(psi1, psi2)
    dpsi = np.abs(psi1 - psi2)
    bq = 1.0 + z2 - a * z2
    disc = np.hypot(bq, 2.0 * np.sqrt(z2 * a))
    with np.errstate(divide="ignore", invalid="ignore"):
        chi0 = np.where(bq > 0, -2.0 * a / (bq + disc), (bq - disc) / (2.0 * z2))
    sqrt_coef = np.sqrt(psi1) * np.sqrt(psi2) * np.sqrt(lam_bar)

    def small_factor(chi):
        one = 1.0 - z2 * chi
        e = dpsi * one
        sqrt_p = sqrt_coef * np.sqrt(-chi) * one
        return 2.0 * sqrt_p * (sqrt_p / (e + np.hypot(e, 2.0 * sqrt_p))), e

    def gap(chi):
        return a * (1.0 - z2 * chi) + (1.0 + z2 - z2 * chi) * chi - small_factor(chi)[0]

    lo = np.zeros(np.shape(a), dtype=np.int64)  # −χ = 0: gap = ψ_min > 0
    hi = np.array(-chi0, dtype=np.float64).view(np.int64)  # gap ≤ 0 there
    for _ in range(64):  # positive doubles order like their int64 bit patterns
        mid = lo + (hi - lo) // 2
        above = gap(-mid.view(np.float64)) > 0
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    y_lo, y_hi = lo.view(np.float64), hi.view(np.float64)
    chi = -np.where(np.abs(gap(-y_lo)) <= np.abs(gap(-y_hi)), y_lo, y_hi)
    f_a, e = small_factor(chi)
    first_smaller = psi1 <= psi2
    return chi, np.where(first_smaller, f_a, f_a + e), np.where(first_smaller, f_a + e, f_a)


def rf_bias_variance(psi1, psi2, z2, lam_bar):
    """(B, V) = (E1/E0, E2/E0) of Mei & Montanari's Theorem 1 at ψ1, ψ2, ζ², λ̄ (broadcast)."""
    chi, fv1, fv2 = _rf_chi(psi1, psi2, z2, lam_bar)
    p1, p2 = psi1, psi2
    z4, z6 = z2 * z2, z2 * z2 * z2
    one = 1.0 - z2 * chi
    # E0 = [g·(f1'f2 + f1f2') − f1f2g'] / (1 − ζ²χ) with g = χ(1 − ζ²χ)², the derivative of the
    # χ-equation (identical to the paper's polynomial, term by term), evaluated from f1, f2 > 0 so
    # that it keeps its relative precision where E0 → 0 (the peak); E1 factorised likewise.
    df1 = 1.0 + z2 - p1 * z2 - 2.0 * z2 * chi
    df2 = 1.0 + z2 - p2 * z2 - 2.0 * z2 * chi
    e0 = chi * one * (df1 * fv2 + fv1 * df2) - fv1 * fv2 * (1.0 - 3.0 * z2 * chi)
    e1 = -p2 * one * (z2 * chi * chi + p1)
    e2 = chi**2 * (
        chi**3 * z6
        - 3 * chi**2 * z4
        + (p1 - 1) * chi * z6
        + 2 * chi * z4
        + 3 * chi * z2
        - (p1 + 1) * z4
        - 2 * z2
        - 1
    )
    return np.maximum(e1 / e0, 0.0), np.maximum(e2 / e0, 0.0)

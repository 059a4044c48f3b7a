"""L1 vs L2: exact zeros vs shrinkage, the L1 recovery phase transition, factored L2 = L1.

Predictions only (NumPy/SciPy). Conventions: the lasso is ``½‖y − Xβ‖² + λ‖β‖₁`` and ridge is
``½‖y − Xβ‖² + (λ/2)‖β‖²``, so for an orthonormal design (``XᵀX = I``, ``z = Xᵀy``) the solutions
are the proximal maps of ``λ|·|`` and ``(λ/2)(·)²`` applied to ``z``.

References:
    Tibshirani (1996), J. R. Stat. Soc. B 58:267 — the lasso, soft thresholding.
    Donoho & Tanner (2009), Phil. Trans. R. Soc. A 367:4273 — the (n/d, k/n) phase diagram.
    Amelunxen, Lotz, McCoy & Tropp (2014), Information and Inference 3:224 — "Living on the edge",
        statistical dimension of the L1 descent cone and the width O(√d) of the transition.
    Woodworth et al. (2020), COLT — diagonal linear networks; Hoyer (2004), JMLR 5:1457.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfc
from scipy.stats import norm

from kernelcap.theory._validation import as_array, as_int, finite_result, scalar_or_array

__all__ = [
    "soft_threshold",
    "ridge_shrink",
    "lasso_orthonormal",
    "lasso_zero_probability",
    "lasso_zero_fraction",
    "l1_statistical_dimension",
    "l1_required_measurements",
    "l1_phase_transition",
    "min_norm_recovery_error",
    "factored_l2_penalty",
    "factored_l2_minimizer",
    "hoyer_sparsity",
]

_TAU_MAX = 40.0  # φ(40) underflows float64: the optimal threshold τ*(ρ) is far below for ρ ≥ 1e-300
_BISECTIONS = 64  # 40/2^64 < 1e-17: τ* to float64 precision


def soft_threshold(x, lam):
    """Proximal map of ``λ|·|``: ``S_λ(x) = sign(x)·max(|x| − λ, 0)``.

    Exactly zero for ``|x| ≤ λ``; non-expansive (``|S_λ(x) − S_λ(y)| ≤ |x − y|``).

    Args:
        x: any shape, finite.
        lam: threshold ``λ ≥ 0``, broadcast against ``x``.

    Returns:
        ``S_λ(x)``, broadcast shape (a float for scalar inputs).
    """
    xa = as_array(x, "x")
    la = as_array(lam, "lam", ge=0)
    out = np.sign(xa) * np.maximum(np.abs(xa) - la, 0.0)
    return scalar_or_array(out, x, lam)


def ridge_shrink(x, lam):
    """Proximal map of ``(λ/2)(·)²``: ``x / (1 + λ)``.

    Shrinks every coordinate by the same factor and is never exactly zero unless ``x`` is.

    Args:
        x: any shape, finite.
        lam: ``λ ≥ 0``, broadcast against ``x``.
    """
    xa = as_array(x, "x")
    la = as_array(lam, "lam", ge=0)
    return scalar_or_array(xa / (1.0 + la), x, lam)


def lasso_orthonormal(z, lam):
    """Lasso solution for an orthonormal design: ``β̂ = S_λ(z)`` with ``z = Xᵀy``.

    ``argmin_β ½‖y − Xβ‖² + λ‖β‖₁`` separates over coordinates when ``XᵀX = I``
    (Tibshirani 1996, eq. 3).

    Args:
        z: least-squares coefficients ``Xᵀy``, shape ``(..., d)``.
        lam: ``λ ≥ 0``.
    """
    za = as_array(z, "z")
    return soft_threshold(za if np.ndim(z) else float(za), lam)


def lasso_zero_probability(beta, lam, sigma):
    """``P(β̂_j = 0)`` for a fixed true coefficient under an orthonormal design.

    With ``z_j = β_j + σ g``, ``g ~ N(0, 1)``: ``P(|z_j| ≤ λ) = Φ((λ − β_j)/σ) − Φ((−λ − β_j)/σ)``.

    Args:
        beta: true coefficients ``β_j`` (any shape).
        lam: lasso penalty ``λ ≥ 0``.
        sigma: noise level ``σ > 0``.
    """
    b = as_array(beta, "beta")
    la = as_array(lam, "lam", ge=0)
    s = as_array(sigma, "sigma", gt=0)
    out = norm.cdf((la - b) / s) - norm.cdf((-la - b) / s)
    return scalar_or_array(out, beta, lam, sigma)


def lasso_zero_fraction(lam, sigma, sparsity, signal_std=1.0):
    """Expected fraction of exact zeros of the lasso for an orthonormal design.

    Prior (spike and slab): ``β_j = 0`` with probability ``1 − ε``, else ``β_j ~ N(0, s²)``;
    ``z_j = β_j + σ g``. Then ``z_j ~ N(0, σ²)`` on the spike and ``N(0, s² + σ²)`` on the slab, and

        ``E[#{β̂_j = 0}]/d = (1 − ε)(2Φ(λ/σ) − 1) + ε(2Φ(λ/√(s² + σ²)) − 1)``.

    Exact for any ``d`` (each coordinate is zero independently); the measured fraction over ``d``
    coordinates has binomial standard error ``√(p(1−p)/d)``.

    Args:
        lam: ``λ ≥ 0``; sigma: noise ``σ > 0``; sparsity: ``ε ∈ [0, 1]``;
        signal_std: slab scale ``s ≥ 0``. All broadcast.
    """
    la = as_array(lam, "lam", ge=0)
    s = as_array(sigma, "sigma", gt=0)
    eps = as_array(sparsity, "sparsity", ge=0, le=1)
    ss = as_array(signal_std, "signal_std", ge=0)
    with np.errstate(over="ignore"):  # λ/σ = inf is Φ = 1
        p_spike = 2.0 * norm.cdf(la / s) - 1.0
        p_slab = 2.0 * norm.cdf(la / np.hypot(ss, s)) - 1.0  # √(s² + σ²) underflowed: 0/0
    out = (1.0 - eps) * p_spike + eps * p_slab
    return scalar_or_array(out, lam, sigma, sparsity, signal_std)


def _tail_second_moment(tau):
    """``2∫_τ^∞ (u − τ)² φ(u) du = (1 + τ²) erfc(τ/√2) − τ √(2/π) e^{−τ²/2}``."""
    return (1.0 + tau**2) * erfc(tau / np.sqrt(2.0)) - tau * np.sqrt(2.0 / np.pi) * np.exp(
        -(tau**2) / 2
    )


def _optimal_tau(rho):
    """Root of the stationarity condition ``ρτ = 2(1 − ρ)(φ(τ) − τ Q(τ))`` (vectorised bisection).

    The left side minus the right side is increasing in τ (its derivative is ``ρ + 2(1−ρ)Q(τ)``),
    negative at τ = 0 and positive for large τ when ρ > 0, so the root is unique.
    """
    lo = np.zeros_like(rho)
    hi = np.full_like(rho, _TAU_MAX)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        pdf = np.exp(-0.5 * mid**2) / np.sqrt(2.0 * np.pi)
        g = rho * mid - 2.0 * (1.0 - rho) * (pdf - mid * 0.5 * erfc(mid / np.sqrt(2.0)))
        pos = g > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    return 0.5 * (lo + hi)


def l1_statistical_dimension(rho):
    """Normalised statistical dimension ``ψ(ρ) = δ(D(‖·‖₁, x))/d`` at a ``ρ·d``-sparse vector.

        ``ψ(ρ) = inf_{τ≥0} ρ(1 + τ²) + (1 − ρ)·2∫_τ^∞ (u − τ)² φ(u) du``,

    with ``φ`` the standard normal density. ψ is increasing, ``ψ(0) = 0``, ``ψ(1) = 1``. The
    formula is the ``d → ∞`` limit at fixed ρ; for finite ``d`` it is an upper bound on ``δ/d``
    that is off by at most ``2/√(ρd)`` (Amelunxen et al. 2014, Prop. 4.5).

    Args:
        rho: sparsity fraction ``ρ = k/d ∈ [0, 1]``, any shape.

    Returns:
        ``ψ(ρ) ∈ [0, 1]``, same shape.

    Reference: Amelunxen, Lotz, McCoy & Tropp (2014), eq. (4.3) / Prop. 4.5.
    """
    r = as_array(rho, "rho", ge=0, le=1)
    inner = (r > 0) & (r < 1)
    rc = np.where(inner, r, 0.5)
    tau = _optimal_tau(rc)
    psi = rc * (1.0 + tau**2) + (1.0 - rc) * _tail_second_moment(tau)
    out = np.where(r <= 0, 0.0, np.where(r >= 1, 1.0, psi))
    return scalar_or_array(np.clip(out, 0.0, 1.0), rho)


def l1_required_measurements(n_features, n_nonzero):
    """Measurements at which L1 recovery switches from failure to success: ``m* = d·ψ(k/d)``.

    Basis pursuit ``min ‖x‖₁ s.t. Ax = Ax₀`` with Gaussian ``A ∈ ℝ^{m×d}`` recovers a k-sparse
    ``x₀`` with high probability when ``m ≥ m* + O(√d)`` and fails when ``m ≤ m* − O(√d)``
    (Amelunxen et al. 2014, Thm II). Example: ``d = 200, k = 20`` gives ``m* ≈ 65.8``.

    Args:
        n_features: ambient dimension ``d > 0``; n_nonzero: sparsity ``0 ≤ k ≤ d``. Broadcast.
    """
    d = as_array(n_features, "n_features", gt=0)
    k = as_array(n_nonzero, "n_nonzero", ge=0)
    if np.any(k > d):
        raise ValueError(f"n_nonzero must be <= n_features, got {n_nonzero!r} > {n_features!r}")
    rho = k / d
    return scalar_or_array(d * np.asarray(l1_statistical_dimension(rho)), n_features, n_nonzero)


def l1_phase_transition(undersampling):
    """Donoho–Tanner curve: the sparsity ratio ``ρ = k/n`` at the L1 transition for ``δ = n/d``.

    Solves ``ψ(ρ·δ) = δ`` for ρ (ψ from :func:`l1_statistical_dimension`, which is increasing):
    recovery succeeds below the curve (``k/n < ρ(δ)``) and fails above it, as ``d → ∞``.

    Args:
        undersampling: ``δ = n/d ∈ [0, 1]``, any shape.

    Returns:
        ``ρ(δ) = k/n ∈ [0, 1]`` at the transition, same shape (``ρ(0) = 0``, ``ρ(1) = 1``).
    """
    delta = as_array(undersampling, "undersampling", ge=0, le=1)
    lo = np.zeros_like(delta)
    hi = np.ones_like(delta)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = np.asarray(l1_statistical_dimension(mid), float) > delta
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    rho_d = 0.5 * (lo + hi)  # k/d at the transition
    out = np.where(delta > 0, rho_d / np.where(delta > 0, delta, 1.0), 0.0)
    return scalar_or_array(np.clip(out, 0.0, 1.0), undersampling)


def min_norm_recovery_error(n_measurements, n_features):
    """Relative squared error of the min-L2 interpolant ``x̂ = Aᵀ(AAᵀ)⁻¹Ax₀``: ``1 − n/d``.

    For Gaussian ``A ∈ ℝ^{n×d}`` (``n ≤ d``), ``x̂`` is the projection of ``x₀`` onto a uniformly
    random n-dimensional subspace, so ``E‖x̂ − x₀‖²/‖x₀‖² = 1 − n/d`` for every ``x₀`` (the ratio is
    Beta((d−n)/2, n/2)-distributed). It does not depend on sparsity: L2 cannot exploit it.

    Args:
        n_measurements: ``0 ≤ n ≤ d``; n_features: ``d > 0``. Broadcast.
    """
    n = as_array(n_measurements, "n_measurements", ge=0)
    d = as_array(n_features, "n_features", gt=0)
    if np.any(n > d):
        raise ValueError(f"n_measurements must be <= n_features, got {n_measurements!r}")
    return scalar_or_array(1.0 - n / d, n_measurements, n_features)


def factored_l2_penalty(w, lam, depth=2):
    """Smallest weight decay over factorisations of w into L factors.

    ``min_{u₁⊙…⊙u_L = w} (λ/2)Σ_l u_l² = (λL/2)|w|^{2/L}``.

    Elementwise (sum over coordinates for a vector). By AM–GM, ``Σ_l u_l² ≥ L(Π_l u_l²)^{1/L}``
    with equality at balanced factors ``|u_l| = |w|^{1/L}``. Depth 2 gives ``λ|w|``: weight decay
    on ``w = u⊙v`` is the lasso penalty on ``w`` (Woodworth et al. 2020); deeper products give the
    non-convex quasi-norm ``|w|^{2/L}``.

    Args:
        w: product weights, any shape; lam: ``λ ≥ 0``; depth: number of factors ``L ≥ 1``.

    Raises:
        OverflowError: where the penalty itself exceeds the float64 range.
    """
    wa = as_array(w, "w")
    la = as_array(lam, "lam", ge=0)
    L = as_int(depth, "depth", ge=1)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        direct = 0.5 * la * L * np.abs(wa) ** (2.0 / L)
        # from logs where a factor overflows but the product does not (λ ~ 1e308, |w|² ~ 1e310)
        via_log = np.exp(np.log(0.5 * L) + np.log(la) + (2.0 / L) * np.log(np.abs(wa)))
        out = np.where(np.isfinite(direct), direct, via_log)
    out = finite_result(out, "factored_l2_penalty")
    return scalar_or_array(out, w, lam)


def factored_l2_minimizer(w, depth=2):
    """Balanced factors attaining :func:`factored_l2_penalty`: shape ``(L, *w.shape)``.

    ``u_1 = sign(w)|w|^{1/L}`` and ``u_l = |w|^{1/L}`` for ``l ≥ 2``, so ``Π_l u_l = w``.
    """
    wa = as_array(w, "w")
    L = as_int(depth, "depth", ge=1)
    mag = np.abs(wa) ** (1.0 / L)
    factors = np.broadcast_to(mag, (L, *wa.shape)).copy()
    factors[0] = np.sign(wa) * mag
    return factors


def hoyer_sparsity(x):
    """Hoyer sparsity of the last axis: ``(√n − ‖x‖₁/‖x‖₂)/(√n − 1) ∈ [0, 1]``.

    1 for a single nonzero entry, 0 when all ``|x_i|`` are equal (Hoyer 2004, eq. 1).

    Args:
        x: shape ``(..., n)`` with ``n ≥ 2`` and no all-zero vector along the last axis.

    Returns:
        shape ``x.shape[:-1]`` (a float for a 1-D input).
    """
    xa = as_array(x, "x")
    if xa.ndim == 0 or xa.shape[-1] < 2:
        raise ValueError(f"x must have a last axis of length >= 2, got shape {xa.shape}")
    # Scale-free: each vector is brought to max |x_i| ∈ [1/2, 1) by a power of two (exact) first;
    # ‖x‖₂ overflowed for entries ~1e300 (giving 2.37 > 1) and ‖x‖₁ to inf/inf = NaN.
    peak = np.max(np.abs(xa), axis=-1, keepdims=True)
    xa = np.ldexp(xa, -np.frexp(peak)[1])
    l2 = np.linalg.norm(xa, axis=-1)
    if np.any(l2 == 0):
        raise ValueError("x must not contain an all-zero vector (Hoyer sparsity is undefined)")
    n = xa.shape[-1]
    out = (np.sqrt(n) - np.abs(xa).sum(-1) / l2) / (np.sqrt(n) - 1.0)
    return float(out) if out.ndim == 0 else out

"""Dense (polynomial) and modern (softmax) associative memories: one-step error, capacity and
retrieval bounds. Public through :mod:`kernelcap.theory.hopfield`."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from kernelcap.theory._hopfield_numerics import (
    _MAX_FINITE_WINDOW,
    _dense_finite_scalar,
    _dense_finite_sqrt_snr,
    _dense_ratio,
    _modern_exponent,
    _scaled_exp,
)
from kernelcap.theory._validation import as_array, as_choice, scalar_or_array

_METHODS = ("asymptotic", "finite", "exact")


def dense_bit_error_probability(n_neurons, n_patterns, degree, *, method: str = "asymptotic"):
    r"""One-step bit-error probability of a dense associative memory with F(x) = x^n.

    Krotov–Hopfield update ``σ_i ← sign Σ_μ ξ^μ_i [F(1 + x_μ) − F(−1 + x_μ)]``,
    ``x_μ = Σ_{j≠i} ξ^μ_j σ_j``. Started at a stored pattern, the signal is ≈ 2n N^{n−1} and the
    crosstalk of the other K−1 patterns has variance ≈ 4n² (2n−3)!! N^{n−1} (K−1), so

    ``P_err = ½ erfc(√(N^{n−1} / (2 (2n−3)!! K)))``.

    At fixed P_err the capacity grows like N^{n−1}; n = 2 recovers the Hebbian
    :func:`~kernelcap.theory.hopfield.bit_error_probability`. Regime: N → ∞ at fixed
    K / N^{n−1}; the leading finite-size correction is a relative O(n²/N) shift of the
    signal-to-noise ratio. N^{n−1}/(2n−3)!! is taken from logarithms where either factor
    overflows float64.

    ``method="finite"`` keeps the exact signal ``F(N) − F(N−2)`` and the exact crosstalk variance
    ``(K−1) E[(F(x+1) − F(x−1))²]`` with ``x`` a sum of N−1 random ±1 (binomial moments), and
    only the Gaussian approximation of the sum over patterns:
    ``P_err = Φ(−(F(N) − F(N−2)) / √((K−1) E[g(x)²]))``. Every power is divided by N^n and the
    moment summed in logs (x^n overflowed float64 for N^n > 1e308), over the values of x within
    40 standard deviations of where the summand peaks (the rest is < 1e-300 of it).

    Args:
        n_neurons: N ≥ 2, any shape (for ``"finite"`` an integer with (40 + 2√(2n))·√(N−1)
            ≤ 1e7, the number of crosstalk values summed: N up to ~5e10 at n = 2).
        n_patterns: K ≥ 1, broadcast.
        degree: n ≥ 2 (integer), broadcast.
        method: ``"asymptotic"`` or ``"finite"``.

    References:
        Krotov & Hopfield, NeurIPS 2016 ("Dense associative memory for pattern recognition"), §2.
    """
    method = as_choice(method, "method", ("asymptotic", "finite"))
    n = as_array(n_neurons, "n_neurons", ge=2, integer=method == "finite")
    k = as_array(n_patterns, "n_patterns", ge=1)
    d = as_array(degree, "degree", ge=2, integer=True)
    n, k, d = np.broadcast_arrays(n, k, d)
    if method == "asymptotic":
        with np.errstate(over="ignore"):
            x2 = _dense_ratio(n, d, 2.0 * k, np.log(2.0) + np.log(k))  # 2K = inf at K ~ 1e308
        out = 0.5 * special.erfc(np.sqrt(x2))
    else:
        width = (40.0 + 2.0 * np.sqrt(2.0 * d)) * np.sqrt(n - 1.0)  # 2·(40 + 2√(2n))σ
        if np.any(np.minimum(width, n) > _MAX_FINITE_WINDOW):
            raise ValueError(
                "n_neurons is too large for method='finite' (its crosstalk window would hold "
                f"more than {_MAX_FINITE_WINDOW:g} values); use method='asymptotic'"
            )
        out = np.empty(n.shape)
        for idx in np.ndindex(n.shape):
            out[idx] = _dense_finite_scalar(int(n[idx]), float(k[idx]), int(d[idx]))
    return scalar_or_array(out, n_neurons, n_patterns, degree)


def dense_capacity(n_neurons, degree):
    r"""Error-free capacity of a dense associative memory with F(x) = x^n (Krotov & Hopfield 2016):

    ``K_max = N^{n−1} / (2 (2n−3)!! ln N)``.

    n = 2 gives McEliece's N/(2 ln N). Regime: N → ∞ at fixed n. N^{n−1}/(2n−3)!! is taken from
    logarithms where either factor overflows float64 (N = 100, n = 400 gave inf/inf = NaN; its
    value is ~1e-188). The result is +inf only where K_max itself exceeds the float64 range.
    Increasing in N for N ≥ e^{1/(n−1)} (it diverges as N → 1⁺, where ln N → 0).

    Args:
        n_neurons: N > 1, any shape.
        degree: n ≥ 2 (integer), broadcast.

    References:
        Krotov & Hopfield, NeurIPS 2016, eq. (6).
    """
    n = as_array(n_neurons, "n_neurons", gt=1)
    d = as_array(degree, "degree", ge=2, integer=True)
    n, d = np.broadcast_arrays(n, d)
    out = _dense_ratio(n, d, 2.0 * np.log(n), np.log(2.0 * np.log(n)))
    return scalar_or_array(out, n_neurons, degree)


def modern_retrieval_error_bound(n_patterns, beta, separation, radius, distance=0.0):
    r"""Upper bound on the one-step retrieval error of the modern (softmax) Hopfield network.

    Update ``ξ_new = X softmax(β Xᵀ ξ)`` with stored patterns ``x_1..x_P`` (columns of X),
    ``‖x_j‖ ≤ M``. For a query ξ with ``‖ξ − x_i‖ ≤ d`` and separation
    ``Δ_i = x_iᵀx_i − max_{j≠i} x_iᵀx_j``:

    ``‖ξ_new − x_i‖ ≤ 2 M ε,   ε = (P − 1) exp(−β (Δ_i − 2 d M))``.

    (Proof: ``ξ_new − x_i = Σ_j p_j (x_j − x_i)`` so its norm is ≤ 2M(1 − p_i), and
    ``1 − p_i ≤ Σ_{j≠i} e^{β(x_j − x_i)ᵀξ} ≤ (P−1) e^{−β(Δ_i − 2dM)}``.) The error is exponentially
    small in βΔ_i, so P can be exponential in the dimension while one step still retrieves.
    Evaluated in logarithms where the product over- or underflows spuriously; the result is
    +inf only where the bound itself exceeds the float64 range (a vacuous bound: the error never
    exceeds 2M), and exactly 0 for P = 1.

    Args:
        n_patterns: P ≥ 1; beta: β > 0; separation: Δ_i (any real); radius: M > 0;
        distance: d ≥ 0. All broadcast.

    References:
        Ramsauer et al., "Hopfield Networks is All You Need", ICLR 2021 (arXiv:2008.02217), Thm 5.
    """
    p = as_array(n_patterns, "n_patterns", ge=1)
    b = as_array(beta, "beta", gt=0)
    delta = as_array(separation, "separation")
    m = as_array(radius, "radius", gt=0)
    d = as_array(distance, "distance", ge=0)
    exponent = _modern_exponent(b, delta, d, m)
    with np.errstate(over="ignore", divide="ignore"):
        prefactor = 2.0 * m * (p - 1.0)
        log_prefactor = np.log(2.0) + np.log(m) + np.log(p - 1.0)
    out = _scaled_exp(prefactor, log_prefactor, exponent)
    return scalar_or_array(out, n_patterns, beta, separation, radius, distance)


def modern_hopfield_capacity(beta, separation, radius, tolerance, distance=0.0):
    r"""Largest number of patterns P the modern Hopfield network retrieves in one step with error
    ≤ ``tolerance``, guaranteed by :func:`modern_retrieval_error_bound`:

    ``P_max = 1 + (tolerance / 2M) · exp(β (Δ − 2 d M))``.

    Exponential in β Δ: for ±1 patterns in dimension N (M = √N) with separation Δ ∝ N the capacity
    is exponential in N — the content of Ramsauer et al.'s Theorem 3 (random patterns on the
    sphere, stated there with a failure probability). Evaluated in logarithms where the product
    over- or underflows spuriously; +inf only where P_max itself exceeds the float64 range.

    Args:
        beta: β > 0; separation: Δ (any real); radius: M > 0; tolerance: ε > 0; distance: d ≥ 0.

    References:
        Ramsauer et al., ICLR 2021 (arXiv:2008.02217), Theorems 3 and 5.
    """
    b = as_array(beta, "beta", gt=0)
    delta = as_array(separation, "separation")
    m = as_array(radius, "radius", gt=0)
    tol = as_array(tolerance, "tolerance", gt=0)
    d = as_array(distance, "distance", ge=0)
    exponent = -_modern_exponent(b, delta, d, m)
    with np.errstate(over="ignore", under="ignore"):
        prefactor = tol / (2.0 * m)
        log_prefactor = np.log(tol) - np.log(2.0) - np.log(m)
    out = 1.0 + _scaled_exp(prefactor, log_prefactor, exponent)
    return scalar_or_array(out, beta, separation, radius, tolerance, distance)


def gaussian_crosstalk_error(snr):
    r"""Probability that a ±1 bit flips when its signal s is corrupted by zero-mean Gaussian
    crosstalk of variance σ², as a function of the signal-to-noise ratio S = s²/σ²:

    ``P_err = Φ(−√S) = ½ erfc(√(S/2))``.

    The universal curve behind the Hebbian and dense-memory error rates: S = N/P for the Hebbian
    rule (:func:`~kernelcap.theory.hopfield.bit_error_probability`), S = N^{n−1} / ((2n−3)!! K)
    for a dense memory with F(x) = x^n (:func:`dense_signal_to_noise`). Regime: the crosstalk is
    a sum of many weakly dependent terms (central limit), i.e. N → ∞ at fixed S.

    Args:
        snr: S ≥ 0 (``inf`` allowed: no crosstalk), any shape.

    Returns:
        P_err ∈ [0, ½], same shape (½ at S = 0, 0 at S = ∞).

    References:
        Hertz, Krogh & Palmer, *Introduction to the Theory of Neural Computation* (1991), eq. 2.13;
        Krotov & Hopfield, NeurIPS 2016, §2.
    """
    s = as_array(snr, "snr", ge=0, allow_inf=True)
    return scalar_or_array(0.5 * special.erfc(np.sqrt(s / 2.0)), snr)


def dense_capacity_constant(n_neurons, degree):
    r"""Capacity constant of a dense associative memory with F(x) = x^n:

    ``A_n(N) = N^{n−1} / (2n−3)!!``,

    the number K of stored patterns times the squared probit z² of the one-step bit-error rate,
    ``z² K = A_n(N)`` with ``P_err = Φ(−z)``. At any fixed error rate the capacity is K = A_n(N)/z²,
    so it grows like N^{n−1}; n = 2 gives A = N (Hebbian, z² = N/P). Regime: N → ∞ at fixed
    K / N^{n−1}; at finite N the constant differs by a relative O(n²/N)
    (:func:`dense_signal_to_noise` with ``method="finite"``).

    Args:
        n_neurons: N > 0, any shape.
        degree: n ≥ 2 (integer), broadcast.

    References:
        Krotov & Hopfield, NeurIPS 2016 ("Dense associative memory for pattern recognition"), §2.
    """
    n = as_array(n_neurons, "n_neurons", gt=0)
    d = as_array(degree, "degree", ge=2, integer=True)
    return scalar_or_array(_dense_ratio(n, d, 1.0, 0.0), n_neurons, degree)


def dense_signal_to_noise(n_neurons, n_patterns, degree, *, method: str = "asymptotic"):
    r"""Signal-to-noise ratio S of the one-step update of a dense memory with F(x) = x^n, started
    at a stored pattern, so that ``P_err = Φ(−√S)`` (:func:`gaussian_crosstalk_error`).

    * ``method="asymptotic"``: ``S = N^{n−1} / ((2n−3)!! K) = A_n(N) / K``
      (:func:`dense_capacity_constant`), the N → ∞ limit at fixed K / N^{n−1};
    * ``method="finite"``: ``S = (F(N) − F(N−2))² / ((K−1) E[g(x)²])``, g(x) = F(x+1) − F(x−1),
      x a sum of N−1 random ±1 (exact binomial moments): exact signal and crosstalk variance, only
      the sum over the K−1 other patterns taken as Gaussian. ``inf`` at K = 1 (no crosstalk).

    ``gaussian_crosstalk_error(dense_signal_to_noise(N, K, n, method=m))`` equals
    :func:`dense_bit_error_probability` ``(N, K, n, method=m)``; ``S · K`` is the capacity constant
    z²K at that (N, K).

    Args:
        n_neurons: N ≥ 2, any shape (an integer for ``"finite"``).
        n_patterns: K ≥ 1, broadcast.
        degree: n ≥ 2 (integer), broadcast.
        method: ``"asymptotic"`` or ``"finite"``.

    References:
        Krotov & Hopfield, NeurIPS 2016, §2.
    """
    if method not in ("asymptotic", "finite"):
        raise ValueError(f"method must be 'asymptotic' or 'finite', got {method!r}")
    n = as_array(n_neurons, "n_neurons", ge=2, integer=method == "finite")
    k = as_array(n_patterns, "n_patterns", ge=1)
    d = as_array(degree, "degree", ge=2, integer=True)
    n, k, d = np.broadcast_arrays(n, k, d)
    if method == "asymptotic":
        out = np.asarray(dense_capacity_constant(n, d)) / k
    else:
        out = np.empty(n.shape)
        for idx in np.ndindex(n.shape):
            kk = float(k[idx])
            root = math.inf if kk == 1 else _dense_finite_sqrt_snr(int(n[idx]), kk, int(d[idx]))
            out[idx] = root * root  # S = (√S)², from logs: N^n beyond float64 is fine
    return scalar_or_array(np.asarray(out, dtype=np.float64), n_neurons, n_patterns, degree)

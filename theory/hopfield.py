r"""Capacity of associative memories: predictions for Hopfield networks and their relatives.

Every function is pure NumPy/SciPy, vectorised with broadcasting (scalars in -> float out, arrays
in -> array out), float64, and refuses NaN, negative sizes and loads outside its domain with a
``ValueError`` naming the argument.

Finite input never gives NaN: counts, capacities and bounds that exceed the float64 range are
returned as +inf (the honest rounding of a value too large to represent; :func:`log_cover_count`
gives Cover's count in logs), and sizes whose computation would not be exact are refused.

Notation: ``N`` neurons (pattern dimension), ``P`` stored patterns, load ``α = P/N``, patterns
ξ^μ ∈ {−1, +1}^N drawn uniformly at random; Hebbian couplings W_ij = (1/N) Σ_μ ξ^μ_i ξ^μ_j,
W_ii = 0.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import optimize, special, stats

from kernelcap.theory._hopfield_numerics import (
    _MAX_FINITE_WINDOW,
    _cover_count_scalar,
    _dense_finite_scalar,
    _dense_ratio,
    _log_cover_count_scalar,
    _modern_exponent,
    _per_pair,
    _scaled_exp,
)
from kernelcap.theory._validation import as_array, as_choice, as_flag, scalar_or_array

__all__ = [
    "bit_error_probability",
    "all_stable_probability",
    "ags_overlap",
    "ags_critical_load",
    "mceliece_capacity",
    "cover_count",
    "log_cover_count",
    "separable_probability",
    "gardner_capacity",
    "pseudo_inverse_capacity",
    "storkey_capacity",
    "dense_bit_error_probability",
    "dense_capacity",
    "modern_retrieval_error_bound",
    "modern_hopfield_capacity",
]

_METHODS = ("asymptotic", "finite", "exact")
_MAX_COUNT = 2.0**53  # sizes beyond it are not exact integers in float64


def bit_error_probability(n_neurons, n_patterns, *, method: str = "asymptotic"):
    r"""One-step bit-error probability of the Hebbian rule started at a stored pattern.

    With ``s = ξ^1`` the local field of neuron ``i`` is
    ``h_i ξ^1_i = (N−1)/N + (1/N) S``, where ``S`` is a sum of ``M = (N−1)(P−1)`` independent ±1
    crosstalk terms. The bit flips when ``S < −(N−1)`` (a tie ``S = −(N−1)``, i.e. ``h_i = 0``, is
    counted as half an error: a zero field is broken towards +1, which is wrong half the time).

    * ``method="asymptotic"`` (Hertz, Krogh & Palmer eq. 2.13): ``P_err = ½ erfc(√(N / 2P))``,
      the N, P → ∞ limit at fixed α = P/N.
    * ``method="finite"``: the same Gaussian approximation with the exact signal and crosstalk
      counts, ``P_err = ½ erfc(√((N−1) / (2(P−1))))``; differs from the asymptotic form by
      O(1/N + 1/P).
    * ``method="exact"``: the binomial tail ``P(S < −(N−1)) + ½ P(S = −(N−1))`` with
      ``S = 2B − M``, ``B ~ Binomial(M, ½)`` — exact for random patterns at any N, P with
      M ≤ 2^53 (larger M are refused: they are not exact integers in float64).

    Args:
        n_neurons: N ≥ 2, any shape (integer for ``"exact"``).
        n_patterns: P ≥ 1, broadcast against ``n_neurons``; P = 1 gives 0 (no crosstalk).
        method: ``"asymptotic"``, ``"finite"`` or ``"exact"``.

    Returns:
        P_err ∈ [0, ½], broadcast shape of the inputs (float for scalar inputs).

    References:
        Hopfield (1982); Amit, Gutfreund & Sompolinsky, Phys. Rev. A 32, 1007 (1985);
        Hertz, Krogh & Palmer, *Introduction to the Theory of Neural Computation* (1991), §2.2.
    """
    method = as_choice(method, "method", _METHODS)
    exact = method == "exact"
    n = as_array(n_neurons, "n_neurons", ge=2, integer=exact)
    p = as_array(n_patterns, "n_patterns", ge=1, integer=exact)
    n, p = np.broadcast_arrays(n, p)
    if method == "asymptotic":
        out = 0.5 * special.erfc(np.sqrt(n / (2.0 * p)))
    elif method == "finite":
        with np.errstate(divide="ignore"):
            out = 0.5 * special.erfc(np.sqrt((n - 1.0) / (2.0 * (p - 1.0))))
    else:
        m = (n - 1.0) * (p - 1.0)
        if np.any(m > _MAX_COUNT):  # beyond 2^53 the binomial's arguments are not exact integers
            raise ValueError(
                "n_neurons, n_patterns: method='exact' needs (N−1)(P−1) ≤ 2^53 crosstalk terms, "
                f"got up to {float(np.max(m)):.3g}; use method='finite'"
            )
        # S < -(N-1)  <=>  B < (M - N + 1)/2 ; tie at B = (M - N + 1)/2 when that is an integer.
        b_tie = (m - n + 1.0) / 2.0
        below = np.where(b_tie == np.floor(b_tie), b_tie - 1.0, np.floor(b_tie))
        tie = np.where(b_tie == np.floor(b_tie), stats.binom.pmf(b_tie, m, 0.5), 0.0)
        out = stats.binom.cdf(below, m, 0.5) + 0.5 * tie
        out = np.where(p == 1, 0.0, out)
    return scalar_or_array(np.asarray(out, dtype=np.float64), n_neurons, n_patterns)


def all_stable_probability(n_neurons, n_patterns):
    r"""Probability that all P stored patterns are one-step fixed points of the Hebbian rule.

    Poisson approximation for the number of unstable bits among the ``N·P`` bits:
    ``P_stable = exp(−N P · P_err)`` with ``P_err`` the exact one-step bit-error probability
    (:func:`bit_error_probability` ``method="exact"``). Setting ``P_stable = ½`` gives the
    finite-N counterpart of McEliece's ``N/(4 ln N)`` (the two agree only as N → ∞, slowly: the
    ratio is ≈1.75 at N=100 and ≈1.55 at N=1000). Valid while the errors are rare and weakly
    correlated (P ≪ N).

    Args:
        n_neurons: N ≥ 2 (integer), any shape.
        n_patterns: P ≥ 1 (integer), broadcast against ``n_neurons``; (N−1)(P−1) ≤ 2^53.

    References:
        McEliece, Posner, Rodemich & Venkatesh, IEEE Trans. Inf. Theory 33, 461 (1987).
    """
    n = as_array(n_neurons, "n_neurons", ge=2, integer=True)
    p = as_array(n_patterns, "n_patterns", ge=1, integer=True)
    perr = np.asarray(bit_error_probability(n, p, method="exact"))
    return scalar_or_array(np.exp(-n * p * perr), n_neurons, n_patterns)


def _ags_gap(y: float) -> float:
    """g(y) = erf(y)/y − (2/√π) e^{−y²}; retrieval solutions satisfy g(y) = √(2α)."""
    return special.erf(y) / y - 2.0 / math.sqrt(math.pi) * math.exp(-y * y)


@functools.cache
def _ags_peak() -> tuple[float, float]:
    """(y*, g(y*)): the maximum of g, which sets the critical load α_c = g(y*)²/2."""
    res = optimize.minimize_scalar(
        lambda y: -_ags_gap(y), bounds=(0.1, 5.0), method="bounded", options={"xatol": 1e-12}
    )
    return float(res.x), float(-res.fun)


def ags_critical_load() -> float:
    r"""Critical load α_c of the Hopfield model at zero temperature (replica symmetric), ≈ 0.1379.

    The T=0 replica-symmetric saddle point of Amit, Gutfreund & Sompolinsky reduces, with
    ``y = m / √(2αr)``, to one equation for the retrieval overlap ``m = erf(y)``:

    ``√(2α) = g(y),   g(y) = erf(y)/y − (2/√π) e^{−y²}``.

    A retrieval solution (m > 0) exists iff ``√(2α) ≤ max_y g(y)``, so
    ``α_c = ½ (max_y g(y))²``, solved here numerically. The overlap at α_c is erf(y*) ≈ 0.967.
    Valid for N → ∞; replica-symmetry breaking moves it to ≈ 0.1382 (Steffan & Kühn 1994), and
    finite-N simulations retrieve well above it (the 50% point is ≈ 0.19 at N=250).

    References:
        Amit, Gutfreund & Sompolinsky, Ann. Phys. 173, 30 (1987); Phys. Rev. Lett. 55, 1530 (1985).
    """
    return 0.5 * _ags_peak()[1] ** 2


def ags_overlap(alpha):
    r"""Retrieval overlap m(α) of the zero-temperature Hopfield model (AGS, replica symmetric).

    ``m = erf(y)`` where ``y`` is the largest root of ``√(2α) = erf(y)/y − (2/√π) e^{−y²}``
    (see :func:`ags_critical_load`); ``m = 1`` at α = 0 and ``m = 0`` above α_c ≈ 0.138, where the
    retrieval solution disappears discontinuously (m jumps from ≈ 0.967 to 0).
    Regime: N → ∞ at fixed α = P/N, equilibrium (asynchronous dynamics started at the pattern).

    Args:
        alpha: load α = P/N ≥ 0, any shape.

    Returns:
        m ∈ {0} ∪ [0.967, 1], same shape as ``alpha``.

    References:
        Amit, Gutfreund & Sompolinsky, Ann. Phys. 173, 30 (1987), eqs. (4.11)–(4.13).
    """
    a = as_array(alpha, "alpha", ge=0)
    y_star, g_max = _ags_peak()
    flat = a.ravel()
    out = np.zeros_like(flat)
    for value in np.unique(flat):
        if value == 0:
            m = 1.0
        elif math.sqrt(2 * value) > g_max:
            m = 0.0
        else:
            target = math.sqrt(2 * value)
            hi = 2.0 / target + 10.0  # g(y) < 1/y, so the root lies below 1/target
            y = optimize.brentq(lambda t, c=target: _ags_gap(t) - c, y_star, hi, xtol=1e-14)
            m = float(special.erf(y))
        out[flat == value] = m
    return scalar_or_array(out.reshape(a.shape), alpha)


def mceliece_capacity(n_neurons, all_patterns: bool = True):
    r"""McEliece et al. capacity of the Hebbian rule for exact one-step recall.

    * ``all_patterns=True``: ``P_max = N / (4 ln N)`` — all P patterns are fixed points w.h.p.;
    * ``all_patterns=False``: ``P_max = N / (2 ln N)`` — any given pattern is a fixed point w.h.p.

    Regime: N → ∞; convergence is logarithmically slow (see :func:`all_stable_probability` for the
    finite-N counterpart).

    Args:
        n_neurons: N > 1, any shape.

    References:
        McEliece, Posner, Rodemich & Venkatesh, IEEE Trans. Inf. Theory 33, 461 (1987).
    """
    n = as_array(n_neurons, "n_neurons", gt=1)
    factor = 4.0 if as_flag(all_patterns, "all_patterns") else 2.0
    return scalar_or_array(n / (factor * np.log(n)), n_neurons)


def _count_args(n_patterns, n_inputs):
    p = as_array(n_patterns, "n_patterns", ge=1, le=_MAX_COUNT, integer=True)
    n = as_array(n_inputs, "n_inputs", ge=1, le=_MAX_COUNT, integer=True)
    return np.broadcast_arrays(p, n)


def cover_count(n_patterns, n_inputs):
    r"""Number of dichotomies of P points in general position in R^N separable by a hyperplane
    through the origin (Cover's function counting theorem):

    ``C(P, N) = 2 Σ_{k=0}^{N−1} binom(P−1, k)``   (= 2^P when P ≤ N).

    Summed in exact integer arithmetic over the min(N, P) non-zero terms and rounded once, so the
    result is the float64 nearest to C(P, N). The count exceeds the float64 range (≈ 1.8e308)
    already for P ≥ 1024 at P ≤ N and for C(2000, 1000) = 2^1999; it is then returned as
    ``inf`` — the honest rounding of a finite count too large to represent. Use
    :func:`log_cover_count` for ln C, or :func:`separable_probability` for C/2^P.

    Args:
        n_patterns: P ≥ 1 (integer ≤ 2^53), any shape.
        n_inputs: N ≥ 1 (integer ≤ 2^53), broadcast against ``n_patterns``.

    Returns:
        C(P, N) as float64 (+inf beyond the float64 range).

    References:
        Cover, IEEE Trans. Electron. Comput. EC-14, 326 (1965), Theorem 1.
    """
    p, n = _count_args(n_patterns, n_inputs)
    return scalar_or_array(_per_pair(_cover_count_scalar, p, n), n_patterns, n_inputs)


def log_cover_count(n_patterns, n_inputs):
    r"""Natural logarithm of Cover's count, ln C(P, N), finite for every P, N ≤ 2^53.

    For N ≤ 1023 the logarithm of the exact integer count; beyond,
    ``ln C(P, N) = P ln 2 + ln P(Binomial(P−1, ½) ≤ N−1)``: the binomial CDF where it is above
    1e-250, and in the deep lower tail (P ≫ 2N) the sum Σ_{k<N} binom(P−1, k) taken from its
    largest term k = N−1 downwards (the terms fall geometrically), ln binom from a Stirling
    difference that keeps its precision for P ~ 1e15.
    Relative accuracy ~1e-13 of ln C.

    Args: as :func:`cover_count`. Returns: ln C(P, N), float64.

    References:
        Cover, IEEE Trans. Electron. Comput. EC-14, 326 (1965), Theorem 1.
    """
    p, n = _count_args(n_patterns, n_inputs)
    return scalar_or_array(_per_pair(_log_cover_count_scalar, p, n), n_patterns, n_inputs)


def separable_probability(n_patterns, n_inputs):
    r"""Probability that a random dichotomy of P points in general position in R^N is linearly
    separable (through the origin): ``C(P, N) / 2^P = P(Binomial(P−1, ½) ≤ N−1)``.

    Equals 1 for P ≤ N, exactly ½ at P = 2N, and → step function at α = P/N = 2 as N → ∞.

    Args:
        n_patterns: P ≥ 1 (integer ≤ 2^53), any shape.
        n_inputs: N ≥ 1 (integer ≤ 2^53), broadcast against ``n_patterns``.

    References:
        Cover (1965); Gardner, J. Phys. A 21, 257 (1988) for the α_c = 2 limit.
    """
    p, n = _count_args(n_patterns, n_inputs)
    return scalar_or_array(stats.binom.cdf(n - 1, p - 1, 0.5), n_patterns, n_inputs)


def gardner_capacity(kappa):
    r"""Gardner's storage capacity of a perceptron with stability (margin) κ ≥ 0:

    ``α_c(κ) = [∫_{−κ}^{∞} Dt (t+κ)²]^{−1} = [(1+κ²) Φ(κ) + κ φ(κ)]^{−1}``,

    with ``Dt`` the standard Gaussian measure, Φ/φ its CDF/density. α_c(0) = 2 (Cover),
    α_c(0.5) ≈ 0.961, α_c(1) ≈ 0.520; decreasing in κ. Regime: N → ∞, random unbiased patterns,
    normalised weights (|w|² = N); replica symmetric, which is exact for κ ≥ 0.

    Args:
        kappa: margin κ ≥ 0, any shape.

    References:
        Gardner, J. Phys. A 21, 257 (1988), eq. (35); Gardner & Derrida, J. Phys. A 21, 271 (1988).
    """
    k = as_array(kappa, "kappa", ge=0)
    integral = (1.0 + k * k) * stats.norm.cdf(k) + k * stats.norm.pdf(k)
    return scalar_or_array(1.0 / integral, kappa)


def pseudo_inverse_capacity(n_neurons):
    r"""Capacity of the projection (pseudo-inverse) rule ``W = Ξ (ΞᵀΞ)^{−1} Ξᵀ``: P_max = N.

    Every stored pattern is an exact fixed point as long as the patterns are linearly
    independent, i.e. up to P = N (α = 1); the zero-diagonal variant has α_c = ½ for basins.

    References:
        Personnaz, Guyon & Dreyfus, J. Phys. Lett. 46, L359 (1985); Kanter & Sompolinsky,
        Phys. Rev. A 35, 380 (1987).
    """
    n = as_array(n_neurons, "n_neurons", ge=1)
    return scalar_or_array(n.copy(), n_neurons)


def storkey_capacity(n_neurons):
    r"""Capacity of the Storkey learning rule: ``P_max ≈ N / √(2 ln N)``.

    Regime: N → ∞, exact one-step recall of random patterns.

    References:
        Storkey, ICANN 1997; Storkey & Valabregue, Neural Networks 12, 869 (1999).
    """
    n = as_array(n_neurons, "n_neurons", gt=1)
    return scalar_or_array(n / np.sqrt(2.0 * np.log(n)), n_neurons)


def dense_bit_error_probability(n_neurons, n_patterns, degree, *, method: str = "asymptotic"):
    r"""One-step bit-error probability of a dense associative memory with F(x) = x^n.

    Krotov–Hopfield update ``σ_i ← sign Σ_μ ξ^μ_i [F(1 + x_μ) − F(−1 + x_μ)]``,
    ``x_μ = Σ_{j≠i} ξ^μ_j σ_j``. Started at a stored pattern, the signal is ≈ 2n N^{n−1} and the
    crosstalk of the other K−1 patterns has variance ≈ 4n² (2n−3)!! N^{n−1} (K−1), so

    ``P_err = ½ erfc(√(N^{n−1} / (2 (2n−3)!! K)))``.

    At fixed P_err the capacity grows like N^{n−1}; n = 2 recovers the Hebbian
    :func:`bit_error_probability`. Regime: N → ∞ at fixed K / N^{n−1}; the leading finite-size
    correction is a relative O(n²/N) shift of the signal-to-noise ratio. N^{n−1}/(2n−3)!! is
    taken from logarithms where either factor overflows float64.

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


# ------------------------------------------------------------------------------------------------
# Added for the hopfield.* claims (kernelcap issue 12): theory the claims used to compute inline.

__all__ += [
    "all_stable_capacity",
    "gaussian_crosstalk_error",
    "dense_capacity_constant",
    "dense_signal_to_noise",
]


def all_stable_capacity(n_neurons, level: float = 0.5):
    r"""Finite-N McEliece capacity: the number of patterns P_L at which all P patterns are one-step
    stable with probability ``level`` under the Poisson law of :func:`all_stable_probability`,

    ``exp(−N P · P_err^exact(N, P)) = L``,

    with P made continuous by linear interpolation of the probability between the two integers
    that bracket L (the first integer P where the probability falls below L and the one before).
    It approaches :func:`mceliece_capacity` ``N/(4 ln N)`` from above as N → ∞, logarithmically
    slowly: the ratio is 1.95 at N = 100, 1.58 at N = 1000 and 1.43 at N = 10⁴. Valid while
    P ≪ N (rare, weakly correlated errors).

    Args:
        n_neurons: N ≥ 2 (integer), any shape.
        level: L ∈ (0, 1), the probability that all patterns are stable; ½ gives the median
            capacity P_50.

    Returns:
        P_L ≥ 1, same shape as ``n_neurons`` (float for a scalar).

    References:
        McEliece, Posner, Rodemich & Venkatesh, IEEE Trans. Inf. Theory 33, 461 (1987).
    """
    n = as_array(n_neurons, "n_neurons", ge=2, integer=True)
    lv = float(as_array(level, "level", gt=0, lt=1))
    flat = n.ravel()
    out = np.empty(flat.shape)
    for value in np.unique(flat):
        top = int(value)
        while True:  # P = N always crosses L ≥ e^{-1} ≈ 0.37; smaller L may need larger P
            ps = np.arange(1.0, top + 1.0)
            prob = np.asarray(all_stable_probability(value, ps))
            below = np.nonzero(prob < lv)[0]
            if below.size:
                break
            top *= 2
        k = int(below[0])  # k ≥ 1: P = 1 has no crosstalk, probability 1
        x0, x1, f0, f1 = ps[k - 1], ps[k], prob[k - 1], prob[k]
        out[flat == value] = x0 + (f0 - lv) * (x1 - x0) / (f0 - f1)
    return scalar_or_array(out.reshape(n.shape), n_neurons)


def gaussian_crosstalk_error(snr):
    r"""Probability that a ±1 bit flips when its signal s is corrupted by zero-mean Gaussian
    crosstalk of variance σ², as a function of the signal-to-noise ratio S = s²/σ²:

    ``P_err = Φ(−√S) = ½ erfc(√(S/2))``.

    The universal curve behind the Hebbian and dense-memory error rates: S = N/P for the Hebbian
    rule (:func:`bit_error_probability`), S = N^{n−1} / ((2n−3)!! K) for a dense memory with
    F(x) = x^n (:func:`dense_signal_to_noise`). Regime: the crosstalk is a sum of many weakly
    dependent terms (central limit), i.e. N → ∞ at fixed S.

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
    dfact = special.factorial2((2 * d - 3).astype(np.int64), exact=False)
    return scalar_or_array(n ** (d - 1) / dfact, n_neurons, degree)


@functools.cache
def _dense_finite_moments(n: int, d: int) -> tuple[float, float]:
    """(signal F(N) − F(N−2), E[(F(x+1) − F(x−1))²]) for F(x) = x^d, x a sum of N−1 random ±1."""
    x = 2.0 * np.arange(n) - (n - 1)
    pmf = stats.binom.pmf(np.arange(n), n - 1, 0.5)
    g2 = float(np.sum(pmf * ((x + 1.0) ** d - (x - 1.0) ** d) ** 2))
    return float(n) ** d - float(n - 2) ** d, g2


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
            signal, g2 = _dense_finite_moments(int(n[idx]), int(d[idx]))
            kk = float(k[idx])
            out[idx] = math.inf if kk == 1 else signal**2 / ((kk - 1.0) * g2)
    return scalar_or_array(np.asarray(out, dtype=np.float64), n_neurons, n_patterns, degree)

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

from kernelcap.theory._hopfield_dense import (
    dense_bit_error_probability,
    dense_capacity,
    dense_capacity_constant,
    dense_signal_to_noise,
    gaussian_crosstalk_error,
    modern_hopfield_capacity,
    modern_retrieval_error_bound,
)
from kernelcap.theory._hopfield_numerics import (
    _cover_count_scalar,
    _log_cover_count_scalar,
    _per_pair,
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
    "all_stable_capacity",
    "dense_bit_error_probability",
    "dense_capacity",
    "dense_capacity_constant",
    "dense_signal_to_noise",
    "gaussian_crosstalk_error",
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

"""Double descent: exact risk curves of least squares, ridge and random-features regression.

Conventions (Hastie, Montanari, Rosset & Tibshirani 2022, "HMRT"): n samples, p features,
γ = p/n, rows xᵢ ~ N(0, I_p), yᵢ = xᵢᵀβ + εᵢ with E εᵢ² = σ² and ‖β‖² = r² (r² is the signal,
σ² the noise). Risks are *excess* risks E‖β̂ − β‖² = E_x[(xᵀβ̂ − xᵀβ)²] (the irreducible σ² of a
fresh noisy label is not included). Ridge is scaled per sample:

    β̂_λ = (XᵀX/n + λ I)⁻¹ Xᵀy/n,    i.e. argmin ‖y − Xb‖²/n + λ‖b‖²,

and in this scaling the optimal penalty is λ* = σ²γ/r² (= γ/SNR).

Everything here is NumPy/SciPy, vectorised with broadcasting, float64. The benign-overfitting
quantities (:func:`effective_ranks`, :func:`benign_overfitting_bound`) are defined in
``kernelcap.theory._benign_overfitting`` and re-exported here.
"""

from __future__ import annotations

import numpy as np

from kernelcap.theory._benign_overfitting import benign_overfitting_bound, effective_ranks
from kernelcap.theory._random_features import gauss_hermite, rf_bias_variance
from kernelcap.theory._validation import as_array, as_flag, as_int, finite_result, scalar_or_array

__all__ = [
    "ridgeless_risk",
    "marchenko_pastur_stieltjes",
    "ridge_risk",
    "optimal_ridge",
    "min_norm_risk_finite",
    "relu_hermite_coefficients",
    "hermite_coefficients",
    "random_features_risk",
    "effective_ranks",
    "benign_overfitting_bound",
]


def ridgeless_risk(gamma, r2=1.0, sigma2=1.0):
    """Asymptotic excess risk of min-norm least squares with isotropic Gaussian features.

        R(γ) = σ² γ / (1 − γ)                      for γ < 1,
        R(γ) = r² (1 − 1/γ) + σ² / (γ − 1)         for γ > 1,   R(1) = ∞,

    γ = p/n (parameters per sample), r² = ‖β‖², σ² the label-noise variance. Valid as n, p → ∞
    at fixed γ (for finite n see :func:`min_norm_risk_finite`).

    Args:
        gamma: γ > 0, any shape. r2: r² ≥ 0. sigma2: σ² ≥ 0 (broadcast together).

    Returns:
        R with the broadcast shape (a float for scalar inputs).

    Reference: Hastie, Montanari, Rosset & Tibshirani (2022), Ann. Statist. 50(2), Thm 1 / Cor 1.
    """
    g = as_array(gamma, "gamma", gt=0)
    r = as_array(r2, "r2", ge=0)
    s = as_array(sigma2, "sigma2", ge=0)
    g, r, s = np.broadcast_arrays(g, r, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        under = s * g / (1.0 - g)
        over = r * (1.0 - 1.0 / g) + s / (g - 1.0)
    out = np.where(g < 1, under, over)
    out = np.where(g == 1, np.inf, out)
    return scalar_or_array(out, gamma, r2, sigma2)


def marchenko_pastur_stieltjes(lam, gamma):
    """Stieltjes transform of the Marchenko–Pastur law on the negative real axis.

        m(−λ) = ∫ dμ_γ(s) / (s + λ) = [−(1 − γ + λ) + √((1 − γ + λ)² + 4γλ)] / (2γλ),

    where μ_γ is the limiting spectrum of XᵀX/n for X with i.i.d. N(0, 1) entries and γ = p/n
    (with its atom of mass 1 − 1/γ at 0 when γ > 1). It is the positive root of
    γλ m² + (1 − γ + λ) m − 1 = 0, taken in the form without cancellation on each side of
    1 − γ + λ = 0 (the single form lost ~log10(1/λ) digits for γ > 1), to full relative precision
    for λ, γ anywhere in [1e-300, 1e300].

    Args:
        lam: λ > 0, any shape. gamma: γ > 0 (broadcast).

    Reference: Marchenko & Pastur (1967); Bai & Silverstein (2010), §3.3.
    """
    lam_ = as_array(lam, "lam", gt=0)
    g = as_array(gamma, "gamma", gt=0)
    m = _mp_stieltjes(lam_, g)
    return scalar_or_array(m, lam, gamma)


def _mp_stieltjes(lam, g):
    b2 = 0.5 * (1.0 - g + lam)  # b/2 with b = 1 − γ + λ
    h2 = np.hypot(b2, np.sqrt(g) * np.sqrt(lam))  # √(b² + 4γλ)/2 without overflow
    # The positive root in whichever form adds terms of equal sign: 2/(b + h) for b ≥ 0 (small λ,
    # γ < 1) and (h − b)/(2γλ) for b < 0 (γ > 1, where b + h cancels catastrophically).
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        pos = 1.0 / (b2 + h2)
        neg = ((h2 - b2) / g) / lam
    return np.where(b2 >= 0, pos, neg)


def _ridge_bias_variance(g, lam):
    """Asymptotic ∫λ²/(s+λ)² dμ_γ and γ∫s/(s+λ)² dμ_γ (bias per r², variance per σ²).

    Evaluated as κ²/D and γ/D (HMRT's isotropic closed form, equal to the Marchenko–Pastur
    integrals of :func:`ridge_risk`), with κ the positive root of κ² − (λ+γ−1)κ − λ = 0 and
    D = (1+κ)² − γ = (κ + (1−γ)/(1+√γ))·(1 + κ + √γ). Every step adds terms of one sign: the
    roots are taken in the form without cancellation, and D's first factor is ≥ κ/2 for γ ≥ 1
    (κ ≥ γ − 1 there), so the risk keeps full relative precision from λ = 1e-300 (the ridgeless
    peak at γ = 1 is ~1/(2√λ)) to λ = 1e300, where κ ~ λ would overflow if squared.
    """
    rg = np.sqrt(g)
    c2 = 0.5 * (lam + (g - 1.0))  # c/2 with c = λ + γ − 1
    h = np.hypot(c2, np.sqrt(lam))  # √(c²/4 + λ)
    with np.errstate(divide="ignore", invalid="ignore"):
        k2 = np.where(c2 >= 0, 0.5 * c2 + 0.5 * h, 0.5 * lam / (h - c2))  # κ/2
    a2 = 0.5 * (1.0 - g) / (1.0 + rg)  # half of (1−γ)/(1+√γ)
    f1 = k2 + a2  # (κ + (1−γ)/(1+√γ))/2 > 0
    f2 = 0.5 + k2 + 0.5 * rg  # (1 + κ + √γ)/2
    bias = (k2 / f1) * (k2 / f2)
    var = 0.25 * (g / f1) / f2
    return bias, var


def ridge_risk(gamma, lam, r2=1.0, sigma2=1.0):
    """Asymptotic excess risk of ridge regression with isotropic Gaussian features.

        R(γ, λ) = r² λ² ∫ dμ_γ(s)/(s+λ)²  +  σ² γ ∫ s dμ_γ(s)/(s+λ)²,

    μ_γ the Marchenko–Pastur law of XᵀX/n (see :func:`marchenko_pastur_stieltjes`); with
    m = m(−λ) the integrals are ∫(s+λ)⁻² = m²(1+γm)/(1+γλm²) and ∫s(s+λ)⁻² = m − λ∫(s+λ)⁻².
    Equivalently (HMRT's closed form, the one evaluated here)

        R(γ, λ) = (r² κ² + σ² γ) / ((1+κ)² − γ),   κ = [(λ+γ−1) + √((λ+γ−1)² + 4λ)] / 2,

    computed without cancellation (the m-form loses ~log10(1/λ) digits for γ > 1, which put
    R(456005, 1e-8) below the optimal-ridge risk), so R ≥ R(γ, λ*) at every λ to rounding.
    β̂_λ = (XᵀX/n + λI)⁻¹Xᵀy/n, γ = p/n, r² = ‖β‖², σ² noise variance, n, p → ∞. As λ → 0 it
    tends to :func:`ridgeless_risk` (at γ = 1 it grows like σ²/(2√λ)); as λ → ∞ to r².

    Args:
        gamma: γ > 0; lam: λ > 0; r2: r² ≥ 0; sigma2: σ² ≥ 0 (all broadcast, finite).

    Raises:
        OverflowError: when r² or σ² is so large that the risk exceeds the float64 range.

    Reference: Hastie, Montanari, Rosset & Tibshirani (2022), Thm 2 / Cor 5 (isotropic case);
    Dobriban & Wager (2018), Thm 2.1.
    """
    g = as_array(gamma, "gamma", gt=0)
    la = as_array(lam, "lam", gt=0)
    r = as_array(r2, "r2", ge=0)
    s = as_array(sigma2, "sigma2", ge=0)
    bias, var = _ridge_bias_variance(g, la)
    with np.errstate(over="ignore"):
        risk = finite_result(r * bias + s * var, "ridge_risk")
    return scalar_or_array(risk, gamma, lam, r2, sigma2)


def optimal_ridge(gamma, r2=1.0, sigma2=1.0):
    """Optimal ridge penalty and its asymptotic risk: λ* = σ²γ/r², R* = ridge_risk(γ, λ*).

    In the per-sample scaling β̂_λ = (XᵀX/n + λI)⁻¹Xᵀy/n (HMRT's), λ* = σ²γ/r² = γ/SNR with
    SNR = r²/σ²; R* is increasing in γ (no peak) and tends to r² as γ → ∞. Needs r² > 0, σ² > 0;
    raises ``OverflowError`` when λ* over- or underflows float64.

    Returns:
        (lam_star, risk_star), each with the broadcast shape (floats for scalar inputs).

    Reference: Hastie, Montanari, Rosset & Tibshirani (2022), Thm 2 and Fig. 3; Dobriban & Wager
    (2018), Thm 2.1.
    """
    g = as_array(gamma, "gamma", gt=0)
    r = as_array(r2, "r2", gt=0)
    s = as_array(sigma2, "sigma2", gt=0)
    with np.errstate(over="ignore", under="ignore"):
        lam = (s / r) * g
    if np.any((lam == 0) | np.isinf(lam)):
        raise OverflowError(
            "optimal_ridge: λ* = σ²γ/r² is outside the float64 range for these inputs"
        )
    bias, var = _ridge_bias_variance(g, lam)
    with np.errstate(over="ignore"):
        risk = finite_result(r * bias + s * var, "optimal_ridge")
    return scalar_or_array(lam, gamma, r2, sigma2), scalar_or_array(risk, gamma, r2, sigma2)


def min_norm_risk_finite(n, p, r2=1.0, sigma2=1.0):
    """Exact expected excess risk of min-norm least squares for Gaussian design at finite n, p.

        E‖β̂ − β‖² = σ² p / (n − p − 1)                         for p ≤ n − 2,
        E‖β̂ − β‖² = r² (1 − n/p) + σ² n / (p − n − 1)           for p ≥ n + 2,

    and +∞ for n − 1 ≤ p ≤ n + 1, where the inverse-Wishart mean E[(XᵀX)⁻¹] (resp. E[(XXᵀ)⁻¹])
    does not exist: the expectation is undefined/infinite there, not just large. Rows
    xᵢ ~ N(0, I_p) i.i.d., β fixed with ‖β‖² = r² (the (1 − n/p) factor is exact by rotation
    invariance), noise variance σ². β̂ = X⁺y. As n → ∞ at p/n = γ this tends to
    :func:`ridgeless_risk`.

    Args:
        n: samples, integer in [1, 2^53]; p: features, integer in [1, 2^53] (broadcast; beyond
            2^53 the band n − 1 ≤ p ≤ n + 1 cannot be told apart in float64). r2, sigma2: ≥ 0.

    Reference: Breiman & Freedman (1983), JASA 78; Belkin, Hsu & Xu (2020), SIAM J. Math. Data
    Sci. 2(4), Thm 1.
    """
    n_ = as_array(n, "n", integer=True, ge=1, le=2.0**53)
    p_ = as_array(p, "p", integer=True, ge=1, le=2.0**53)
    r = as_array(r2, "r2", ge=0)
    s = as_array(sigma2, "sigma2", ge=0)
    n_, p_, r, s = np.broadcast_arrays(n_, p_, r, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        under = s * p_ / (n_ - p_ - 1.0)
        over = r * (1.0 - n_ / p_) + s * n_ / (p_ - n_ - 1.0)
    out = np.where(p_ <= n_ - 2, under, np.where(p_ >= n_ + 2, over, np.inf))
    return scalar_or_array(out, n, p, r2, sigma2)


def relu_hermite_coefficients(centered: bool = True) -> tuple[float, float, float]:
    """(μ0, μ1, μ*) of σ(u) = max(u, 0) (minus its mean when ``centered``) for u ~ N(0, 1).

        μ0 = E σ(G),  μ1 = E G σ(G),  μ*² = E σ(G)² − μ0² − μ1².

    For ReLU: E relu(G) = 1/√(2π), E G relu(G) = 1/2, E relu(G)² = 1/2, so μ*² = 1/4 − 1/(2π).
    """
    centered = as_flag(centered, "centered")
    mean = 1.0 / np.sqrt(2.0 * np.pi)
    mu0 = 0.0 if centered else mean
    mu1 = 0.5
    mu_star = np.sqrt(0.5 - mean**2 - mu1**2)
    return float(mu0), float(mu1), float(mu_star)


_MAX_NODES = 4096  # O(n²) time: 4096 nodes take ~2 s


def hermite_coefficients(activation, n_nodes: int = 201) -> tuple[float, float, float]:
    """(μ0, μ1, μ*) of any activation σ by Gauss–Hermite quadrature, G ~ N(0, 1).

        μ0 = E σ(G),  μ1 = E G σ(G),  μ*² = E σ(G)² − μ0² − μ1².

    Args:
        activation: a NumPy-vectorised callable σ returning finite values of its input's shape.
        n_nodes: quadrature nodes, 2 ≤ n ≤ 4096 (exact for polynomials of degree < 2·n_nodes;
            smooth σ converge fast, ReLU to ~1e-4). Nodes reach ±√(4n); an activation that is
            not finite there (e.g. exp(u²)) has no finite μ*, and raises ``ValueError``.

    Reference: Mei & Montanari (2022), eq. (6) (the coefficients entering ζ = μ1/μ*); Golub &
    Welsch (1969), Math. Comp. 23 (the quadrature).
    """
    n_nodes = as_int(n_nodes, "n_nodes", ge=2, le=_MAX_NODES)
    if not callable(activation):
        raise TypeError(f"activation must be callable, got {type(activation).__name__}")
    u, w = gauss_hermite(n_nodes)
    s = np.asarray(activation(u), dtype=np.float64)
    if s.shape != u.shape:
        raise ValueError(f"activation must return an array of its input's shape, got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("activation returned non-finite values at the quadrature nodes")
    with np.errstate(over="ignore"):
        mu0, mu1, second = float(w @ s), float(w @ (u * s)), float(w @ (s * s))
    if not np.isfinite(second):
        raise OverflowError("hermite_coefficients: E σ(G)² exceeds the float64 range")
    return mu0, mu1, float(np.sqrt(max(second - mu0**2 - mu1**2, 0.0)))


_PSI_RANGE = (1e-50, 1e50)  # beyond it the polynomials E0, E1, E2 overflow float64
_ZETA_MAX = 1e6


def random_features_risk(
    n_features_per_dim,
    n_samples_per_dim,
    lam,
    f1_sq=1.0,
    tau2=0.0,
    f_star_sq=0.0,
    mu1=None,
    mu_star=None,
):
    """Asymptotic test risk of random-features ridge regression (Mei & Montanari 2019).

    Model: xᵢ, θ_a uniform on the sphere of radius √d, features σ(⟨θ_a, x⟩/√d) (a = 1..N),
    yᵢ = ⟨β1, xᵢ⟩ + f_NL(xᵢ) + εᵢ with ‖β1‖² = F1², E f_NL² = F*², E εᵢ² = τ²; the second-layer
    weights solve min_a (1/n)Σᵢ(yᵢ − Σ_a a_a σ(⟨θ_a,xᵢ⟩/√d))² + (Nλ/d)‖a‖². With ψ1 = N/d,
    ψ2 = n/d, ζ = μ1/μ* (Hermite coefficients of σ; μ0 must be 0, e.g. centered ReLU),
    λ̄ = λ/μ*², the risk E_x[(f(x) − f̂(x))²] → F1²·B + (τ² + F*²)·V + F*² with B = E1/E0,
    V = E2/E0, where, with χ = ν1ν2 at ξ = i√(ψ1ψ2λ̄) and (ν1, ν2) the fixed point of

        ν1 = ψ1 (−ξ − ν2 − ζ²ν2/(1 − ζ²ν1ν2))⁻¹,   ν2 = ψ2 (−ξ − ν1 − ζ²ν1/(1 − ζ²ν1ν2))⁻¹,

        E0 = −χ⁵ζ⁶ + 3χ⁴ζ⁴ + (ψ1ψ2 − ψ2 − ψ1 + 1)χ³ζ⁶ − 2χ³ζ⁴ − 3χ³ζ²
             + (ψ1 + ψ2 − 3ψ1ψ2 + 1)χ²ζ⁴ + 2χ²ζ² + χ² + 3ψ1ψ2χζ² − ψ1ψ2,
        E1 = ψ2χ³ζ⁴ − ψ2χ²ζ² + ψ1ψ2χζ² − ψ1ψ2,
        E2 = χ⁵ζ⁶ − 3χ⁴ζ⁴ + (ψ1 − 1)χ³ζ⁶ + 2χ³ζ⁴ + 3χ³ζ² + (−ψ1 − 1)χ²ζ⁴ − 2χ²ζ² − χ².

    ζ = μ1/μ* (not μ1²/μ*² as printed in the paper's introduction). Valid as N, n, d → ∞ at fixed
    ψ1, ψ2; for λ → 0 it gives the min-norm (ridgeless) curve, which peaks at N = n (ψ1 = ψ2):
    there the risk grows like λ^{−1/2} (≈ 2e149 at ψ1 = ψ2 = 1, λ = 1e-300), away from it it
    tends to the finite ridgeless value.

    Numerics (``kernelcap.theory._random_features``): the fixed point is reduced to one real
    equation for χ and solved to ~1 ulp; E0, which vanishes at the peak, is evaluated in a
    factorised form, so the result keeps full precision for every λ > 0 (the previous damped
    iteration lost ~1e-13 at ordinary inputs and returned negative risks for λ ≤ 1e-30 at
    ψ1 = ψ2).

    Args:
        n_features_per_dim: ψ1 = N/d; n_samples_per_dim: ψ2 = n/d, both in [1e-50, 1e50] (beyond
            it the polynomials overflow float64); lam: λ > 0 (broadcast together).
            f1_sq, tau2, f_star_sq: F1², τ², F*² ≥ 0 (scalars).
        mu1: the Hermite coefficient μ1, with |μ1|/μ* ≤ 1e6 (default: centered ReLU,
            :func:`relu_hermite_coefficients`).
        mu_star: μ* (default: centered ReLU).

    Raises:
        ValueError: arguments outside these ranges.
        OverflowError: F², τ² so large that the risk exceeds the float64 range.

    Reference: Mei & Montanari (2022), Comm. Pure Appl. Math. 75(4), Thm 1 and Def. 1
    (arXiv:1908.05355).
    """
    lo, hi = _PSI_RANGE
    psi1 = as_array(n_features_per_dim, "n_features_per_dim", ge=lo, le=hi)
    psi2 = as_array(n_samples_per_dim, "n_samples_per_dim", ge=lo, le=hi)
    la = as_array(lam, "lam", gt=0)
    f1 = float(as_array(f1_sq, "f1_sq", ge=0))
    t2 = float(as_array(tau2, "tau2", ge=0))
    fs = float(as_array(f_star_sq, "f_star_sq", ge=0))
    _, d_mu1, d_mus = relu_hermite_coefficients(centered=True)
    m1 = d_mu1 if mu1 is None else float(as_array(mu1, "mu1"))
    ms = d_mus if mu_star is None else float(as_array(mu_star, "mu_star", gt=0))
    if abs(m1) > _ZETA_MAX * ms:
        raise ValueError(f"|mu1|/mu_star must be <= {_ZETA_MAX:g}, got {abs(m1) / ms!r}")
    psi1, psi2, la = np.broadcast_arrays(psi1, psi2, la)
    z2 = (m1 / ms) ** 2
    with np.errstate(under="ignore"):
        lam_bar = la / ms**2
    if not np.all(np.isfinite(lam_bar)):
        raise OverflowError("random_features_risk: λ/μ*² exceeds the float64 range")
    bias, var = rf_bias_variance(psi1, psi2, z2, lam_bar)
    with np.errstate(over="ignore"):
        risk = finite_result(f1 * bias + (t2 + fs) * var + fs, "random_features_risk")
    return scalar_or_array(risk, n_features_per_dim, n_samples_per_dim, lam)

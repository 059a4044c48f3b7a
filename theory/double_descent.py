"""Double descent: exact risk curves of least squares, ridge and random-features regression.

Conventions (Hastie, Montanari, Rosset & Tibshirani 2022, "HMRT"): n samples, p features,
γ = p/n, rows xᵢ ~ N(0, I_p), yᵢ = xᵢᵀβ + εᵢ with E εᵢ² = σ² and ‖β‖² = r² (r² is the signal,
σ² the noise). Risks are *excess* risks E‖β̂ − β‖² = E_x[(xᵀβ̂ − xᵀβ)²] (the irreducible σ² of a
fresh noisy label is not included). Ridge is scaled per sample:

    β̂_λ = (XᵀX/n + λ I)⁻¹ Xᵀy/n,    i.e. argmin ‖y − Xb‖²/n + λ‖b‖²,

and in this scaling the optimal penalty is λ* = σ²γ/r² (= γ/SNR).

Everything here is NumPy/SciPy, vectorised with broadcasting, float64.
"""

from __future__ import annotations

import numpy as np

from kernelcap.theory._validation import as_array, as_int, scalar_or_array

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
    γλ m² + (1 − γ + λ) m − 1 = 0.

    Args:
        lam: λ > 0, any shape. gamma: γ > 0 (broadcast).

    Reference: Marchenko & Pastur (1967); Bai & Silverstein (2010), §3.3.
    """
    lam_ = as_array(lam, "lam", gt=0)
    g = as_array(gamma, "gamma", gt=0)
    m = _mp_stieltjes(lam_, g)
    return scalar_or_array(m, lam, gamma)


def _mp_stieltjes(lam, g):
    b = 1.0 - g + lam
    # 2/(b + √(b² + 4γλ)) is the same root written without cancellation for small λ.
    return 2.0 / (b + np.sqrt(b * b + 4.0 * g * lam))


def _ridge_bias_variance(g, lam):
    """Asymptotic ∫λ²/(s+λ)² dμ_γ and γ∫s/(s+λ)² dμ_γ (bias per r², variance per σ²)."""
    m = _mp_stieltjes(lam, g)
    # Implicit differentiation of γλm² + (1−γ+λ)m − 1 = 0 gives ∫(s+λ)⁻² = m²(1+γm)/(1+γλm²).
    m2 = m * m * (1.0 + g * m) / (1.0 + g * lam * m * m)
    return lam * lam * m2, g * (m - lam * m2)


def ridge_risk(gamma, lam, r2=1.0, sigma2=1.0):
    """Asymptotic excess risk of ridge regression with isotropic Gaussian features.

        R(γ, λ) = r² λ² ∫ dμ_γ(s)/(s+λ)²  +  σ² γ ∫ s dμ_γ(s)/(s+λ)²,

    μ_γ the Marchenko–Pastur law of XᵀX/n (see :func:`marchenko_pastur_stieltjes`); with
    m = m(−λ) the integrals are ∫(s+λ)⁻² = m²(1+γm)/(1+γλm²) and ∫s(s+λ)⁻² = m − λ∫(s+λ)⁻².
    β̂_λ = (XᵀX/n + λI)⁻¹Xᵀy/n, γ = p/n, r² = ‖β‖², σ² noise variance, n, p → ∞. As λ → 0 it
    tends to :func:`ridgeless_risk`.

    Args:
        gamma: γ > 0; lam: λ > 0; r2: r² ≥ 0; sigma2: σ² ≥ 0 (all broadcast).

    Reference: Hastie, Montanari, Rosset & Tibshirani (2022), Thm 2 / Cor 5 (isotropic case);
    Dobriban & Wager (2018), Thm 2.1.
    """
    g = as_array(gamma, "gamma", gt=0)
    la = as_array(lam, "lam", gt=0)
    r = as_array(r2, "r2", ge=0)
    s = as_array(sigma2, "sigma2", ge=0)
    bias, var = _ridge_bias_variance(g, la)
    return scalar_or_array(r * bias + s * var, gamma, lam, r2, sigma2)


def optimal_ridge(gamma, r2=1.0, sigma2=1.0):
    """Optimal ridge penalty and its asymptotic risk: λ* = σ²γ/r², R* = ridge_risk(γ, λ*).

    In the per-sample scaling β̂_λ = (XᵀX/n + λI)⁻¹Xᵀy/n (HMRT's), λ* = σ²γ/r² = γ/SNR with
    SNR = r²/σ²; R* is increasing in γ (no peak) and tends to r² as γ → ∞. Needs r² > 0, σ² > 0.

    Returns:
        (lam_star, risk_star), each with the broadcast shape (floats for scalar inputs).

    Reference: Hastie, Montanari, Rosset & Tibshirani (2022), Thm 2 and Fig. 3; Dobriban & Wager
    (2018), Thm 2.1.
    """
    g = as_array(gamma, "gamma", gt=0)
    r = as_array(r2, "r2", gt=0)
    s = as_array(sigma2, "sigma2", gt=0)
    lam = s * g / r
    bias, var = _ridge_bias_variance(g, lam)
    risk = r * bias + s * var
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
        n: samples, integer ≥ 1; p: features, integer ≥ 1 (broadcast). r2, sigma2: ≥ 0.

    Reference: Breiman & Freedman (1983), JASA 78; Belkin, Hsu & Xu (2020), SIAM J. Math. Data
    Sci. 2(4), Thm 1.
    """
    n_ = as_array(n, "n", integer=True, ge=1)
    p_ = as_array(p, "p", integer=True, ge=1)
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
    mean = 1.0 / np.sqrt(2.0 * np.pi)
    mu0 = 0.0 if centered else mean
    mu1 = 0.5
    mu_star = np.sqrt(0.5 - mean**2 - mu1**2)
    return float(mu0), float(mu1), float(mu_star)


def hermite_coefficients(activation, n_nodes: int = 201) -> tuple[float, float, float]:
    """(μ0, μ1, μ*) of any activation σ by Gauss–Hermite quadrature, G ~ N(0, 1).

        μ0 = E σ(G),  μ1 = E G σ(G),  μ*² = E σ(G)² − μ0² − μ1².

    Args:
        activation: a NumPy-vectorised callable σ. n_nodes: quadrature nodes (exact for
            polynomials of degree < 2·n_nodes; smooth σ converge fast, ReLU to ~1e-4).

    Reference: Mei & Montanari (2022), eq. (6) (the coefficients entering ζ = μ1/μ*).
    """
    n_nodes = as_int(n_nodes, "n_nodes", ge=2)
    if not callable(activation):
        raise TypeError(f"activation must be callable, got {type(activation).__name__}")
    u, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    s = np.asarray(activation(u), dtype=np.float64)
    mu0, mu1 = float(w @ s), float(w @ (u * s))
    return mu0, mu1, float(np.sqrt(max(w @ (s * s) - mu0**2 - mu1**2, 0.0)))


def _rf_chi(zeta, psi1, psi2, lam_bar, iters=20000, tol=1e-13):
    """χ = ν1 ν2 at ξ = i√(ψ1ψ2λ̄), solving the Mei–Montanari fixed point with damping."""
    xi = 1j * np.sqrt(psi1 * psi2 * lam_bar)
    z2 = zeta * zeta
    nu1 = 1j * np.ones_like(xi)
    nu2 = 1j * np.ones_like(xi)
    for _ in range(iters):
        d = 1.0 - z2 * nu1 * nu2
        new1 = psi1 / (-xi - nu2 - z2 * nu2 / d)
        new2 = psi2 / (-xi - nu1 - z2 * nu1 / d)
        step = max(np.max(np.abs(new1 - nu1)), np.max(np.abs(new2 - nu2)))
        nu1 = 0.5 * nu1 + 0.5 * new1
        nu2 = 0.5 * nu2 + 0.5 * new2
        if step < tol:
            break
    return (nu1 * nu2).real


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
    ψ1, ψ2; for λ → 0 it gives the min-norm (ridgeless) curve, which peaks at N = n (ψ1 = ψ2).

    Args:
        n_features_per_dim: ψ1 = N/d > 0; n_samples_per_dim: ψ2 = n/d > 0; lam: λ > 0
            (broadcast together). f1_sq, tau2, f_star_sq: F1², τ², F*² ≥ 0 (scalars).
        mu1, mu_star: Hermite coefficients (default: centered ReLU,
            :func:`relu_hermite_coefficients`).

    Reference: Mei & Montanari (2022), Comm. Pure Appl. Math. 75(4), Thm 1 and Def. 1
    (arXiv:1908.05355).
    """
    psi1 = as_array(n_features_per_dim, "n_features_per_dim", gt=0)
    psi2 = as_array(n_samples_per_dim, "n_samples_per_dim", gt=0)
    la = as_array(lam, "lam", gt=0)
    f1 = float(as_array(f1_sq, "f1_sq", ge=0))
    t2 = float(as_array(tau2, "tau2", ge=0))
    fs = float(as_array(f_star_sq, "f_star_sq", ge=0))
    _, d_mu1, d_mus = relu_hermite_coefficients(centered=True)
    m1 = d_mu1 if mu1 is None else float(as_array(mu1, "mu1"))
    ms = d_mus if mu_star is None else float(as_array(mu_star, "mu_star", gt=0))
    psi1, psi2, la = np.broadcast_arrays(psi1, psi2, la)
    z = m1 / ms
    chi = _rf_chi(z, psi1.astype(complex), psi2.astype(complex), la / ms**2)
    p1, p2 = psi1, psi2
    z2, z4, z6 = z**2, z**4, z**6
    e0 = (
        -(chi**5) * z6
        + 3 * chi**4 * z4
        + (p1 * p2 - p2 - p1 + 1) * chi**3 * z6
        - 2 * chi**3 * z4
        - 3 * chi**3 * z2
        + (p1 + p2 - 3 * p1 * p2 + 1) * chi**2 * z4
        + 2 * chi**2 * z2
        + chi**2
        + 3 * p1 * p2 * chi * z2
        - p1 * p2
    )
    e1 = p2 * chi**3 * z4 - p2 * chi**2 * z2 + p1 * p2 * chi * z2 - p1 * p2
    e2 = (
        chi**5 * z6
        - 3 * chi**4 * z4
        + (p1 - 1) * chi**3 * z6
        + 2 * chi**3 * z4
        + 3 * chi**3 * z2
        + (-p1 - 1) * chi**2 * z4
        - 2 * chi**2 * z2
        - chi**2
    )
    risk = f1 * e1 / e0 + (t2 + fs) * e2 / e0 + fs
    return scalar_or_array(risk, n_features_per_dim, n_samples_per_dim, lam)


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
    tail = np.cumsum(lam[::-1])[::-1]  # tail[j] = Σ_{i≥j} λᵢ (0-based)
    tail2 = np.cumsum((lam**2)[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = tail[kk] / lam[kk]
        big_r = tail[kk] ** 2 / tail2[kk]
    if np.any(~np.isfinite(r)):
        raise ValueError("eigenvalues: λ_{k+1} must be > 0 for every requested k")
    return scalar_or_array(r, k), scalar_or_array(big_r, k)


def benign_overfitting_bound(eigenvalues, n, b=1.0):
    """Critical index and variance terms of benign overfitting (Bartlett et al. 2020, Thm 4).

        k* = min{k ≥ 0 : r_k ≥ b n},     variance ≍ k*/n + n / R_{k*},

    the excess risk of min-norm interpolation is small iff k*/n → 0 and n/R_{k*} → 0 (up to
    constants and the bias term ‖θ*‖² ‖Σ‖ √(r_0/n)). Returns a dict with ``k_star`` (−1 if no k
    qualifies), ``r_k``, ``R_k``, ``k_over_n``, ``n_over_R``, ``variance_term``
    (= k*/n + n/R_{k*}) and ``bias_scale`` = ‖Σ‖ max(√(r_0/n), r_0/n).

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

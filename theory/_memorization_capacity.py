"""Capacity thresholds and the risk of min-norm interpolation (re-exported by
:mod:`kernelcap.theory.memorization`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from kernelcap.theory._validation import as_array, as_int, scalar_or_array
from kernelcap.theory.hopfield import _MAX_COUNT, separable_probability


def relu_effective_parameters(width, dim, *, bias: bool = True):
    r"""Rank bound of the Jacobian of a two-layer ReLU net x ↦ Σ_j v_j relu(w_jᵀx + b_j) + c:

        P_eff = H(d + 1) + 1   (with biases; H·d + 1 without b_j),

    one less per hidden unit than the H(d + 2) + 1 parameters, since the rescaling
    (w_j, b_j, v_j) → (a w_j, a b_j, v_j/a), a > 0, leaves the function unchanged. A network can
    interpolate n generic real targets only if P_eff ≥ n (its image is at most P_eff-dimensional).
    P_eff is an upper bound on the rank of the Jacobian: at a random init it is reached only when
    every unit is active on enough samples (n well above P_eff), and for d = 1 without biases the
    rank stops lower, so the linearized net may need P_eff somewhat above n to fit.

    References: Zhang et al., "Understanding deep learning requires rethinking generalization",
    ICLR 2017, Thm 1; Yun, Sra & Jadbabaie, NeurIPS 2019.
    """
    h = as_array(width, "width", ge=1, integer=True)
    d = as_array(dim, "dim", ge=1, integer=True)
    return scalar_or_array(h * (d + (1 if bias else 0)) + 1, width, dim)


def random_label_train_error(n_features, n_samples):
    r"""Expected minimum training MSE of a linear model with P generic features on n random targets
    y ~ N(0, I_n), relative to the target variance:

        E‖(I − Π_P) y‖² / n = (n − P)₊ / n = (1 − P/n)₊,

    Π_P the projection onto the P-dimensional column space (rank min(P, n) for features in general
    position). The fit threshold is P = n: random real labels are interpolated iff P ≥ n.

    References: the rank argument behind Belkin, Hsu, Ma & Mandal, PNAS 2019 (interpolation
    threshold); Zhang et al., ICLR 2017 (random labels).
    """
    p = as_array(n_features, "n_features", ge=0)
    n = as_array(n_samples, "n_samples", gt=0)
    return scalar_or_array(np.clip(1.0 - p / n, 0.0, None), n_features, n_samples)


def sign_fit_probability(n_samples, n_features):
    r"""Probability that a linear readout of P features in general position (no bias) fits n random
    ±1 labels exactly: Cover's C(n, P)/2ⁿ = P(Binomial(n − 1, ½) ≤ P − 1) — 1 for n ≤ P, ½ at
    n = 2P, a step at n/P = 2 as P → ∞ (:func:`kernelcap.theory.hopfield.separable_probability`).

    References: Cover, IEEE Trans. Electron. Comput. 1965.
    """
    n = as_array(n_samples, "n_samples", ge=1, le=_MAX_COUNT, integer=True)
    p = as_array(n_features, "n_features", ge=1, le=_MAX_COUNT, integer=True)
    return scalar_or_array(separable_probability(n, p), n_samples, n_features)


@dataclass(frozen=True)
class MinNormRisk:
    """Deterministic-equivalent risk of min-norm interpolation (see :func:`min_norm_risk_spectrum`):
    ``risk`` = ``bias`` + ``variance``, the effective regularization ``kappa`` and ``df2``."""

    risk: float
    bias: float
    variance: float
    kappa: float
    df2: float


def min_norm_risk_spectrum(eigenvalues, signal, n, sigma2: float = 1.0) -> MinNormRisk:
    r"""Excess risk E(x·(θ̂ − θ*))² of the min-norm interpolant θ̂ = X⁺y, x ~ N(0, Σ), y = Xθ* + ε.

    With Σ = diag(λ_1, …, λ_p) (rank > n) and the signal energies s_i = λ_i θ*_i², the effective
    regularization κ > 0 solves Σ_i λ_i/(λ_i + κ) = n; with df₂ = Σ_i λ_i²/(λ_i + κ)²,

        variance = σ² df₂ / (n − df₂),
        bias = κ² Σ_i s_i / (λ_i + κ)² · n / (n − df₂).

    For Σ = I_p this is HMRT's r²(1 − 1/γ) + σ²/(γ − 1). Bartlett et al.'s conditions (r_0 = o(n),
    k*/n → 0, n/R_{k*} → 0) are those under which both terms vanish as n grows: benign
    overfitting (the noise is interpolated, yet the risk → 0). Deterministic equivalent:
    exact as n, p → ∞ with relative error Õ(n^{−1/2}) at finite n.

    Args:
        eigenvalues: (p,) λ_i ≥ 0 with more than n positive.
        signal: (p,) s_i = λ_i θ*_i² ≥ 0, or a scalar r² spread as θ*_i² = r²/p.
        n: samples. sigma2: noise variance σ² ≥ 0.

    References: Hastie, Montanari, Rosset & Tibshirani, Ann. Stat. 2022, Thm 5 (general Σ);
    Bartlett, Long, Lugosi & Tsigler, PNAS 2020; Cheng & Montanari, "Dimension free ridge
    regression", Ann. Stat. 2024 (non-asymptotic bounds); Bach, SIAM J. Math. Data Sci. 2024.
    """
    lam = as_array(eigenvalues, "eigenvalues", ge=0).ravel()
    n = as_int(n, "n", ge=1)
    sigma2 = float(as_array(sigma2, "sigma2", ge=0))
    sig = as_array(signal, "signal", ge=0)
    sig = lam * float(sig) / lam.size if sig.ndim == 0 else sig.ravel()
    if sig.shape != lam.shape:
        raise ValueError(f"signal must have the eigenvalues' shape {lam.shape}, got {sig.shape}")
    if int(np.sum(lam > 0)) <= n:
        raise ValueError(f"need more than n={n} positive eigenvalues (p > n: interpolation)")

    def excess(log_k):
        kap = np.exp(log_k)
        return np.sum(lam / (lam + kap)) - n

    hi = np.log(lam.sum()) + 1.0
    lo = np.log(lam[lam > 0].min()) - 40.0
    kap = float(np.exp(optimize.brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14)))
    df2 = float(np.sum((lam / (lam + kap)) ** 2))
    var = sigma2 * df2 / (n - df2)
    bias = kap**2 * float(np.sum(sig / (lam + kap) ** 2)) * n / (n - df2)
    return MinNormRisk(bias + var, bias, var, kap, df2)

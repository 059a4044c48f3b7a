r"""Which training examples a predictor memorizes: closed forms for kernel predictors.

A predictor f_S trained on a subset S of the data memorizes example i when including i changes how
well f_S does on i. Feldman (2020) defines the memorization score

    mem_i = E_S[ c(f_S, i) | i ∈ S ] − E_S[ c(f_S, i) | i ∉ S ],

with c the correctness 1[f_S(x_i) = y_i] and S a uniformly random subset of a fixed size; for a
squared loss its analogue uses c = −(f_S(x_i) − y_i)² (how much worse i is predicted when left out).
For kernel predictors every f_S is a linear solve, so the score is computed exactly for any set of
subsets; as the subset grows to all but one point it becomes the closed-form leave-one-out residual
of kernel ridge regression. In the lazy regime a trained network *is* such a kernel predictor
(Jacot et al. 2018; Lee et al. 2019), which is what makes these predictions testable.

Also here: the interpolation thresholds of linear-in-parameters models (rank and Cover counting),
the exact deterministic-equivalent risk of min-norm interpolation on a covariance spectrum
(benign overfitting), and the null distributions used to set tolerances (AUROC, Spearman ρ, top-k
overlap, max |z| over many examples). NumPy/SciPy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from kernelcap.theory._validation import as_array, as_int, scalar_or_array
from kernelcap.theory.hopfield import separable_probability

__all__ = [
    "KernelLOO",
    "MemorizationEstimate",
    "MinNormRisk",
    "auroc",
    "auroc_null",
    "auroc_stderr",
    "feldman_zhang",
    "first_fit_step",
    "kernel_loo_residuals",
    "kernel_memorization_scores",
    "max_abs_z_bound",
    "min_norm_risk_spectrum",
    "random_label_train_error",
    "relu_effective_parameters",
    "sign_fit_probability",
    "spearman_null_sd",
    "subset_kernel_predictions",
    "topk_overlap_null",
]

MAX_CONDITION = 1e12
KINDS = ("loss", "accuracy", "margin")


def _kernel(k, name="K") -> np.ndarray:
    k = as_array(k, name)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square (n, n) matrix, got shape {k.shape}")
    scale = max(float(np.abs(k).max()), np.finfo(float).tiny)
    if np.abs(k - k.T).max() > 1e-10 * scale:
        raise ValueError(f"{name} must be symmetric")
    return (k + k.T) / 2


def _targets(y, n, name="y") -> np.ndarray:
    y = as_array(y, name)
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) or ({n}, O), got {y.shape}")
    return y


def _spectrum(k, ridge, name, max_condition):
    s, v = np.linalg.eigh(k)
    top = max(float(s[-1]), 0.0)
    if s[0] < -1e-10 * max(top, np.finfo(float).tiny):
        raise ValueError(f"{name} must be positive semi-definite (smallest eigenvalue {s[0]:.3g})")
    s = np.clip(s, 0.0, None)
    lo, hi = s[0] + ridge, top + ridge
    if hi == 0 or lo <= 0 or hi / lo > max_condition:
        cond = np.inf if lo <= 0 else hi / lo
        raise ValueError(
            f"{name} + ridge·I is singular or ill-conditioned (condition number {cond:.3g} > "
            f"{max_condition:.0e}); use a ridge > 0 or drop duplicated points"
        )
    return s, v


@dataclass(frozen=True)
class KernelLOO:
    """Leave-one-out quantities of kernel ridge regression (see :func:`kernel_loo_residuals`).

    Attributes (n examples, targets (n,) or (n, O)):
        loo_residuals: y_i − f_{−i}(x_i), the residual on i of the predictor fitted without i.
        residuals: y_i − f(x_i), the training residual of the predictor fitted on all points.
        leverages: (n,) H_ii, the self-influence of y_i on its own fit (1 when interpolating).
        loo_predictions: f_{−i}(x_i).
    """

    loo_residuals: np.ndarray
    residuals: np.ndarray
    leverages: np.ndarray
    loo_predictions: np.ndarray


def kernel_loo_residuals(k, y, ridge: float = 0.0, *, max_condition: float = MAX_CONDITION):
    r"""Closed-form leave-one-out residuals of kernel ridge regression f = K(·, X)(K + λI)⁻¹y.

    With G = (K + λI)⁻¹, α = Gy and H = KG (the hat matrix), refitting without point i gives

        y_i − f_{−i}(x_i) = α_i / G_ii = r_i / (1 − H_ii),      r = y − Hy,  1 − H_ii = λG_ii,

    the first form also at λ = 0 when K is invertible (interpolation: r = 0, H = I, yet the LOO
    residual is finite). Exact for any symmetric positive semi-definite K; the leverage
    H_ii ∈ [0, 1] is the self-influence of example i.

    Args:
        k: (n, n) symmetric PSD kernel matrix K(X, X).
        y: (n,) or (n, O) targets.
        ridge: λ ≥ 0.
        max_condition: refuse (ValueError) when cond(K + λI) exceeds it: the solve would lose all
            but −log10(cond·ε) digits.

    Returns:
        :class:`KernelLOO`.

    References: Allen, "The relationship between variable selection and data augmentation",
    Technometrics 1974 (PRESS); Wahba, *Spline models for observational data* (1990), §4.2;
    Rifkin & Lippert, "Notes on regularized least squares" (2007).
    """
    k = _kernel(k)
    n = k.shape[0]
    y = _targets(y, n)
    ridge = float(as_array(ridge, "ridge", ge=0))
    s, v = _spectrum(k, ridge, "K", max_condition)
    inv = 1.0 / (s + ridge)
    g_diag = np.einsum("ij,j,ij->i", v, inv, v)
    alpha = v @ (inv[:, None] * (v.T @ y.reshape(n, -1)))
    loo = (alpha / g_diag[:, None]).reshape(y.shape)
    resid = (ridge * alpha).reshape(y.shape)
    lev = np.clip(1.0 - ridge * g_diag, 0.0, 1.0)
    return KernelLOO(loo, resid, lev, y - loo)


def _subset_index(masks, n):
    m = np.asarray(masks)
    if m.dtype != bool:
        if not np.isin(m, (0, 1)).all():
            raise ValueError("masks must be boolean (or 0/1)")
        m = m.astype(bool)
    if m.ndim != 2 or m.shape[1] != n or m.shape[0] == 0:
        raise ValueError(f"masks must have shape (n_models, {n}), got {m.shape}")
    sizes = m.sum(1)
    if sizes.min() == 0:
        raise ValueError("every mask must select at least one example")
    width = int(sizes.max())
    # indices of each subset, padded with 0 where a subset is smaller than the largest one
    order = np.argsort(~m, axis=1, kind="stable")[:, :width]
    valid = np.arange(width)[None, :] < sizes[:, None]
    return m, np.where(valid, order, 0), valid, sizes


def subset_kernel_predictions(
    k,
    y,
    masks,
    *,
    ridge: float = 0.0,
    lr: float | None = None,
    steps: int | None = None,
    max_condition: float = MAX_CONDITION,
):
    r"""Predictions at every point of kernel predictors trained on each subset S_b (one per mask).

    Kernel ridge regression (``lr=None``): f_b(x) = K(x, S)(K_SS + λI)⁻¹ y_S. Gradient descent from
    f = 0 on L = (1/2m) Σ_{i∈S} (f(x_i) − y_i)², m = |S|, for t = ``steps`` steps of size η = ``lr``
    (the linearized network of :func:`kernelcap.theory.kernels.linearized_prediction`):

        f_b(x) = K(x, S) g_t(K_SS) y_S,   g_t(s) = [1 − (1 − ηs/m)^t] / s   (= ηt/m at s = 0),

    which tends to the interpolant K(x, S)K_SS⁻¹y_S as t → ∞. Subsets of unequal size are padded
    with an identity block and zero targets, which leaves every f_b unchanged.

    Args:
        k: (n, n) symmetric PSD kernel, or (B, n, n), one per subset. y: (n,) or (n, O) targets.
        masks: (B, n) booleans, row b marks the training subset S_b.
        ridge: λ ≥ 0 (kernel ridge regression; must be 0 with ``lr``/``steps``).
        lr, steps: η > 0 and t ≥ 0 for finite-time gradient descent (both or neither); η must be
            below 2m/s_max of every K_SS or gradient descent diverges (ValueError).
        max_condition: ridge regression refuses cond(K_SS + λI) above it (ValueError).

    Returns:
        (B, n) or (B, n, O) predictions f_b(x_i).

    References: Lee et al., NeurIPS 2019, eq. (9)–(11); Feldman & Zhang, NeurIPS 2020 (subsets).
    """
    k = as_array(k, "k")
    if k.ndim == 3:  # one kernel per subset (e.g. each network's own NTK at initialisation)
        if k.shape[1] != k.shape[2] or np.abs(k - k.transpose(0, 2, 1)).max() > 1e-10 * max(
            float(np.abs(k).max()), np.finfo(float).tiny
        ):
            raise ValueError(f"k must be symmetric (n, n) or (B, n, n), got shape {k.shape}")
    else:
        k = _kernel(k, "k")[None]
    n = k.shape[1]
    y = _targets(y, n)
    m, idx, valid, sizes = _subset_index(masks, n)
    if k.shape[0] not in (1, m.shape[0]):
        raise ValueError(f"k holds {k.shape[0]} kernels for {m.shape[0]} masks")
    bi = np.arange(m.shape[0]) if k.shape[0] > 1 else np.zeros(m.shape[0], dtype=int)
    ridge = float(as_array(ridge, "ridge", ge=0))
    if (lr is None) != (steps is None):
        raise ValueError("give both lr and steps (gradient descent) or neither (ridge regression)")
    yo = y.reshape(n, -1)
    eye = np.eye(idx.shape[1])
    vv = valid[:, :, None] & valid[:, None, :]
    kss = np.where(vv, k[bi[:, None, None], idx[:, :, None], idx[:, None, :]], 0.0)
    kss = kss + eye * ~valid[:, :, None]
    ys = np.where(valid[:, :, None], yo[idx], 0.0)  # (B, m, O)
    s, v = np.linalg.eigh(kss)
    s = np.clip(s, 0.0, None)
    if lr is None:
        filt = s + ridge
        top = filt.max(1)
        if np.any(filt.min(1) <= 0) or np.any(top / filt.min(1) > max_condition):
            raise ValueError(
                f"a subset kernel K_SS + ridge·I is singular or ill-conditioned (condition > "
                f"{max_condition:.0e}); use a ridge > 0"
            )
        g = 1.0 / filt
    else:
        if ridge != 0:
            raise ValueError("ridge must be 0 with lr/steps (gradient descent without decay)")
        lr = float(as_array(lr, "lr", gt=0))
        t = as_int(steps, "steps", ge=0)
        rate = lr * s / sizes[:, None]
        if np.any(rate >= 2):
            raise ValueError(f"lr={lr} diverges: it must be < 2m/s_max on every subset kernel")
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(s > 0, -np.expm1(t * np.log1p(-rate)) / s, lr * t / sizes[:, None])
    alpha = np.einsum("bij,bj,bkj,bko->bio", v, g, v, ys)  # (B, m, O)
    kx = k[bi[:, None, None], np.arange(n)[None, :, None], idx[:, None, :]]
    kx = np.where(valid[:, None, :], kx, 0.0)  # (B, n, m)
    out = np.einsum("bnm,bmo->bno", kx, alpha)
    return out.reshape((m.shape[0],) + y.shape)


@dataclass(frozen=True)
class MemorizationEstimate:
    """The Feldman–Zhang subsampling estimate mem_i = mean_{b: i∈S_b} v_bi − mean_{b: i∉S_b} v_bi.

    Attributes (n examples): ``mem`` (n,), its standard error ``stderr`` (n,), the two group means
    ``mean_in``, ``mean_out`` and the group sizes ``n_in``, ``n_out`` (n,).
    """

    mem: np.ndarray
    stderr: np.ndarray
    mean_in: np.ndarray
    mean_out: np.ndarray
    n_in: np.ndarray
    n_out: np.ndarray


def feldman_zhang(values, masks, *, binary: bool | None = None) -> MemorizationEstimate:
    r"""Feldman & Zhang's subsampling estimator of the memorization score from B trained models.

        mem_i = (1/|I_i|) Σ_{b∈I_i} v_bi − (1/|O_i|) Σ_{b∈O_i} v_bi,

    I_i = {b : i ∈ S_b}, O_i = {b : i ∉ S_b}, with v_bi the correctness of model b on example i
    (or the negated loss, or the margin). Models are independent given their subsets, so the
    standard error is that of a difference of two means. For 0/1 values the variances use the
    Agresti–Caffo adjustment p̃ = (s + 1)/(m + 2), so a group that is always right (or always wrong)
    still has a positive standard error; otherwise sample variances.

    Args:
        values: (B, n) per-model, per-example values. masks: (B, n) booleans, S_b.
        binary: treat values as 0/1 (None: detect).

    Returns:
        :class:`MemorizationEstimate`. Raises ValueError if an example is in (or out of) fewer than
        two subsets: use more models.

    References: Feldman, "Does learning require memorization?", STOC 2020; Feldman & Zhang, "What
    neural networks memorize and why", NeurIPS 2020, eq. (1)–(2); Agresti & Caffo, Am. Stat. 2000.
    """
    vals = as_array(values, "values")
    m = np.asarray(masks)
    if m.shape != vals.shape or vals.ndim != 2:
        raise ValueError(f"values and masks must both be (B, n), got {vals.shape} and {m.shape}")
    m = m.astype(bool)
    n_in, n_out = m.sum(0), (~m).sum(0)
    if n_in.min() < 2 or n_out.min() < 2:
        raise ValueError(
            "every example must be in at least two subsets and out of at least two "
            f"(min in {n_in.min()}, min out {n_out.min()}); use more models"
        )
    if binary is None:
        binary = bool(np.isin(vals, (0.0, 1.0)).all())
    s_in, s_out = (vals * m).sum(0), (vals * ~m).sum(0)
    mean_in, mean_out = s_in / n_in, s_out / n_out
    if binary:
        p_in, p_out = (s_in + 1) / (n_in + 2), (s_out + 1) / (n_out + 2)
        var = p_in * (1 - p_in) / (n_in + 2) + p_out * (1 - p_out) / (n_out + 2)
    else:
        v_in = (((vals - mean_in) * m) ** 2).sum(0) / (n_in - 1)
        v_out = (((vals - mean_out) * ~m) ** 2).sum(0) / (n_out - 1)
        var = v_in / n_in + v_out / n_out
    return MemorizationEstimate(mean_in - mean_out, np.sqrt(var), mean_in, mean_out, n_in, n_out)


def _correct(pred, y):
    if y.ndim == 1:
        return (np.sign(pred) == np.sign(y)).astype(float)
    return (pred.argmax(-1) == y.argmax(-1)).astype(float)


def score_values(predictions, y, kind: str) -> np.ndarray:
    """Per-model values v_bi for :func:`feldman_zhang`: ``"loss"`` −‖f_b(x_i) − y_i‖²,
    ``"accuracy"`` 1[sign/argmax of f_b(x_i) matches y_i], ``"margin"`` ⟨y_i, f_b(x_i)⟩.

    ``predictions``: (B, n) or (B, n, O); ``y``: (n,) or (n, O) (one-hot for classes)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    p, y = np.asarray(predictions, float), np.asarray(y, float)
    if p.shape[1:] != y.shape:
        raise ValueError(f"predictions (B, *y.shape) expected, got {p.shape} and y {y.shape}")
    if kind == "accuracy":
        return _correct(p, y)
    axes = tuple(range(2, p.ndim))
    if kind == "loss":
        return -(((p - y) ** 2).sum(axes) if axes else (p - y) ** 2)
    return (p * y).sum(axes) if axes else p * y


def kernel_memorization_scores(
    k, y, masks, *, kind: str = "loss", ridge: float = 0.0, lr=None, steps=None
) -> MemorizationEstimate:
    r"""Feldman's memorization score of kernel predictors on the given subsets.

    Each subset's predictor is :func:`subset_kernel_predictions` (ridge regression, or t steps of
    gradient descent: the linearized network); the score is :func:`feldman_zhang` on
    v_bi = −‖f_b(x_i) − y_i‖² (``kind="loss"``: E[loss | i ∉ S] − E[loss | i ∈ S], the squared-loss
    analogue), 1[f_b(x_i) correct] (``"accuracy"``, sign or argmax) or ⟨y_i, f_b(x_i)⟩
    (``"margin"``). On the masks a retraining experiment used, this is the score that experiment
    would measure if every network were its linearization; with many masks, the expectation
    over subsets.

    Args: as :func:`subset_kernel_predictions`; ``kind`` as above.
    Returns: :class:`MemorizationEstimate`.

    References: Feldman & Zhang, NeurIPS 2020; Jacot et al. 2018; Lee et al. 2019.
    """
    pred = subset_kernel_predictions(k, y, masks, ridge=ridge, lr=lr, steps=steps)
    return feldman_zhang(score_values(pred, y, kind), masks, binary=kind == "accuracy")


def first_fit_step(correct, steps) -> np.ndarray:
    """First logged step from which an example stays fitted: ``correct`` (..., S, n) booleans on
    the logged ``steps`` (S,) increasing; returns (..., n) steps, +inf where not fitted at the end.

    "Stays" makes the statistic robust to an example flickering in and out of the fit early on."""
    c = np.asarray(correct, bool)
    t = as_array(steps, "steps")
    if c.ndim < 2 or c.shape[-2] != t.size or t.ndim != 1:
        raise ValueError(f"correct must be (..., {t.size}, n) for {t.size} steps, got {c.shape}")
    # index of the last unfitted step; the example is fitted from the next logged step on
    rev = c[..., ::-1, :]
    run = np.where(rev.all(-2), c.shape[-2], np.argmin(rev, axis=-2))  # fitted steps at the end
    first = c.shape[-2] - run
    return np.where(run == 0, np.inf, t[np.minimum(first, t.size - 1)])


def relu_effective_parameters(width, dim, *, bias: bool = True):
    r"""Rank bound of the Jacobian of a two-layer ReLU net x ↦ Σ_j v_j relu(w_jᵀx + b_j) + c:

        P_eff = H(d + 1) + 1   (with biases; H·d + 1 without b_j),

    one less per hidden unit than the H(d + 2) + 1 parameters, since the rescaling
    (w_j, b_j, v_j) → (a w_j, a b_j, v_j/a), a > 0, leaves the function unchanged. A network can
    interpolate n generic real targets only if P_eff ≥ n (its image is a P_eff-dimensional set);
    linearized at a generic init it does so exactly when P_eff ≥ n.

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
    return separable_probability(n_samples, n_features)


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


# ----------------------------------------------------------------------------- null laws


def auroc(scores, positives) -> float:
    """Area under the ROC curve of ``scores`` for the boolean ``positives`` (ties count ½):
    the Mann–Whitney U / (n_pos n_neg)."""
    s = as_array(scores, "scores").ravel()
    pos = np.asarray(positives, bool).ravel()
    if pos.shape != s.shape or pos.all() or not pos.any():
        raise ValueError("positives must match scores and contain both classes")
    ranks = stats.rankdata(s)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auroc_null(n_pos, n_neg):
    r"""Mean and standard deviation of the AUROC of a score unrelated to the labels (continuous,
    no ties): ½ and √((n_pos + n_neg + 1) / (12 n_pos n_neg)), the Mann–Whitney U null law
    divided by n_pos n_neg; asymptotically normal.

    References: Mann & Whitney, Ann. Math. Stat. 1947; Hanley & McNeil, Radiology 1982.
    """
    p = as_array(n_pos, "n_pos", ge=1, integer=True)
    q = as_array(n_neg, "n_neg", ge=1, integer=True)
    sd = np.sqrt((p + q + 1) / (12 * p * q))
    return scalar_or_array(np.full_like(sd, 0.5), n_pos, n_neg), scalar_or_array(sd, n_pos, n_neg)


def spearman_null_sd(n):
    r"""Standard deviation of Spearman's ρ between two independent continuous samples of size n:
    exactly 1/√(n − 1) (mean 0; asymptotically normal).

    References: Kendall & Stuart, *The Advanced Theory of Statistics* vol. 2, §31.
    """
    n = as_array(n, "n", ge=3, integer=True)
    return scalar_or_array(1.0 / np.sqrt(n - 1), n)


def topk_overlap_null(n, k):
    r"""Mean and standard deviation of the overlap fraction |A ∩ B|/k of two independent uniformly
    random k-subsets of n items: |A ∩ B| ~ Hypergeometric(n, k, k), mean k/n and variance
    k(k/n)(1 − k/n)(n − k)/(n − 1) for the count.

    References: any text on the hypergeometric law (e.g. Johnson, Kemp & Kotz 2005, ch. 6).
    """
    n = as_array(n, "n", ge=2, integer=True)
    k = as_array(k, "k", ge=1, integer=True)
    if np.any(k > n):
        raise ValueError(f"k must be <= n, got k={k}, n={n}")
    f = k / n
    var = k * f * (1 - f) * (n - k) / (n - 1)
    return scalar_or_array(f, n, k), scalar_or_array(np.sqrt(var) / k, n, k)


def max_abs_z_bound(n_tests, alpha: float = 1e-3, dof=None):
    r"""The (1 − α) quantile of max_j |Z_j| over m independent standard normal (or Student-t with
    ``dof`` degrees of freedom) statistics, by Šidák's identity P(max|Z| ≤ z) = (1 − 2Φ̄(z))^m:

        z = Φ̄⁻¹((1 − (1 − α)^{1/m}) / 2).

    A max |z| check with this bound has family-wise false-alarm rate α across the m examples.

    References: Šidák, J. Am. Stat. Assoc. 1967.
    """
    m = as_array(n_tests, "n_tests", ge=1, integer=True)
    a = as_array(alpha, "alpha", gt=0, lt=1)
    tail = -special.expm1(special.log1p(-a) / m) / 2
    if dof is None:
        out = stats.norm.isf(tail)
    else:
        out = stats.t.isf(tail, as_array(dof, "dof", gt=0))
    return scalar_or_array(out, n_tests, alpha)


def auroc_stderr(auc, n_pos, n_neg):
    r"""Standard error of an empirical AUROC A (Hanley & McNeil 1982):

        SE² = [A(1 − A) + (n_pos − 1)(Q₁ − A²) + (n_neg − 1)(Q₂ − A²)] / (n_pos n_neg),

    Q₁ = A/(2 − A), Q₂ = 2A²/(1 + A) (exponential score model; at A = ½ it is close to the null
    standard deviation of :func:`auroc_null`).

    References: Hanley & McNeil, "The meaning and use of the area under a ROC curve",
    Radiology 1982.
    """
    a = as_array(auc, "auc", ge=0, le=1)
    p = as_array(n_pos, "n_pos", ge=1, integer=True)
    q = as_array(n_neg, "n_neg", ge=1, integer=True)
    q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
    var = (a * (1 - a) + (p - 1) * (q1 - a**2) + (q - 1) * (q2 - a**2)) / (p * q)
    return scalar_or_array(np.sqrt(np.clip(var, 0.0, None)), auc, n_pos, n_neg)

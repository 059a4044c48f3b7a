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

from kernelcap.theory._memorization_capacity import (
    MinNormRisk,
    min_norm_risk_spectrum,
    random_label_train_error,
    relu_effective_parameters,
    sign_fit_probability,
)
from kernelcap.theory._memorization_nulls import (
    auroc,
    auroc_null,
    auroc_stderr,
    max_abs_z_bound,
    spearman_null_sd,
    topk_overlap_null,
)
from kernelcap.theory._validation import as_array, as_int

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

    def __repr__(self) -> str:
        e2 = float(np.mean(self.loo_residuals**2))
        return (
            f"KernelLOO(n={self.leverages.size}, mean squared LOO residual {e2:.4g}, "
            f"mean leverage {self.leverages.mean():.3f})"
        )


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
        lr: η > 0 for finite-time gradient descent (with ``steps``, or neither); η must be
            below 2m/s_max of every K_SS or gradient descent diverges (ValueError).
        steps: t ≥ 0 gradient-descent steps (with ``lr``, or neither).
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

    def __repr__(self) -> str:
        return (
            f"MemorizationEstimate(n={self.mem.size}, mean mem {self.mem.mean():.3f}, "
            f"median SE {np.median(self.stderr):.3f}, models in/out per example "
            f"{int(self.n_in.min())}–{int(self.n_in.max())}/{int(self.n_out.min())}–"
            f"{int(self.n_out.max())})"
        )


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

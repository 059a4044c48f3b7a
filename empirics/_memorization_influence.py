"""Self-influence (TracIn), NTK leave-one-out scores, and the agreement between estimators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from torch import nn
from torch.func import functional_call, grad, vmap

from kernelcap.empirics._batched_models import per_example_loss
from kernelcap.empirics._memorization_inputs import as_tensor, check_data, targets_for
from kernelcap.empirics.kernels import empirical_ntk
from kernelcap.runtime import single_cpu_thread
from kernelcap.theory import memorization as theory


@dataclass(frozen=True)
class SelfInfluence:
    """TracIn self-influence: ``scores`` (n,) = Σ_t ``per_checkpoint`` (C, n), where
    per_checkpoint[t, i] = η_t ‖∇_θ ℓ(θ_t, z_i)‖²."""

    scores: np.ndarray
    per_checkpoint: np.ndarray

    def __repr__(self) -> str:
        c, n = self.per_checkpoint.shape
        return f"SelfInfluence(n={n}, {c} checkpoints, max {self.scores.max():.4g})"


def self_influence(
    model: nn.Module,
    checkpoints: Sequence,
    x,
    y,
    *,
    lrs,
    loss: str = "ce",
    chunk_size: int = 256,
) -> SelfInfluence:
    r"""TracIn self-influence of every training example from checkpoints (Pruthi et al. 2020):

        SI(z_i) = Σ_t η_t ‖∇_θ ℓ(θ_t, z_i)‖²,

    the first-order drop of example i's own loss caused by its own gradient steps, summed over the
    run (TracInCP: η_t is the learning rate times the number of steps the checkpoint stands for).
    High self-influence marks examples the run had to fit by themselves: mislabeled and rare ones.

    Args:
        model: the architecture (any ``nn.Module``); its own weights are not used.
        checkpoints: parameter dicts ``{name: tensor}`` (state dicts) or modules, one each.
        x: (n, ...) inputs. y: (n,) class labels or real targets, as for the training loss.
        lrs: η_t, a number or one per checkpoint.
        loss: ``"ce"`` or ``"mse"`` (½‖f − y‖², class labels as ±1 / one-hot targets).
        chunk_size: examples per vmapped per-example-gradient call.

    Returns:
        :class:`SelfInfluence`. For the exact per-step version from recorded kernel terms see
        :func:`self_influence_from_path`.

    References: Pruthi, Liu, Kale & Sundararajan, "Estimating training data influence by tracing
    gradient descent", NeurIPS 2020.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if len(checkpoints) == 0:
        raise ValueError("checkpoints must not be empty")
    lr = np.broadcast_to(np.asarray(lrs, dtype=float), (len(checkpoints),))
    if not np.all(np.isfinite(lr)) or np.any(lr < 0):
        raise ValueError("lrs must be finite and >= 0")
    xt, yt, classes = check_data(x, y, loss)
    p0 = next(model.parameters())
    with torch.no_grad():
        n_out = model(xt[:1].to(p0.device, p0.dtype)).reshape(1, -1).shape[1]
    target = targets_for(yt, classes, n_out, loss).to(p0.device)
    if loss == "mse":
        target = target.to(p0.dtype)
    xt = xt.to(p0.device, p0.dtype)

    names = [k for k, v in model.named_parameters() if v.requires_grad]

    def one_loss(params, xi, ti):
        out = functional_call(model, params, (xi[None],)).reshape(1, 1, -1)
        return per_example_loss(out, ti[None], loss)[0, 0]

    per_grad = vmap(grad(one_loss), in_dims=(None, 0, 0))
    rows = []
    with single_cpu_thread(p0.device):
        for ck in checkpoints:
            given = dict(ck.named_parameters()) if isinstance(ck, nn.Module) else dict(ck)
            missing = [k for k in names if k not in given]
            if missing:
                raise ValueError(f"a checkpoint lacks the parameters {missing[:3]}")
            params = {k: torch.as_tensor(given[k]).to(p0.device, p0.dtype).detach() for k in names}
            norms = []
            for i in range(0, xt.shape[0], chunk_size):
                g = per_grad(params, xt[i : i + chunk_size], target[i : i + chunk_size])
                norms.append(sum(v.flatten(1).pow(2).sum(1) for v in g.values()))
            rows.append(torch.cat(norms).double().cpu().numpy())
    per = lr[:, None] * np.stack(rows)
    return SelfInfluence(per.sum(0), per)


def self_influence_from_path(step_sizes, loss_grads, ntk_diag) -> SelfInfluence:
    r"""Self-influence from per-step kernel terms: since ∇_θ ℓ_i = J_iᵀ ∂ℓ_i/∂f,

        η_s ‖∇_θ ℓ(θ_s, z_i)‖² = η_s (∂ℓ_i/∂f)ᵀ Θ_s(x_i, x_i) (∂ℓ_i/∂f),

    so a path-kernel recorder that stores, per step s, the loss gradients ∂ℓ_i/∂f and the diagonal
    blocks Θ_s(x_i, x_i) of the NTK gives TracIn at every step, with no checkpoints.

    Args:
        step_sizes: (S,) η_s. loss_grads: (S, n) or (S, n, O) ∂ℓ_i/∂f at θ_s.
        ntk_diag: (S, n) or (S, n, O, O) Θ_s(x_i, x_i).

    Returns:
        :class:`SelfInfluence` with one row per step.
    """
    eta = np.asarray(step_sizes, dtype=float)
    g = np.asarray(loss_grads, dtype=float)
    k = np.asarray(ntk_diag, dtype=float)
    if g.ndim == 2:
        g = g[..., None]
    if k.ndim == 2:
        k = k[..., None, None]
    if eta.ndim != 1 or g.shape[0] != eta.size or k.shape[:2] != g.shape[:2]:
        raise ValueError(
            f"shapes: step_sizes (S,), loss_grads (S, n[, O]), ntk_diag (S, n[, O, O]); got "
            f"{eta.shape}, {np.shape(loss_grads)}, {np.shape(ntk_diag)}"
        )
    if k.shape[2:] != (g.shape[2], g.shape[2]):
        raise ValueError(f"ntk_diag blocks must be (O, O) = {(g.shape[2],) * 2}")
    per = eta[:, None] * np.einsum("sno,snop,snp->sn", g, k, g)
    return SelfInfluence(per.sum(0), per)


@dataclass(frozen=True)
class NTKLOOScores:
    """Leave-one-out memorization of kernel regression on a model's empirical NTK.

    Attributes (n examples): ``scores`` ‖e_i‖² − ‖r_i‖² (LOO squared error minus training squared
    error), ``loo_residuals`` e_i and ``residuals`` r_i ((n, O)), ``leverages`` H_ii,
    ``loo_correct`` (class labels: the LOO prediction's sign/argmax is the label; None otherwise),
    ``kernel`` the (n, n) per-output empirical NTK used.
    """

    scores: np.ndarray
    loo_residuals: np.ndarray
    residuals: np.ndarray
    leverages: np.ndarray
    loo_correct: np.ndarray | None
    kernel: np.ndarray

    def __repr__(self) -> str:
        acc = "" if self.loo_correct is None else f", LOO accuracy {self.loo_correct.mean():.3f}"
        return (
            f"NTKLOOScores(n={self.scores.size}, mean score {self.scores.mean():.4g}, "
            f"mean leverage {self.leverages.mean():.3f}{acc})"
        )


def ntk_loo_scores(
    model: nn.Module, x, y, ridge: float, *, relative: bool = False, subtract_output: bool = False
):
    r"""Closed-form memorization prediction from ``model``'s empirical NTK Θ at its weights.

    Kernel ridge regression on Θ/O (the per-output kernel, traced over O outputs) with targets y
    (class labels as ±1 or one-hot) has leave-one-out residuals
    e_i = [(Θ + λI)⁻¹y]_i / [(Θ + λI)⁻¹]_ii
    (:func:`kernelcap.theory.memorization.kernel_loo_residuals`); the score ‖e_i‖² − ‖r_i‖² is the
    squared-loss memorization of example i for a predictor trained on all the others — what a
    linearized network trained to convergence would show.

    Args:
        model: any ``nn.Module``; the NTK is ``kernelcap.empirics.kernels.empirical_ntk(model, x)``.
        x: (n, ...) inputs. y: (n,) class labels or real targets.
        ridge: λ ≥ 0 on the scale of Θ/O (0 needs an invertible kernel); with ``relative`` it is
            a multiple of the mean diagonal of Θ/O.
        subtract_output: regress y − f(x) (the network's current outputs), as the linearized
            network trained from these weights does.

    Returns:
        :class:`NTKLOOScores`.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    xt, yt, classes = check_data(x, y, "mse")
    p0 = next(model.parameters())
    xd = xt.to(p0.device, p0.dtype)
    with torch.no_grad():
        f0 = model(xd).reshape(xt.shape[0], -1).double().cpu()
    target = targets_for(yt, classes, f0.shape[1], "mse").numpy()
    k = empirical_ntk(model, xd).double().cpu().numpy() / f0.shape[1]
    offset = f0.numpy() if subtract_output else np.zeros_like(target)
    if relative:
        ridge = float(ridge) * float(np.mean(np.diag(k)))
    loo = theory.kernel_loo_residuals(k, target - offset, ridge)
    scores = (loo.loo_residuals**2).sum(1) - (loo.residuals**2).sum(1)
    loo_correct = None
    if classes is not None:
        pred = target - loo.loo_residuals
        lab = yt.numpy()
        loo_correct = (
            (pred[:, 0] > 0) == (lab == 1) if pred.shape[1] == 1 else pred.argmax(1) == lab
        )
    return NTKLOOScores(scores, loo.loo_residuals, loo.residuals, loo.leverages, loo_correct, k)


@dataclass(frozen=True)
class EstimatorAgreement:
    """How memorization estimators agree (E estimators, n examples, top k).

    Attributes:
        names: the estimators.
        spearman: (E, E) rank correlations.
        overlap: (E, E) top-k overlap fractions |A ∩ B|/k.
        flagged: name → the k indices it scores highest (highest first).
        flagged_by_all: indices in every estimator's top k.
        auroc: name → AUROC for ``positives`` (empty without).
        k: the size of the top sets.
        n: the number of examples.
        spearman_null_sd: 1/√(n−1), the s.d. of ρ under no agreement.
        overlap_null: (mean k/n, sd) of the overlap under no agreement
            (:mod:`kernelcap.theory.memorization`).
    """

    names: tuple[str, ...]
    spearman: np.ndarray
    overlap: np.ndarray
    flagged: Mapping[str, np.ndarray]
    flagged_by_all: np.ndarray
    auroc: Mapping[str, float]
    k: int
    n: int
    spearman_null_sd: float
    overlap_null: tuple[float, float]

    def __repr__(self) -> str:
        pairs = ", ".join(
            f"{a}/{b}: ρ={self.spearman[i, j]:.2f} top-{self.k} {self.overlap[i, j]:.2f}"
            for i, a in enumerate(self.names)
            for j, b in enumerate(self.names)
            if j > i
        )
        au = "".join(f", AUROC {k} {v:.3f}" for k, v in self.auroc.items())
        common = self.flagged_by_all.size
        return f"EstimatorAgreement(n={self.n}; {pairs}; {common} flagged by all{au})"

    def pair(self, a: str, b: str) -> tuple[float, float]:
        """(Spearman ρ, top-k overlap) of estimators ``a`` and ``b``."""
        i, j = self.names.index(a), self.names.index(b)
        return float(self.spearman[i, j]), float(self.overlap[i, j])


def compare_estimators(scores: Mapping[str, object], *, k: int | None = None, positives=None):
    """Spearman rank correlation, top-k overlap and flagged examples of several score vectors.

    Args:
        scores: name → (n,) scores, higher = more memorized (at least two estimators).
        k: size of each estimator's flagged set (default: the number of ``positives``, else n/10).
        positives: optional (n,) booleans (e.g. flipped labels) for each estimator's AUROC.

    Returns:
        :class:`EstimatorAgreement`.
    """
    if not isinstance(scores, Mapping) or len(scores) < 2:
        raise ValueError("scores must map at least two estimator names to score vectors")
    names = tuple(scores)
    mat = np.stack([as_tensor(scores[s], s).double().numpy().ravel() for s in names])
    n = mat.shape[1]
    if n < 3 or not np.all(np.isfinite(mat)):
        raise ValueError("every score vector must hold the same n >= 3 finite values")
    pos = None if positives is None else np.asarray(positives, dtype=bool).ravel()
    if pos is not None and pos.shape != (n,):
        raise ValueError(f"positives must have shape ({n},), got {pos.shape}")
    if k is None:
        k = int(pos.sum()) if pos is not None and pos.any() else max(1, n // 10)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < n:
        raise ValueError(f"k must be an int in [1, n), got {k!r}")
    rho = np.atleast_2d(stats.spearmanr(mat, axis=1).statistic)
    top = {s: np.argsort(-mat[i], kind="stable")[:k] for i, s in enumerate(names)}
    sets = [set(top[s].tolist()) for s in names]
    overlap = np.array([[len(a & b) / k for b in sets] for a in sets])
    common = np.array(sorted(set.intersection(*sets)), dtype=int)
    au = {}
    if pos is not None:
        au = {s: theory.auroc(mat[i], pos) for i, s in enumerate(names)}
    return EstimatorAgreement(
        names=names,
        spearman=rho,
        overlap=overlap,
        flagged=top,
        flagged_by_all=common,
        auroc=au,
        k=k,
        n=n,
        spearman_null_sd=float(theory.spearman_null_sd(n)),
        overlap_null=tuple(float(v) for v in theory.topk_overlap_null(n, k)),
    )

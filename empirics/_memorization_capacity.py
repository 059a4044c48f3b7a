"""Capacity experiments: random labels on random features, time to fit partially random labels,
and min-norm interpolation on a given covariance spectrum (benign overfitting)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize

from kernelcap.empirics._batched_models import Stack, TrainConfig, build_member, train_members
from kernelcap.empirics._full_batch import member_seed
from kernelcap.progress import progress
from kernelcap.runtime import make_generator, resolve_device, single_cpu_thread
from kernelcap.theory._validation import as_array, as_int
from kernelcap.theory.memorization import first_fit_step


@dataclass(frozen=True)
class RandomLabelFits:
    """Random labels on H random tanh features of n Gaussian points, per size and trial.

    Attributes: ``n_features`` H; ``n_samples`` (G,); ``train_error`` (G, T) minimum training MSE
    on random N(0, 1) labels divided by their mean square; ``fitted`` (G, T) whether some readout
    fits random ±1 labels exactly.
    """

    n_features: int
    n_samples: np.ndarray
    train_error: np.ndarray
    fitted: np.ndarray


def _separable(z: np.ndarray) -> bool:
    """Exactly: is there w with z_i·w > 0 for all rows z_i = y_i φ(x_i)? (LP, HiGHS)."""
    res = optimize.linprog(
        np.zeros(z.shape[1]),
        A_ub=-z,
        b_ub=-np.ones(z.shape[0]),
        bounds=(None, None),
        method="highs",
    )
    return res.status == 0


def random_label_fits(
    n_samples: Sequence[int],
    n_features: int,
    *,
    dim: int = 10,
    n_trials: int = 100,
    seed: int = 0,
    show_progress: bool | None = None,
) -> RandomLabelFits:
    """Fit random labels with the readout of a two-layer net whose first layer stays at init.

    Features φ(x) = tanh(Wx) with W (H, d) ~ N(0, 1/d), x ~ N(0, I_d): a linear-in-parameters model
    with H trainable weights, its features in general position with probability 1. (ReLU features
    are not quite: a unit dead on all n points, or a point no unit sees, has probability ≈ H·2⁻ⁿ
    and lowers the rank.) Real labels: the least-squares readout (gradient descent from zero,
    run to convergence) leaves the training error ‖(I − Π)y‖²/‖y‖². Signs: a readout fitting every
    label exists iff the linear program y_i φ(x_i)·w ≥ 1 is feasible (the hard-margin readout).

    Args:
        n_samples: (G,) training-set sizes n. n_features: H. dim: d. n_trials: T draws per size.

    Returns:
        :class:`RandomLabelFits`.
    """
    ns = [as_int(v, "n_samples", ge=1) for v in np.atleast_1d(n_samples)]
    h = as_int(n_features, "n_features", ge=1)
    d = as_int(dim, "dim", ge=1)
    t = as_int(n_trials, "n_trials", ge=2)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 31]))
    err = np.zeros((len(ns), t))
    fit = np.zeros((len(ns), t), dtype=bool)
    for g, n in enumerate(progress(ns, desc="random labels", enabled=show_progress)):
        w = rng.standard_normal((t, d, h)) / math.sqrt(d)
        x = rng.standard_normal((t, n, d))
        phi = np.tanh(x @ w)  # (T, n, H)
        y = rng.standard_normal((t, n))
        for k in range(t):
            coef = np.linalg.lstsq(phi[k], y[k], rcond=None)[0]
            err[g, k] = np.sum((phi[k] @ coef - y[k]) ** 2) / np.sum(y[k] ** 2)
            signs = rng.choice((-1.0, 1.0), n)
            fit[g, k] = _separable(signs[:, None] * phi[k])
    return RandomLabelFits(h, np.asarray(ns), err, fit)


@dataclass(frozen=True)
class FitTimes:
    """Steps until a network fits its whole training set, per fraction of random labels.

    Attributes: ``fractions`` (P,); ``steps`` (P, T) first logged step from which training
    accuracy stays 100 % (inf: not within the run); ``accuracy`` (P, T, S) training accuracy at
    ``log_steps``.
    """

    fractions: np.ndarray
    steps: np.ndarray
    accuracy: np.ndarray
    log_steps: np.ndarray
    wall_s: float

    @property
    def mean_steps(self) -> np.ndarray:
        """(P, T) the area above the training-accuracy curve, Σ_s (1 − acc_s)(t_{s+1} − t_s): the
        mean over examples of the steps spent unfitted (= the mean first-fit step when examples
        stay fitted once fitted). Unlike the time to 100 %, which the single hardest conflict
        sets, it grows with the number of examples that must be memorized."""
        dt = np.diff(self.log_steps)
        return ((1.0 - self.accuracy[..., :-1]) * dt).sum(-1)


def fit_times(
    model_factory: Callable,
    x,
    y,
    fractions: Sequence[float],
    *,
    n_trials: int,
    train: TrainConfig,
    n_classes: int,
    log_every: int = 5,
    seed: int = 0,
    device: str = "auto",
) -> FitTimes:
    """Train networks on labels of which a fraction p is replaced by uniformly random classes
    (Zhang et al. 2017, Fig. 1): every (p, trial) is one member of a single batched program with its
    own labels and initialisation; the fit time is the first logged step from which the training
    accuracy stays 100 %.

    Args:
        model_factory: as for :func:`~kernelcap.empirics.memorization.memorization_scores`.
        x: (n, ...) inputs. y: (n,) labels. fractions: (P,) p ∈ [0, 1]. n_trials: T per p.
        train: a :class:`TrainConfig` with ``loss="ce"``. n_classes: classes to draw from.
    """
    fr = as_array(fractions, "fractions", ge=0, le=1).ravel()
    t = as_int(n_trials, "n_trials", ge=2)
    xt = torch.as_tensor(x)
    yt = torch.as_tensor(y).long()
    n = xt.shape[0]
    gen = make_generator(seed, "cpu")
    labels = []
    for p in fr:
        for _ in range(t):
            swap = torch.rand(n, generator=gen) < p
            rand = torch.randint(0, n_classes, (n,), generator=gen)
            labels.append(torch.where(swap, rand, yt))
    labels = torch.stack(labels)  # (P·T, n)
    dev = resolve_device(device)
    members = [
        build_member(model_factory, member_seed(seed, 200_000 + b)) for b in range(len(labels))
    ]
    run = train_members(
        Stack(members, dev),
        xt.to(dev, next(members[0].parameters()).dtype),
        labels.to(dev),
        torch.ones(len(labels), n, dtype=torch.bool),
        train,
        log_steps=range(0, train.steps + 1, log_every),
    )
    correct = (run.logged.argmax(-1).cpu() == labels[:, None, :]).numpy()  # (B, S, n)
    acc = correct.mean(-1)
    steps = first_fit_step(correct.all(-1)[..., None], run.log_steps)[..., 0]
    return FitTimes(
        fr, steps.reshape(len(fr), t), acc.reshape(len(fr), t, -1), run.log_steps, run.wall_s
    )


def min_norm_spectrum_risk(
    eigenvalues,
    theta,
    n: int,
    *,
    sigma2: float = 1.0,
    n_trials: int = 50,
    seed: int = 0,
    device: str = "auto",
    max_elements: int = 2**24,
) -> tuple[np.ndarray, float]:
    """Monte-Carlo excess risk of min-norm interpolation θ̂ = Xᵀ(XXᵀ)⁻¹y on x ~ N(0, diag(λ)).

    Each trial draws X (n, p) with columns scaled by √λ, y = Xθ* + N(0, σ²) with θ* = ``theta``
    times independent random signs, and records (θ̂ − θ*)ᵀΣ(θ̂ − θ*). Trials run in batches of at
    most ``max_elements`` design entries, float64.

    Returns:
        ((T,) risks, max over trials of the relative training residual ‖Xθ̂ − y‖/‖y‖).
    """
    lam = torch.as_tensor(as_array(eigenvalues, "eigenvalues", ge=0).ravel())
    th = torch.as_tensor(as_array(theta, "theta").ravel())
    n = as_int(n, "n", ge=1)
    t = as_int(n_trials, "n_trials", ge=2)
    if th.shape != lam.shape:
        raise ValueError(f"theta must have the eigenvalues' shape {tuple(lam.shape)}")
    dev = resolve_device(device)
    gen = make_generator(seed, dev)
    lam, th = lam.to(dev), th.to(dev)
    p = lam.numel()
    per = max(1, max_elements // (n * p))
    risks, resid = [], 0.0
    with single_cpu_thread(dev) if p * n < 2**16 else contextlib.nullcontext():
        for start in range(0, t, per):
            b = min(per, t - start)
            z = torch.randn(b, n, p, generator=gen, device=dev, dtype=torch.float64)
            x = z * lam.sqrt()
            sign = torch.randint(0, 2, (b, p), generator=gen, device=dev).double() * 2 - 1
            theta = th * sign
            y = torch.einsum("bnp,bp->bn", x, theta)
            y = y + math.sqrt(sigma2) * torch.randn(b, n, generator=gen, device=dev, dtype=y.dtype)
            gram = x @ x.transpose(1, 2)
            # the Gram matrix is SPD (p > n): Cholesky, not LU (MKL's batched LU pivoting fails
            # on large batches here)
            alpha = torch.cholesky_solve(y[..., None], torch.linalg.cholesky(gram))
            est = (x.transpose(1, 2) @ alpha)[..., 0]
            diff = est - theta
            risks.append(((diff**2) * lam).sum(1))
            r = (x @ est[..., None])[..., 0] - y
            resid = max(resid, float((r.norm(dim=1) / y.norm(dim=1)).max()))
    return torch.cat(risks).cpu().numpy(), resid

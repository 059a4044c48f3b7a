"""Models trained with L1 (proximal steps) vs L2 (weight decay): exact zeros vs shrinkage.

Part of :mod:`kernelcap.empirics.sparsity` (import from there): linear models on an orthonormal
design and small ReLU MLPs, every penalty, λ and seed trained together as one tensor program.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.empirics._sparsity_solvers import _generator, _soft
from kernelcap.progress import progress as _progress
from kernelcap.runtime import resolve_device
from kernelcap.theory import sparsity as th
from kernelcap.theory._validation import as_array, as_int


@dataclass(frozen=True)
class ZeroFractions:
    """Exact-zero fractions of linear models trained with L1 (proximal) and L2 (weight decay).

    Attributes:
        lam: ``(L,)`` penalties. l1_zero, l2_zero: ``(L,)`` fraction of coefficients exactly 0
        over all trials. n_coefficients: coefficients per λ (trials × d).
        l1_coef, l2_coef: ``(L, n_trials, d)`` trained coefficients; z: ``(n_trials, d)`` = Xᵀy.
    """

    lam: np.ndarray
    l1_zero: np.ndarray
    l2_zero: np.ndarray
    n_coefficients: int
    l1_coef: np.ndarray
    l2_coef: np.ndarray
    z: np.ndarray


def orthonormal_zero_fractions(
    n_features: int,
    lam: Sequence[float],
    *,
    sigma: float = 1.0,
    sparsity: float = 0.2,
    signal_std: float = 3.0,
    n_trials: int = 20,
    n_steps: int = 40,
    lr: float = 0.5,
    progress: bool | None = None,
    device="auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> ZeroFractions:
    """Train ``½‖y − Xβ‖² + penalty`` on an orthonormal design (``n = 2d`` samples) by gradient
    steps.

    L1: proximal gradient ``β ← S_{ηλ}(β − η∇)`` (the subgradient of ``|β|`` never lands on 0, the
    prox does); L2: gradient descent with weight decay ``β ← β − η(∇ + λβ)``. Ground truth from the
    spike-and-slab prior of :func:`kernelcap.theory.sparsity.lasso_zero_fraction`. The L2 step is
    ``η/(1 + λ)`` (stable for every λ). All λ and trials train together as one ``(L, T, d)``
    tensor.

    Args:
        n_features: d. lam: (L,) penalties λ ≥ 0. sigma, sparsity, signal_std: noise σ, slab
            probability ε and slab scale s of the prior. n_trials: independent designs and
            coefficient draws (Monte-Carlo). n_steps, lr: gradient steps and step size η.
        progress: tqdm bar over steps (None: only on a terminal).
        device: where to run.
        seed: the random stream's seed.
        generator: a ``torch.Generator`` used instead of ``seed``.
    """
    d = as_int(n_features, "n_features", ge=1)
    lam_np = as_array(lam, "lam", ge=0).reshape(-1)
    T = as_int(n_trials, "n_trials", ge=1)
    n_steps = as_int(n_steps, "n_steps", ge=1)
    dev = resolve_device(device)
    gen = _generator(generator, seed, dev)
    f64 = torch.float64
    X, _ = torch.linalg.qr(torch.randn(T, 2 * d, d, generator=gen, device=dev, dtype=f64))
    slab = torch.rand(T, d, generator=gen, device=dev, dtype=f64) < sparsity
    beta = signal_std * torch.randn(T, d, generator=gen, device=dev, dtype=f64) * slab
    y = (X @ beta.unsqueeze(-1)).squeeze(-1) + sigma * torch.randn(
        T, 2 * d, generator=gen, device=dev, dtype=f64
    )
    lam_t = torch.as_tensor(lam_np, device=dev).view(-1, 1, 1)

    def grad(b):  # ∇ ½‖y − Xb‖² for b: (L, T, d)
        r = torch.einsum("tnd,ltd->ltn", X, b) - y
        return torch.einsum("tnd,ltn->ltd", X, r)

    b1 = torch.zeros(len(lam_np), T, d, device=dev, dtype=f64)
    b2 = b1.clone()
    for _ in _progress(range(n_steps), total=n_steps, desc="L1 vs L2", enabled=progress):
        b1 = _soft(b1 - lr * grad(b1), lr * lam_t)
        b2 = b2 - lr / (1 + lam_t) * (grad(b2) + lam_t * b2)  # step below 2/(1 + λ): no oscillation
    z = (X.transpose(1, 2) @ y.unsqueeze(-1)).squeeze(-1)
    return ZeroFractions(
        lam=lam_np,
        l1_zero=(b1 == 0).double().mean((1, 2)).cpu().numpy(),
        l2_zero=(b2 == 0).double().mean((1, 2)).cpu().numpy(),
        n_coefficients=T * d,
        l1_coef=b1.cpu().numpy(),
        l2_coef=b2.cpu().numpy(),
        z=z.cpu().numpy(),
    )


@dataclass(frozen=True)
class PenalizedMLPs:
    """One-hidden-layer ReLU MLPs trained with no penalty, L2 (weight decay) and L1 (proximal).

    Attributes:
        penalties: names, ``("none", "l2", "l1")``.
        weights: ``(3, n_seeds, P)`` trained weights (both layers, no biases).
        zero_fraction: ``(3, n_seeds)`` exact zeros.
        near_zero_fraction: ``(3, n_seeds)`` weights with ``|w| < 1e-3``.
        hoyer: ``(3, n_seeds)`` Hoyer sparsity.
        test_accuracy: ``(3, n_seeds)``.
    """

    penalties: tuple[str, ...]
    weights: np.ndarray
    zero_fraction: np.ndarray
    near_zero_fraction: np.ndarray
    hoyer: np.ndarray
    test_accuracy: np.ndarray


def train_penalized_mlps(
    *,
    n_inputs: int = 40,
    n_relevant: int = 4,
    width: int = 64,
    n_train: int = 400,
    n_test: int = 2000,
    lam_l1: float = 1e-3,
    lam_l2: float = 1e-3,
    n_seeds: int = 3,
    n_steps: int = 300,
    lr: float = 0.5,
    progress: bool | None = None,
    device="auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> PenalizedMLPs:
    """Train ``3 × n_seeds`` MLPs at once on a sparse teacher (label = sign of a linear function of
    the first ``n_relevant`` inputs), full-batch gradient descent on the logistic loss.

    L1 uses the proximal step ``w ← S_{ηλ₁}(w − η∇)``; L2 adds ``λ₂ w`` to the gradient. The
    ``n_seeds`` networks per penalty are independently initialised on the same data.

    Args:
        n_inputs: input dimension.
        n_relevant: the teacher's support.
        width: hidden units.
        n_train: training samples.
        n_test: test samples. lam_l1, lam_l2: penalties. n_seeds: networks per penalty.
        n_steps: full-batch steps.
        lr: step size.
        progress: tqdm bar over steps (None: only on a terminal).
        device: where to run.
        seed: the random stream's seed.
        generator: a ``torch.Generator`` used instead of ``seed``.
    """
    dev = resolve_device(device)
    gen = _generator(generator, seed, dev)
    d, h, S = n_inputs, width, as_int(n_seeds, "n_seeds", ge=1)
    n_steps = as_int(n_steps, "n_steps", ge=1)
    teacher = torch.zeros(d, device=dev)
    teacher[:n_relevant] = torch.randn(n_relevant, generator=gen, device=dev)
    x = torch.randn(n_train + n_test, d, generator=gen, device=dev)
    labels = torch.sign(x @ teacher)
    xtr, ytr, xte, yte = x[:n_train], labels[:n_train], x[n_train:], labels[n_train:]
    B = 3 * S
    W1 = (torch.randn(B, d, h, generator=gen, device=dev) / math.sqrt(d)).requires_grad_()
    b1 = torch.zeros(B, 1, h, device=dev, requires_grad=True)
    w2 = (torch.randn(B, h, generator=gen, device=dev) / math.sqrt(h)).requires_grad_()
    l1 = torch.tensor([0.0, 0.0, lam_l1], device=dev).repeat_interleave(S)
    l2 = torch.tensor([0.0, lam_l2, 0.0], device=dev).repeat_interleave(S)

    def forward(inp):
        return (torch.relu(inp @ W1 + b1) * w2.unsqueeze(1)).sum(-1)  # (B, N)

    for _ in _progress(range(n_steps), total=n_steps, desc="penalised MLPs", enabled=progress):
        loss = torch.nn.functional.softplus(-ytr * forward(xtr)).mean(-1).sum()
        g1, gb, g2 = torch.autograd.grad(loss, (W1, b1, w2))
        with torch.no_grad():
            W1.copy_(_soft(W1 - lr * (g1 + l2.view(B, 1, 1) * W1), (lr * l1).view(B, 1, 1)))
            w2.copy_(_soft(w2 - lr * (g2 + l2.view(B, 1) * w2), (lr * l1).view(B, 1)))
            b1.sub_(lr * gb)
    with torch.no_grad():
        acc = (torch.sign(forward(xte)) == yte).float().mean(-1)
        w = torch.cat([W1.reshape(B, -1), w2], dim=1)
    w_np = w.cpu().numpy().astype(np.float64)
    return PenalizedMLPs(
        penalties=("none", "l2", "l1"),
        weights=w_np.reshape(3, S, -1),
        zero_fraction=(w_np == 0).mean(-1).reshape(3, S),
        near_zero_fraction=(np.abs(w_np) < 1e-3).mean(-1).reshape(3, S),
        hoyer=np.asarray(th.hoyer_sparsity(w_np)).reshape(3, S),
        test_accuracy=acc.cpu().numpy().reshape(3, S).astype(np.float64),
    )

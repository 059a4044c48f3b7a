"""Diagonal linear networks ``β = u⊙v`` trained with weight decay, beside the lasso (same data).

Part of :mod:`kernelcap.empirics.sparsity` (import from there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.empirics._sparsity_solvers import _generator, lasso
from kernelcap.progress import progress as _progress
from kernelcap.runtime import resolve_device
from kernelcap.theory._validation import as_array, as_int


@dataclass(frozen=True)
class DiagonalNetworkFit:
    """``β = u⊙v`` trained with weight decay next to the lasso solution, for each problem and λ.

    Attributes:
        lam: ``(S, L)`` penalties (S independent problems, L values of λ each).
        beta_diag, beta_lasso: ``(S, L, d)``. kkt_lasso: ``(S, L)`` KKT violation of the FISTA
        solution. beta_true: ``(S, d)``.
    """

    lam: np.ndarray
    beta_diag: np.ndarray
    beta_lasso: np.ndarray
    kkt_lasso: np.ndarray
    beta_true: np.ndarray


def train_diagonal_network(
    n_samples: int,
    n_features: int,
    n_nonzero: int,
    lam_ratio: Sequence[float],
    *,
    n_problems: int = 1,
    noise: float = 0.1,
    init_scale: float = 0.1,
    n_steps: int = 2000,
    lr: float = 0.1,
    momentum: float = 0.9,
    progress: bool | None = None,
    device="auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> DiagonalNetworkFit:
    """Gradient descent on ``(1/2n)‖y − X(u⊙v)‖² + (λ/2)(‖u‖² + ‖v‖²)`` for all problems and λ at
    once, and FISTA on the equivalent lasso ``(1/2n)‖y − Xβ‖² + λ‖β‖₁`` (same data).

    Each problem has Gaussian ``X: (n, d)``, a k-sparse ``β`` with entries ``±[1, 2]`` and noise.
    ``λ = lam_ratio · λ_max`` with ``λ_max = ‖Xᵀy‖_∞/n``, the smallest λ whose lasso solution is 0.
    Init ``u = init_scale·1``, ``v = 0``; heavy-ball momentum ``μ`` (``m ← μm + ∇``,
    ``θ ← θ − ηm``). Inactive coordinates decay like ``exp(−η(λ − |Xⱼᵀr|/n)t/(1 − μ))``, so
    small ratios need more steps.

    Args:
        n_samples: n.
        n_features: d.
        n_nonzero: k. lam_ratio: (L,) values in (0, 1].
        n_problems: independent data sets S. noise: label-noise std. init_scale, n_steps, lr,
            momentum: the training run (FISTA runs max(n_steps, 2000) iterations).
        progress: tqdm bars over steps (None: only on a terminal).
        device: where to run.
        seed: the random stream's seed.
        generator: a ``torch.Generator`` used instead of ``seed``.
    """
    n = as_int(n_samples, "n_samples", ge=1)
    d = as_int(n_features, "n_features", ge=1)
    k = as_int(n_nonzero, "n_nonzero", ge=0)
    S = as_int(n_problems, "n_problems", ge=1)
    ratio = as_array(lam_ratio, "lam_ratio", gt=0, le=1).reshape(-1)
    n_steps = as_int(n_steps, "n_steps", ge=1)
    dev = resolve_device(device)
    gen = _generator(generator, seed, dev)
    dt = torch.float64
    X = torch.randn(S, n, d, generator=gen, device=dev, dtype=dt)
    beta = torch.zeros(S, d, device=dev, dtype=dt)
    signs = torch.sign(torch.randn(S, k, generator=gen, device=dev, dtype=dt))
    beta[:, :k] = signs * (1 + torch.rand(S, k, generator=gen, device=dev, dtype=dt))
    y = (X @ beta.unsqueeze(-1)).squeeze(-1) + noise * torch.randn(
        S, n, generator=gen, device=dev, dtype=dt
    )
    lam_max = (X.transpose(1, 2) @ y.unsqueeze(-1)).squeeze(-1).abs().amax(-1) / n  # (S,)
    lam_t = lam_max.unsqueeze(-1) * torch.as_tensor(ratio, device=dev, dtype=dt)  # (S, L)
    L = len(ratio)
    u = torch.full((S, L, d), float(init_scale), device=dev, dtype=dt)
    v = torch.zeros(S, L, d, device=dev, dtype=dt)
    mu, mv = torch.zeros_like(u), torch.zeros_like(v)
    lam3 = lam_t.unsqueeze(-1)
    for _ in _progress(range(n_steps), total=n_steps, desc="diagonal nets", enabled=progress):
        g = ((u * v) @ X.transpose(1, 2) - y.unsqueeze(1)) @ X / n  # (S, L, d)
        mu, mv = momentum * mu + g * v + lam3 * u, momentum * mv + g * u + lam3 * v
        u, v = u - lr * mu, v - lr * mv
    A = (X / math.sqrt(n)).unsqueeze(1).expand(S, L, n, d).reshape(S * L, n, d)
    b = (y / math.sqrt(n)).unsqueeze(1).expand(S, L, n).reshape(S * L, n)
    fit = lasso(A, b, lam_t.reshape(-1), n_iter=max(n_steps, 2000), progress=progress)
    return DiagonalNetworkFit(
        lam=lam_t.cpu().numpy(),
        beta_diag=(u * v).cpu().numpy(),
        beta_lasso=fit.x.reshape(S, L, d).cpu().numpy(),
        kkt_lasso=fit.gap.reshape(S, L).cpu().numpy(),
        beta_true=beta.cpu().numpy(),
    )

"""Sparse recovery with Gaussian measurements: the basis-pursuit phase diagram and L1 vs L2 errors.

Part of :mod:`kernelcap.empirics.sparsity` (import from there). Every grid point × trial is one
problem of a single batched solve.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.compare import crossing
from kernelcap.empirics._sparsity_solvers import (
    DTYPE,
    _generator,
    basis_pursuit,
    min_norm_solution,
)
from kernelcap.runtime import resolve_device
from kernelcap.theory._validation import as_array, as_int

SUCCESS_TOL = 1e-3
"""Relative L2 error below which a recovery counts as exact (Donoho–Tanner use 1e-3 … 1e-2)."""


def _sparse_problems(n_meas, n_nonzero, n_features, gen, device):
    """Gaussian ``A`` (entries N(0, 1/n)) padded to ``max n``, and k-sparse Gaussian ``x₀``."""
    B = n_meas.numel()
    n_max = int(n_meas.max())
    row_mask = torch.arange(n_max, device=device) < n_meas.unsqueeze(-1)
    A = torch.randn(B, n_max, n_features, generator=gen, device=device, dtype=DTYPE)
    A = A * row_mask.unsqueeze(-1) / n_meas.to(DTYPE).sqrt().view(B, 1, 1)
    ranks = torch.rand(B, n_features, generator=gen, device=device).argsort(-1).argsort(-1)
    support = ranks < n_nonzero.unsqueeze(-1)
    x0 = torch.randn(B, n_features, generator=gen, device=device, dtype=DTYPE) * support
    y = (A @ x0.unsqueeze(-1)).squeeze(-1)
    return A, y, x0, row_mask


@dataclass(frozen=True)
class PhaseDiagram:
    """Basis-pursuit success over a (δ = n/d, ρ = k/n) grid.

    Attributes:
        n_features: d. n_measurements: ``(n_delta,)`` n per column. n_nonzero: ``(n_delta, n_rho)``.
        success: ``(n_delta, n_rho)`` fraction of trials with relative error ≤ :data:`SUCCESS_TOL`.
        n_trials: trials per grid point. seconds: solver wall time.
    """

    n_features: int
    n_measurements: np.ndarray
    n_nonzero: np.ndarray
    success: np.ndarray
    n_trials: int
    seconds: float

    @property
    def undersampling(self) -> np.ndarray:
        return self.n_measurements / self.n_features

    @property
    def sparsity_ratio(self) -> np.ndarray:
        return self.n_nonzero / self.n_measurements[:, None]

    def boundary(self) -> tuple[np.ndarray, np.ndarray]:
        """50% crossing ρ₅₀ = k/n of each column and its standard error, ``(n_delta,)`` each.

        :func:`kernelcap.compare.crossing` per column: linear interpolation, and the binomial
        standard error √(¼/n_trials) of the success fractions divided by the local slope. NaN
        where a column does not bracket 50% (it never falls below, or starts below: then the
        crossing lies off the grid).
        """
        rho50 = np.full(len(self.n_measurements), np.nan)
        err = np.full_like(rho50, np.nan)
        for i, (r, s) in enumerate(zip(self.sparsity_ratio, self.success)):
            if s[0] < 0.5:
                continue
            est = crossing(r, s, 0.5, n_trials=self.n_trials)
            rho50[i], err[i] = est.value, est.stderr
        return rho50, err


def phase_diagram(
    n_features: int,
    undersampling: Sequence[float],
    sparsity_ratio: Sequence[float],
    *,
    n_trials: int = 20,
    n_iter: int = 500,
    progress: bool | None = None,
    device="auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> PhaseDiagram:
    """Success probability of basis pursuit on the whole (n/d, k/n) grid in one batched solve.

    Args:
        n_features: d. undersampling: δ values in (0, 1]; n = round(δ d).
        sparsity_ratio: ρ values in (0, 1]; k = max(1, round(ρ n)) (duplicates are kept).
        n_trials: independent problems per grid point. n_iter: ADMM iterations.
        progress: tqdm bar over iterations (None: only on a terminal).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``. seed, generator: the random stream (a given
            generator is used instead of ``seed``).
    """
    d = as_int(n_features, "n_features", ge=2)
    deltas = as_array(undersampling, "undersampling", gt=0, le=1)
    rhos = as_array(sparsity_ratio, "sparsity_ratio", gt=0, le=1)
    n_trials = as_int(n_trials, "n_trials", ge=1)
    dev = resolve_device(device)
    gen = _generator(generator, seed, dev)
    n = np.maximum(np.round(deltas * d), 1).astype(int)
    k = np.clip(np.round(rhos[None, :] * n[:, None]), 1, n[:, None]).astype(int)
    shape = (len(n), len(rhos), n_trials)
    n_b = torch.as_tensor(np.broadcast_to(n[:, None, None], shape).ravel(), device=dev)
    k_b = torch.as_tensor(np.broadcast_to(k[:, :, None], shape).ravel(), device=dev)
    start = time.perf_counter()
    A, y, x0, mask = _sparse_problems(n_b, k_b, d, gen, dev)
    x = basis_pursuit(A, y, row_mask=mask, n_iter=n_iter, progress=progress).x
    rel = ((x - x0).norm(dim=-1) / x0.norm(dim=-1)).reshape(shape)
    success = (rel <= SUCCESS_TOL).to(DTYPE).mean(-1).cpu().numpy()
    return PhaseDiagram(d, n, k, success, n_trials, time.perf_counter() - start)


@dataclass(frozen=True)
class RecoveryErrors:
    """Relative squared errors ``‖x̂ − x₀‖²/‖x₀‖²`` of L2 (min-norm) and L1 (basis pursuit).

    Attributes:
        n_features, n_nonzero: d, k. n_measurements: ``(G,)``.
        l2_error, l1_error: ``(G, n_trials)``.
        seconds: solver wall time.
    """

    n_features: int
    n_nonzero: int
    n_measurements: np.ndarray
    l2_error: np.ndarray
    l1_error: np.ndarray
    seconds: float = float("nan")


def recovery_errors(
    n_features: int,
    n_nonzero: int,
    n_measurements: Sequence[int],
    *,
    n_trials: int = 20,
    n_iter: int = 500,
    progress: bool | None = None,
    device="auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> RecoveryErrors:
    """Min-L2 interpolant vs basis pursuit on the same k-sparse problems, all n at once.

    Args:
        n_features: d. n_nonzero: k ≥ 1. n_measurements: (G,) integers in [1, d].
        n_trials: problems per n. n_iter: ADMM iterations.
        progress: tqdm bar over iterations (None: only on a terminal).
        device: where to run.
        seed: the random stream's seed.
        generator: a ``torch.Generator`` used instead of ``seed``.
    """
    d = as_int(n_features, "n_features", ge=2)
    k = as_int(n_nonzero, "n_nonzero", ge=1)
    n = as_array(n_measurements, "n_measurements", integer=True, ge=1, le=d).astype(int)
    n_trials = as_int(n_trials, "n_trials", ge=1)
    dev = resolve_device(device)
    gen = _generator(generator, seed, dev)
    start = time.perf_counter()
    n_b = torch.as_tensor(np.repeat(n, n_trials), device=dev)
    A, y, x0, mask = _sparse_problems(n_b, torch.full_like(n_b, k), d, gen, dev)
    norm2 = x0.square().sum(-1)
    x2 = min_norm_solution(A, y, mask)
    x1 = basis_pursuit(A, y, row_mask=mask, n_iter=n_iter, progress=progress).x
    e2 = ((x2 - x0).square().sum(-1) / norm2).reshape(len(n), n_trials).cpu().numpy()
    e1 = ((x1 - x0).square().sum(-1) / norm2).reshape(len(n), n_trials).cpu().numpy()
    return RecoveryErrors(d, k, n, e2, e1, time.perf_counter() - start)

"""Batched simulations of associative memories (Hopfield networks and relatives).

Every simulation draws random ±1 patterns for a whole grid (loads × trials) at once. Grids with
different numbers of patterns (or neurons) share one tensor by zero-padding: a padded pattern or
neuron is all zeros, so it adds nothing to any overlap or field, and masks say what is real.

Simulations: one-step stability of Hebbian / pseudo-inverse / Storkey memories
(:func:`one_step_errors`), asynchronous retrieval dynamics (:func:`async_retrieval`), dense
polynomial memories (:func:`dense_one_step_errors`), modern softmax memories
(:func:`modern_one_step_retrieval`) and perceptron separability of random dichotomies
(:func:`separable_fraction`). The claims that compare them with :mod:`kernelcap.theory.hopfield`
are in :mod:`kernelcap.claims.hopfield`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.empirics._hopfield_dense import (
    DenseResult,
    ModernResult,
    dense_one_step_errors,
    modern_one_step_retrieval,
)
from kernelcap.empirics._hopfield_patterns import RULES, _sizes, padded_patterns, store_patterns
from kernelcap.empirics._hopfield_perceptron import SeparabilityResult, separable_fraction
from kernelcap.progress import progress as progress_bar
from kernelcap.runtime import make_generator, resolve_device, single_cpu_thread
from kernelcap.theory._validation import as_int

__all__ = [
    "RULES",
    "DenseResult",
    "ModernResult",
    "OneStepResult",
    "RetrievalResult",
    "SeparabilityResult",
    "async_retrieval",
    "dense_one_step_errors",
    "modern_one_step_retrieval",
    "one_step_errors",
    "padded_patterns",
    "separable_fraction",
    "store_patterns",
]


# ----------------------------------------------------------------------------- one-step stability


@dataclass(frozen=True)
class OneStepResult:
    """One-step stability of stored patterns over a grid.

    Attributes:
        n_neurons, n_patterns: ``(L,)`` grid.
        error_rate: ``(L,)`` fraction of stored bits that flip in one synchronous step (a zero
            field counts as half an error), averaged over trials.
        error_stderr: ``(L,)`` standard error of ``error_rate`` across trials.
        all_stable: ``(L,)`` fraction of trials in which every bit of every pattern is stable
            (a zero field counts as stable with probability ½).
        all_stable_stderr: ``(L,)`` its binomial standard error.
        n_trials: trials per grid point.
    """

    n_neurons: np.ndarray
    n_patterns: np.ndarray
    error_rate: np.ndarray
    error_stderr: np.ndarray
    all_stable: np.ndarray
    all_stable_stderr: np.ndarray
    n_trials: int


def one_step_errors(
    n_neurons: Sequence[int] | int,
    n_patterns: Sequence[int],
    n_trials: int,
    *,
    rule: str = "hebbian",
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> OneStepResult:
    """Start each stored pattern, apply one synchronous update, count flipped bits.

    Hebbian memories of every grid point run as one padded tensor program: the fields of all
    patterns are ``H = (ΞΞᵀ)Ξ − P·Ξ`` (zero diagonal); other rules build W per grid point.

    Args:
        n_neurons: N (int, or one per grid point).
        n_patterns: P per grid point, ``(L,)``.
        n_trials: T independent pattern sets per grid point.
        rule: one of :data:`RULES`.
        device: where to run.
        seed: the random stream's seed.
        generator: a ``torch.Generator`` used instead of ``seed``.
    """
    gen = generator or make_generator(seed, resolve_device(device))
    p = np.array(_sizes(n_patterns, "n_patterns"))
    n = np.array(
        _sizes([n_neurons] * len(p) if np.ndim(n_neurons) == 0 else n_neurons, "n_neurons", 2)
    )
    # Hebbian fields N·h are integers |N·h| ≤ N·P, exact in float32 below 2^24
    dtype = torch.float32 if rule == "hebbian" and int((n * p).max()) < 2**24 else torch.float64
    xi = padded_patterns(n, p, n_trials, generator=gen, dtype=dtype)  # (L, T, Pm, Nm)

    def fields(j: int) -> torch.Tensor:  # (T, Pm, Nm) fields N·h of grid point j's patterns
        x = xi[j]
        if rule == "hebbian":
            # H = (ΞΞᵀ)Ξ − P·Ξ (zero diagonal: Σ_μ (ξ^μ_i)² = P on real neurons, Ξ = 0 on padding)
            return ((x @ x.transpose(-1, -2)) @ x).sub_(x, alpha=float(p[j]))
        h = torch.zeros_like(x)  # sizes differ; each W is its own batch of trials
        xs = x[:, : p[j], : n[j]]
        h[:, : p[j], : n[j]] = xs @ store_patterns(rule, xs).transpose(-1, -2)
        return h

    # One grid point at a time: the fields, the comparisons and the int64 copies that reductions
    # over booleans make stay one slice large instead of several times the whole padded grid.
    # The counts go into tensors allocated up front: small results kept alive between the large
    # temporaries fragment the heap (appending them to a list grew the peak by 1 GB).
    n_err = torch.empty(xi.shape[:2], dtype=torch.int64, device=xi.device)
    n_tie = torch.empty_like(n_err)
    for j in range(len(p)):
        stab = fields(j).mul_(xi[j])
        n_err[j] = (stab < 0).sum((-1, -2))
        n_tie[j] = ((stab == 0) & (xi[j] != 0)).sum((-1, -2))  # a zero field: half an error
    n_tie = n_tie.double()
    per_trial = (n_err.double() + 0.5 * n_tie) / torch.tensor(
        n * p, dtype=torch.float64, device=xi.device
    )[:, None]
    stable = (n_err == 0).double() * torch.pow(0.5, n_tie)
    t = n_trials
    err = per_trial.mean(1).cpu().numpy()
    err_se = (per_trial.std(1) / math.sqrt(t)).cpu().numpy() if t > 1 else np.full(len(p), np.nan)
    allst = stable.mean(1).cpu().numpy()
    return OneStepResult(
        n_neurons=n,
        n_patterns=p,
        error_rate=err,
        error_stderr=err_se,
        all_stable=allst,
        all_stable_stderr=np.sqrt(np.maximum(allst * (1 - allst), 0.25 / t) / t),
        n_trials=t,
    )


# ------------------------------------------------------------------------- asynchronous dynamics


@dataclass(frozen=True)
class RetrievalResult:
    """Asynchronous zero-temperature retrieval from a stored pattern.

    Attributes:
        alpha: ``(L,)`` loads P/N; n_neurons: N.
        overlap: ``(L, T)`` final overlap m = ξ¹·s/N per trial.
        sweeps: number of full sweeps run (stops early when no neuron flips in a sweep).
        converged: ``(L, T)`` whether that trial reached a fixed point.
    """

    alpha: np.ndarray
    n_neurons: int
    overlap: np.ndarray
    sweeps: int
    converged: np.ndarray


def async_retrieval(
    n_neurons: int,
    n_patterns: Sequence[int],
    n_trials: int,
    *,
    max_sweeps: int = 30,
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
    progress: bool | None = None,
) -> RetrievalResult:
    """Hebbian memory, started at pattern ξ¹, updated one neuron at a time (random order per
    trial and sweep) until no neuron flips in a whole sweep or ``max_sweeps`` is reached.

    All loads and trials run together. Couplings are never formed: each batch element keeps its
    overlaps ξ^μ·s (P numbers) and gets a field as h_i = (Σ_μ ξ^μ_i ξ^μ·s − P s_i)/N, so memory
    and work per update are O(P) instead of O(N).
    """
    n = as_int(n_neurons, "n_neurons", ge=2)
    p = np.array(_sizes(n_patterns, "n_patterns"))
    sweeps_max = as_int(max_sweeps, "max_sweeps", ge=1)
    gen = generator or make_generator(seed, resolve_device(device))
    xi = padded_patterns(n, p, n_trials, generator=gen)  # (L, T, Pm, N)
    L, T = xi.shape[:2]
    xi_t = xi.reshape(L * T, -1, n).transpose(-1, -2).contiguous()  # (B, N, Pm): row i = ξ_i^μ
    del xi  # only the transposed copy is needed from here on
    n_real = torch.tensor(p, dtype=xi_t.dtype, device=xi_t.device).repeat_interleave(T)
    s = xi_t[:, :, 0].clone()
    overlaps = (xi_t * s[..., None]).sum(1)  # m_μ·N = ξ^μ·s, (B, Pm)
    with single_cpu_thread(xi_t.device):
        sweeps, done = _async_sweeps(xi_t, s, overlaps, n_real, sweeps_max, gen, progress)
    m = (s * xi_t[:, :, 0]).sum(-1) / n
    return RetrievalResult(
        alpha=p / n,
        n_neurons=n,
        overlap=m.reshape(L, T).cpu().numpy(),
        sweeps=sweeps,
        converged=done.reshape(L, T).cpu().numpy(),
    )


def _async_sweeps(xi_t, s, overlaps, n_real, sweeps_max, gen, progress):
    """Random-order single-neuron updates, in place on ``s`` and ``overlaps`` (async_retrieval)."""
    b, n, _ = xi_t.shape
    batch = torch.arange(b, device=xi_t.device)
    done = torch.zeros(b, dtype=torch.bool, device=xi_t.device)
    sweeps = 0
    for _ in progress_bar(range(sweeps_max), desc="async sweeps", enabled=progress):
        sweeps += 1
        order = torch.argsort(torch.rand(b, n, generator=gen, device=xi_t.device), dim=1)
        flips = torch.zeros(b, device=xi_t.device)
        for k in range(n):
            i = order[:, k]
            row = xi_t[batch, i]  # (B, Pm), contiguous rows
            old = s[batch, i]
            hi = (row * overlaps).sum(-1) - n_real * old  # N·h_i with the self-coupling removed
            new = torch.where(hi > 0, 1.0, torch.where(hi < 0, -1.0, old))
            delta = new - old
            s[batch, i] = new
            overlaps += delta[:, None] * row
            flips += delta != 0
        done = flips == 0
        if bool(done.all()):
            break
    return sweeps, done

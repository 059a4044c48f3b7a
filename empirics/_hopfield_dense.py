"""Dense (polynomial) and modern (softmax) associative memories: one-step simulations.

Public through :mod:`kernelcap.empirics.hopfield`; see there for the padding convention.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.empirics._hopfield_patterns import _sizes, padded_patterns
from kernelcap.runtime import make_generator, resolve_device
from kernelcap.theory import hopfield as theory
from kernelcap.theory._validation import as_int

__all__ = ["DenseResult", "ModernResult", "dense_one_step_errors", "modern_one_step_retrieval"]


@dataclass(frozen=True)
class DenseResult:
    """One-step bit-error rate of dense memories F(x) = x^n over a grid of (N, K).

    Attributes:
        n_neurons, n_patterns: ``(L,)``; degree: n.
        error_rate, error_stderr: ``(L,)`` flipped fraction of probe bits and its standard error.
    """

    n_neurons: np.ndarray
    n_patterns: np.ndarray
    degree: int
    error_rate: np.ndarray
    error_stderr: np.ndarray


def dense_one_step_errors(
    n_neurons: Sequence[int],
    n_patterns: Sequence[int],
    degree: int,
    n_trials: int,
    *,
    n_probes: int = 4,
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> DenseResult:
    """Krotov–Hopfield update ``σ_i ← sign Σ_μ ξ^μ_i [F(1 + x_μi) − F(−1 + x_μi)]`` with
    ``x_μi = Σ_{j≠i} ξ^μ_j σ_j``, started at each of the first ``n_probes`` stored patterns.

    Grid points with different N and K share one padded tensor (float64: x^n is large).
    """
    d = as_int(degree, "degree", ge=2)
    gen = generator or make_generator(seed, resolve_device(device))
    k = np.array(_sizes(n_patterns, "n_patterns"))
    n = np.array(_sizes(n_neurons, "n_neurons", ge=2))
    q = as_int(n_probes, "n_probes", ge=1)
    if np.any(k < q):
        raise ValueError(f"n_patterns must be >= n_probes={q}, got {k.tolist()}")
    xi = padded_patterns(n, k, n_trials, generator=gen, dtype=torch.float64)  # (L, T, K, N)
    probes = xi[:, :, :q, :]  # (L, T, q, N)
    overlaps = probes @ xi.transpose(-1, -2)  # (L, T, q, K)
    # x_{mu i} for state sigma = probe: overlap minus neuron i's own term
    x = overlaps[..., :, None] - xi[:, :, None, :, :] * probes[:, :, :, None, :]  # (L,T,q,K,N)
    real_k = (xi[:, :, None, :, :1] != 0).to(xi.dtype)
    g = ((x + 1) ** d - (x - 1) ** d) * real_k
    field = (xi[:, :, None] * g).sum(-2)  # (L, T, q, N)
    stab = field * probes
    real = probes != 0
    wrong = (stab < 0).to(xi.dtype) + 0.5 * ((stab == 0) & real).to(xi.dtype)
    per_trial = wrong.sum((-1, -2)) / torch.tensor(n * q, dtype=xi.dtype, device=xi.device)[:, None]
    t = per_trial.shape[1]
    return DenseResult(
        n_neurons=n,
        n_patterns=k,
        degree=d,
        error_rate=per_trial.mean(1).cpu().numpy(),
        error_stderr=(per_trial.std(1) / math.sqrt(t)).cpu().numpy(),
    )


# ----------------------------------------------------------------------------- modern Hopfield


@dataclass(frozen=True)
class ModernResult:
    """One-step retrieval of a modern (softmax) Hopfield network, per (load, trial, probe).

    Attributes:
        n_patterns: ``(L,)``; dim: N; beta: β; distance: query distance d = ‖ξ − x_i‖.
        error: ``(L, T, Q)`` ‖ξ_new − x_i‖.
        separation: ``(L, T, Q)`` the target's separation Δ_i = x_iᵀx_i − max_{j≠i} x_iᵀx_j.
        exact: ``(L, T, Q)`` whether sign(ξ_new) equals x_i in every coordinate.
    """

    n_patterns: np.ndarray
    dim: int
    beta: float
    distance: float
    error: np.ndarray
    separation: np.ndarray
    exact: np.ndarray

    @property
    def bound(self) -> np.ndarray:
        """``(L, T, Q)`` the theorem's bound for each query:
        :func:`~kernelcap.theory.hopfield.modern_retrieval_error_bound` at its own Δ_i."""
        return np.asarray(
            theory.modern_retrieval_error_bound(
                self.n_patterns[:, None, None],
                self.beta,
                self.separation,
                math.sqrt(self.dim),
                self.distance,
            )
        )


def modern_one_step_retrieval(
    dim: int,
    n_patterns: Sequence[int],
    n_trials: int,
    *,
    beta: float,
    distance: float,
    n_probes: int = 16,
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> ModernResult:
    """Store ±1 patterns (radius M = √N), query ``x_i + d·u`` with u a random unit vector, apply
    ``ξ ← X softmax(β Xᵀ ξ)`` once and measure the distance to ``x_i``. Padded patterns are
    masked out of the softmax."""
    n = as_int(dim, "dim", ge=2)
    p = np.array(_sizes(n_patterns, "n_patterns", ge=2))
    q = as_int(n_probes, "n_probes", ge=1)
    if np.any(p < q):
        raise ValueError(f"n_patterns must be >= n_probes={q}, got {p.tolist()}")
    if not (beta > 0 and math.isfinite(beta)):
        raise ValueError(f"beta must be a positive finite number, got {beta!r}")
    if not (distance >= 0 and math.isfinite(distance)):
        raise ValueError(f"distance must be >= 0, got {distance!r}")
    gen = generator or make_generator(seed, resolve_device(device))
    xi = padded_patterns(n, p, n_trials, generator=gen, dtype=torch.float64)  # (L, T, P, N)
    real = xi[..., 0] != 0  # (L, T, P)
    noise = torch.randn(*xi.shape[:2], q, n, generator=gen, device=xi.device, dtype=xi.dtype)
    targets = xi[:, :, :q]
    queries = targets + distance * noise / noise.norm(dim=-1, keepdim=True)
    logits = beta * (queries @ xi.transpose(-1, -2))  # (L, T, Q, P)
    logits = logits.masked_fill(~real[:, :, None, :], -math.inf)
    new = torch.softmax(logits, -1) @ xi
    error = (new - targets).norm(dim=-1)
    exact = (torch.sign(new) == targets).all(-1)
    gram = targets @ xi.transpose(-1, -2)  # (L, T, Q, P)
    own = torch.diagonal(gram[..., :q], dim1=-2, dim2=-1)
    others = gram.masked_fill(~real[:, :, None, :], -math.inf)
    others = others.scatter(
        -1, torch.arange(q, device=xi.device).expand(*gram.shape[:2], q)[..., None], -math.inf
    )
    separation = own - others.max(-1).values
    return ModernResult(
        n_patterns=p,
        dim=n,
        beta=float(beta),
        distance=float(distance),
        error=error.cpu().numpy(),
        separation=separation.cpu().numpy(),
        exact=exact.cpu().numpy(),
    )

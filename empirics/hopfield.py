"""Batched simulations of associative memories and the hopfield.* claims.

Every simulation draws random ±1 patterns for a whole grid (loads × trials) at once. Grids with
different numbers of patterns (or neurons) share one tensor by zero-padding: a padded pattern or
neuron is all zeros, so it adds nothing to any overlap or field, and masks say what is real.

Simulations: one-step stability of Hebbian / pseudo-inverse / Storkey memories
(:func:`one_step_errors`), asynchronous retrieval dynamics (:func:`async_retrieval`), dense
polynomial memories (:func:`dense_one_step_errors`), modern softmax memories
(:func:`modern_one_step_retrieval`) and perceptron separability of random dichotomies
(:func:`separable_fraction`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
from scipy import optimize, stats

from kernelcap.claims import Check, Evidence, claim
from kernelcap.plotting import claim_figure, plot_measured, plot_theory
from kernelcap.progress import progress
from kernelcap.runtime import Runtime, make_generator, resolve_device
from kernelcap.theory import hopfield as theory
from kernelcap.theory._validation import as_int

RULES = ("hebbian", "pseudo_inverse", "storkey")


# ----------------------------------------------------------------------------- patterns and rules


def _sizes(values: Sequence[int], name: str, ge: int = 1) -> list[int]:
    vals = [as_int(v, name, ge=ge) for v in np.atleast_1d(values).tolist()]
    if not vals:
        raise ValueError(f"{name} must not be empty")
    return vals


def padded_patterns(
    n_neurons: Sequence[int] | int,
    n_patterns: Sequence[int],
    n_trials: int,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Random ±1 patterns for a grid of (neurons, patterns) sizes, zero-padded to one tensor.

    Args:
        n_neurons: N per grid point (an int for all), length L after broadcasting.
        n_patterns: P per grid point, length L.
        n_trials: T independent draws per grid point.

    Returns:
        ``(L, T, P_max, N_max)`` tensor; entries outside ``[:P_l, :N_l]`` are 0.
    """
    p = _sizes(n_patterns, "n_patterns")
    n = _sizes([n_neurons] * len(p) if np.ndim(n_neurons) == 0 else n_neurons, "n_neurons", ge=2)
    if len(n) != len(p):
        raise ValueError(f"n_neurons and n_patterns must have the same length, got {len(n)}, {len(p)}")
    t = as_int(n_trials, "n_trials", ge=1)
    dev = generator.device
    signs = torch.randint(0, 2, (len(p), t, max(p), max(n)), generator=generator, device=dev)
    xi = signs.to(dtype).mul_(2).sub_(1)
    rows = torch.arange(max(p), device=dev)[None, :, None] < torch.tensor(p, device=dev)[:, None, None]
    cols = torch.arange(max(n), device=dev)[None, None, :] < torch.tensor(n, device=dev)[:, None, None]
    return xi * (rows & cols)[:, None].to(dtype)


def store_patterns(rule: str, patterns: torch.Tensor) -> torch.Tensor:
    """Coupling matrices of a learning rule, batched.

    Args:
        rule: ``"hebbian"`` (W = ΞᵀΞ/N, zero diagonal), ``"pseudo_inverse"`` (projection onto the
            span of the patterns, W = Ξᵀ(ΞΞᵀ)⁻¹Ξ) or ``"storkey"`` (Storkey 1997, incremental).
        patterns: ``(..., P, N)`` ±1 patterns (unpadded).

    Returns:
        ``(..., N, N)`` couplings W, used as h = W s.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    xi = patterns.to(torch.float64)
    n = xi.shape[-1]
    if rule == "hebbian":
        w = xi.transpose(-1, -2) @ xi / n
        return w - torch.diag_embed(torch.diagonal(w, dim1=-2, dim2=-1))
    if rule == "pseudo_inverse":
        return xi.transpose(-1, -2) @ torch.linalg.pinv(xi.transpose(-1, -2))
    w = torch.zeros(*xi.shape[:-2], n, n, dtype=xi.dtype, device=xi.device)
    for mu in range(xi.shape[-2]):  # Storkey's rule is sequential in the patterns by definition
        x = xi[..., mu, :]
        field = (w @ x[..., None])[..., 0]
        # h_ij = sum_{k != i, j} w_ik x_k = field_i - w_ii x_i - w_ij x_j
        h = field[..., :, None] - torch.diagonal(w, dim1=-2, dim2=-1)[..., :, None] * x[..., :, None]
        h = h - w * x[..., None, :]
        w = w + (x[..., :, None] * x[..., None, :] - x[..., :, None] * h.transpose(-1, -2)
                 - h * x[..., None, :]) / n
    return w


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
        device, seed, generator: where to run; ``generator`` overrides ``seed``.
    """
    gen = generator or make_generator(seed, resolve_device(device))
    p = np.array(_sizes(n_patterns, "n_patterns"))
    n = np.array(_sizes([n_neurons] * len(p) if np.ndim(n_neurons) == 0 else n_neurons, "n_neurons", 2))
    dtype = torch.float64
    xi = padded_patterns(n, p, n_trials, generator=gen, dtype=dtype)  # (L, T, Pm, Nm)
    if rule == "hebbian":
        fields = (xi @ xi.transpose(-1, -2)) @ xi - xi.square().sum(-2, keepdim=True) * xi
    else:
        fields = torch.zeros_like(xi)
        for l, (nl, pl) in enumerate(zip(n, p)):  # sizes differ; each W is its own batch of trials
            x = xi[l, :, :pl, :nl]
            fields[l, :, :pl, :nl] = x @ store_patterns(rule, x).transpose(-1, -2)
    stab = fields * xi
    real = xi != 0
    wrong = ((stab < 0).to(dtype) + 0.5 * ((stab == 0) & real).to(dtype))
    per_trial = wrong.sum((-1, -2)) / torch.tensor(n * p, dtype=dtype, device=xi.device)[:, None]
    n_err = (stab < 0).sum((-1, -2))
    n_tie = ((stab == 0) & real).sum((-1, -2)).to(dtype)
    stable = (n_err == 0).to(dtype) * torch.pow(0.5, n_tie)
    t = n_trials
    err = per_trial.mean(1).cpu().numpy()
    err_se = (per_trial.std(1) / math.sqrt(t)).cpu().numpy() if t > 1 else np.full(len(p), np.nan)
    allst = stable.mean(1).cpu().numpy()
    return OneStepResult(
        n_neurons=n, n_patterns=p, error_rate=err, error_stderr=err_se, all_stable=allst,
        all_stable_stderr=np.sqrt(np.maximum(allst * (1 - allst), 0.25 / t) / t), n_trials=t,
    )


# ----------------------------------------------------------------------------- asynchronous dynamics


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
    show_progress: bool | None = None,
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
    n_real = torch.tensor(p, dtype=xi.dtype, device=xi.device).repeat_interleave(T)
    s = xi_t[:, :, 0].clone()
    overlaps = (xi_t * s[..., None]).sum(1)  # m_μ·N = ξ^μ·s, (B, Pm)
    batch = torch.arange(L * T, device=xi.device)
    done = torch.zeros(L * T, dtype=torch.bool, device=xi.device)
    sweeps = 0
    for sweeps in progress(range(1, sweeps_max + 1), desc="async sweeps", enabled=show_progress):
        order = torch.argsort(torch.rand(L * T, n, generator=gen, device=xi.device), dim=1)
        flips = torch.zeros(L * T, device=xi.device)
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
    xi = xi.reshape(L * T, -1, n)
    m = (s * xi[:, 0, :]).sum(-1) / n
    return RetrievalResult(
        alpha=p / n, n_neurons=n, overlap=m.reshape(L, T).cpu().numpy(), sweeps=sweeps,
        converged=done.reshape(L, T).cpu().numpy(),
    )


# ----------------------------------------------------------------------------- dense memories


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
        n_neurons=n, n_patterns=k, degree=d, error_rate=per_trial.mean(1).cpu().numpy(),
        error_stderr=(per_trial.std(1) / math.sqrt(t)).cpu().numpy(),
    )


# ----------------------------------------------------------------------------- modern Hopfield


@dataclass(frozen=True)
class ModernResult:
    """One-step retrieval of a modern (softmax) Hopfield network, per (load, trial, probe).

    Attributes:
        n_patterns: ``(L,)``; dim: N; beta: β; distance: query distance d = ‖ξ − x_i‖.
        error: ``(L, T, Q)`` ‖ξ_new − x_i‖.
        bound: ``(L, T, Q)`` :func:`~kernelcap.theory.hopfield.modern_retrieval_error_bound` for
            that pattern's own separation Δ_i.
        exact: ``(L, T, Q)`` whether sign(ξ_new) equals x_i in every coordinate.
    """

    n_patterns: np.ndarray
    dim: int
    beta: float
    distance: float
    error: np.ndarray
    bound: np.ndarray
    exact: np.ndarray


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
    others = others.scatter(-1, torch.arange(q, device=xi.device).expand(*gram.shape[:2], q)[..., None], -math.inf)
    separation = own - others.max(-1).values
    bound = theory.modern_retrieval_error_bound(
        p[:, None, None], beta, separation.cpu().numpy(), math.sqrt(n), distance
    )
    return ModernResult(
        n_patterns=p, dim=n, beta=float(beta), distance=float(distance),
        error=error.cpu().numpy(), bound=np.asarray(bound), exact=exact.cpu().numpy(),
    )


# ----------------------------------------------------------------------------- perceptron separability


@dataclass(frozen=True)
class SeparabilityResult:
    """Fraction of random dichotomies that a perceptron (through the origin) can separate.

    Attributes:
        n_inputs: N; n_patterns: ``(L,)``; separable: ``(L, T)`` booleans.
    """

    n_inputs: int
    n_patterns: np.ndarray
    separable: np.ndarray

    @property
    def fraction(self) -> np.ndarray:
        return self.separable.mean(1)


def separable_fraction(
    n_inputs: int,
    n_patterns: Sequence[int],
    n_trials: int,
    *,
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
    show_progress: bool | None = None,
) -> SeparabilityResult:
    """Draw P Gaussian points in R^N with random ±1 labels; decide exactly whether some w has
    ``y_p w·x_p > 0`` for all p.

    Data for the whole grid is drawn as one tensor; a batched perceptron (1,000 full-batch
    steps) certifies most separable sets, and each remaining set is decided exactly by the
    linear program ``find w: y_p w·x_p ≥ 1`` (HiGHS). A positive answer from either is a
    certificate, the LP's infeasibility is a proof of non-separability.
    """
    n = as_int(n_inputs, "n_inputs", ge=1)
    p = np.array(_sizes(n_patterns, "n_patterns"))
    t = as_int(n_trials, "n_trials", ge=1)
    gen = generator or make_generator(seed, resolve_device(device))
    dev = gen.device
    x = torch.randn(len(p), t, max(p), n, generator=gen, device=dev, dtype=torch.float64)
    y = torch.randint(0, 2, (len(p), t, max(p)), generator=gen, device=dev).to(x.dtype) * 2 - 1
    real = torch.arange(max(p), device=dev)[None, None, :] < torch.tensor(p, device=dev)[:, None, None]
    z = (y * real)[..., None] * x  # rows y_p x_p, zero for padding
    w = torch.zeros(len(p), t, n, dtype=x.dtype, device=dev)
    for _ in range(1000):
        margins = (z @ w[..., None])[..., 0]
        bad = ((margins <= 0) & real).to(x.dtype)
        if not bool(bad.any()):
            break
        w = w + (bad[..., None] * z).sum(-2)
    margins = (z @ w[..., None])[..., 0]
    certified = (((margins > 0) | ~real).all(-1)).cpu().numpy()
    sep = certified.copy()
    todo = np.argwhere(~certified)
    z_np = z.cpu().numpy()
    for l, trial in progress(todo, total=len(todo), desc="separability LPs", enabled=show_progress):
        rows = z_np[l, trial, : p[l]]
        res = optimize.linprog(np.zeros(n), A_ub=-rows, b_ub=-np.ones(p[l]), bounds=(None, None),
                               method="highs")
        sep[l, trial] = res.status == 0
    return SeparabilityResult(n_inputs=n, n_patterns=p, separable=sep)

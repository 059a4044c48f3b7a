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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize, stats

from kernelcap._legacy import Check, Evidence, claim
from kernelcap.plotting import claim_figure, plot_measured, plot_theory
from kernelcap.progress import progress
from kernelcap.runtime import Runtime, make_generator, resolve_device, single_cpu_thread
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
        raise ValueError(
            f"n_neurons and n_patterns must have the same length, got {len(n)}, {len(p)}"
        )
    t = as_int(n_trials, "n_trials", ge=1)
    dev = generator.device
    signs = torch.randint(0, 2, (len(p), t, max(p), max(n)), generator=generator, device=dev)
    xi = signs.to(dtype).mul_(2).sub_(1)
    rows = (
        torch.arange(max(p), device=dev)[None, :, None] < torch.tensor(p, device=dev)[:, None, None]
    )
    cols = (
        torch.arange(max(n), device=dev)[None, None, :] < torch.tensor(n, device=dev)[:, None, None]
    )
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
        h = (
            field[..., :, None]
            - torch.diagonal(w, dim1=-2, dim2=-1)[..., :, None] * x[..., :, None]
        )
        h = h - w * x[..., None, :]
        w = (
            w
            + (
                x[..., :, None] * x[..., None, :]
                - x[..., :, None] * h.transpose(-1, -2)
                - h * x[..., None, :]
            )
            / n
        )
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
    n = np.array(
        _sizes([n_neurons] * len(p) if np.ndim(n_neurons) == 0 else n_neurons, "n_neurons", 2)
    )
    # Hebbian fields N·h are integers |N·h| ≤ N·P, exact in float32 below 2^24
    dtype = torch.float32 if rule == "hebbian" and int((n * p).max()) < 2**24 else torch.float64
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
    wrong = (stab < 0).to(dtype) + 0.5 * ((stab == 0) & real).to(dtype)
    per_trial = (
        wrong.double().sum((-1, -2))
        / torch.tensor(n * p, dtype=torch.float64, device=xi.device)[:, None]
    )
    n_err = (stab < 0).sum((-1, -2))
    n_tie = ((stab == 0) & real).sum((-1, -2)).double()
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
    with single_cpu_thread(xi.device):
        sweeps, done = _async_sweeps(xi_t, s, overlaps, n_real, sweeps_max, gen, show_progress)
    xi = xi.reshape(L * T, -1, n)
    m = (s * xi[:, 0, :]).sum(-1) / n
    return RetrievalResult(
        alpha=p / n,
        n_neurons=n,
        overlap=m.reshape(L, T).cpu().numpy(),
        sweeps=sweeps,
        converged=done.reshape(L, T).cpu().numpy(),
    )


def _async_sweeps(xi_t, s, overlaps, n_real, sweeps_max, gen, show_progress):
    """Random-order single-neuron updates, in place on ``s`` and ``overlaps``; see async_retrieval."""
    b, n, _ = xi_t.shape
    batch = torch.arange(b, device=xi_t.device)
    done = torch.zeros(b, dtype=torch.bool, device=xi_t.device)
    sweeps = 0
    for sweeps in progress(range(1, sweeps_max + 1), desc="async sweeps", enabled=show_progress):
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
    others = others.scatter(
        -1, torch.arange(q, device=xi.device).expand(*gram.shape[:2], q)[..., None], -math.inf
    )
    separation = own - others.max(-1).values
    bound = theory.modern_retrieval_error_bound(
        p[:, None, None], beta, separation.cpu().numpy(), math.sqrt(n), distance
    )
    return ModernResult(
        n_patterns=p,
        dim=n,
        beta=float(beta),
        distance=float(distance),
        error=error.cpu().numpy(),
        bound=np.asarray(bound),
        exact=exact.cpu().numpy(),
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
    real = (
        torch.arange(max(p), device=dev)[None, None, :] < torch.tensor(p, device=dev)[:, None, None]
    )
    z = (y * real)[..., None] * x  # rows y_p x_p, zero for padding
    w = torch.zeros(len(p), t, n, dtype=x.dtype, device=dev)
    with single_cpu_thread(dev):
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
        res = optimize.linprog(
            np.zeros(n), A_ub=-rows, b_ub=-np.ones(p[l]), bounds=(None, None), method="highs"
        )
        sep[l, trial] = res.status == 0
    return SeparabilityResult(n_inputs=n, n_patterns=p, separable=sep)


# ============================================================================= claims


def _timed(timings: dict, key: str, start: float) -> float:
    now = time.perf_counter()
    timings[key] = now - start
    return now


@claim(
    "hopfield.crosstalk",
    statement="Started at a stored pattern, one synchronous Hebbian update flips a fraction "
    "½·erfc(√(N/2P)) of the bits (exactly: the binomial crosstalk tail at finite N).",
    source="Hopfield (1982); Amit, Gutfreund & Sompolinsky (1985); Hertz, Krogh & Palmer (1991) §2.2",
    configs={
        "smoke": {
            "n_neurons": 100,
            "alphas": [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5],
            "n_trials": 16,
        },
        "quick": {
            "n_neurons": 256,
            "alphas": [0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5],
            "n_trials": 48,
        },
        "paper": {"n_neurons": 2000, "alphas": [0.02 * k for k in range(1, 26)], "n_trials": 64},
    },
)
def crosstalk(config: Mapping, rt: Runtime) -> Evidence:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    n = config["n_neurons"]
    p = np.unique(np.maximum(1, np.round(np.asarray(config["alphas"]) * n).astype(int)))
    res = one_step_errors(n, p, config["n_trials"], generator=rt.generator(0))
    t0 = _timed(timings, "simulate_s", t0)
    exact = np.asarray(theory.bit_error_probability(n, p, method="exact"))
    asym = np.asarray(theory.bit_error_probability(n, p))
    # across-trial standard error, floored by the binomial error of independent bits
    se = np.maximum(res.error_stderr, np.sqrt(exact * (1 - exact) / (n * p * res.n_trials)))
    z = np.abs(res.error_rate - exact) / se
    rows = [
        dict(
            n_neurons=n,
            n_patterns=int(pp),
            alpha=pp / n,
            predicted=float(e),
            measured=float(m),
            spread=float(s),
            predicted_asymptotic=float(a),
        )
        for pp, e, m, s, a in zip(p, exact, res.error_rate, se, asym)
    ]
    fig, ax = claim_figure(
        "hopfield.crosstalk", f"Hebbian one-step bit errors, N={n}, {res.n_trials} trials"
    )
    grid = np.linspace(p.min(), p.max(), 200)
    plot_theory(ax, grid / n, theory.bit_error_probability(n, grid), label="½erfc(√(N/2P))")
    plot_theory(ax, p / n, exact, label="exact binomial, N=%d" % n, color="C2", lw=1.2, ls="--")
    plot_measured(ax, p / n, res.error_rate, se)
    ax.set(xlabel="load α = P/N", ylabel="bit-error rate P_err", yscale="log")
    ax.legend(fontsize=8)
    _timed(timings, "plot_s", t0)
    return Evidence(
        rows=rows,
        checks=(
            Check(
                "max |z| vs exact binomial tail",
                float(z.max()),
                4.0,
                "<=",
                "4 Monte-Carlo standard errors (across-trial, floored by the binomial error)",
            ),
        ),
        figure=fig,
        summary=f"N={n}: max |z|={z.max():.2f} over {len(p)} loads; at α={p[-1] / n:.2f} measured "
        f"{res.error_rate[-1]:.4f} vs exact {exact[-1]:.4f} (asymptotic {asym[-1]:.4f})",
        extras={
            "max_rel_dev_from_asymptotic": float(
                np.max(np.abs(res.error_rate - asym)[asym > 1e-3] / asym[asym > 1e-3])
            )
        },
        timings=timings,
    )


def _crossing(x: np.ndarray, f: np.ndarray, level: float = 0.5) -> float:
    """First x where the decreasing curve f falls below ``level`` (linear interpolation)."""
    below = np.nonzero(f < level)[0]
    if len(below) == 0:
        return float("nan")
    k = below[0]
    if k == 0:
        return float(x[0])
    return float(x[k - 1] + (f[k - 1] - level) * (x[k] - x[k - 1]) / (f[k - 1] - f[k]))


@claim(
    "hopfield.ags-overlap",
    statement="Below α_c the fixed point reached by asynchronous Hebbian dynamics from a stored "
    "pattern has the AGS overlap m(α); the retrieval transition (50% of trials retrieve), which "
    "sits above α_c at finite N, extrapolates as α_50(N) = α_c + b/√N to α_c ≈ 0.138.",
    source="Amit, Gutfreund & Sompolinsky, Phys. Rev. Lett. 55, 1530 (1985); Ann. Phys. 173, 30 (1987)",
    configs={
        "smoke": {
            "sizes": [128, 256, 512],
            "low_alphas": [0.04, 0.08],
            "high_alphas": [0.12, 0.15, 0.18, 0.21, 0.24, 0.27, 0.3, 0.34],
            "n_trials": 24,
            "max_sweeps": 12,
            "fit_order": 1,
        },
        "quick": {
            "sizes": [100, 200, 400, 800],
            "low_alphas": [0.02, 0.04, 0.06, 0.08, 0.1],
            "high_alphas": [0.12, 0.14, 0.16, 0.18, 0.2, 0.22, 0.24, 0.26, 0.28, 0.3, 0.34],
            "n_trials": 48,
            "max_sweeps": 15,
            "fit_order": 2,
        },
        "paper": {
            "sizes": [250, 500, 1000, 2000, 4000],
            "low_alphas": [0.02, 0.04, 0.06, 0.08, 0.1],
            "high_alphas": [0.12 + 0.01 * k for k in range(19)],
            "n_trials": 256,
            "max_sweeps": 50,
            "fit_order": 2,
        },
    },
)
def ags_overlap_claim(config: Mapping, rt: Runtime) -> Evidence:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    sizes = list(config["sizes"])
    alphas = np.array(list(config["low_alphas"]) + list(config["high_alphas"]))
    n_low = len(config["low_alphas"])
    threshold = 0.75  # retrieved: m above the midpoint of retrieval (≈1) and failure (≈0.3-0.5)
    rows, a50, a50_se, low_dev, low_bound = [], [], [], [], []
    results = {}
    for k, n in enumerate(sizes):  # N differs; each size is one batched program over loads × trials
        p = np.maximum(1, np.round(alphas * n).astype(int))
        res = async_retrieval(
            n,
            p,
            config["n_trials"],
            max_sweeps=config["max_sweeps"],
            generator=rt.generator(k),
            show_progress=rt.progress,
        )
        results[n] = res
        t = res.overlap.shape[1]
        frac = (res.overlap > threshold).mean(1)
        a50.append(_crossing(res.alpha[n_low:], frac[n_low:]))
        slope = np.max(np.abs(np.diff(frac[n_low:]) / np.diff(res.alpha[n_low:])))
        a50_se.append(math.sqrt(0.25 / t) / max(slope, 1e-9))
        predicted = np.asarray(theory.ags_overlap(res.alpha))
        for j in range(len(p)):
            m = res.overlap[j]
            ret = m[m > threshold]
            meas = float(ret.mean()) if len(ret) else float("nan")
            se = float(ret.std() / math.sqrt(len(ret))) if len(ret) > 1 else float("nan")
            rows.append(
                dict(
                    n_neurons=n,
                    alpha=float(res.alpha[j]),
                    predicted=float(predicted[j]),
                    measured=meas,
                    spread=se,
                    retrieved_fraction=float(frac[j]),
                )
            )
            if j < n_low:
                low_dev.append(abs(meas - predicted[j]))
                low_bound.append(4 * (0 if math.isnan(se) else se) + 2.0 / n)
    t0 = _timed(timings, "simulate_s", t0)
    a50, a50_se = np.array(a50), np.array(a50_se)
    x = 1 / np.sqrt(np.array(sizes, float))
    wts = 1 / a50_se**2
    # α_50(N) = α_c + b/√N (+ c/N): the expansion in N^(-1/2), to the order the config asks for
    design = np.stack([x**k for k in range(config["fit_order"] + 1)], 1)
    cov = np.linalg.inv(design.T @ (design * wts[:, None]))
    coef = cov @ design.T @ (wts * a50)
    alpha_inf, alpha_inf_se = float(coef[0]), float(math.sqrt(cov[0, 0]))
    alpha_c = theory.ags_critical_load()
    worst = int(np.argmax(np.array(low_dev) - np.array(low_bound)))

    fig, axes = claim_figure("hopfield.ags-overlap", "asynchronous T=0 dynamics from ξ¹", ncols=2)
    grid = np.linspace(0, 0.3, 400)
    plot_theory(axes[0], grid, theory.ags_overlap(grid), label="AGS m(α), N→∞")
    for k, n in enumerate(sizes):
        plot_measured(
            axes[0],
            results[n].alpha,
            results[n].overlap.mean(1),
            results[n].overlap.std(1) / math.sqrt(results[n].overlap.shape[1]),
            label=f"N={n} (all trials)",
            color=f"C{k + 3}",
            ms=3,
        )
    axes[0].axvline(alpha_c, color="0.5", ls=":", lw=1)
    axes[0].set(xlabel="load α = P/N", ylabel="final overlap m")
    axes[0].legend(fontsize=7)
    plot_measured(axes[1], x, a50, a50_se, label="α_50(N): 50% retrieve")
    xx = np.linspace(0, x.max() * 1.05, 50)
    fit_label = "fit α_∞ + b/√N" + (" + c/N" if config["fit_order"] > 1 else "")
    plot_theory(
        axes[1], xx, sum(c * xx**k for k, c in enumerate(coef)), label=fit_label, color="C1", lw=1.2
    )
    axes[1].axhline(alpha_c, color="C0", lw=2, label=f"AGS α_c={alpha_c:.4f}")
    axes[1].set(xlabel="1/√N", ylabel="retrieval transition α_50")
    axes[1].legend(fontsize=7)
    _timed(timings, "plot_s", t0)
    checks = (
        Check(
            "max (|m − m_AGS| − tol) for α ≤ 0.1",
            float(low_dev[worst] - low_bound[worst]),
            0.0,
            "<=",
            "tol = 4 standard errors of the mean retrieved overlap + 2/N (one flipped bit)",
        ),
        Check(
            "|α_50(∞) − α_c| / se",
            abs(alpha_inf - alpha_c) / alpha_inf_se,
            3.0,
            "<=",
            "3 standard errors of the weighted extrapolation in 1/√N (binomial error of each α_50)",
        ),
        Check(
            "max over N of (α_50(next N) − α_50(N)) / se",
            float(np.max(np.diff(a50) / np.sqrt(a50_se[1:] ** 2 + a50_se[:-1] ** 2))),
            3.0,
            "<=",
            "the finite-size excess shrinks with N (published 0.19, 0.165, 0.155 at N=250, 1000, "
            "4000): no rise beyond 3 standard errors",
        ),
        Check(
            "min over N of α_50(N) − α_c",
            float(np.min(a50) - alpha_c),
            0.0,
            ">=",
            "finite-size retrieval extends above α_c (REFERENCES: α_50≈0.19 at N=250)",
        ),
    )
    return Evidence(
        rows=rows,
        checks=checks,
        figure=fig,
        summary=f"m(α≤0.1) within tolerance (worst |Δm|={max(low_dev):.4f}); α_50(N)="
        + ", ".join(f"{a:.3f}" for a in a50)
        + f" for N={sizes}; extrapolated α_50(∞)={alpha_inf:.3f}±{alpha_inf_se:.3f} vs α_c={alpha_c:.4f}",
        extras={
            "alpha_50": a50.tolist(),
            "alpha_50_se": a50_se.tolist(),
            "alpha_inf": alpha_inf,
            "alpha_inf_se": alpha_inf_se,
            "fit_coefficients": coef.tolist(),
            "alpha_c": alpha_c,
        },
        timings=timings,
    )


@claim(
    "hopfield.mceliece",
    statement="The largest number of patterns that are all one-step stable (in half of the draws) "
    "follows the finite-N McEliece law exp(−NP·P_err) = ½ and approaches N/(4 ln N) from above.",
    source="McEliece, Posner, Rodemich & Venkatesh, IEEE Trans. Inf. Theory 33, 461 (1987)",
    configs={
        "smoke": {
            "sizes": [50, 100, 200],
            "n_trials": 48,
            "rel_grid": [0.6, 0.8, 1.0, 1.2, 1.4, 1.7],
        },
        "quick": {
            "sizes": [64, 128, 256, 512],
            "n_trials": 96,
            "rel_grid": [0.5, 0.65, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.7],
        },
        "paper": {
            "sizes": [128, 256, 512, 1024, 2048, 4096],
            "n_trials": 512,
            "rel_grid": [0.5 + 0.1 * k for k in range(13)],
        },
    },
)
def mceliece(config: Mapping, rt: Runtime) -> Evidence:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    sizes = np.array(config["sizes"])
    p50_pred = []
    for n in sizes:
        ps = np.arange(1, n + 1)
        prob = np.asarray(theory.all_stable_probability(n, ps))
        p50_pred.append(_crossing(ps.astype(float), prob))
    p50_pred = np.array(p50_pred)
    grid_n, grid_p = [], []
    for n, p50 in zip(sizes, p50_pred):
        ps = np.unique(np.maximum(1, np.round(np.asarray(config["rel_grid"]) * p50).astype(int)))
        grid_n += [int(n)] * len(ps)
        grid_p += ps.tolist()
    grid_n, grid_p = np.array(grid_n), np.array(grid_p)
    res = one_step_errors(grid_n, grid_p, config["n_trials"], generator=rt.generator(0))
    t0 = _timed(timings, "simulate_s", t0)
    pred = np.asarray(theory.all_stable_probability(grid_n, grid_p))
    z = np.abs(res.all_stable - pred) / res.all_stable_stderr
    p50_meas, p50_se = [], []
    for n in sizes:
        sel = grid_n == n
        f, pp = res.all_stable[sel], grid_p[sel].astype(float)
        p50_meas.append(_crossing(pp, f))
        slope = np.max(np.abs(np.diff(f) / np.diff(pp)))
        p50_se.append(math.sqrt(0.25 / res.n_trials) / max(slope, 1e-9) + 0.5)  # + integer grid
    p50_meas, p50_se = np.array(p50_meas), np.array(p50_se)
    asym = np.asarray(theory.mceliece_capacity(sizes))
    rel_dev = np.abs(p50_meas - p50_pred) / p50_se
    rows = [
        dict(
            n_neurons=int(n),
            predicted=float(a),
            measured=float(m),
            spread=float(s),
            predicted_finite_n=float(f),
            ratio_to_asymptotic=float(m / a),
        )
        for n, a, m, s, f in zip(sizes, asym, p50_meas, p50_se, p50_pred)
    ]
    fig, axes = claim_figure("hopfield.mceliece", "all P patterns one-step stable", ncols=2)
    nn = np.geomspace(sizes.min() * 0.8, sizes.max() * 1.25, 100)
    plot_theory(axes[0], nn, theory.mceliece_capacity(nn), label="N/(4 ln N)")
    plot_theory(
        axes[0], sizes, p50_pred, label="finite N: e^{−NP·P_err}=½", color="C2", lw=1.2, ls="--"
    )
    plot_measured(axes[0], sizes, p50_meas, p50_se, label="measured P_50")
    axes[0].set(xscale="log", yscale="log", xlabel="N", ylabel="capacity P_50")
    axes[0].legend(fontsize=7)
    for k, n in enumerate(sizes):
        sel = grid_n == n
        plot_theory(axes[1], grid_p[sel] / n, pred[sel], label=None, color=f"C{k}", lw=1)
        plot_measured(
            axes[1],
            grid_p[sel] / n,
            res.all_stable[sel],
            res.all_stable_stderr[sel],
            label=f"N={n}",
            color=f"C{k}",
            ms=3,
        )
    axes[1].set(xlabel="α = P/N", ylabel="P(all patterns stable)")
    axes[1].legend(fontsize=7)
    _timed(timings, "plot_s", t0)
    ratio = p50_meas / asym
    checks = (
        Check(
            "max |P_50 − finite-N prediction| / se",
            float(rel_dev.max()),
            3.0,
            "<=",
            "3 standard errors of P_50 (binomial error at the crossing / slope, + ½ for the integer grid)",
        ),
        Check(
            "P_50/(N/4lnN) at largest N − at smallest N",
            float(ratio[-1] - ratio[0]),
            0.0,
            "<=",
            "McEliece is the N→∞ limit: the excess ratio must shrink as N grows",
        ),
    )
    return Evidence(
        rows=rows,
        checks=checks,
        figure=fig,
        summary="P_50 measured "
        + ", ".join(f"{m:.1f}" for m in p50_meas)
        + " vs finite-N "
        + ", ".join(f"{m:.1f}" for m in p50_pred)
        + f" for N={sizes.tolist()}; ratio to N/(4 ln N) "
        f"{ratio[0]:.2f} → {ratio[-1]:.2f}",
        extras={
            "p50_measured": p50_meas.tolist(),
            "p50_finite_n": p50_pred.tolist(),
            "ratio_to_asymptotic": ratio.tolist(),
            # errors cluster on a few patterns, so the Poisson form underestimates P(all stable)
            # away from the crossing; recorded, not checked
            "max_z_all_stable_vs_poisson": float(z.max()),
        },
        timings=timings,
    )


@claim(
    "hopfield.cover",
    statement="The fraction of random dichotomies of P points in R^N that a perceptron separates "
    "is C(P,N)/2^P, with the transition (exactly ½) at P = 2N.",
    source="Cover, IEEE Trans. Electron. Comput. EC-14, 326 (1965)",
    configs={
        "smoke": {"n_inputs": 8, "alphas": [1.0, 1.5, 2.0, 2.5, 3.0], "n_trials": 80},
        "quick": {"n_inputs": 16, "alphas": [1.0, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0], "n_trials": 150},
        "paper": {"n_inputs": 100, "alphas": [0.1 * k for k in range(10, 41)], "n_trials": 1000},
    },
)
def cover(config: Mapping, rt: Runtime) -> Evidence:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    n = config["n_inputs"]
    p = np.unique(np.round(np.asarray(config["alphas"]) * n).astype(int))
    res = separable_fraction(
        n, p, config["n_trials"], generator=rt.generator(0), show_progress=rt.progress
    )
    t0 = _timed(timings, "simulate_s", t0)
    pred = np.asarray(theory.separable_probability(p, n))
    t = res.separable.shape[1]
    se = np.sqrt(np.maximum(pred * (1 - pred), 0.25 / t) / t)
    frac = res.fraction
    z = np.abs(frac - pred) / se
    rows = [
        dict(
            n_inputs=n,
            n_patterns=int(pp),
            alpha=pp / n,
            predicted=float(q),
            measured=float(f),
            spread=float(np.sqrt(f * (1 - f) / t)),
        )
        for pp, q, f in zip(p, pred, frac)
    ]
    fig, ax = claim_figure("hopfield.cover", f"random dichotomies, N={n}, {t} trials")
    grid = np.arange(n, int(p.max()) + 1)
    plot_theory(ax, grid / n, theory.separable_probability(grid, n), label="C(P,N)/2^P")
    plot_measured(ax, p / n, frac, [r["spread"] for r in rows])
    ax.axvline(2.0, color="0.5", ls=":", lw=1)
    ax.set(xlabel="α = P/N", ylabel="fraction linearly separable")
    ax.legend(fontsize=8)
    _timed(timings, "plot_s", t0)
    at2 = np.nonzero(p == 2 * n)[0]
    checks = [
        Check(
            "max |z| vs C(P,N)/2^P",
            float(z.max()),
            4.0,
            "<=",
            "4 binomial standard errors of the separable fraction",
        )
    ]
    if len(at2):
        checks.append(
            Check(
                "|fraction(P=2N) − ½| / se",
                float(z[at2[0]]),
                4.0,
                "<=",
                "4 binomial standard errors; Cover gives exactly ½ at P = 2N",
            )
        )
    return Evidence(
        rows=rows,
        checks=tuple(checks),
        figure=fig,
        summary=f"N={n}: max |z|={z.max():.2f}; fraction at P=2N "
        + (f"{frac[at2[0]]:.3f} (theory 0.5)" if len(at2) else "not on grid"),
        timings=timings,
    )


@claim(
    "hopfield.dense",
    statement="A dense associative memory with F(x)=x^n has one-step bit-error rate "
    "½erfc(√(N^(n−1)/(2(2n−3)!!K))), so its capacity at fixed error grows like N^(n−1).",
    source="Krotov & Hopfield, NeurIPS 2016 (Dense associative memory for pattern recognition)",
    configs={
        "smoke": {
            "degrees": {"2": [32, 64, 128], "3": [24, 32, 48]},
            "loads": [0.25, 0.4],
            "n_trials": 16,
            "n_probes": 4,
        },
        "quick": {
            "degrees": {"2": [50, 100, 200, 400], "3": [24, 32, 48, 64], "4": [12, 16, 20, 28]},
            "loads": [0.2, 0.3, 0.45],
            "n_trials": 32,
            "n_probes": 4,
        },
        "paper": {
            "degrees": {
                "2": [100, 200, 400, 800, 1600],
                "3": [32, 64, 128, 256],
                "4": [16, 24, 32, 48, 64],
            },
            "loads": [0.15, 0.2, 0.3, 0.45],
            "n_trials": 256,
            "n_probes": 16,
        },
    },
)
def dense(config: Mapping, rt: Runtime) -> Evidence:
    """Loads are c = K (2n−3)!! / N^(n−1); the capacity constant A = z² K (z = probit of
    1 − P_err) is N^(n−1)/(2n−3)!! asymptotically. At small N the signal F(N) − F(N−2) and the
    crosstalk moments differ from their leading terms by O(n²/N); that correction is taken from
    the theory (``method="finite"``) before fitting the exponent."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    rows, exps, checks = [], {}, []
    fig, axes = claim_figure("hopfield.dense", "F(x)=x^n, one synchronous step", ncols=2)
    loads = np.asarray(config["loads"])
    for k, (deg_s, sizes) in enumerate(config["degrees"].items()):
        deg = int(deg_s)
        dfact = float(np.prod(np.arange(2 * deg - 3, 0, -2)))
        nn = np.repeat(sizes, len(loads))
        kk = np.maximum(
            config["n_probes"], np.round(np.tile(loads, len(sizes)) * nn ** (deg - 1) / dfact)
        )
        kk = kk.astype(int)
        res = dense_one_step_errors(
            nn, kk, deg, config["n_trials"], n_probes=config["n_probes"], generator=rt.generator(k)
        )
        pred = np.asarray(theory.dense_bit_error_probability(nn, kk, deg, method="finite"))
        se = np.maximum(
            res.error_stderr,
            np.sqrt(pred * (1 - pred) / (nn * config["n_probes"] * config["n_trials"])),
        )
        z = np.abs(res.error_rate - pred) / se
        probit = lambda e: stats.norm.isf(np.clip(e, 1e-12, 0.5 - 1e-12))  # noqa: E731
        a_pts, a_fin_pts = probit(res.error_rate) ** 2 * kk, probit(pred) ** 2 * kk
        a_se_pts = 2 * probit(res.error_rate) * kk / stats.norm.pdf(probit(res.error_rate)) * se
        a_meas, a_se, a_fin = [], [], []
        for n in sizes:
            sel = nn == n
            w = 1 / a_se_pts[sel] ** 2
            a_meas.append(float((a_pts[sel] * w).sum() / w.sum()))
            a_fin.append(float((a_fin_pts[sel] * w).sum() / w.sum()))
            a_se.append(float(1 / math.sqrt(w.sum())))
        a_meas, a_se, a_fin = np.array(a_meas), np.array(a_se), np.array(a_fin)
        a_pred = np.asarray(sizes, float) ** (deg - 1) / dfact
        corrected = a_meas * a_pred / a_fin  # measured capacity with the O(1/N) correction removed
        lx, lse = np.log(sizes), a_se / a_meas
        design = np.stack([np.ones_like(lx), lx], 1)
        w = 1 / lse**2
        cov = np.linalg.inv(design.T @ (design * w[:, None]))
        slope = float((cov @ design.T @ (w * np.log(corrected)))[1])
        raw = float((cov @ design.T @ (w * np.log(a_meas)))[1])
        exps[deg] = (slope, float(math.sqrt(cov[1, 1])), raw)
        for n, am, ase, ap, af in zip(sizes, a_meas, a_se, a_pred, a_fin):
            rows.append(
                dict(
                    degree=deg,
                    n_neurons=int(n),
                    predicted=float(ap),
                    measured=float(am),
                    spread=float(ase),
                    predicted_finite_n=float(af),
                )
            )
        checks.append(
            Check(
                f"n={deg}: max |z| of bit-error rate vs finite-N theory",
                float(z.max()),
                4.0,
                "<=",
                "4 Monte-Carlo standard errors (across trials, binomial floor)",
            )
        )
        checks.append(
            Check(
                f"n={deg}: |exponent − (n−1)| / se",
                abs(slope - (deg - 1)) / exps[deg][1],
                4.0,
                "<=",
                "4 standard errors of the weighted log-log fit of z²K vs N",
            )
        )
        x = np.geomspace(min(sizes) * 0.9, max(sizes) * 1.1, 50)
        plot_theory(
            axes[0], x, x ** (deg - 1) / dfact, label=f"N^{deg - 1}/{int(dfact)}", color=f"C{k}"
        )
        plot_measured(
            axes[0],
            sizes,
            corrected,
            a_se * corrected / a_meas,
            label=f"n={deg} (finite-N corrected)",
            color=f"C{k}",
        )
        plot_measured(
            axes[1],
            nn ** (deg - 1) / (dfact * kk),
            res.error_rate,
            se,
            label=f"n={deg}",
            color=f"C{k}",
            ms=3,
        )
    t0 = _timed(timings, "simulate_s", t0)
    s = np.linspace(1.5, 8, 100)
    plot_theory(axes[1], s, stats.norm.sf(np.sqrt(s)), label="½erfc(√(S/2)), N→∞", color="C0")
    axes[0].set(xscale="log", yscale="log", xlabel="N", ylabel="capacity constant A = z²K")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="S = N^(n−1)/((2n−3)!! K)", ylabel="bit-error rate", yscale="log")
    axes[1].legend(fontsize=7)
    _timed(timings, "plot_s", t0)
    return Evidence(
        rows=rows,
        checks=tuple(checks),
        figure=fig,
        summary="capacity exponent "
        + ", ".join(
            f"n={d}: {e[0]:.2f}±{e[1]:.2f} (raw {e[2]:.2f}; theory {d - 1})"
            for d, e in exps.items()
        ),
        extras={"exponents": {str(d): list(e) for d, e in exps.items()}},
        timings=timings,
    )


@claim(
    "hopfield.modern",
    statement="One softmax update ξ ← X softmax(βXᵀξ) retrieves stored ±1 patterns from perturbed "
    "queries for P up to 32N, with error below the bound 2M(P−1)exp(−β(Δ_i − 2dM)).",
    source="Ramsauer et al., Hopfield Networks is All You Need, ICLR 2021 (arXiv:2008.02217), Thm 5",
    configs={
        "smoke": {
            "dim": 32,
            "load_factors": [1, 4, 16, 32],
            "n_trials": 2,
            "beta": 1.0,
            "distance": 0.5,
            "n_probes": 16,
        },
        "quick": {
            "dim": 64,
            "load_factors": [1, 2, 4, 8, 16, 32],
            "n_trials": 8,
            "beta": 1.0,
            "distance": 0.5,
            "n_probes": 32,
        },
        "paper": {
            "dim": 256,
            "load_factors": [1, 4, 16, 64, 256],
            "n_trials": 16,
            "beta": 0.5,
            "distance": 1.0,
            "n_probes": 64,
        },
    },
)
def modern(config: Mapping, rt: Runtime) -> Evidence:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    n = config["dim"]
    p = np.asarray(config["load_factors"]) * n
    res = modern_one_step_retrieval(
        n,
        p,
        config["n_trials"],
        beta=config["beta"],
        distance=config["distance"],
        n_probes=config["n_probes"],
        generator=rt.generator(0),
    )
    t0 = _timed(timings, "simulate_s", t0)
    violations = int((res.error > res.bound * (1 + 1e-9)).sum())
    guaranteed = (res.bound < 1).mean((1, 2))  # error < 1 on every ±1 coordinate: sign is exact
    exact = res.exact.mean((1, 2))
    count = res.error[0].size
    rows = [
        dict(
            n_patterns=int(pp),
            load=pp / n,
            predicted=float(np.median(b)),
            measured=float(np.median(e)),
            spread=float(np.quantile(e, 0.9) - np.median(e)),
            exact_fraction=float(x),
            guaranteed_fraction=float(g),
        )
        for pp, b, e, x, g in zip(p, res.bound, res.error, exact, guaranteed)
    ]
    fig, ax = claim_figure("hopfield.modern", f"N={n}, β={res.beta}, ‖ξ−x_i‖={res.distance}")
    plot_theory(
        ax, p / n, [r["predicted"] for r in rows], label="bound 2M(P−1)e^{−β(Δ−2dM)} (median)"
    )
    plot_measured(
        ax,
        p / n,
        [r["measured"] for r in rows],
        [r["spread"] for r in rows],
        label="measured ‖ξ_new − x_i‖ (median, +90% quantile)",
    )
    ax.set(xscale="log", yscale="log", xlabel="load P/N", ylabel="one-step retrieval error")
    ax.legend(fontsize=7)
    _timed(timings, "plot_s", t0)
    checks = (
        Check(
            "queries whose error exceeds the bound",
            violations,
            0,
            "<=",
            "the bound is a theorem: no query may exceed it (1e-9 relative float slack)",
        ),
        Check(
            f"exact retrieval fraction at P={int(p[-1])}={int(p[-1] / n)}N minus guaranteed fraction",
            float(exact[-1] - guaranteed[-1]),
            0.0,
            ">=",
            "a bound below 1 forces every sign to be right, so measured ≥ guaranteed",
        ),
        Check(
            f"exact retrieval fraction at P={int(p[-1] / n)}N",
            float(exact[-1]),
            1 - 3 / count,
            ">=",
            f"at most 3 of {count} queries may fail (Hebbian memory retrieves nothing at α ≫ 0.14)",
        ),
    )
    return Evidence(
        rows=rows,
        checks=checks,
        figure=fig,
        summary=f"N={n}: exact one-step retrieval {exact[-1]:.3f} at P={int(p[-1])} "
        f"({int(p[-1] / n)}N); bound violations {violations}; guaranteed by bound {guaranteed[-1]:.3f}",
        timings=timings,
    )

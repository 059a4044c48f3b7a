"""Grokking on sparse parity: memorise the training strings first, find the k relevant bits later.

Data: strings of n bits, x ∈ {−1, +1}ⁿ (bit 0 ↦ +1, bit 1 ↦ −1), label = parity of the k relevant
bits (1 when an odd number of them are 1, i.e. ∏_{j∈S} x_j = −1); distinct train and test strings.
PAIR's strings are 0/1 digits b ("the 1s and 0s task"); with a hidden bias the two encodings give
the same function class (x W + c = b(−2W) + c + 1ᵀW).
Model: a one-hidden-layer ReLU MLP, ReLU(x W_in + b) W_out, with two logits and cross-entropy (the
W_input / W_output model of the PAIR explorable's sparse-parity figures; width and loss from its
sweep). Training: the batched full-batch AdamW loop of :mod:`kernelcap.empirics._full_batch`, one
member per (penalty, seed); decoupled weight decay (L2) goes to the optimiser, an L1 penalty
λ₁·(‖W_in‖₁ + ‖W_out‖₁) is added to each member's loss.
Progress measure, the parity analogue of Fourier sparsity: the share of first-layer weight mass
m_j = Σ_h W_in[j, h]² on the relevant bits (k/n for an isotropic random layer, 1 for the sparse
generalising solution, :func:`kernelcap.theory.grokking.random_layer_fraction` and
:func:`~kernelcap.theory.grokking.sparse_parity_solution_mass`) and the number of active bits
(participation ratio of m). The claim is in :mod:`kernelcap.claims.sparse_parity`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.empirics._full_batch import (
    TrainingRun,
    log_step_grid,
    member_randn,
    member_seed,
    read_only,
    train_full_batch,
)
from kernelcap.runtime import make_generator, resolve_device
from kernelcap.theory.grokking import RandomLayerFraction, random_layer_fraction

__all__ = [
    "SparseParity",
    "sparse_parity",
    "SparseParityRun",
    "train_sparse_parity",
    "RandomLayerFraction",
    "random_layer_fraction",
]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class SparseParity:
    """k-sparse parity on n bits. ``x_train`` (N_train, n), ``x_test`` (N_test, n): float32 in
    {−1, +1}; ``y_train``, ``y_test``: int64 in {0, 1}; ``relevant``: the k bit indices whose
    parity is the label."""

    n_bits: int
    k: int
    relevant: tuple[int, ...]
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def sparse_parity(
    n_bits: int,
    k: int,
    n_train: int,
    n_test: int,
    *,
    subset: str = "first",
    seed: int = 0,
    device="auto",
) -> SparseParity:
    """``n_train + n_test`` distinct uniformly random strings of ``n_bits`` bits, split into train
    and test.

    ``subset="first"`` makes bits 0..k−1 relevant (the PAIR explorable); ``"random"`` draws k of the
    n bits from ``seed``. Same seed, same strings, split and subset.
    """
    n_bits, k, n_train, n_test = _check_data_args(n_bits, k, n_train, n_test, subset)
    dev = resolve_device(device)
    gen = make_generator(seed, dev)
    codes = _distinct_codes(n_bits, n_train + n_test, gen, dev)
    bits = (codes[:, None] >> torch.arange(n_bits, device=dev)) & 1
    rel = (
        torch.arange(k)
        if subset == "first"
        else torch.randperm(n_bits, generator=gen, device=dev)[:k].sort().values
    )
    relevant = tuple(int(j) for j in rel)
    y = bits[:, list(relevant)].sum(1) % 2
    x = (1 - 2 * bits).float()
    return SparseParity(n_bits, k, relevant, x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def _check_data_args(n_bits, k, n_train, n_test, subset) -> tuple[int, int, int, int]:
    n_bits, k = _positive_int("n_bits", n_bits), _positive_int("k", k)
    n_train, n_test = _positive_int("n_train", n_train), _positive_int("n_test", n_test)
    if n_bits > 62:
        raise ValueError(f"n_bits must be ≤ 62 (strings are drawn as int64), got {n_bits}")
    if k > n_bits:
        raise ValueError(f"k must be ≤ n_bits={n_bits}, got {k}")
    if n_train + n_test > 2**n_bits:
        raise ValueError(
            f"n_train + n_test = {n_train + n_test} exceeds the 2^{n_bits} = {2**n_bits} "
            "distinct strings"
        )
    if subset not in ("first", "random"):
        raise ValueError(f"subset must be 'first' or 'random', got {subset!r}")
    return n_bits, k, n_train, n_test


def _distinct_codes(n_bits: int, n: int, gen: torch.Generator, dev) -> torch.Tensor:
    """(n,) int64: n distinct integers in [0, 2^n_bits), a uniformly random subset in random
    order."""
    if n_bits <= 20:
        return torch.randperm(2**n_bits, generator=gen, device=dev)[:n]
    codes = torch.empty(0, dtype=torch.int64, device=dev)
    while codes.numel() < n:  # iid draws, deduplicated; collisions are rare at n ≪ 2^n_bits
        draw = torch.randint(0, 2**n_bits, (2 * n,), generator=gen, device=dev)
        codes = torch.unique(torch.cat([codes, draw]))
    return codes[torch.randperm(codes.numel(), generator=gen, device=dev)[:n]]


# ----------------------------------------------------------------------------------------- training
@dataclass(frozen=True, kw_only=True)
class SparseParityRun(TrainingRun):
    """Progress measures of B = len(penalties)·n_seeds members on a step grid of S points.

    The fields of :class:`~kernelcap.empirics._full_batch.TrainingRun` (``train_loss`` is the
    cross-entropy only) plus ``n_bits``, ``k``, ``relevant`` (the k relevant bits) and ``hidden``;
    ``l1`` (B,) the L1 strength of each member; ``bit_mass`` (B, S, n): m_j = Σ_h W_in[j, h]²;
    ``relevant_fraction`` (B, S): Σ_{j∈S} m_j / Σ_j m_j; ``active_bits`` (B, S): (Σ m_j)²/Σ m_j²,
    between 1 and n.
    """

    n_bits: int
    k: int
    relevant: tuple[int, ...]
    hidden: int
    l1: np.ndarray
    bit_mass: np.ndarray
    relevant_fraction: np.ndarray
    active_bits: np.ndarray

    def members(self, *, weight_decay: float, l1: float) -> np.ndarray:
        """Indices of the members trained with this (weight decay, L1) pair."""
        return np.flatnonzero(np.isclose(self.weight_decay, weight_decay) & np.isclose(self.l1, l1))


def train_sparse_parity(
    n_bits: int = 30,
    k: int = 3,
    n_train: int = 1200,
    *,
    n_test: int = 2000,
    hidden: int = 64,
    lr: float = 1e-2,
    weight_decay: Sequence[float] = (0.0, 0.0),
    l1: Sequence[float] = (0.0, 1e-4),
    n_seeds: int = 1,
    n_steps: int = 2000,
    betas: tuple[float, float] = (0.9, 0.98),
    init_scale: float = 1.0,
    subset: str = "first",
    n_log: int = 40,
    every: int = 25,
    seed: int = 0,
    device="auto",
    progress: bool | None = False,
) -> SparseParityRun:
    """Train len(weight_decay)·n_seeds MLPs x ↦ ReLU(x W_in + b) W_out on k-sparse parity as one
    batched program.

    Penalty i is the pair (weight_decay[i], l1[i]): decoupled AdamW decay λ₂ (on every parameter)
    and an L1 term λ₁·(‖W_in‖₁ + ‖W_out‖₁) added to the mean cross-entropy. Member i·n_seeds + s has
    penalty i and initialisation s (W_in ~ N(0, init_scale²/n), W_out ~ N(0, 1/H), b = 0, drawn from
    ``member_seed(seed, s)``). Every member sees the same strings (drawn from ``seed``), and members
    with the same seed index start from the same weights, so penalties are compared on paired
    initialisations; a member's initialisation does not depend on n_seeds or the other penalties.
    The arrays of the result are read-only (claims share one run); ``progress`` shows a bar
    (``None``: only on a terminal).
    """
    wd = tuple(float(x) for x in np.atleast_1d(weight_decay))
    l1_ = tuple(float(x) for x in np.atleast_1d(l1))
    if len(wd) != len(l1_):
        raise ValueError(
            f"weight_decay and l1 must have the same length, got {len(wd)} and {len(l1_)}"
        )
    for name, vals in (("weight_decay", wd), ("l1", l1_)):
        if any(not math.isfinite(x) or x < 0 for x in vals):
            raise ValueError(f"{name} must be finite and ≥ 0, got {vals!r}")
    if not (math.isfinite(lr) and lr > 0) or any(lr * x >= 1 for x in wd):
        raise ValueError(f"lr must be finite and > 0 with lr·weight_decay < 1, got lr={lr!r}")
    if not all(0 <= b < 1 for b in betas) or len(betas) != 2:
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if not (math.isfinite(init_scale) and init_scale > 0):
        raise ValueError(f"init_scale must be finite and > 0, got {init_scale!r}")
    ints = {
        name: _positive_int(name, v)
        for name, v in dict(
            n_bits=n_bits,
            k=k,
            n_train=n_train,
            n_test=n_test,
            hidden=hidden,
            n_seeds=n_seeds,
            n_steps=n_steps,
            n_log=n_log,
            every=every,
        ).items()
    }
    _check_data_args(n_bits, k, n_train, n_test, subset)
    return _train(
        **ints,
        lr=float(lr),
        wd=wd,
        l1=l1_,
        betas=tuple(float(b) for b in betas),
        init_scale=float(init_scale),
        subset=subset,
        seed=int(seed),
        dev=resolve_device(device),
        progress=progress,
    )


def _train(
    *,
    n_bits,
    k,
    n_train,
    n_test,
    hidden,
    n_seeds,
    n_steps,
    n_log,
    every,
    lr,
    wd,
    l1,
    betas,
    init_scale,
    subset,
    seed,
    dev,
    progress,
) -> SparseParityRun:
    data = sparse_parity(n_bits, k, n_train, n_test, subset=subset, seed=seed, device=dev)
    lam2, lam1 = np.repeat(wd, n_seeds), np.repeat(l1, n_seeds)
    B = lam2.size
    seed_index = np.tile(
        np.arange(n_seeds), len(wd)
    )  # paired runs: the same seed index has the same init at every penalty
    gens = [make_generator(member_seed(seed, s), dev) for s in seed_index]
    w_in = (
        member_randn(gens, n_bits, hidden, device=dev) * (init_scale / math.sqrt(n_bits))
    ).requires_grad_()
    w_out = (member_randn(gens, hidden, 2, device=dev) / math.sqrt(hidden)).requires_grad_()
    b_in = torch.zeros(B, 1, hidden, device=dev, requires_grad=True)
    l1_t = torch.as_tensor(lam1, dtype=torch.float32, device=dev)
    rel = list(data.relevant)

    def loss_acc(w, x, y):
        out = torch.relu(x @ w[0] + w[1]) @ w[2]  # (B, N, 2)
        y = y.expand(B, -1)
        loss = torch.nn.functional.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(-1)
        return loss, (out.argmax(-1) == y).float().mean(-1)

    def objective(w):
        return loss_acc(w, data.x_train, data.y_train)[0] + l1_t * (
            w[0].abs().sum((1, 2)) + w[2].abs().sum((1, 2))
        )

    def measure(w):
        (l_tr, a_tr), (l_te, a_te) = (
            loss_acc(w, data.x_train, data.y_train),
            loss_acc(w, data.x_test, data.y_test),
        )
        norm = sum(p.square().flatten(1).sum(1) for p in w).sqrt()
        return dict(
            train_loss=l_tr,
            train_acc=a_tr,
            test_loss=l_te,
            test_acc=a_te,
            norm=norm,
            mass=w[0].square().sum(-1),
        )  # (B, n): the loop stacks it to (B, S, n)

    log = train_full_batch(
        [w_in, b_in, w_out],
        objective,
        measure,
        lr=lr,
        weight_decay=torch.as_tensor(lam2),
        n_steps=n_steps,
        grid=log_step_grid(n_steps, n_log, every),
        betas=betas,
        desc="sparse parity",
        progress=progress,
    )
    ms = log.measures
    mass = ms["mass"]
    total = mass.sum(-1)
    run = SparseParityRun(
        n_bits=n_bits,
        k=k,
        relevant=data.relevant,
        hidden=hidden,
        lr=lr,
        steps=log.steps,
        weight_decay=lam2,
        l1=lam1,
        seed=seed_index,
        train_acc=ms["train_acc"],
        test_acc=ms["test_acc"],
        train_loss=ms["train_loss"],
        test_loss=ms["test_loss"],
        weight_norm=ms["norm"],
        bit_mass=mass,
        relevant_fraction=mass[..., rel].sum(-1) / total,
        active_bits=total**2 / np.square(mass).sum(-1),
        wall_s=log.wall_s,
    )
    read_only(
        run.steps,
        run.weight_decay,
        run.l1,
        run.seed,
        run.relevant_fraction,
        run.active_bits,
        *ms.values(),
    )
    return run

"""Grokking on modular addition: memorise first, generalise later, with weight decay.

Data: a + b mod p on unordered pairs a ≤ b (as in the PAIR explorable, so the commuted copy of a
test pair is never in the training set), split with a train fraction. Model: the explorable's
one-layer MLP, logits = ReLU((W_E[a] + W_E[b]) W_in) W_out, no biases. Training: the batched
full-batch loop of :mod:`kernelcap.empirics._full_batch`, so many weight-decay values and seeds
train as one tensor program (a leading member axis on every weight; members never interact).
Progress measures are logged on a step grid: train/test loss and accuracy, total weight norm,
Fourier spectrum of W_E; :func:`ntk_drift_from_init` follows the empirical NTK over training.
The claims built on these runs are in :mod:`kernelcap.claims.grokking`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from kernelcap.empirics._full_batch import (
    TrainingRun,
    first_step_reaching,
    log_step_grid,
    member_randn,
    member_seed,
    read_only,
    train_full_batch,
)
from kernelcap.runtime import make_generator, resolve_device, single_cpu_thread
from kernelcap.theory import grokking as th
from kernelcap.theory.kernels import centered_alignment

__all__ = [
    "ModularAddition",
    "modular_addition",
    "GrokkingRun",
    "train_grokking",
    "first_step_reaching",
    "decay_phase_window",
    "decay_phase_deviation",
    "lazy_memorizers",
    "ModularMLP",
    "NTKDrift",
    "ntk_drift_from_init",
]


@dataclass(frozen=True)
class ModularAddition:
    """a + b mod p on unordered pairs a ≤ b (or all ordered pairs).

    ``a``, ``b``, ``labels``: (N,) int64; ``train``, ``test``: index tensors into them.
    """

    p: int
    a: torch.Tensor
    b: torch.Tensor
    labels: torch.Tensor
    train: torch.Tensor
    test: torch.Tensor


def modular_addition(
    p: int, train_fraction: float, *, seed: int = 0, ordered: bool = False, device="auto"
) -> ModularAddition:
    """All p(p+1)/2 unordered pairs (a ≤ b), or with ``ordered`` all p² pairs (a, b) as in Nanda et
    al. 2023, with label (a + b) mod p, randomly split (seeded)."""
    if not isinstance(p, (int, np.integer)) or isinstance(p, bool) or p < 3:
        raise ValueError(f"p must be an integer ≥ 3, got {p!r}")
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    dev = resolve_device(device)
    if ordered:
        a, b = torch.cartesian_prod(torch.arange(p, device=dev), torch.arange(p, device=dev)).T
    else:
        a, b = torch.triu_indices(p, p, device=dev)
    n_train = int(round(train_fraction * a.numel()))
    if not 0 < n_train < a.numel():
        raise ValueError(
            f"train_fraction={train_fraction} leaves an empty train or test set at p={p}"
        )
    perm = torch.randperm(a.numel(), generator=make_generator(seed, dev), device=dev)
    return ModularAddition(p, a, b, (a + b) % p, perm[:n_train], perm[n_train:])


@dataclass(frozen=True, kw_only=True)
class GrokkingRun(TrainingRun):
    """Progress measures of B = len(weight_decay)·n_seeds members on a step grid of S points.

    The fields of :class:`~kernelcap.empirics._full_batch.TrainingRun` (steps, accuracies, losses,
    weight norm, ...) plus ``p``; ``fourier_energy`` (B, S, ⌊(p−1)/2⌋), the energy of W_E per
    frequency; ``weights``: (W_E, W_in, W_out) snapshots, each (B, S', ...) float32 at
    ``snapshot_steps`` (S',).
    """

    p: int
    fourier_energy: np.ndarray
    weights: tuple = ()
    snapshot_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def members(self, weight_decay: float) -> np.ndarray:
        """Indices of the members trained with this weight decay."""
        return np.flatnonzero(np.isclose(self.weight_decay, weight_decay))

    def key_frequency_count(self) -> np.ndarray:
        """(B, S) effective number of Fourier frequencies of W_E (participation ratio of
        ``fourier_energy``)."""
        return th.effective_frequency_count(self.fourier_energy)


def train_grokking(
    p: int = 31,
    train_fraction: float = 0.7,
    *,
    embed: int = 64,
    hidden: int = 128,
    lr: float = 1e-2,
    weight_decay: Sequence[float] = (0.0, 1.0),
    n_seeds: int = 1,
    n_steps: int = 2000,
    init_scale: float = 1.0,
    n_log: int = 40,
    every: int = 25,
    seed: int = 0,
    device="auto",
    optimizer: str = "adamw",
    progress: bool | None = False,
) -> GrokkingRun:
    """Train len(weight_decay)·n_seeds one-layer MLPs on a + b mod p as one batched full-batch
    AdamW program (``optimizer="sgdw"``: heavy-ball GD, momentum 0.9, with decoupled decay;
    ``init_scale`` multiplies the 1/√fan_in initialisation).

    Every member sees the same split (drawn from ``seed``). Member i has decay
    weight_decay[i // n_seeds] and seed index i % n_seeds; its initialisation is drawn from
    ``member_seed(seed, seed index)``, so members with the same seed index start from the same
    weights at every λ (paired runs), and a member's numbers do not depend on the rest of the batch.
    Logged on ``log_step_grid(n_steps, n_log, every)`` (step 0 = the initialisation); weight
    snapshots at every logged step, or at the log-spaced points and ~200 regular ones on long runs.
    The arrays of the result are read-only (claims share one run). ``progress`` shows a bar
    (``None``: only on a terminal).
    """
    wd = tuple(float(x) for x in np.atleast_1d(weight_decay))
    if not wd:
        raise ValueError("weight_decay must hold at least one value")
    if any(x < 0 or not math.isfinite(x) for x in wd):
        raise ValueError(f"weight_decay must be finite and ≥ 0, got {weight_decay!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0) or any(
        lr * x >= 1 for x in wd
    ):
        raise ValueError(f"lr must be finite and > 0 with lr·weight_decay < 1, got {lr!r}")
    if not (isinstance(init_scale, (int, float)) and math.isfinite(init_scale) and init_scale > 0):
        raise ValueError(f"init_scale must be finite and > 0, got {init_scale!r}")
    if optimizer not in ("adamw", "sgdw"):
        raise ValueError(f"optimizer must be 'adamw' or 'sgdw', got {optimizer!r}")
    for name, val in dict(
        embed=embed, hidden=hidden, n_seeds=n_seeds, n_steps=n_steps, n_log=n_log, every=every
    ).items():
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    dev = resolve_device(device)
    data = modular_addition(p, train_fraction, seed=seed, device=dev)
    p, lr, init_scale = int(p), float(lr), float(init_scale)
    lam_np = np.repeat(np.asarray(wd), n_seeds)
    seed_index = np.tile(np.arange(n_seeds), len(wd))
    gens = [make_generator(member_seed(seed, j), dev) for j in seed_index]

    def init(*shape, fan_in):
        scale = init_scale / math.sqrt(fan_in)
        return (member_randn(gens, *shape, device=dev) * scale).requires_grad_()

    params = [
        init(p, embed, fan_in=embed),
        init(embed, hidden, fan_in=embed),
        init(hidden, p, fan_in=hidden),
    ]
    B = lam_np.size

    def logits(w, idx):
        emb, w_in, w_out = w
        return torch.relu((emb[:, data.a[idx]] + emb[:, data.b[idx]]) @ w_in) @ w_out

    def loss_acc(w, idx):
        out = logits(w, idx)
        y = data.labels[idx].expand(B, -1)
        loss = torch.nn.functional.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(-1)
        return loss, (out.argmax(-1) == y).float().mean(-1)

    def measure(w):
        (l_tr, a_tr), (l_te, a_te) = loss_acc(w, data.train), loss_acc(w, data.test)
        norm = sum(x.square().flatten(1).sum(1) for x in w).sqrt()
        return dict(
            train_loss=l_tr,
            train_acc=a_tr,
            test_loss=l_te,
            test_acc=a_te,
            norm=norm,
            fourier=_fourier_energy_torch(w[0]),
        )

    grid = log_step_grid(n_steps, n_log, every)
    # every logged step up to ~200 of them, then sparser
    coarse = every * max(1, -(-n_steps // (200 * every)))
    snap = np.union1d(log_step_grid(n_steps, n_log, n_steps + 1), grid[grid % coarse == 0])
    log = train_full_batch(
        params,
        lambda w: loss_acc(w, data.train)[0],
        measure,
        lr=lr,
        weight_decay=torch.as_tensor(lam_np),
        n_steps=n_steps,
        grid=grid,
        optimizer=optimizer,
        keep_snapshots=True,
        snapshot_steps=snap,
        desc="grokking",
        progress=progress,
    )
    ms = log.measures
    run = GrokkingRun(
        p=p,
        lr=lr,
        steps=log.steps,
        weight_decay=lam_np,
        seed=seed_index,
        train_acc=ms["train_acc"],
        test_acc=ms["test_acc"],
        train_loss=ms["train_loss"],
        test_loss=ms["test_loss"],
        weight_norm=ms["norm"],
        fourier_energy=ms["fourier"],
        wall_s=log.wall_s,
        weights=log.snapshots,
        snapshot_steps=log.snapshot_steps,
    )
    read_only(run.steps, run.weight_decay, run.seed, run.snapshot_steps, *run.weights, *ms.values())
    return run


def decay_phase_window(run: GrokkingRun, member: int, t_mem: float) -> tuple[int, int]:
    """Logged-step indices [s0, stop) of the decay phase of ``member``: from its memorisation step
    ``t_mem`` on while ‖w_t‖ > 2× its final value."""
    s0 = int(np.searchsorted(run.steps, t_mem))
    below = np.append(run.weight_norm[member, s0:] <= 2 * run.weight_norm[member, -1], True)
    return s0, s0 + int(np.argmax(below))


def decay_phase_deviation(run: GrokkingRun, member: int, t_mem: float) -> float:
    """max |‖w_t‖ / (‖w_mem‖(1 − ηλ)^(t − t_mem)) − 1| over the decay phase
    (:func:`decay_phase_window`; nearer the final norm the data gradient of the shrinking margins
    takes over) against :func:`kernelcap.theory.grokking.weight_norm_decay`; NaN for a decay phase
    of fewer than 2 logged steps."""
    s0, stop = decay_phase_window(run, member, t_mem)
    norm = run.weight_norm[member]
    t = run.steps[s0:stop]
    if t.size < 2:
        return math.nan
    law = th.weight_norm_decay(norm[s0], run.lr, run.weight_decay[member], t - t[0])
    return float(np.max(np.abs(norm[s0:stop] / law - 1)))


def lazy_memorizers(run: GrokkingRun, level: float) -> np.ndarray:
    """Members that memorised at large norm and grokked: 100% train accuracy, test accuracy ≥
    ``level`` (t_grok), and a decay phase (:func:`decay_phase_window`) of ≥ 2 logged steps. A member
    that memorises only after its norm has decayed has none: it is outside the regime of the decay
    law (Lyu et al. 2024)."""
    t_mem, t_grok = run.t_memorize(), run.t_generalize(level)
    grokked = np.flatnonzero(np.isfinite(t_mem) & np.isfinite(t_grok))
    windows = (decay_phase_window(run, j, t_mem[j]) for j in grokked)
    return np.array([j for j, (s0, stop) in zip(grokked, windows) if stop - s0 >= 2], dtype=int)


def _fourier_energy_torch(emb: torch.Tensor) -> torch.Tensor:
    """(B, ⌊(p−1)/2⌋) energy of W_E (B, p, d) per frequency, as
    :func:`kernelcap.theory.grokking.fourier_energy`."""
    p = emb.shape[-2]
    power = torch.fft.fft(emb.double(), dim=-2).abs().square().sum(-1)
    k = torch.arange(1, (p - 1) // 2 + 1, device=emb.device)
    return power[:, k] + power[:, p - k]


class ModularMLP(torch.nn.Module):
    """One member of the batched MLP as a module: x (N, 2) residues (any dtype) -> logits (N, p)."""

    def __init__(self, emb, w_in, w_out):
        super().__init__()
        self.emb, self.w_in, self.w_out = (
            torch.nn.Parameter(torch.tensor(w, dtype=torch.float64)) for w in (emb, w_in, w_out)
        )

    def forward(self, x):
        idx = x.long()
        return torch.relu((self.emb[idx[:, 0]] + self.emb[idx[:, 1]]) @ self.w_in) @ self.w_out


@dataclass(frozen=True)
class NTKDrift:
    """Empirical-NTK change of one member over training.

    ``steps`` (S,); ``relative_change`` ‖Θ_t − Θ_0‖_F/‖Θ_0‖_F; ``kernel_distance``
    1 − A(Θ_0, Θ_t), with A the centred kernel alignment ⟨Θ̄_0, Θ̄_t⟩_F/(‖Θ̄_0‖_F‖Θ̄_t‖_F) of
    Θ̄ = HΘH, H = I − 11ᵀ/n (:func:`kernelcap.theory.kernels.centered_alignment`; Fort et al. 2020,
    centring as Cortes et al. 2012). The distance ignores the overall scale of Θ, which weight decay
    alone changes (Θ ∝ c⁴ when all three weight matrices of this homogeneous MLP shrink by c).
    """

    steps: np.ndarray
    relative_change: np.ndarray
    kernel_distance: np.ndarray


def ntk_drift_from_init(
    run: GrokkingRun,
    member: int,
    n_points: int = 64,
    max_snapshots: int = 16,
    seed: int = 0,
    steps=None,
) -> NTKDrift:
    """NTK drift of one member from its initialisation, on ``n_points`` random residue pairs.

    At up to ``max_snapshots`` log-spaced snapshot steps, or at the first snapshot step ≥ each of
    ``steps`` (NaN steps and steps past the end give the last one); ``NTKDrift.steps`` are the
    steps actually used, and the first entry is always the first logged step. The NTK is traced
    over the p logits and computed with :func:`kernelcap.empirics.kernels.empirical_ntk` on the
    CPU with one intra-op thread.
    """
    from kernelcap.empirics.kernels import empirical_ntk

    if len(run.weights) != 3:
        raise ValueError(
            "run has no (W_E, W_in, W_out) snapshots of the MLP (is it a transformer run?)"
        )
    if not 0 <= member < run.weight_decay.size:
        raise ValueError(f"member must be in [0, {run.weight_decay.size}), got {member}")
    snap_steps = run.snapshot_steps if run.snapshot_steps.size else run.steps
    g = np.random.default_rng(seed)
    x = torch.as_tensor(g.integers(0, run.p, size=(n_points, 2)), dtype=torch.float64)
    if steps is None:
        pick = np.unique(np.geomspace(1, snap_steps.size, max_snapshots).round().astype(int) - 1)
    else:
        want = np.nan_to_num(np.asarray(steps, float), nan=np.inf)
        pick = np.concatenate(
            [[0], np.minimum(np.searchsorted(snap_steps, want), snap_steps.size - 1)]
        )
    with single_cpu_thread("cpu"):  # 64×64 kernels of a small MLP: threads only synchronise
        kernels = [
            empirical_ntk(ModularMLP(*(w[member, s] for w in run.weights)), x).double().numpy()
            for s in pick
        ]
    k0 = kernels[0]
    rel = [np.linalg.norm(k - k0) / np.linalg.norm(k0) for k in kernels]
    dist = [1 - centered_alignment(k0, k) for k in kernels]
    return NTKDrift(snap_steps[pick], np.asarray(rel), np.asarray(dist))

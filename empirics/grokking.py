"""Grokking on modular addition: memorise first, generalise later, with weight decay.

Data: a + b mod p on unordered pairs a ≤ b (as in the PAIR explorable, so the commuted copy of a test
pair is never in the training set), split with a train fraction. Model: the explorable's one-layer
MLP, logits = ReLU(W_E[a] + W_E[b]) W_in) W_out, no biases. Training: full-batch AdamW written out
by hand so that many weight-decay values and seeds train as one batched tensor program (a leading
member axis on every weight; members never interact). Progress measures are logged on a step grid:
train/test loss and accuracy, total weight norm, Fourier spectrum of W_E.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from kernelcap.claims import Check, Evidence, claim
from kernelcap.plotting import claim_figure, plot_measured, plot_theory
from kernelcap.progress import progress
from kernelcap.runtime import Runtime, make_generator, resolve_device
from kernelcap.theory import grokking as th

__all__ = ["ModularAddition", "modular_addition", "GrokkingRun", "train_grokking", "first_step_reaching"]


@dataclass(frozen=True)
class ModularAddition:
    """a + b mod p on unordered pairs a ≤ b. ``a``, ``b``, ``labels``: (N,) int64; train/test: index tensors."""

    p: int
    a: torch.Tensor
    b: torch.Tensor
    labels: torch.Tensor
    train: torch.Tensor
    test: torch.Tensor


def modular_addition(p: int, train_fraction: float, *, seed: int = 0, device="auto") -> ModularAddition:
    """All p(p+1)/2 unordered pairs (a ≤ b) with label (a + b) mod p, randomly split (seeded)."""
    if not isinstance(p, (int, np.integer)) or isinstance(p, bool) or p < 3:
        raise ValueError(f"p must be an integer ≥ 3, got {p!r}")
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    dev = resolve_device(device)
    a, b = torch.triu_indices(p, p, device=dev)
    n_train = int(round(train_fraction * a.numel()))
    if not 0 < n_train < a.numel():
        raise ValueError(f"train_fraction={train_fraction} leaves an empty train or test set at p={p}")
    perm = torch.randperm(a.numel(), generator=make_generator(seed, dev), device=dev)
    return ModularAddition(p, a, b, (a + b) % p, perm[:n_train], perm[n_train:])


@dataclass(frozen=True)
class GrokkingRun:
    """Progress measures of B = len(weight_decay)·n_seeds members on a step grid of S points.

    ``steps`` (S,); ``train_acc``, ``test_acc``, ``train_loss``, ``test_loss``, ``weight_norm``: (B, S);
    ``fourier_energy``: (B, S, ⌊(p−1)/2⌋) energy of W_E per frequency; ``weight_decay``, ``seed``: (B,);
    ``wall_s`` training time.
    """

    p: int
    lr: float
    steps: np.ndarray
    weight_decay: np.ndarray
    seed: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    weight_norm: np.ndarray
    fourier_energy: np.ndarray
    wall_s: float

    def members(self, weight_decay: float) -> np.ndarray:
        return np.flatnonzero(np.isclose(self.weight_decay, weight_decay))

    def t_memorize(self) -> np.ndarray:
        """(B,) first logged step with 100% train accuracy (NaN if never)."""
        return first_step_reaching(self.steps, self.train_acc, 1.0)

    def t_generalize(self, level: float = 0.95) -> np.ndarray:
        """(B,) first logged step with test accuracy ≥ level (NaN if never)."""
        return first_step_reaching(self.steps, self.test_acc, level)


def first_step_reaching(steps: np.ndarray, values: np.ndarray, level: float) -> np.ndarray:
    """First entry of ``steps`` where ``values[..., s] ≥ level`` along the last axis; NaN if never."""
    hit = np.asarray(values) >= level - 1e-9
    first = hit.argmax(-1)
    return np.where(hit.any(-1), np.asarray(steps, float)[first], np.nan)


def _step_grid(n_steps: int, n_log: int, every: int) -> np.ndarray:
    grid = np.unique(np.concatenate([np.geomspace(1, n_steps, n_log).round(), np.arange(every, n_steps + 1, every)]))
    return grid.astype(int)


def _adamw_(params, grads, m, v, t, lr, lam, betas=(0.9, 0.98), eps=1e-8):
    """One AdamW step in place; ``lam`` (B, 1, 1) decoupled decay per member."""
    b1, b2 = betas
    c1, c2 = 1 - b1 ** t, math.sqrt(1 - b2 ** t)
    for w, g, mw, vw in zip(params, grads, m, v):
        w.mul_(1 - lr * lam)
        mw.mul_(b1).add_(g, alpha=1 - b1)
        vw.mul_(b2).addcmul_(g, g, value=1 - b2)
        w.addcdiv_(mw, vw.sqrt().div_(c2).add_(eps), value=-lr / c1)


@functools.lru_cache(maxsize=8)
def _train_cached(p, train_fraction, embed, hidden, lr, weight_decay, n_seeds, n_steps, init_scale, n_log, every,
                  seed, device, show):
    return _train(p, train_fraction, embed, hidden, lr, weight_decay, n_seeds, n_steps, init_scale, n_log, every,
                  seed, device, show)


def train_grokking(p: int = 31, train_fraction: float = 0.7, *, embed: int = 64, hidden: int = 128, lr: float = 1e-2,
                   weight_decay: Sequence[float] = (0.0, 1.0), n_seeds: int = 1, n_steps: int = 2000,
                   init_scale: float = 1.0, n_log: int = 40, every: int = 25, seed: int = 0, device="auto",
                   progress_bar: bool = False) -> GrokkingRun:
    """Train len(weight_decay)·n_seeds one-layer MLPs on a + b mod p as one batched full-batch AdamW program.

    Every member sees the same split (drawn from ``seed``); member i has decay weight_decay[i // n_seeds] and
    initialisation seed ``seed + 1 + i % n_seeds``-style independent draws. Results are cached in-process
    by the arguments, so claims sharing a configuration share the run.
    """
    wd = tuple(float(x) for x in np.atleast_1d(weight_decay))
    if any(x < 0 or not math.isfinite(x) for x in wd):
        raise ValueError(f"weight_decay must be finite and ≥ 0, got {weight_decay!r}")
    if lr <= 0 or any(lr * x >= 1 for x in wd):
        raise ValueError("lr must be > 0 with lr·weight_decay < 1")
    for name, val in dict(embed=embed, hidden=hidden, n_seeds=n_seeds, n_steps=n_steps).items():
        if int(val) != val or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    return _train_cached(int(p), float(train_fraction), int(embed), int(hidden), float(lr), wd, int(n_seeds),
                         int(n_steps), float(init_scale), int(n_log), int(every), int(seed), str(resolve_device(device)),
                         bool(progress_bar))


def _train(p, train_fraction, embed, hidden, lr, wd, n_seeds, n_steps, init_scale, n_log, every, seed, device, show):
    dev = torch.device(device)
    data = modular_addition(p, train_fraction, seed=seed, device=dev)
    lam_np = np.repeat(np.asarray(wd), n_seeds)
    B = lam_np.size
    gen = make_generator(seed + 1, dev)

    def init(*shape, fan_in):
        return (torch.randn(B, *shape, generator=gen, device=dev) * (init_scale / math.sqrt(fan_in))).requires_grad_()

    params = [init(p, embed, fan_in=embed), init(embed, hidden, fan_in=embed), init(hidden, p, fan_in=hidden)]
    m = [torch.zeros_like(w) for w in params]
    v = [torch.zeros_like(w) for w in params]
    lam = torch.tensor(lam_np, dtype=torch.float32, device=dev).view(B, 1, 1)

    def logits(idx):
        emb, w_in, w_out = params
        return torch.relu((emb[:, data.a[idx]] + emb[:, data.b[idx]]) @ w_in) @ w_out

    def loss_acc(idx):
        out = logits(idx)
        y = data.labels[idx].expand(B, -1)
        loss = torch.nn.functional.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(-1)
        return loss, (out.argmax(-1) == y).float().mean(-1)

    grid = _step_grid(n_steps, n_log, every)
    log = {k: [] for k in ("train_loss", "train_acc", "test_loss", "test_acc", "norm", "emb")}
    t0 = time.perf_counter()
    k = 0
    for t in progress(range(1, n_steps + 1), total=n_steps, desc="grokking", enabled=show):
        loss, _ = loss_acc(data.train)
        grads = torch.autograd.grad(loss.sum(), params)
        with torch.no_grad():
            _adamw_(params, grads, m, v, t, lr, lam)
            if k < grid.size and t == grid[k]:
                k += 1
                for split in ("train", "test"):
                    l, a = loss_acc(getattr(data, split))
                    log[f"{split}_loss"].append(l)
                    log[f"{split}_acc"].append(a)
                log["norm"].append(sum(w.square().sum((1, 2)) for w in params).sqrt())
                log["emb"].append(params[0].detach().clone())
    wall = time.perf_counter() - t0
    stack = {key: torch.stack(val, 1).cpu().double().numpy() for key, val in log.items()}
    return GrokkingRun(p=p, lr=lr, steps=grid, weight_decay=lam_np, seed=np.tile(np.arange(n_seeds), len(wd)),
                       train_acc=stack["train_acc"], test_acc=stack["test_acc"], train_loss=stack["train_loss"],
                       test_loss=stack["test_loss"], weight_norm=stack["norm"],
                       fourier_energy=th.fourier_energy(stack["emb"]), wall_s=wall)

"""Full-batch AdamW for B independent members trained as one tensor program.

Every parameter carries a leading member axis (B, ...); members never interact, so B weight-decay
values × seeds cost one fused step per iteration. Used by the grokking experiments (MLP,
transformer, sparse parity); it knows nothing about the task: ``loss(params) -> (B,)`` and
``measure(params) -> {name: (B,)}`` come from the caller.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from kernelcap.progress import progress as progress_bar
from kernelcap.runtime import single_cpu_thread

__all__ = [
    "TrainLog",
    "TrainingRun",
    "first_step_reaching",
    "value_at_step",
    "read_only",
    "adamw_step_",
    "sgdw_step_",
    "log_step_grid",
    "member_seed",
    "member_randn",
    "train_full_batch",
]


@dataclass(frozen=True)
class TrainLog:
    """``steps`` (S,); ``measures[name]`` (B, S, ...) float64; ``snapshots[i]`` (B, S',
    *param_i.shape[1:]) on the CPU in the parameters' dtype at ``snapshot_steps`` (S',) (empty when
    none are kept); ``wall_s`` training wall time including the measurements."""

    steps: np.ndarray
    measures: Mapping[str, np.ndarray]
    snapshots: tuple
    wall_s: float
    snapshot_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


@dataclass(frozen=True, kw_only=True)
class TrainingRun:
    """Progress measures of B members of one batched full-batch run, logged on S steps.

    The fields every grokking experiment (MLP, transformer, sparse parity) logs: ``lr``; ``steps``
    (S,); ``weight_decay`` and ``seed`` (seed index) (B,); ``train_acc``, ``test_acc``,
    ``train_loss``, ``test_loss`` and ``weight_norm`` (total L2 norm of all weights) (B, S);
    ``wall_s`` the training wall time.
    """

    lr: float
    steps: np.ndarray
    weight_decay: np.ndarray
    seed: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    weight_norm: np.ndarray
    wall_s: float

    def t_memorize(self) -> np.ndarray:
        """(B,) first logged step with 100% train accuracy (NaN if never)."""
        return first_step_reaching(self.steps, self.train_acc, 1.0)

    def t_generalize(self, level: float = 0.95) -> np.ndarray:
        """(B,) first logged step with test accuracy ≥ level (NaN if never)."""
        return first_step_reaching(self.steps, self.test_acc, level)


def first_step_reaching(steps: np.ndarray, values: np.ndarray, level: float) -> np.ndarray:
    """First entry of ``steps`` where ``values[..., s] ≥ level`` along the last axis; NaN if
    never."""
    hit = np.asarray(values) >= level - 1e-9
    first = hit.argmax(-1)
    return np.where(hit.any(-1), np.asarray(steps, float)[first], np.nan)


def value_at_step(steps: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """(B,) ``values[j]`` (B, S) at the logged step ``at[j]`` of ``steps`` (S,) for each member j;
    NaN where ``at[j]`` is NaN (e.g. a step from :func:`first_step_reaching` that was never
    reached)."""
    at = np.asarray(at, float)
    idx = np.searchsorted(steps, np.nan_to_num(at, nan=steps[0]))
    return np.where(
        np.isfinite(at),
        np.take_along_axis(np.asarray(values, float), idx[:, None], 1)[:, 0],
        np.nan,
    )


def read_only(*arrays: np.ndarray) -> None:
    """Make ``arrays`` read-only: a run shared by several claims must not be changed by one."""
    for arr in arrays:
        arr.setflags(write=False)


def log_step_grid(n_steps: int, n_log: int = 40, every: int = 25) -> np.ndarray:
    """Sorted unique steps: 0 (the initialisation), ``n_log`` log-spaced points in [1, n_steps] and
    every ``every``-th step."""
    if n_steps < 1 or n_log < 1 or every < 1:
        raise ValueError("n_steps, n_log and every must be ≥ 1")
    grid = np.concatenate(
        [[0], np.geomspace(1, n_steps, n_log).round(), np.arange(every, n_steps + 1, every)]
    )
    return np.unique(grid).astype(int)


def member_seed(seed: int, index: int) -> int:
    """Seed of member ``index`` (e.g. a seed index shared by every weight-decay value) under run
    seed ``seed``.

    Derived with :class:`numpy.random.SeedSequence`, so a member's initialisation does not depend on
    how many other members are in the batch: the same (seed, index) trains to the same numbers alone
    or batched.
    """
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def member_randn(generators: Sequence[torch.Generator], *shape: int, device="cpu") -> torch.Tensor:
    """(B, *shape) standard normal draws, member b from ``generators[b]`` (used at initialisation
    only)."""
    return torch.stack([torch.randn(*shape, generator=g, device=device) for g in generators])


def adamw_step_(
    params: Sequence[torch.Tensor],
    grads,
    m,
    v,
    t: int,
    lr: float,
    lam: torch.Tensor,
    betas=(0.9, 0.98),
    eps: float = 1e-8,
) -> None:
    """One AdamW step in place (Loshchilov & Hutter 2019): w ← w(1 − ηλ_b) − η m̂/(√v̂ + ε).

    ``lam`` (B,) is the decoupled decay of each member; moments ``m``, ``v`` are updated in place.
    """
    b1, b2 = betas
    c1, c2 = 1 - b1**t, math.sqrt(1 - b2**t)
    for w, g, mw, vw in zip(params, grads, m, v):
        w.mul_(1 - lr * lam.view(-1, *([1] * (w.ndim - 1))))
        mw.mul_(b1).add_(g, alpha=1 - b1)
        vw.mul_(b2).addcmul_(g, g, value=1 - b2)
        w.addcdiv_(mw, vw.sqrt().div_(c2).add_(eps), value=-lr / c1)


def sgdw_step_(
    params: Sequence[torch.Tensor],
    grads,
    m,
    v,
    t: int,
    lr: float,
    lam: torch.Tensor,
    betas=(0.9, 0.98),
    eps: float = 0.0,
) -> None:
    """One heavy-ball GD step with decoupled decay in place: b ← β₁b + g; w ← w(1 − ηλ_b) − η b.

    With a small data gradient the weights shrink exactly as (1 − ηλ)^t, the regime of
    :func:`kernelcap.theory.grokking.weight_norm_decay`. Only β₁ (the momentum) is used; ``v``, β₂
    and ``eps`` are ignored (the signature matches :func:`adamw_step_`).
    """
    for w, g, mw in zip(params, grads, m):
        w.mul_(1 - lr * lam.view(-1, *([1] * (w.ndim - 1))))
        mw.mul_(betas[0]).add_(g)
        w.add_(mw, alpha=-lr)


_STEPS = {"adamw": adamw_step_, "sgdw": sgdw_step_}


def train_full_batch(
    params: Sequence[torch.Tensor],
    loss: Callable,
    measure: Callable,
    *,
    lr: float,
    weight_decay: torch.Tensor,
    n_steps: int,
    grid: np.ndarray,
    betas=(0.9, 0.98),
    optimizer: str = "adamw",
    keep_snapshots: bool = False,
    snapshot_steps=None,
    desc: str = "train",
    progress: bool | None = False,
) -> TrainLog:
    """Run ``n_steps`` AdamW steps (``optimizer="sgdw"``: heavy-ball GD with decoupled decay) on
    ``params`` (each (B, ...), requires_grad) and log on ``grid``.

    ``loss(params)`` returns the (B,) per-member training losses (their sum is differentiated:
    members are independent, so each gets its own gradient); ``measure(params)`` returns a dict of
    (B,) tensors evaluated without grad at every grid step; ``grid`` must be strictly increasing
    integers in [0, n_steps] (0 = before the first update). With ``keep_snapshots`` the weights are
    copied to the CPU at ``snapshot_steps`` (a subset of ``grid``; default all of it). Runs on the
    params' device; on CPU with one intra-op thread (the per-step tensors are small, so threading
    costs more than it gains). ``progress`` shows a bar (``None``: only on a terminal).
    """
    if optimizer not in _STEPS:
        raise ValueError(f"optimizer must be one of {sorted(_STEPS)}, got {optimizer!r}")
    step_ = _STEPS[optimizer]
    grid = np.asarray(grid)
    if (
        grid.ndim != 1
        or grid.size == 0
        or not np.all(grid == np.round(grid))
        or grid[0] < 0
        or grid[-1] > n_steps
        or np.any(np.diff(grid) <= 0)
    ):
        raise ValueError(f"grid must be strictly increasing integers in [0, n_steps={n_steps}]")
    grid = grid.astype(int)
    snap_at = (
        set(grid.tolist())
        if snapshot_steps is None
        else set(np.asarray(snapshot_steps, dtype=int).tolist())
    )
    if not snap_at <= set(grid.tolist()):
        raise ValueError("snapshot_steps must be a subset of grid")
    dev = params[0].device
    m = [torch.zeros_like(w) for w in params]
    v = [torch.zeros_like(w) for w in params]
    lam = torch.as_tensor(weight_decay, dtype=params[0].dtype, device=dev).reshape(-1)
    logs: dict[str, torch.Tensor] = {}
    snap_steps: list[int] = []
    # Logs and snapshots are preallocated: long-lived copies allocated between each step's
    # temporaries fragment glibc's heap on CPU (a 50k-step run of the PAIR MLP grew past 24 GB).
    snap_buffers = (
        [torch.empty((w.shape[0], len(snap_at), *w.shape[1:]), dtype=w.dtype) for w in params]
        if keep_snapshots
        else []
    )

    def record(i, t):
        with torch.no_grad():
            for name, val in measure(params).items():
                if name not in logs:
                    logs[name] = torch.empty(
                        (val.shape[0], grid.size, *val.shape[1:]),
                        dtype=val.dtype,
                        device=val.device,
                    )
                logs[name][:, i] = val
            if keep_snapshots and t in snap_at:
                for buf, w in zip(snap_buffers, params):
                    buf[:, len(snap_steps)].copy_(w.detach())
                snap_steps.append(t)

    k = 0
    with single_cpu_thread(dev):
        t0 = time.perf_counter()
        if grid[0] == 0:
            record(0, 0)
            k = 1
        for t in progress_bar(range(1, n_steps + 1), total=n_steps, desc=desc, enabled=progress):
            grads = torch.autograd.grad(loss(params).sum(), params)
            with torch.no_grad():
                step_(params, grads, m, v, t, lr, lam, betas)
            if k < grid.size and t == grid[k]:
                record(k, t)
                k += 1
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        wall = time.perf_counter() - t0
    measures = {name: val[:, :k].cpu().double().numpy() for name, val in logs.items()}
    snapshots = (
        tuple(buf[:, : len(snap_steps)].numpy() for buf in snap_buffers) if snap_steps else ()
    )
    return TrainLog(grid[:k], measures, snapshots, wall, np.asarray(snap_steps, dtype=int))

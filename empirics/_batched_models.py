"""K copies of any ``nn.Module`` trained as one tensor program (``torch.func``).

Each member is built by the user's factory under its own seed, the K parameter sets are stacked
(``torch.func.stack_module_state``) and the forward pass is ``vmap(functional_call)`` over the
member axis. Member b trains on its own weighted subset of the data (a 0/1 mask row): the summed
loss gives every member its own gradient, and the updates (SGD with momentum, Adam) are
elementwise, so each member follows exactly the trajectory it would follow alone (checked in
benchmarks/memorization.py and the tests against a Python loop).
"""

from __future__ import annotations

import copy
import inspect
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from kernelcap.empirics._full_batch import member_seed
from kernelcap.progress import progress
from kernelcap.runtime import single_cpu_thread

LOSSES = ("mse", "ce")
OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class TrainConfig:
    """How each member trains.

    Attributes:
        steps: number of updates. lr: step size η.
        loss: ``"mse"`` (½‖f − y‖² per example, averaged over the member's subset) or ``"ce"``
            (cross-entropy with integer labels; a scalar output is a logit for class 1).
        optimizer: ``"sgd"`` (heavy-ball ``momentum``) or ``"adam"`` (``betas``, ``eps``).
        weight_decay: coupled L2 penalty (added to the gradient).
        batch_size: examples per step drawn without replacement from the member's subset (None:
            the whole subset, i.e. full-batch gradient descent).
    """

    steps: int
    lr: float
    loss: str = "mse"
    optimizer: str = "sgd"
    momentum: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    batch_size: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"train.steps must be an int >= 1, got {self.steps!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"train.lr must be a finite number > 0, got {self.lr!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"train.loss must be one of {LOSSES}, got {self.loss!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"train.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if not 0 <= self.momentum < 1 or self.weight_decay < 0:
            raise ValueError("train.momentum must be in [0, 1) and train.weight_decay >= 0")
        if self.batch_size is not None and (
            not isinstance(self.batch_size, int) or self.batch_size < 1
        ):
            raise ValueError(
                f"train.batch_size must be None or an int >= 1, got {self.batch_size!r}"
            )


def build_member(model_factory: Callable, seed: int) -> nn.Module:
    """``model_factory(seed)`` if the factory takes an argument, else ``model_factory()`` with
    torch's global RNG seeded by ``seed`` (restored afterwards)."""
    try:
        takes_seed = len(inspect.signature(model_factory).parameters) > 0
    except (TypeError, ValueError):
        takes_seed = False
    if takes_seed:
        model = model_factory(seed)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = model_factory()
    if not isinstance(model, nn.Module):
        raise TypeError(f"model_factory must return a torch.nn.Module, got {type(model).__name__}")
    return model


class Stack:
    """K members of one architecture: stacked parameters (K, ...) and a vmapped forward pass."""

    def __init__(self, models: Sequence[nn.Module], device):
        shapes = {tuple((k, tuple(v.shape)) for k, v in m.named_parameters()) for m in models}
        if len(shapes) != 1:
            raise ValueError("model_factory must build the same architecture every time")
        models = [m.to(device) for m in models]
        params, buffers = stack_module_state(models)
        self.names = [k for k, p in models[0].named_parameters() if p.requires_grad]
        if not self.names:
            raise ValueError("the model has no trainable parameters")
        self.params = {k: params[k].detach().clone().requires_grad_() for k in self.names}
        self.frozen = {k: v.detach() for k, v in params.items() if k not in self.params}
        self.buffers = buffers
        self.base = copy.deepcopy(models[0]).to("meta")
        self.size = len(models)

    def forward(self, params, x, *, per_member_inputs: bool = False):
        """Outputs (K, n, O) of every member on x (n, ...) or, per member, on x (K, n, ...)."""

        def one(p, fz, b, xx):
            out = functional_call(self.base, ({**p, **fz}, b), (xx,))
            return out.reshape(xx.shape[0], -1)

        dims = (0, 0, 0, 0 if per_member_inputs else None)
        return vmap(one, in_dims=dims, randomness="different")(params, self.frozen, self.buffers, x)


def per_example_loss(out: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """(K, n) losses of outputs (K, n, O) against targets, shared (n, ...) or per member
    (K, n, ...): (…, O) floats for ``"mse"``, integer labels for ``"ce"`` (one output: the logit of
    class 1)."""
    if loss == "mse":
        return 0.5 * ((out - target) ** 2).sum(-1)
    if out.shape[-1] == 1:
        z = out[..., 0]
        return nn.functional.softplus(z) - z * target.to(z.dtype)
    idx = target.long().expand(out.shape[:2])[..., None]
    # logsumexp − the true logit: the same loss as −log_softmax[y], about twice as fast on CPU for
    # the few-class outputs of small models
    return torch.logsumexp(out, dim=-1) - out.gather(-1, idx)[..., 0]


@dataclass(frozen=True)
class MembersRun:
    """What :func:`train_members` returns (K members, n examples, O outputs).

    Attributes:
        outputs: (K, n, O) outputs on every example after training.
        log_steps: (S,) steps at which outputs were logged (0 = the initialisation).
        logged: (K, S, n, O) outputs at ``log_steps`` (None without logging).
        checkpoints: tuple of (step, {name: (K, ...) CPU tensor}) parameter snapshots.
        wall_s: training wall time.
    """

    outputs: torch.Tensor
    log_steps: np.ndarray
    logged: torch.Tensor | None
    checkpoints: tuple
    wall_s: float


def _step(params, grads, state, cfg: TrainConfig, t: int) -> None:
    with torch.no_grad():
        for k, w in params.items():
            g = grads[k]
            if cfg.weight_decay:
                g = g.add(w, alpha=cfg.weight_decay)
            if cfg.optimizer == "sgd":
                if cfg.momentum:
                    buf = state.setdefault(k, torch.zeros_like(w))
                    buf.mul_(cfg.momentum).add_(g)
                    g = buf
                w.add_(g, alpha=-cfg.lr)
            else:
                b1, b2 = cfg.betas
                m = state.setdefault(k + ".m", torch.zeros_like(w))
                v = state.setdefault(k + ".v", torch.zeros_like(w))
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (v / (1 - b2**t)).sqrt_().add_(cfg.eps)
                w.addcdiv_(m, denom, value=-cfg.lr / (1 - b1**t))


def _batch(masks: torch.Tensor, size: int, seed: int, step: int, first: int, total: int):
    """(K, size) example indices drawn without replacement from each member's subset. The keys come
    from one generator per (seed, step) over all ``total`` members, so member b's batches do not
    depend on which chunk of members it trains with."""
    gen = torch.Generator().manual_seed(member_seed(seed, 1_000_003 + step))
    keys = torch.rand(total, masks.shape[1], generator=gen)[first : first + masks.shape[0]]
    keys = keys.to(masks.device).masked_fill(~masks, -1.0)
    return keys.topk(size, dim=1).indices


def train_members(
    stack: Stack,
    x: torch.Tensor,
    target: torch.Tensor,
    masks: torch.Tensor,
    cfg: TrainConfig,
    *,
    log_steps: Sequence[int] | None = None,
    checkpoint_steps: Sequence[int] | None = None,
    subtract_init: bool = False,
    seed: int = 0,
    first_member: int = 0,
    total_members: int | None = None,
    bar=None,
) -> MembersRun:
    """Train every member of ``stack`` on its subset ``masks[b]`` (K, n) of (x, target).

    ``target`` is shared (n, ...) or per member (K, n, ...) (full batch only: e.g. each member with
    its own random labels).
    Full batch: member b minimizes (1/m_b) Σ_{i∈S_b} ℓ_i; with ``cfg.batch_size`` each step uses a
    fresh batch drawn from S_b. Outputs on all n examples are logged at ``log_steps`` and parameters
    copied to the CPU at ``checkpoint_steps`` (both may include 0, the initialisation). With
    ``subtract_init`` every member's model is f(x; θ) − f(x; θ₀) on these n inputs: its output at
    initialisation is removed, so its linearization is kernel regression from zero on the NTK at θ₀.
    """
    params = stack.params
    with torch.no_grad():
        offset = stack.forward(params, x).detach() if subtract_init else None

    def forward(inputs=None, idx=None):
        if inputs is None:
            out = stack.forward(params, x)
            return out if offset is None else out - offset
        out = stack.forward(params, inputs, per_member_inputs=True)
        if offset is None:
            return out
        return out - offset.gather(1, idx[..., None].expand(-1, -1, offset.shape[-1]))

    masks = masks.to(x.device)
    weights = masks.to(x.dtype) / masks.sum(1, keepdim=True).to(x.dtype)
    log_at = sorted({int(s) for s in (log_steps or ())})
    ckpt_at = {int(s) for s in (checkpoint_steps or ())}
    logged, ckpts, state = [], [], {}
    total = total_members or stack.size
    sizes = masks.sum(1)
    small = cfg.batch_size is not None and cfg.batch_size < int(sizes.min())
    per_member = target.ndim == (2 if cfg.loss == "ce" else 3)
    if small and per_member:
        raise ValueError("per-member targets need full-batch training (batch_size=None)")
    # Equal-size subsets: each member's forward pass runs on its own m examples only (gathered),
    # not on all n with zero weights (half the work at f = ½).
    sub = None
    if not small and bool((sizes == sizes[0]).all()) and int(sizes[0]) < masks.shape[1]:
        sub = torch.argsort((~masks).to(torch.int8), dim=1, stable=True)[:, : int(sizes[0])]
        x_sub = x[sub]
        t_sub = target.gather(1, _expand_like(sub, target)) if per_member else target[sub]

    def record(t):
        if t in log_at:
            with torch.no_grad():
                logged.append(forward().detach().clone())
        if t in ckpt_at:
            ckpts.append((t, {k: v.detach().cpu().clone() for k, v in params.items()}))

    with single_cpu_thread(x.device):
        start = time.perf_counter()
        record(0)
        for t in range(1, cfg.steps + 1):
            if small:
                idx = _batch(masks, cfg.batch_size, seed, t, first_member, total)
                out = forward(x[idx], idx)
                loss = per_example_loss(out, target[idx], cfg.loss).mean(1)
            elif sub is not None:
                loss = per_example_loss(forward(x_sub, sub), t_sub, cfg.loss).mean(1)
            else:
                out = forward()
                loss = (per_example_loss(out, target, cfg.loss) * weights).sum(1)
            grads = torch.autograd.grad(loss.sum(), list(params.values()))
            _step(params, dict(zip(params, grads)), state, cfg, t)
            record(t)
            if bar is not None:
                bar.update(1)
        with torch.no_grad():
            final = forward().detach()
        if x.device.type == "cuda":
            torch.cuda.synchronize(x.device)
        wall = time.perf_counter() - start
    return MembersRun(
        outputs=final,
        log_steps=np.asarray([s for s in log_at if s <= cfg.steps], dtype=int),
        logged=torch.stack(logged, 1) if logged else None,
        checkpoints=tuple(ckpts),
        wall_s=wall,
    )


def _expand_like(idx: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(K, m) indices broadcast to gather rows of a per-member target (K, n, ...)."""
    return idx.reshape(*idx.shape, *([1] * (target.ndim - 2))).expand(*idx.shape, *target.shape[2:])


def members_progress(total: int, desc: str, enabled):
    """One tqdm bar for a whole (chunked) run."""
    return progress(total=total, desc=desc, enabled=enabled)

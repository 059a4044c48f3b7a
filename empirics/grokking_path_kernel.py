"""The kernel-machine view of grokking: a plain torch.optim.AdamW run of the grokking MLP, recorded.

:func:`record_grokking` trains :class:`~kernelcap.empirics.grokking.ModularMLP` on a + b mod p
(full batch, cross-entropy, AdamW with decoupled decay, as the quick grokking claims) with a
:class:`~kernelcap.empirics.path_kernel.PathKernelRecorder` on a subset of the test pairs, and logs
how the trained logits split into training-example contributions and the weight-decay term:

    f_t(x) = f_0(x) + Σ_i c_i(x) + c_w(x) + c_r(x)     (path_kernel's exact decomposition).

Logits matter up to a shift over classes, so every quantity is taken on logits centred over the
classes; the correct-class margin of a test pair (x, y) is m(x) = f_y(x) − mean_o f_o(x), and each
term has its margin part (m_i, m_w, m_0). ExPLAIND (Eichin et al. 2025) reads grokking off the same
decomposition for a transformer; Kumar et al. (ICLR 2024) describe it as a lazy-to-rich transition.
ModularMLP uses ReLU, so the quadrature is not exact where a pre-activation changes sign inside a
step; ``relative_error`` says what that costs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.empirics._full_batch import log_step_grid, member_seed
from kernelcap.empirics.grokking import ModularMLP, modular_addition
from kernelcap.empirics.path_kernel import KernelMachine, PathKernelRecorder
from kernelcap.progress import progress
from kernelcap.runtime import make_generator, resolve_device, single_cpu_thread

__all__ = ["GrokkingPathKernel", "record_grokking"]


@dataclass(frozen=True, repr=False)
class GrokkingPathKernel:
    """A recorded grokking run and its decomposition on a step grid of L points (after step t).

    Attributes:
        machine: the :class:`KernelMachine` after the last step (M recorded test pairs).
        steps: (L,) logged steps; seconds: wall time of the recorded run (logging included).
        train_acc, test_acc, train_loss: (L,) on the full train split and all test pairs.
        margin: (L,) mean correct-class margin m(x) over the recorded test pairs; it equals
            margin_init + margin_examples + margin_decay + margin_rounding.
        margin_examples: (L,) mean of Σ_i m_i(x); margin_same_label: its part from training pairs
            with the test pair's label (the rest comes from the other labels).
        margin_decay: (L,) mean of m_w(x), the weight-decay term's margin.
        margin_per_step: (n_steps+1,) the mean margin m(x) after every step (0: at initialisation),
            for laws of the whole path (e.g. :func:`kernelcap.theory.kernels.decoupled_decay_term`).
        decay_share: (L,) ‖c_w‖ / (‖Σ_i c_i‖ + ‖c_w‖), centred logits, all recorded test pairs.
        participation: (L,) mean over test pairs of the participation ratio of the per-example
            contributions, (Σ_i ‖c_i‖²)² / Σ_i ‖c_i‖⁴ / n_train (1: all examples alike).
        relative_error: (L,) the machine's relative error at each logged step.
        margin_by_example: (L, M, n_train) m_i(x), each training pair's margin contribution.
        x_test, y_test: (M, 2), (M,) the recorded test pairs; y_train: (n_train,) training labels.
    """

    machine: KernelMachine
    steps: np.ndarray
    seconds: float
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    margin: np.ndarray
    margin_init: float
    margin_examples: np.ndarray
    margin_same_label: np.ndarray
    margin_decay: np.ndarray
    margin_rounding: np.ndarray
    decay_share: np.ndarray
    participation: np.ndarray
    relative_error: np.ndarray
    margin_by_example: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    y_train: np.ndarray
    margin_per_step: np.ndarray

    def __repr__(self) -> str:
        return (
            f"GrokkingPathKernel(steps={int(self.steps[-1])}, n_test={len(self.y_test)}, "
            f"test_acc={self.test_acc[-1]:.3f}, decay_share={self.decay_share[-1]:.3f}, "
            f"relative_error={self.relative_error[-1]:.2e}, seconds={self.seconds:.1f})"
        )


class _ModularMLP(ModularMLP):
    """ModularMLP with the embedding lookup written as a one-hot matmul: the same function (the
    one-hot rows select W_E[a] + W_E[b] exactly), but under ``vmap`` torch's batched gather runs
    ~10× slower on CPU than the matmul, and the recorder's JVPs are vmapped over examples."""

    def forward(self, x):
        idx = x.long()
        classes = torch.arange(self.emb.shape[0], device=idx.device)
        hot = (idx[..., None] == classes).to(self.emb.dtype).sum(-2)  # (N, p): e_a + e_b
        return torch.relu(hot @ self.emb @ self.w_in) @ self.w_out


def _mean_margin(out: torch.Tensor, y_test: np.ndarray) -> float:
    """Mean correct-class margin f_y − mean_o f_o of the (M, p) logits ``out``."""
    f = out.detach().double().cpu().numpy()
    return float((f[np.arange(len(y_test)), y_test] - f.mean(1)).mean())


def _summary(km: KernelMachine, y_test, y_train):
    """Margin parts, decay share and participation of one kernel machine (centred logits)."""
    c = km.contributions - km.contributions.mean(-1, keepdims=True)  # (M, n, p)
    w = km.weight_decay - km.weight_decay.mean(-1, keepdims=True)
    r = km.rounding - km.rounding.mean(-1, keepdims=True)
    f0 = km.f0 - km.f0.mean(-1, keepdims=True)
    rows = np.arange(len(y_test))
    m_i = c[rows, :, y_test]  # (M, n) per-example margin
    same = y_train[None, :] == y_test[:, None]
    total = c.sum(1)
    sq = np.square(c).sum(-1)  # (M, n) ‖c_i(x)‖²
    pr = np.square(sq.sum(1)) / np.maximum(np.square(sq).sum(1), 1e-300) / c.shape[1]
    return dict(
        margin_init=float(f0[rows, y_test].mean()),
        margin_examples=float(m_i.sum(1).mean()),
        margin_same_label=float((m_i * same).sum(1).mean()),
        margin_decay=float(w[rows, y_test].mean()),
        margin_rounding=float(r[rows, y_test].mean()),
        decay_share=float(np.linalg.norm(w) / (np.linalg.norm(total) + np.linalg.norm(w))),
        participation=float(pr.mean()),
        margin_by_example=m_i,
    )


def record_grokking(
    p: int = 31,
    train_fraction: float = 0.7,
    *,
    embed: int = 64,
    hidden: int = 128,
    lr: float = 1e-2,
    weight_decay: float = 1.0,
    betas: tuple[float, float] = (0.9, 0.98),
    n_steps: int = 2000,
    n_test: int = 64,
    n_log: int = 40,
    every: int = 50,
    quad_nodes: int = 2,
    init_scale: float = 1.0,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    device="auto",
    progress_bar: bool | None = None,
) -> GrokkingPathKernel:
    """Train ModularMLP with ``torch.optim.AdamW`` (full batch) and record its path kernel.

    Data and initialisation follow :func:`kernelcap.empirics.grokking.train_grokking`'s member
    with seed index 0 (split from ``seed``; weights N(0, init_scale²/fan_in) drawn from
    ``member_seed(seed, 0)``). The first ``n_test`` pairs of the shuffled test split are
    decomposed; accuracies use every pair. Logged on ``log_step_grid(n_steps, n_log, every)``
    without step 0. ``quad_nodes=2``: with ReLU more nodes buy little (the error comes from
    kinks inside steps and falls only like 1/nodes), and float32 loses nothing to it (the
    kink error, ~1e-3 relative, is the same in float64 at 1.6× the time). Runs with one
    intra-op thread on a CPU.
    """
    for name, val in dict(
        embed=embed, hidden=hidden, n_steps=n_steps, n_test=n_test, n_log=n_log, every=every
    ).items():
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    if not (math.isfinite(lr) and lr > 0 and math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"need lr > 0 and weight_decay ≥ 0, got {lr!r}, {weight_decay!r}")
    dev = resolve_device(device)
    data = modular_addition(p, train_fraction, seed=seed, device=dev)
    if n_test > data.test.numel():
        raise ValueError(f"n_test must be ≤ {data.test.numel()} test pairs at p={p}, got {n_test}")
    gen = make_generator(member_seed(seed, 0), dev)
    shapes = [((p, embed), embed), ((embed, hidden), embed), ((hidden, p), hidden)]
    weights = [
        (torch.randn(*s, generator=gen, device=dev) * (init_scale / math.sqrt(f))).cpu().numpy()
        for s, f in shapes
    ]
    model = _ModularMLP(*weights).to(dev, dtype)
    pairs = torch.stack([data.a, data.b], 1)
    x_tr, y_tr = pairs[data.train], data.labels[data.train]
    x_te, y_te = pairs[data.test], data.labels[data.test]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=betas)

    def loss_fn(out, y):
        return torch.nn.functional.cross_entropy(out, y)

    rec = PathKernelRecorder(model, opt, x_te[:n_test], loss_fn=loss_fn, quad_nodes=quad_nodes)
    grid = [int(s) for s in log_step_grid(n_steps, n_log, every) if s > 0]
    y_test, y_train = y_te[:n_test].cpu().numpy(), y_tr.cpu().numpy()
    logs: dict[str, list] = {}
    x_rec = x_te[:n_test]
    with torch.no_grad():
        per_step = [_mean_margin(model(x_rec), y_test)]
    start = time.perf_counter()
    with single_cpu_thread(dev):
        for t in progress(range(1, n_steps + 1), desc="recorded AdamW", enabled=progress_bar):
            opt.zero_grad()  # the user's loop: only rec.step differs from a plain one
            loss = loss_fn(model(x_tr), y_tr)
            loss.backward()
            rec.step(x_tr, y_tr)
            with torch.no_grad():
                per_step.append(_mean_margin(model(x_rec), y_test))
            if t not in grid:
                continue
            km = rec.kernel_machine()
            with torch.no_grad():
                acc_tr = float((model(x_tr).argmax(1) == y_tr).double().mean())
                acc_te = float((model(x_te).argmax(1) == y_te).double().mean())
            row = dict(
                train_acc=acc_tr,
                test_acc=acc_te,
                train_loss=float(loss.detach()),
                relative_error=km.relative_error,
                **_summary(km, y_test, y_train),
            )
            for k, v in row.items():
                logs.setdefault(k, []).append(v)
    seconds = time.perf_counter() - start
    col = {k: np.array(v) for k, v in logs.items()}
    init = col.pop("margin_init")
    margin = init + col["margin_examples"] + col["margin_decay"] + col["margin_rounding"]
    return GrokkingPathKernel(
        machine=km,
        steps=np.array(grid),
        seconds=seconds,
        margin=margin,
        margin_init=float(init[0]),
        x_test=x_te[:n_test].cpu().numpy(),
        y_test=y_test,
        y_train=y_train,
        margin_per_step=np.array(per_step),
        **col,
    )

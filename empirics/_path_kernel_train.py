"""``train_with_path_kernel``: full-batch GD or minibatch SGD on MSE/CE, recorded by the path-kernel
recorder (re-exported by :mod:`kernelcap.empirics.path_kernel`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from kernelcap.runtime import single_cpu_thread

if TYPE_CHECKING:
    from kernelcap.empirics.path_kernel import PathKernelRecorder

LOSSES = ("mse", "ce")


def train_with_path_kernel(
    model: nn.Module,
    x_train,
    y_train,
    x_test,
    *,
    lr: float,
    steps: int,
    loss: str = "mse",
    batch_size: int | None = None,
    quad_nodes: int = 4,
    seed: int = 0,
) -> PathKernelRecorder:
    """Train ``model`` in place by full-batch GD (``batch_size=None``) or minibatch SGD with
    ``torch.optim.SGD`` and record it with a :class:`PathKernelRecorder`; returns the recorder
    (``.kernel_machine("exact" | "first_order")``).

    ``loss="mse"``: ℓ = ½‖f − y‖² (y: (n,) or (n, O)); ``"ce"``: cross-entropy with integer
    labels (n,); averaged over the batch. Minibatches are ``randperm(n)[:batch_size]`` from a
    generator seeded with ``seed``. ``quad_nodes=0`` records the first-order form only. NumPy
    inputs are accepted; floating inputs are cast to the model's dtype. Only parameters with
    ``requires_grad=True`` are trained; frozen ones stay as they are.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be finite and > 0, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an integer ≥ 1, got {steps!r}")
    from kernelcap.empirics.path_kernel import PathKernelRecorder  # noqa: F811 (cyclic at import)

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameters with requires_grad=True")
    dtype, device = params[0].dtype, params[0].device

    def cast(name, v, integer=False):
        v = torch.as_tensor(v) if isinstance(v, np.ndarray) else v
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(v).__name__}")
        if v.is_floating_point() and not integer:
            v = v.to(dtype)
        return v.to(device)

    x, xt = cast("x_train", x_train), cast("x_test", x_test)
    y = cast("y_train", y_train, integer=loss == "ce")
    n = x.shape[0] if x.ndim else 0
    if n < 1 or y.ndim < 1 or y.shape[0] != n:
        raise ValueError(
            f"x_train and y_train need the same number ≥ 1 of rows, got {x.shape}, {y.shape}"
        )
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
    ):
        raise TypeError(f"batch_size must be an int or None, got {type(batch_size).__name__}")
    if batch_size is not None and not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in [1, n={n}] or None, got {batch_size}")
    if isinstance(quad_nodes, bool) or not isinstance(quad_nodes, (int, np.integer)):
        raise ValueError(f"quad_nodes must be an integer ≥ 0, got {quad_nodes!r}")
    quad_nodes = int(quad_nodes)
    if loss == "ce" and (y.is_floating_point() or y.ndim != 1):
        raise ValueError("loss='ce' needs integer class labels y_train of shape (n,)")

    def loss_fn(out, target):
        if loss == "ce":
            return nn.functional.cross_entropy(out, target.long(), reduction="none")
        return 0.5 * (out.reshape(len(out), -1) - target.reshape(len(target), -1)).square().sum(1)

    opt = torch.optim.SGD(params, lr=float(lr))
    rec = PathKernelRecorder(model, opt, xt, loss_fn=loss_fn, n_train=n, quad_nodes=quad_nodes)
    gen = torch.Generator().manual_seed(int(seed))
    with single_cpu_thread(device):  # small per-step tensors: threads cost more than they gain
        for _ in range(int(steps)):
            idx = torch.arange(n) if batch_size is None else torch.randperm(n, generator=gen)
            idx = idx[:batch_size]
            xb, yb = x[idx.to(device)], y[idx.to(device)]
            opt.zero_grad()
            loss_fn(model(xb), yb).mean().backward()
            rec.step(xb, yb, idx)
    return rec

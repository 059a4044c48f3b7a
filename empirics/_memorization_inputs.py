"""Input checks and target encodings shared by the memorization estimators."""

from __future__ import annotations

import numpy as np
import torch


def as_tensor(a, name: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu()
    try:
        return torch.as_tensor(np.asarray(a))
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a tensor or array, got {type(a).__name__}") from err


def check_data(x, y, loss: str = "mse"):
    """(x, y, classes): x (n, ...) floats, y (n,) integer labels (classes = their count) or real
    targets (n,)/(n, O) (classes = None). Empty data, NaN, mismatched rows, a single class, or
    real targets with a cross-entropy loss raise ValueError naming the argument."""
    xt, yt = as_tensor(x, "x"), as_tensor(y, "y")
    if xt.ndim < 2 or xt.shape[0] == 0:
        raise ValueError(f"x must be a non-empty (n, ...) batch, got shape {tuple(xt.shape)}")
    if xt.shape[0] < 2:
        raise ValueError("x must hold at least two examples")
    if not xt.is_floating_point():
        xt = xt.double()
    if not torch.isfinite(xt).all():
        raise ValueError("x contains NaN or infinite values")
    if yt.ndim == 0 or yt.shape[0] != xt.shape[0]:
        raise ValueError(
            f"y must have one row per example: x has {xt.shape[0]}, y has shape {tuple(yt.shape)}"
        )
    if yt.dtype == torch.bool:
        yt = yt.long()
    if yt.is_floating_point():
        if not torch.isfinite(yt).all():
            raise ValueError("y contains NaN or infinite values")
        if loss == "ce":
            raise ValueError("loss 'ce' needs integer class labels y, got real targets")
        if yt.ndim > 2:
            raise ValueError(f"real targets y must be (n,) or (n, O), got {tuple(yt.shape)}")
        return xt, yt, None
    if yt.ndim != 1:
        raise ValueError(f"class labels y must be 1-d (n,), got shape {tuple(yt.shape)}")
    if yt.min() < 0:
        raise ValueError("class labels y must be non-negative integers")
    classes = int(yt.max()) + 1
    if torch.unique(yt).numel() < 2:
        raise ValueError("y holds a single class; memorization scores need at least two")
    return xt, yt.long(), classes


def targets_for(y: torch.Tensor, classes: int | None, n_out: int, loss: str) -> torch.Tensor:
    """Training targets: class labels stay labels for ``"ce"``; for ``"mse"`` they become ±1 (one
    output, two classes) or one-hot (n, n_out); real targets are reshaped to (n, n_out)."""
    if classes is None:
        t = y.double().reshape(y.shape[0], -1)
        if t.shape[1] != n_out:
            raise ValueError(f"y has {t.shape[1]} target columns but the model has {n_out} outputs")
        return t
    if n_out == 1:
        if classes > 2:
            raise ValueError(f"a one-output model can only fit two classes, y has {classes}")
        return (y.double() * 2 - 1)[:, None] if loss == "mse" else y
    if classes > n_out:
        raise ValueError(f"y has {classes} classes but the model has only {n_out} outputs")
    if loss == "ce":
        return y
    return torch.nn.functional.one_hot(y, n_out).double()

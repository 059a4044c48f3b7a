"""Input checks of the path-kernel recorder: each bad input raises an error naming the argument."""

from __future__ import annotations

import numpy as np
import torch


def as_tensor(name, value, device, dtype=None) -> torch.Tensor:
    """A (B, ...) tensor on ``device`` from a tensor or array; floating ones need ``dtype``."""
    if isinstance(value, np.ndarray):
        value = torch.as_tensor(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(value).__name__}")
    if value.ndim < 1 or value.shape[0] < 1:
        raise ValueError(f"{name} must have a leading batch dimension ≥ 1, got shape {value.shape}")
    if value.is_floating_point():
        if dtype is not None and value.dtype != dtype:
            raise TypeError(f"{name} has dtype {value.dtype} but the model parameters are {dtype}")
        if not bool(torch.isfinite(value).all()):
            raise ValueError(f"{name} contains NaN or Inf")
    return value.to(device)


def as_targets(y, b: int, device):
    """Targets: tensors and arrays need b rows and finite values; anything else passes through."""
    if isinstance(y, np.ndarray):
        y = torch.as_tensor(y)
    if isinstance(y, torch.Tensor):
        if y.ndim < 1 or y.shape[0] != b:
            raise ValueError(f"y must have {b} rows like x, got shape {tuple(y.shape)}")
        if y.is_floating_point() and not bool(torch.isfinite(y).all()):
            raise ValueError("y contains NaN or Inf")
        y = y.to(device)
    return y


def check_idx(idx, b: int, n_train: int | None, device) -> torch.Tensor:
    """(b,) long: distinct training rows in [0, n_train); None means all rows in order (b = n)."""
    if idx is None:
        if b != n_train:
            raise ValueError(f"idx is required: the batch has {b} rows, n_train is {n_train}")
        return torch.arange(b, device=device)
    if n_train is None:
        raise ValueError("n_train must be given to the recorder when steps pass idx")
    idx = torch.as_tensor(np.asarray(idx) if not isinstance(idx, torch.Tensor) else idx)
    if idx.ndim != 1 or idx.shape[0] != b or idx.is_floating_point() or idx.dtype == torch.bool:
        raise ValueError(f"idx must be {b} integer row indices (one per row of x), got {idx}")
    if int(idx.min()) < 0 or int(idx.max()) >= n_train:
        raise ValueError(f"idx must lie in [0, n_train={n_train}), got {idx.tolist()}")
    if torch.unique(idx).numel() != b:
        raise ValueError("idx holds a training row twice in one batch")
    return idx.to(device, torch.long)

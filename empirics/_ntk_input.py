"""Argument checks for the empirical NTK: model state, inputs, parameter selection, output choice.

Every public NTK function goes through these, so a bad argument gets one error that names it and
says what is accepted (DESIGN.md: ValueError/TypeError naming the argument and the range).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn

METHODS = ("auto", "structured", "jacobian", "ntvp")
OUTPUTS = ("trace", "full")


def check_model(model) -> None:
    """A module that gives the same output for an example whatever else is in the batch."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, m in model.named_modules():
        where = f"layer {name!r} ({type(m).__name__})" if name else type(m).__name__
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            if m.training:
                raise ValueError(
                    f"model has {where} in training mode, which normalizes with the statistics of "
                    "the batch, so an example's output depends on the others; call model.eval()"
                )
            if m.running_mean is None:
                raise ValueError(
                    f"model has {where} without running statistics (track_running_stats=False): "
                    "it normalizes with batch statistics even in eval mode, so the per-example "
                    "NTK is not defined"
                )
        dropout = (nn.modules.dropout._DropoutNd, nn.MultiheadAttention, nn.RNNBase)
        p = getattr(m, "p", getattr(m, "dropout", 0.0))
        if isinstance(m, dropout) and m.training and isinstance(p, float) and p > 0:
            raise ValueError(
                f"model has {where} in training mode with dropout {p}: the NTK of a random "
                "function is not defined; call model.eval()"
            )


def select_parameters(model: nn.Module, params=None) -> dict[str, nn.Parameter]:
    """The parameters the kernel is over: the trainable ones (``requires_grad=True``) or a subset.

    Args:
        model: the module.
        params: None (every trainable parameter); a name, module prefix or glob (``"fc2"``,
            ``"fc2.weight"``, ``"*.bias"``) or an iterable of them; or a predicate
            ``params(name, parameter) -> bool``. Tied parameters match under any of their names.

    Returns:
        ``{name: parameter}`` in model order, one entry per distinct parameter (its first name).
    """
    canon, aliases = {}, {}
    for name, p in model.named_parameters(remove_duplicate=False):
        canon.setdefault(id(p), (name, p))
        aliases.setdefault(id(p), []).append(name)
    trainable = {n: p for n, p in canon.values() if p.requires_grad}
    if not trainable:
        raise ValueError("model has no parameter with requires_grad=True, so its NTK is zero")
    if params is None:
        return trainable
    if callable(params):
        chosen = {n: p for n, p in trainable.items() if params(n, p)}
        if not chosen:
            raise ValueError("params: the predicate selected no trainable parameter")
        return chosen
    patterns = [params] if isinstance(params, str) else params
    if not isinstance(patterns, Iterable) or not all(isinstance(s, str) for s in patterns):
        raise TypeError(
            "params must be None, a name or glob, an iterable of them, or a predicate "
            f"(name, parameter) -> bool; got {type(params).__name__}"
        )
    chosen = {}
    for pattern in patterns:
        hits = [
            (n, p) for n, p in canon.values() if any(_matches(a, pattern) for a in aliases[id(p)])
        ]
        if not hits:
            some = ", ".join(list(trainable)[:6])
            raise ValueError(f"params: {pattern!r} matches no parameter of the model (has: {some})")
        if not any(p.requires_grad for _, p in hits):
            raise ValueError(
                f"params: {pattern!r} matches only parameters with requires_grad=False; the "
                "kernel is over trainable parameters (set requires_grad=True to include them)"
            )
        chosen.update((n, p) for n, p in hits if p.requires_grad)
    return {n: p for n, p in trainable.items() if n in chosen}


def _matches(name: str, pattern: str) -> bool:
    return name == pattern or name.startswith(pattern + ".") or fnmatch.fnmatchcase(name, pattern)


def as_batch(x, name: str, float_dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``x`` as a tensor with a non-empty batch axis; floats in the model's dtype, integers kept."""
    if not isinstance(x, torch.Tensor):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be a tensor or array, got {type(x).__name__}") from err
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
        x = torch.as_tensor(arr)
    if x.is_complex():
        raise TypeError(f"{name} must be real, got dtype {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"{name} must have a leading batch axis (N, ...), got a scalar")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); it needs at least one row")
    if x.is_floating_point():
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        return x.to(dtype=float_dtype, device=device)
    return x.to(device=device)  # token ids and other integer inputs pass through uncast


def check_pair(x1: torch.Tensor, x2: torch.Tensor | None) -> None:
    if x2 is None:
        return
    if x2.shape[1:] != x1.shape[1:]:
        raise ValueError(
            f"x1 and x2 must have the same per-example shape, got {tuple(x1.shape[1:])} "
            f"and {tuple(x2.shape[1:])}"
        )
    if x1.is_floating_point() != x2.is_floating_point():
        raise TypeError(
            f"x1 and x2 must both be floating or both integer, got {x1.dtype} and {x2.dtype}"
        )


def check_options(method: str, outputs: str, chunk_size, out, progress) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs must be one of {OUTPUTS}, got {outputs!r}")
    if chunk_size is not None and (
        not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    if out is not None:
        if not isinstance(out, (str, os.PathLike)):
            raise TypeError(
                f"out must be a file path (str or os.PathLike), got {type(out).__name__}"
            )
        folder = os.path.dirname(os.path.abspath(os.fspath(out))) or "."
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise ValueError(f"out: folder {folder!r} does not exist or is not writable")
        if os.path.isdir(out):
            raise ValueError(f"out: {os.fspath(out)!r} is a folder, not a file path")


def output_picker(select_output) -> Callable:
    """A function mapping the model's raw output to the tensor whose NTK is computed."""
    if select_output is not None and not (
        callable(select_output) or isinstance(select_output, (int, str))
    ):
        raise TypeError(
            "select_output must be None, an index, a key or a callable, "
            f"got {type(select_output).__name__}"
        )

    def pick(out):
        if select_output is not None:
            try:
                out = select_output(out) if callable(select_output) else out[select_output]
            except (IndexError, KeyError, TypeError) as err:
                raise ValueError(
                    f"select_output={select_output!r} does not pick an output of the model "
                    f"({type(out).__name__}): {err}"
                ) from err
        if not isinstance(out, torch.Tensor):
            raise TypeError(
                f"the model returned a {type(out).__name__}, not a tensor; pass select_output= "
                "(an index, a key or a callable) to choose the output whose NTK to compute"
            )
        return out

    return pick


def flat_output(out: torch.Tensor, n: int) -> torch.Tensor:
    """(N, ...) model output as (N, O)."""
    if out.ndim == 0 or out.shape[0] != n:
        raise ValueError(
            f"the model output has shape {tuple(out.shape)} for a batch of {n}; it must have a "
            "leading batch axis (N,) or (N, ...), one row per example"
        )
    return out.reshape(n, -1)

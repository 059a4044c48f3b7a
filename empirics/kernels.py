"""Kernel views of a torch model: empirical NTK, kernel drift (lazy vs rich), path kernel; claims.

``empirical_ntk(model, x1, x2)`` works for any ``torch.nn.Module``; see :mod:`._ntk_methods` for the
vector-output convention (trace over outputs by default, like neural-tangents' ``trace_axes=(-1,)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from kernelcap.empirics._ntk_methods import (
    NTKLinear,
    jacobian_block,
    ntvp_block,
    structured_block,
    structured_layers,
)
from kernelcap.runtime import resolve_device
from kernelcap.theory.kernels import centered_alignment

__all__ = ["empirical_ntk", "kernel_drift", "KernelDrift", "NTKLinear", "ntk_mlp", "METHODS"]

METHODS = ("auto", "structured", "jacobian", "ntvp")


def ntk_mlp(d_in: int, width: int, depth: int, d_out: int = 1, *, activation: str = "relu",
            w_std: float = 1.0, b_std: float = 0.0, readout_scale: float = 1.0, seed: int = 0,
            device="auto", dtype=torch.float64) -> nn.Sequential:
    """A ``depth``-hidden-layer MLP in NTK parameterization (the network of ``theory.kernels``).

    ``readout_scale`` multiplies the readout's weight factor: 1 is NTK scaling, ``1/√width`` is
    mean-field scaling. ``activation``: ``"relu"``, ``"erf"`` (as ``torch.erf``) or ``"identity"``.
    """
    acts = {"relu": nn.ReLU, "erf": _Erf, "identity": nn.Identity}
    if activation not in acts:
        raise ValueError(f"activation must be one of {tuple(acts)}, got {activation!r}")
    gen = torch.Generator().manual_seed(seed)
    layers, d = [], d_in
    for _ in range(depth):
        layers += [NTKLinear(d, width, w_std, b_std, generator=gen, dtype=dtype), acts[activation]()]
        d = width
    layers.append(NTKLinear(d, d_out, w_std, b_std, scale=readout_scale, generator=gen, dtype=dtype))
    return nn.Sequential(*layers).to(resolve_device(device))


class _Erf(nn.Module):
    def forward(self, x):
        return torch.erf(x)


def _check_inputs(model, x1, x2):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    p = next((p for p in model.parameters() if p.requires_grad), None)
    if p is None:
        raise ValueError("model has no trainable parameters, its NTK is zero")
    xs = []
    for name, x in (("x1", x1), ("x2", x2)):
        if x is None:
            xs.append(None)
            continue
        if not isinstance(x, torch.Tensor):
            try:
                x = torch.as_tensor(np.asarray(x, dtype=np.float64))
            except (TypeError, ValueError) as err:
                raise TypeError(f"{name} must be a tensor or array, got {type(x).__name__}") from err
        if x.ndim < 2:
            raise ValueError(f"{name} must have a leading batch axis, got shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        xs.append(x.to(dtype=p.dtype, device=p.device))
    if xs[1] is not None and xs[1].shape[1:] != xs[0].shape[1:]:
        raise ValueError(f"x1 and x2 must have the same feature shape, got {tuple(xs[0].shape[1:])} "
                         f"and {tuple(xs[1].shape[1:])}")
    return xs


def empirical_ntk(model: nn.Module, x1, x2=None, *, method: str = "auto", chunk_size: int | None = None,
                  outputs: str = "trace") -> torch.Tensor:
    r"""Empirical neural tangent kernel Θ(x1, x2) = Σ_params J(x1) J(x2)ᵀ of ``model`` at its weights.

    Methods (all agree to float tolerance):

    * ``"structured"``: for ``nn.Sequential`` stacks of ``nn.Linear``/``NTKLinear`` and elementwise
      activations, Θ = Σ_l (Δ_l Δ_lᵀ) ⊙ (c_w² A_{l−1}A_{l−1}ᵀ + c_b²), with A_{l−1} the layer's input,
      Δ_l = ∂f/∂z_l and c_w, c_b the weight and bias factors — no per-example gradient is formed.
    * ``"jacobian"``: per-example Jacobians through ``torch.func.jacrev`` and contraction (any module).
    * ``"ntvp"``: NTK-vector products J(x1)[J(x2)ᵀe] through ``torch.func.vjp``/``jvp`` (any module).
    * ``"auto"``: structured when every parametrized layer supports it, else jacobian.

    Args:
        model: any ``torch.nn.Module`` mapping (N, ...) to (N,) or (N, O); its weights are not changed.
        x1: (N1, ...) inputs. x2: (N2, ...) inputs, or None for x1 (the kernel is then symmetric).
        chunk_size: rows of x1 and x2 per block (None: whole); memory is O(chunk·width) for
            structured and O(chunk·params) for the torch.func methods.
        outputs: ``"trace"`` → (N1, N2) summed over outputs (neural-tangents' ``trace_axes=(-1,)``);
            ``"full"`` → (N1, N2, O, O).

    Returns:
        A tensor on the model's device and in its dtype.

    References: Jacot et al. 2018; Novak et al., "Fast finite width neural tangent kernel", ICML 2022.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if outputs not in ("trace", "full"):
        raise ValueError(f"outputs must be 'trace' or 'full', got {outputs!r}")
    x1, x2 = _check_inputs(model, x1, x2)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    layers = structured_layers(model)
    if method == "structured" and layers is None:
        raise ValueError("method='structured' needs an nn.Sequential of Linear layers and elementwise "
                         "activations; use method='jacobian' or 'ntvp' for this model")
    if method == "auto":
        method = "structured" if layers is not None else "jacobian"
    full = outputs == "full"
    if method == "structured":
        block = lambda a, b: structured_block(layers, a, b, full)  # noqa: E731
    else:
        fn = jacobian_block if method == "jacobian" else ntvp_block
        block = lambda a, b: fn(model, a, b, full)  # noqa: E731
    symmetric = x2 is None
    xb = x1 if symmetric else x2
    c = chunk_size or max(len(x1), len(xb))
    if c >= len(x1) and c >= len(xb):
        return block(x1, None if symmetric else x2).detach()
    rows = []
    for i in range(0, len(x1), c):
        cols = []
        for j in range(0, len(xb), c):
            if symmetric and j < i:
                cols.append(None)  # filled from the transpose below
                continue
            cols.append(block(x1[i:i + c], None if (symmetric and i == j) else xb[j:j + c]).detach())
        rows.append(cols)
    if symmetric:
        for bi, cols in enumerate(rows):
            for bj in range(bi):
                t = rows[bj][bi]
                cols[bj] = t.transpose(0, 1) if not full else t.permute(1, 0, 3, 2)
    return torch.cat([torch.cat(cols, dim=1) for cols in rows], dim=0)


@dataclass(frozen=True)
class KernelDrift:
    """How much the empirical NTK moved between two weight settings of the same architecture.

    Attributes:
        relative_change: ‖Θ_b − Θ_a‖_F / ‖Θ_a‖_F.
        kernel_distance: 1 − ⟨Θ_a, Θ_b⟩_F / (‖Θ_a‖_F ‖Θ_b‖_F) (Fort et al. 2020).
        alignment_a, alignment_b: centered alignment of Θ_a, Θ_b with YYᵀ (NaN without labels).
    """

    relative_change: float
    kernel_distance: float
    alignment_a: float
    alignment_b: float


def kernel_drift(model_a: nn.Module, model_b: nn.Module, x, y=None, *, method: str = "auto",
                 chunk_size: int | None = None) -> KernelDrift:
    """Relative Frobenius change of the empirical NTK from ``model_a`` to ``model_b`` on inputs ``x``.

    Args:
        model_a, model_b: the same network at two points of training (e.g. init and end).
        x: (N, ...) inputs. y: optional (N,) or (N, O) labels (class indices of shape (N,) with integer
            dtype are one-hot encoded) for the kernel-label alignment.
    """
    ka = empirical_ntk(model_a, x, method=method, chunk_size=chunk_size).double().cpu()
    kb = empirical_ntk(model_b, x, method=method, chunk_size=chunk_size).double().cpu()
    if ka.shape != kb.shape:
        raise ValueError(f"model_a and model_b give kernels of different shapes {ka.shape} and {kb.shape}")
    na, nb = torch.linalg.norm(ka), torch.linalg.norm(kb)
    rel = float(torch.linalg.norm(kb - ka) / na)
    dist = float(1 - (ka * kb).sum() / (na * nb))
    al_a = al_b = float("nan")
    if y is not None:
        yt = torch.as_tensor(y)
        if yt.shape[0] != ka.shape[0]:
            raise ValueError(f"y must have {ka.shape[0]} rows, got shape {tuple(yt.shape)}")
        if yt.ndim == 1 and not yt.is_floating_point():
            yt = torch.nn.functional.one_hot(yt.long())
        ym = yt.reshape(len(yt), -1).double().cpu()
        yy = (ym @ ym.T).numpy()
        al_a, al_b = centered_alignment(ka.numpy(), yy), centered_alignment(kb.numpy(), yy)
    return KernelDrift(rel, dist, al_a, al_b)

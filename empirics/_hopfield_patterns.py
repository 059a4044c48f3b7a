"""Random ±1 patterns for a grid of sizes, zero-padded to one tensor, and learning rules.

Shared by the simulations in :mod:`kernelcap.empirics.hopfield` (public surface) and its private
modules; a padded pattern or neuron is all zeros, so it adds nothing to any overlap or field.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from kernelcap.theory._validation import as_int

RULES = ("hebbian", "pseudo_inverse", "storkey")
"""The learning rules :func:`store_patterns` knows."""


def _sizes(values: Sequence[int], name: str, ge: int = 1) -> list[int]:
    vals = [as_int(v, name, ge=ge) for v in np.atleast_1d(values).tolist()]
    if not vals:
        raise ValueError(f"{name} must not be empty")
    return vals


def padded_patterns(
    n_neurons: Sequence[int] | int,
    n_patterns: Sequence[int],
    n_trials: int,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Random ±1 patterns for a grid of (neurons, patterns) sizes, zero-padded to one tensor.

    Args:
        n_neurons: N per grid point (an int for all), length L after broadcasting.
        n_patterns: P per grid point, length L.
        n_trials: T independent draws per grid point.

    Returns:
        ``(L, T, P_max, N_max)`` tensor; entries outside ``[:P_l, :N_l]`` are 0.
    """
    p = _sizes(n_patterns, "n_patterns")
    n = _sizes([n_neurons] * len(p) if np.ndim(n_neurons) == 0 else n_neurons, "n_neurons", ge=2)
    if len(n) != len(p):
        raise ValueError(
            f"n_neurons and n_patterns must have the same length, got {len(n)}, {len(p)}"
        )
    t = as_int(n_trials, "n_trials", ge=1)
    dev = generator.device
    # drawn straight in `dtype` (the same stream as int64 draws, without an int64 copy that
    # would be twice the size of float32 patterns)
    shape = (len(p), t, max(p), max(n))
    xi = torch.randint(0, 2, shape, generator=generator, device=dev, dtype=dtype).mul_(2).sub_(1)
    rows = (
        torch.arange(max(p), device=dev)[None, :, None] < torch.tensor(p, device=dev)[:, None, None]
    )
    cols = (
        torch.arange(max(n), device=dev)[None, None, :] < torch.tensor(n, device=dev)[:, None, None]
    )
    return xi.mul_((rows & cols)[:, None].to(dtype))


def store_patterns(rule: str, patterns: torch.Tensor) -> torch.Tensor:
    """Coupling matrices of a learning rule, batched.

    Args:
        rule: ``"hebbian"`` (W = ΞᵀΞ/N, zero diagonal), ``"pseudo_inverse"`` (projection onto the
            span of the patterns, W = Ξᵀ(ΞΞᵀ)⁻¹Ξ) or ``"storkey"`` (Storkey 1997, incremental).
        patterns: ``(..., P, N)`` ±1 patterns (unpadded).

    Returns:
        ``(..., N, N)`` couplings W, used as h = W s.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    xi = patterns.to(torch.float64)
    n = xi.shape[-1]
    if rule == "hebbian":
        w = xi.transpose(-1, -2) @ xi / n
        return w - torch.diag_embed(torch.diagonal(w, dim1=-2, dim2=-1))
    if rule == "pseudo_inverse":
        return xi.transpose(-1, -2) @ torch.linalg.pinv(xi.transpose(-1, -2))
    w = torch.zeros(*xi.shape[:-2], n, n, dtype=xi.dtype, device=xi.device)
    for mu in range(xi.shape[-2]):  # Storkey's rule is sequential in the patterns by definition
        x = xi[..., mu, :]
        field = (w @ x[..., None])[..., 0]
        # h_ij = sum_{k != i, j} w_ik x_k = field_i - w_ii x_i - w_ij x_j
        h = (
            field[..., :, None]
            - torch.diagonal(w, dim1=-2, dim2=-1)[..., :, None] * x[..., :, None]
        )
        h = h - w * x[..., None, :]
        w = (
            w
            + (
                x[..., :, None] * x[..., None, :]
                - x[..., :, None] * h.transpose(-1, -2)
                - h * x[..., None, :]
            )
            / n
        )
    return w

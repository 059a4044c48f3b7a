"""Layers of the NTK-parameterized networks of the theory (neural-tangents conventions)."""

from __future__ import annotations

import math

import torch
from torch import nn


class NTKLinear(nn.Module):
    r"""Dense layer in NTK parameterization: z = scale·((σ_w/√d_in) W x + σ_b b), W, b ~ N(0, 1).

    ``scale`` multiplies the whole layer (``scale=1/√d_in`` on the readout gives mean-field
    scaling σ_w/d_in). Matches neural-tangents' ``stax.Dense(W_std=σ_w, b_std=σ_b,
    parameterization="ntk")``. ``w_factor`` = scale·σ_w/√d_in and ``b_factor`` = scale·σ_b are the
    constants the structured NTK path multiplies the layer's input and bias column by.
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        w_std: float = 1.0,
        b_std: float = 0.0,
        scale: float = 1.0,
        generator: torch.Generator | None = None,
        dtype=torch.float64,
        device=None,
    ):
        super().__init__()
        self.weight = nn.Parameter(
            torch.randn(d_out, d_in, generator=generator, dtype=dtype, device=device)
        )
        self.bias = (
            nn.Parameter(torch.randn(d_out, generator=generator, dtype=dtype, device=device))
            if b_std > 0
            else None
        )
        self.w_factor = w_std * scale / math.sqrt(d_in)
        self.b_factor = b_std * scale

    def forward(self, x):
        z = self.w_factor * (x @ self.weight.T)
        return z if self.bias is None else z + self.b_factor * self.bias

"""Empirical NTK of a torch module: structured (per-layer Gram products) and torch.func methods.

Vector-output convention: with ``outputs="trace"`` (default) the kernel is
Θ(x1, x2) = Σ_o Σ_params ∂f_o(x1)/∂w · ∂f_o(x2)/∂w, shape (N1, N2) — O times what neural-tangents
returns with ``trace_axes=(-1,)`` (it averages over outputs; tested); for a scalar-output model this
is its plain NTK, equal to neural-tangents'. ``outputs="full"`` returns
Θ_{o o'}(x1, x2) with shape (N1, N2, O, O) (neural-tangents' ``trace_axes=()``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp, vjp, vmap

ELEMENTWISE = (
    nn.ReLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.GELU,
    nn.SiLU,
    nn.Identity,
    nn.LeakyReLU,
    nn.ELU,
    nn.Softplus,
)


class NTKLinear(nn.Module):
    r"""Dense layer in NTK parameterization: z = scale·((σ_w/√d_in) W x + σ_b b), with W, b ~ N(0, 1).

    ``scale`` multiplies the whole layer (``scale=1/√d_in`` on the readout gives mean-field
    scaling σ_w/d_in). Matches neural-tangents' ``stax.Dense(W_std=σ_w, b_std=σ_b, parameterization="ntk")``.
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


def _layer_factors(layer):
    if isinstance(layer, NTKLinear):
        return layer.w_factor, (layer.b_factor if layer.bias is not None else None)
    return 1.0, (1.0 if layer.bias is not None else None)


def structured_layers(model: nn.Module):
    """The model as a flat list of layers if the structured method supports it, else None."""
    if isinstance(model, (nn.Linear, NTKLinear)):
        return [model]
    if not isinstance(model, nn.Sequential):
        return None
    flat = []
    for m in model:
        sub = structured_layers(m) if isinstance(m, nn.Sequential) else None
        if sub is not None:
            flat.extend(sub)
        elif isinstance(m, (nn.Linear, NTKLinear)):
            flat.append(m)
        elif isinstance(m, ELEMENTWISE):
            flat.append(m)
        else:
            return None
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    covered = sum(p.numel() for m in flat for p in m.parameters() if p.requires_grad)
    if n_params != covered or not any(isinstance(m, (nn.Linear, NTKLinear)) for m in flat):
        return None
    return flat


def _forward_record(layers, x):
    """Inputs A of each dense layer and the elementwise derivative φ'(z) after it."""
    acts, derivs = [], []
    h = x
    for layer in layers:
        if isinstance(layer, (nn.Linear, NTKLinear)):
            acts.append(h)
            derivs.append(None)
            h = layer(h)
        else:
            z = h.detach().requires_grad_(True)
            with torch.enable_grad():
                out = layer(z)
                (d,) = torch.autograd.grad(out.sum(), z)
            derivs[-1] = d if derivs[-1] is None else derivs[-1] * d  # stacked activations compose
            h = out.detach()
    return acts, derivs, h


def _backward_deltas(layers, derivs, n_rows, n_out):
    """Δ_l = ∂f_o/∂z_l for every dense layer l and output o: list of (O, N, width_l)."""
    dense = [m for m in layers if isinstance(m, (nn.Linear, NTKLinear))]
    deltas = [None] * len(dense)
    delta = None
    for i in range(len(dense) - 1, -1, -1):
        if delta is None:
            delta = torch.eye(n_out, dtype=dense[i].weight.dtype, device=dense[i].weight.device)
            delta = delta[:, None, :].expand(n_out, n_rows, n_out)
        else:
            w = dense[i + 1].weight
            delta = (delta @ w) * (_layer_factors(dense[i + 1])[0])
            if derivs[i] is not None:
                delta = delta * derivs[i][None]
        deltas[i] = delta
    return dense, deltas


def _structured_features(layers, x):
    with torch.no_grad():
        acts, derivs, out = _forward_record(layers, x)
    n_out = out.reshape(x.shape[0], -1).shape[1]
    dense, deltas = _backward_deltas(layers, derivs, x.shape[0], n_out)
    return dense, acts, deltas


def structured_block(layers, x1, x2, full: bool):
    """Θ(x1, x2) = Σ_l (Δ_l Δ_lᵀ) ⊙ (c_w² A_{l−1} A_{l−1}ᵀ + c_b²), never forming per-example gradients."""
    dense, a1, d1 = _structured_features(layers, x1)
    same = x2 is None
    if same:
        a2, d2 = a1, d1
    else:
        _, a2, d2 = _structured_features(layers, x2)
    out = None
    for layer, p, q, dp, dq in zip(dense, a1, a2, d1, d2):
        wf, bf = _layer_factors(layer)
        gram = (wf**2) * (p.reshape(p.shape[0], -1) @ q.reshape(q.shape[0], -1).T)
        if bf is not None:
            gram = gram + bf**2
        if full:
            term = torch.einsum("onw,pmw->nmop", dp, dq) * gram[:, :, None, None]
        else:
            term = torch.einsum("onw,omw->nm", dp, dq) * gram
        out = term if out is None else out + term
    return out


def _functional(model):
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def f(p, x):
        out = functional_call(model, (p, buffers), (x,))
        return out.reshape(x.shape[0], -1)

    return params, f


def jacobian_block(model, x1, x2, full: bool):
    """Θ from per-example Jacobians J (N, O, P) built with ``torch.func.jacrev`` and contracted."""
    params, f = _functional(model)

    def jac(x):
        j = vmap(jacrev(lambda p, xi: f(p, xi[None])[0]), in_dims=(None, 0))(params, x)
        return [v.reshape(x.shape[0], v.shape[1], -1) for v in j.values()]

    j1 = jac(x1)
    j2 = j1 if x2 is None else jac(x2)
    eq = "nop,mqp->nmoq" if full else "nop,mop->nm"
    return sum(torch.einsum(eq, a, b) for a, b in zip(j1, j2))


def ntvp_block(model, x1, x2, full: bool):
    """Θ by NTK-vector products: Θ(x1, x2) e = J(x1)[J(x2)ᵀ e] for each basis cotangent e of f(x2)."""
    params, f = _functional(model)
    x2 = x1 if x2 is None else x2
    out2, vjp_fn = vjp(lambda p: f(p, x2), params)
    n2, n_out = out2.shape
    basis = torch.eye(n2 * n_out, dtype=out2.dtype, device=out2.device).reshape(
        n2 * n_out, n2, n_out
    )

    def column(ct):
        (tangent,) = vjp_fn(ct)
        return jvp(lambda p: f(p, x1), (params,), (tangent,))[1]

    cols = vmap(column)(basis)  # (N2*O, N1, O)
    k = cols.reshape(n2, n_out, x1.shape[0], n_out).permute(2, 0, 3, 1)  # (N1, N2, O, O')
    return k if full else torch.diagonal(k, dim1=2, dim2=3).sum(-1)

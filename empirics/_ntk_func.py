r"""torch.func computations of the NTK: the general methods and the exact per-parameter fallbacks.

* :func:`jacobian_features` — per-example Jacobians J (N, O, *shape) with ``vmap(jacrev)``
  (``method="jacobian"``; also the whole-model fallback of the structured path for parameters
  no layer rule can express).
* :func:`ntvp_block` — Θ(x1, x2) = J(x1)[J(x2)ᵀ e] by vjp then jvp, one basis cotangent e at a
  time (``method="ntvp"``).
* :func:`module_gradients` — per-example gradients of one module's own parameters from the
  module's captured inputs and output gradients: ``vmap`` over examples of ``vjp`` of that module
  alone (the structured path's fallback for an unknown parametrized layer).

All run inside :func:`func_context`, which turns off PyTorch's fused attention fast paths: they
have no forward-mode or batching rules (``ntvp`` failed on ``nn.TransformerEncoderLayer``), and the
math kernels compute the same function.
"""

from __future__ import annotations

import contextlib

import torch
from torch.func import functional_call, jacrev, jvp, vjp, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from kernelcap.empirics._ntk_input import flat_output

_DEPTH = [0]  # func_context blocks open: a nested one only re-enables gradients


@contextlib.contextmanager
def func_context():
    """Math attention kernels and gradients enabled (also inside a caller's ``torch.no_grad``)."""
    if _DEPTH[0]:
        with torch.enable_grad():
            yield
        return
    prev = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    _DEPTH[0] += 1
    try:
        with sdpa_kernel(SDPBackend.MATH), torch.enable_grad():
            yield
    finally:
        _DEPTH[0] -= 1
        torch.backends.mha.set_fastpath_enabled(prev)


def model_fn(model, pick):
    """f(values, x) -> (N, O): the model at parameter (and buffer) values ``values``."""

    def f(values, x):
        return flat_output(pick(functional_call(model, values, (x,), strict=False)), x.shape[0])

    return f


def jacobian_features(f, values: dict, names, x: torch.Tensor, cotangents=None) -> dict:
    """{name: (N, O, *shape)} per-example Jacobians of f(values, ·) at the rows of ``x``; with
    ``cotangents`` (K, N, O) their K contractions Σ_o cotangents[k, n, o] ∂f_o(x_n), (N, K, ...)."""
    base = {k: v.detach() for k, v in values.items() if k not in names}
    diff = {k: values[k].detach() for k in names}

    def one(p, xi):
        return f({**base, **p}, xi[None])[0]

    jac = vmap(jacrev(one), in_dims=(None, 0))(diff, x)
    if cotangents is None:
        return jac
    return {
        k: torch.einsum("kno,nop->nkp", cotangents, j.flatten(2)).reshape(
            j.shape[0], cotangents.shape[0], *j.shape[2:]
        )
        for k, j in jac.items()
    }


def ntvp_block(f, values: dict, names, x1, x2, full: bool):
    """Θ(x1, x2) by NTK-vector products: column e of Θ is J(x1)[J(x2)ᵀ e] (Novak et al. 2022)."""
    base = {k: v.detach() for k, v in values.items() if k not in names}
    diff = {k: values[k].detach() for k in names}
    x2 = x1 if x2 is None else x2
    out2, vjp_fn = vjp(lambda p: f({**base, **p}, x2), diff)
    n2, n_out = out2.shape
    basis = torch.eye(n2 * n_out, dtype=out2.dtype, device=out2.device).reshape(-1, n2, n_out)

    def column(ct):
        (tangent,) = vjp_fn(ct)
        return jvp(lambda p: f({**base, **p}, x1), (diff,), (tangent,))[1]

    cols = vmap(column)(basis)  # (N2*O, N1, O)
    k = cols.reshape(n2, n_out, x1.shape[0], n_out).permute(2, 0, 3, 1)  # (N1, N2, O, O')
    return k if full else torch.diagonal(k, dim1=2, dim2=3).sum(-1)


def module_gradients(module, values: dict, own: dict, args, kwargs, g, n: int) -> dict:
    """Per-example gradients of ``module``'s own parameters, from one of its calls.

    Args:
        module: the layer. values: {local name: value} of every parameter under it.
        own: {local name: canonical name} of the parameters to differentiate.
        args, kwargs: the call's inputs; tensors with a leading axis of ``n`` are per-example.
        g: (K, N, ...) gradients of the outputs with respect to the call's output.

    Returns:
        {canonical name: (N, K, *shape)}.
    """
    flat, spec = _flatten(args, kwargs)
    batched = [
        i for i, t in enumerate(flat) if isinstance(t, torch.Tensor) and t.ndim and t.shape[0] == n
    ]
    diff = {k: values[k].detach() for k in own}
    base = {k: v.detach() for k, v in values.items() if k not in own}

    def call(p, xs):
        items = list(flat)
        for i, xi in zip(batched, xs):
            items[i] = xi[None]
        a, kw = _unflatten(items, spec)
        return functional_call(module, {**base, **p}, tuple(a), kw, strict=False)[0]

    def one(xs, gi):
        _, back = vjp(lambda p: call(p, xs), diff)
        return vmap(back)(gi)[0]

    res = vmap(one, in_dims=(0, 1))(tuple(flat[i] for i in batched), g)
    return {own[k]: v for k, v in res.items()}


def _flatten(args, kwargs):
    items = list(args) + list(kwargs.values())
    return items, (len(args), list(kwargs))


def _unflatten(items, spec):
    n_args, keys = spec
    return items[:n_args], dict(zip(keys, items[n_args:]))

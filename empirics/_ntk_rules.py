r"""Per-layer rules: what one call of a standard layer contributes to per-example gradients.

A rule turns what a forward hook saw (the layer's input) and the gradient g of the layer's
output (K, N, ...) — one row per output direction k — into :class:`LowRank` or :class:`Dense`
features (see :mod:`._ntk_features`). The dispatch table is

====================  =========================================================================
layer                 per-example gradient of output k of example n
====================  =========================================================================
Linear, NTKLinear     W: Σ_t g_{k,n,t} ⊗ c_w a_{n,t};  b: Σ_t c_b g_{k,n,t}  (one low-rank group:
                      b is a constant column c_b of the input; applied over any leading axes t)
Conv1d, Conv2d        the same with a_{n,t} the input patch at output pixel t; formed as
                      per-example gradients by one convolution backward with the batch
                      folded into the groups (faster on CPU than unfold + bmm, as in Opacus)
Embedding             W: Σ_t onehot(i_{n,t}) ⊗ g_{k,n,t}  (zero at ``padding_idx``)
LayerNorm, RMSNorm    γ: Σ_t g ⊙ x̂;  β: Σ_t g, with x̂ the normalized input
GroupNorm, BatchNorm  γ_c: Σ_{pixels} g_c x̂_c;  β_c: Σ g_c  (BatchNorm in eval mode only)
====================  =========================================================================

A rule applies only to the exact layer class or a subclass that keeps its ``forward``; options
that change the derivative (Embedding's ``max_norm``, ``scale_grad_by_freq``, ``sparse``) are left
to the torch.func fallback. Nothing here is trusted blindly: :mod:`._ntk_hooks` checks every rule
against autograd on a probe batch before using it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kernelcap.empirics._ntk_features import Deferred, Dense, LowRank, Part
from kernelcap.empirics._ntk_layers import NTKLinear


class Unsupported(Exception):
    """A layer call that its rule cannot express (e.g. no batch axis); its parameters fall back."""


def first_input(args, kwargs):
    if args:
        return args[0]
    if kwargs:
        return next(iter(kwargs.values()))
    raise Unsupported("layer called without an input")


class LinearRule:
    """nn.Linear and NTKLinear, over any leading axes (N, ..., d_in) in example-major order."""

    def supports(self, m) -> bool:
        return True

    def capture(self, m, args, kwargs, out):
        return first_input(args, kwargs), out

    def uses(self, m, x, g, n, names):
        wf, bf = (m.w_factor, m.b_factor) if isinstance(m, NTKLinear) else (1.0, 1.0)
        w, b = names.get("weight"), names.get("bias")
        return linear_uses(x, g, n, w, b, m.bias is not None, wf, bf)


def linear_uses(x, g, n, w_name, b_name, has_bias, wf=1.0, bf=1.0, rows=None, b_rows=None):
    """Low-rank group of a dense map z = wf·x Wᵀ + bf·b (rows ``rows`` of W, ``b_rows`` of b)."""
    d_in, d_out, k = x.shape[-1], g.shape[-1], g.shape[0]
    if x.numel() % (n * d_in) or g.numel() != k * (x.numel() // d_in) * d_out:
        raise Unsupported(f"input {tuple(x.shape)} has no leading batch axis of {n}")
    a = x.reshape(n, -1, d_in)
    t = a.shape[1]
    u = g.reshape(k, n, t, d_out)
    has_w, has_b = w_name is not None, b_name is not None and has_bias
    if not (has_w or has_b):
        return []
    width = (d_in if has_w else 0) + has_b
    v = torch.empty(n, t, width, dtype=u.dtype, device=u.device)  # [wf·a, bf]: one copy
    parts = []
    if has_w:
        v[..., :d_in].copy_(a)
        if wf != 1.0:
            v[..., :d_in].mul_(wf)
        parts.append(Part(w_name, (d_out, d_in), rows, slice(0, d_in)))
    if has_b:
        v[..., -1] = bf
        parts.append(Part(b_name, (d_out,), b_rows, slice(width - 1, width)))
    return [LowRank(u, v, width, True, tuple(parts))]


class ConvRule:
    """nn.Conv1d / nn.Conv2d on batched input (N, C, *spatial); any stride, padding, groups."""

    def supports(self, m) -> bool:
        base = nn.Conv1d if isinstance(m, nn.Conv1d) else nn.Conv2d
        return type(m)._conv_forward is base._conv_forward

    def capture(self, m, args, kwargs, out):
        return first_input(args, kwargs), out

    def uses(self, m, x, g, n, names):
        d = 1 if isinstance(m, nn.Conv1d) else 2
        if x.ndim != d + 2 or x.shape[0] != n:
            raise Unsupported(f"conv input {tuple(x.shape)} is not batched (N, C, ...)")
        parts = []
        if "weight" in names:
            parts.append(Part(names["weight"], tuple(m.weight.shape)))
        if "bias" in names and m.bias is not None:
            parts.append(Part(names["bias"], tuple(m.bias.shape)))
        if not parts:
            return []
        return [Deferred(tuple(parts), lambda: conv_gradients(m, x, g, parts, "weight" in names))]


def conv_gradients(m, x, g, parts, weight: bool):
    """Per-example conv gradients: the weight's by one grouped convolution backward with the
    batch folded into the groups (N·G groups), the bias's by summing g over positions."""
    k, n, co = g.shape[:3]
    out = []
    if weight:
        mode = "constant" if m.padding_mode == "zeros" else m.padding_mode
        pad = tuple(m._reversed_padding_repeated_twice)
        xp = F.pad(x, pad, mode=mode) if any(pad) else x
        c, sp = xp.shape[1], xp.shape[2:]
        w = torch.empty(n * co, *m.weight.shape[1:], dtype=x.dtype, device=x.device)
        grads = [
            torch.ops.aten.convolution_backward(
                g[i].reshape(1, n * co, *g.shape[3:]),
                xp.reshape(1, n * c, *sp),
                w,
                None,
                m.stride,
                (0,) * len(sp),
                m.dilation,
                False,
                (0,) * len(sp),
                n * m.groups,
                (False, True, False),
            )[1].view(n, *m.weight.shape)
            for i in range(k)
        ]
        out.append((parts[0], grads[0].unsqueeze(1) if k == 1 else torch.stack(grads, 1)))
    if len(parts) > weight:
        out.append((parts[-1], g.flatten(3).sum(-1).transpose(0, 1)))
    return out


class EmbeddingRule:
    """nn.Embedding with plain lookups (no max_norm, scale_grad_by_freq or sparse gradients)."""

    def supports(self, m) -> bool:
        return m.max_norm is None and not m.scale_grad_by_freq and not m.sparse

    def capture(self, m, args, kwargs, out):
        return first_input(args, kwargs), out

    def uses(self, m, idx, g, n, names):
        if "weight" not in names:
            return []
        if idx.ndim < 1 or idx.shape[0] != n:
            raise Unsupported(f"index input {tuple(idx.shape)} has no batch axis of {n}")
        ids = idx.reshape(n, -1)
        k, dim = g.shape[0], m.embedding_dim
        u = g.reshape(k, n, ids.shape[1], dim)
        if m.padding_idx is not None:
            u = u * (ids != m.padding_idx)[None, :, :, None].to(u.dtype)
        part = Part(names["weight"], (m.num_embeddings, dim))
        return [LowRank(u, ids, m.num_embeddings, False, (part,))]


class NormRule:
    """Affine parameters of LayerNorm, RMSNorm (over trailing dims) and GroupNorm, BatchNorm
    (per channel, dim 1). The normalized input x̂ is computed at call time from the layer's own
    buffers, as the layer does."""

    def supports(self, m) -> bool:
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            return not m.training and m.running_mean is not None
        return True

    def capture(self, m, args, kwargs, out):
        x = first_input(args, kwargs)
        if isinstance(m, nn.LayerNorm):
            xh = F.layer_norm(x, m.normalized_shape, None, None, m.eps)
        elif isinstance(m, nn.GroupNorm):
            xh = F.group_norm(x, m.num_groups, None, None, m.eps)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            xh = F.batch_norm(x, m.running_mean, m.running_var, None, None, False, 0.0, m.eps)
        else:
            xh = F.rms_norm(x, m.normalized_shape, None, m.eps)
        return xh.detach(), out

    def uses(self, m, xh, g, n, names):
        k = g.shape[0]
        if xh.ndim < 1 or xh.shape[0] != n:
            raise Unsupported(f"norm input {tuple(xh.shape)} has no batch axis of {n}")
        if isinstance(m, (nn.LayerNorm, getattr(nn, "RMSNorm", nn.LayerNorm))):
            shape = tuple(m.normalized_shape)

            def reduce(t):
                return t.reshape(k, n, -1, *shape).sum(2)
        else:
            shape = (xh.shape[1],)

            def reduce(t):
                return t.reshape(k, n, shape[0], -1).sum(-1)

        out = []
        if "weight" in names and m.weight is not None:
            out.append(Dense(Part(names["weight"], shape), reduce(g * xh).transpose(0, 1)))
        if "bias" in names and getattr(m, "bias", None) is not None:
            out.append(Dense(Part(names["bias"], shape), reduce(g).transpose(0, 1)))
        return out


_LINEAR, _CONV, _NORM = LinearRule(), ConvRule(), NormRule()
RULES = [
    (nn.Linear, _LINEAR),
    (NTKLinear, _LINEAR),
    (nn.Conv1d, _CONV),
    (nn.Conv2d, _CONV),
    (nn.Embedding, EmbeddingRule()),
    (nn.LayerNorm, _NORM),
    (nn.GroupNorm, _NORM),
    (nn.BatchNorm1d, _NORM),
    (nn.BatchNorm2d, _NORM),
    (nn.BatchNorm3d, _NORM),
]
if hasattr(nn, "RMSNorm"):
    RULES.append((nn.RMSNorm, _NORM))


def rule_for(module: nn.Module):
    """The rule for this layer, or None (then its own parameters use the torch.func fallback)."""
    for base, rule in RULES:
        if isinstance(module, base) and type(module).forward is base.forward:
            return rule if rule.supports(module) else None
    return None

r"""nn.MultiheadAttention written out so that its input projections can be hooked.

``nn.MultiheadAttention`` calls ``F.multi_head_attention_forward`` with its packed
``in_proj_weight`` (3E, E) — no ``nn.Linear`` is ever called, so no layer hook sees the q, k, v
projections. While the structured NTK path records a batch, :func:`attention_forward` replaces the
module's forward with the same computation spelled out:

    [q; k; v] = x W_inᵀ + b_in,   A = softmax(q kᵀ/√d_h + mask),   out = out_proj(A v)

recording each projection as a linear layer call of ``in_proj_weight`` (the three row blocks of
one (3E, E) call for self-attention; separate row blocks, or ``q/k/v_proj_weight``, otherwise),
and calling ``out_proj`` as a module so its hook fires. Supported: batch_first either way, bool or
float ``attn_mask`` (2-D or 3-D) and ``key_padding_mask``, ``need_weights``. ``bias_k``/``bias_v``,
``add_zero_attn``, unbatched inputs and training-mode dropout keep the original forward (their
parameters then use the torch.func fallback). The structured path's probe compares the gradients
recorded this way with autograd through the original module before trusting them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kernelcap.empirics._ntk_rules import linear_uses


def supported(m: nn.MultiheadAttention) -> bool:
    return m.bias_k is None and m.bias_v is None and not m.add_zero_attn


class Projection:
    """The rule of one recorded in-projection: a linear map with weight rows ``rows``."""

    def uses(self, m, saved, g, n, names):
        x, w_name, b_name, w_rows, b_rows = saved
        has_bias = m.in_proj_bias is not None
        w, b = names.get(w_name), names.get(b_name)
        return linear_uses(x, g, n, w, b, has_bias, rows=w_rows, b_rows=b_rows)


PROJECTION = Projection()


def _additive(mask, dtype):
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
            mask, float("-inf")
        )
    return mask.to(dtype)


def attention_forward(m, record, query, key, value, key_padding_mask=None, need_weights=True,
                      attn_mask=None, average_attn_weights=True, is_causal=False):  # fmt: skip
    """Same outputs as ``m.forward``; ``record(z, saved)`` is called for each in-projection.

    Returns None when this configuration is not written out (the caller uses the original)."""
    if (
        query.dim() != 3
        or not supported(m)
        or (is_causal and attn_mask is None)
        or (m.training and m.dropout > 0)
    ):
        return None
    self_attn = query is key and key is value
    if not m.batch_first:
        query, key, value = (t.transpose(0, 1) for t in (query, key, value))
    n, length, e = query.shape
    s, h = key.shape[1], m.num_heads
    hd = e // h
    b = m.in_proj_bias
    blocks = [slice(0, e), slice(e, 2 * e), slice(2 * e, 3 * e)]
    if m._qkv_same_embed_dim and self_attn:
        qkv = F.linear(query, m.in_proj_weight, b)
        record(qkv, (query.detach(), "in_proj_weight", "in_proj_bias", None, None))
        q, k, v = qkv.split(e, -1)
    else:
        projected = []
        for j, x in enumerate((query, key, value)):
            if m._qkv_same_embed_dim:
                w, w_name, rows = m.in_proj_weight[blocks[j]], "in_proj_weight", blocks[j]
            else:
                w_name = ("q_proj_weight", "k_proj_weight", "v_proj_weight")[j]
                w, rows = getattr(m, w_name), None
            z = F.linear(x, w, None if b is None else b[blocks[j]])
            record(z, (x.detach(), w_name, "in_proj_bias", rows, blocks[j]))
            projected.append(z)
        q, k, v = projected
    q = q.reshape(n, length, h, hd).transpose(1, 2)
    k = k.reshape(n, s, h, hd).transpose(1, 2)
    v = v.reshape(n, s, h, hd).transpose(1, 2)
    scores = (q * hd**-0.5) @ k.transpose(-2, -1)  # (N, H, L, S)
    mask = _additive(attn_mask, scores.dtype)
    if mask is not None:
        scores = scores + (mask.view(n, h, length, s) if mask.dim() == 3 else mask)
    pad = _additive(key_padding_mask, scores.dtype)
    if pad is not None:
        scores = scores + pad.view(n, 1, 1, s)
    attn = torch.softmax(scores, -1)
    out = m.out_proj((attn @ v).transpose(1, 2).reshape(n, length, e))
    if not m.batch_first:
        out = out.transpose(0, 1)
    if not need_weights:
        return out, None
    return out, (attn.mean(1) if average_attn_weights else attn)

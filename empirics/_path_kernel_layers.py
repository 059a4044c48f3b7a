r"""Per-layer feature algebra for the path-kernel recorder's structured path.

:mod:`._ntk_hooks` describes what a batch of N examples contributes to per-example gradients, for
K output directions, as one term per layer call (:mod:`._ntk_features`): a low-rank term
∂f_k(x_n)/∂W = Σ_t u_{k,n,t} ⊗ v_{n,t} over the positions t the layer is applied at (u: gradient of
the layer output, v: its input; T = 1 for an MLP layer), or a dense per-example block (norm
parameters, torch.func fallbacks). The recorder needs these operations on them:

* :func:`combine` — Σ_q w_q F_q for the features F_q of the same inputs at several parameter values
  (Gauss–Legendre nodes of a step). A low-rank term stays low-rank: its positions are the nodes'
  positions side by side and u carries the weight, Σ_q w_q Σ_t u_{q,t} ⊗ v_{q,t}. This is the
  quadrature of the *gradient*, exact; the layer features themselves are not linear in θ and are
  never averaged. A model whose layer calls change along the step gets the weighted sum of its
  per-example gradients instead (:func:`summed_dense`).
* :func:`take_rows` — the features of a slice of the rows (a batch and the test inputs that rode
  along in one forward); :func:`memoized` — conv gradients computed once however often used.
* :func:`scaled` — per-parameter scales (learning rates of parameter groups, zero for a parameter
  torch skipped), on the v columns or u rows of the parameter's block.
* :func:`flat_into` — the per-example gradients in the recorder's flat layout, (N, K, P): for a
  low-rank term one batched product Σ_t u ⊗ v per layer.
* :func:`flat_sum` — Σ_n of the per-example gradients, (K, P), one GEMM per layer (the checks).
* :func:`norm_bound` — per example an upper bound of ‖g_n‖ (exact per term; the triangle inequality
  across terms and positions), the scale of the gradient check.
* :func:`dot_layers` — φ·d for directions d (J, P) without materialising φ: Σ_t u_tᵀ D v_t per
  layer, D the direction's block, i.e. (v D^T)·u; a forward-like product per direction.
* :func:`dot_cost` — multiply-adds of :func:`dot_layers` against materialising and one GEMM.
"""

from __future__ import annotations

import math

import torch

from kernelcap.empirics._ntk_features import Deferred, Dense, Features, LowRank, Part

CHUNK = 2**22  # elements of one (J, N·T, r) intermediate of dot_layers before J is split


class Unaligned(ValueError):
    """Feature sets whose layer calls differ (a model whose calls depend on θ): no combination."""


def offsets(names, params) -> dict:
    """{name: (offset, numel, shape)} of each parameter in the flat vector."""
    out, off = {}, 0
    for name, p in zip(names, params):
        out[name] = (off, p.numel(), tuple(p.shape))
        off += p.numel()
    return out


def _memo(make):
    cache = []

    def get():
        if not cache:
            cache.append(make())
        return cache[0]

    return get


def combine(feats: list, weights: list) -> Features:
    """Σ_q w_q F_q as one :class:`Features` (see the module docstring)."""
    f0 = feats[0]
    if len(feats) == 1 and weights[0] == 1.0:
        return f0
    if any(len(f.uses) != len(f0.uses) or f.n != f0.n or f.k != f0.k for f in feats):
        raise Unaligned("the layer calls differ between parameter values")
    uses = []
    for group in zip(*(f.uses for f in feats)):
        u0 = group[0]
        if isinstance(u0, LowRank):
            if any(not isinstance(u, LowRank) or u.key() != u0.key() for u in group):
                raise Unaligned("low-rank terms differ between parameter values")
            u = torch.cat([g.u * w for g, w in zip(group, weights)], 2)
            v = torch.cat([g.v for g in group], 1)
            uses.append(LowRank(u, v, u0.width, u0.u_rows, u0.parts))
            continue
        if any(type(u) is not type(u0) or u.parts != u0.parts for u in group):
            raise Unaligned("dense terms differ between parameter values")
        if isinstance(u0, Dense):
            uses.append(Dense(u0.part, sum(w * g.d for g, w in zip(group, weights))))
            continue

        def make(group=group):
            mats = [g.materialize() for g in group]
            return [
                (part, sum(w * m[j][1] for m, w in zip(mats, weights)))
                for j, (part, _) in enumerate(mats[0])
            ]

        uses.append(Deferred(u0.parts, make))
    return Features(f0.n, f0.k, uses, f0.shapes, f0.dtype, f0.device)


def summed_dense(feats: list, weights: list) -> Features:
    """Σ_q w_q F_q as dense per-example gradients, for feature sets :func:`combine` refuses."""
    f0, total = feats[0], {}
    for f, w in zip(feats, weights):
        for name, g in f.per_example().items():
            total[name] = w * g if name not in total else total[name] + w * g
    uses = [Dense(Part(name, tuple(shape)), total[name]) for name, shape in f0.shapes.items()]
    return Features(f0.n, f0.k, uses, f0.shapes, f0.dtype, f0.device)


def memoized(f: Features) -> Features:
    """The same features with dense terms computed on demand materialised at most once (the
    batch's conv gradients are contracted with two forms and normed)."""
    uses = [Deferred(u.parts, _memo(u.make)) if isinstance(u, Deferred) else u for u in f.uses]
    return Features(f.n, f.k, uses, f.shapes, f.dtype, f.device)


def take_rows(f: Features, rows: slice) -> Features:
    """The features of rows ``rows`` of the batch."""
    n = len(range(*rows.indices(f.n)))
    uses = []
    for use in f.uses:
        if isinstance(use, LowRank):
            uses.append(LowRank(use.u[:, rows], use.v[rows], use.width, use.u_rows, use.parts))
        elif isinstance(use, Dense):
            uses.append(Dense(use.part, use.d[rows]))
        else:
            whole = _memo(use.materialize)  # materialised once for every slice
            uses.append(Deferred(use.parts, lambda w=whole: [(p, d[rows]) for p, d in w()]))
    return Features(n, f.k, uses, f.shapes, f.dtype, f.device)


def scaled(f: Features, scale: dict) -> Features:
    """Features whose gradient of parameter ``name`` is multiplied by ``scale[name]``."""
    uses = []
    for use in f.uses:
        s = [scale[p.name] for p in use.parts]
        if isinstance(use, LowRank):
            if len(set(s)) == 1:
                uses.append(LowRank(use.u * s[0], use.v, use.width, use.u_rows, use.parts))
                continue
            u, v = use.u, use.v.clone()  # parts are column blocks of v (u_rows) or of u
            if not use.u_rows:
                u, v = u.clone(), use.v
            for p, sp in zip(use.parts, s):
                cols = slice(None) if p.cols is None else p.cols
                (v[..., cols] if use.u_rows else u[..., cols]).mul_(sp)
            uses.append(LowRank(u, v, use.width, use.u_rows, use.parts))
        elif isinstance(use, Dense):
            uses.append(Dense(use.part, use.d * s[0]))
        else:
            uses.append(
                Deferred(
                    use.parts,
                    lambda m=use.materialize: [(p, d * scale[p.name]) for p, d in m()],
                )
            )
    return Features(f.n, f.k, uses, f.shapes, f.dtype, f.device)


def flat_into(f: Features, out: torch.Tensor, where: dict) -> torch.Tensor:
    """out (N, K, P) ← per-example gradients of every parameter in ``where`` (zero if unused).

    A low-rank term is written by one batched product per part straight into ``out`` (no
    temporary: a fresh multi-MB array costs more in page faults than the product itself)."""
    written = set()
    for use in f.uses:
        if _direct(use, written):
            k, n, t, r = use.u.shape
            for part in use.parts:
                off, numel, _ = where[part.name]
                v = use.v if part.cols is None else use.v[..., part.cols]
                for kk in range(k):
                    dst = out[:, kk, off : off + numel].view(n, r, -1)
                    torch.bmm(use.u[kk].transpose(1, 2), v, out=dst)
                written.add(part.name)
            continue
        for part, g in use.materialize():
            off, numel, shape = where[part.name]
            dst = out[:, :, off : off + numel].view(f.n, f.k, *shape)
            if part.rows is None and part.name not in written:
                dst.copy_(g.reshape(dst.shape))
            else:
                if part.name not in written:
                    dst.zero_()
                dst = dst if part.rows is None else dst[:, :, part.rows]
                dst += g.reshape(dst.shape)
            written.add(part.name)
    for name, (off, numel, _) in where.items():
        if name not in written:
            out[:, :, off : off + numel].zero_()
    return out


def _direct(use, written) -> bool:
    """A low-rank term of a dense input, parameters stored as (r, cols), none written before."""
    if not isinstance(use, LowRank) or use.index or not use.u_rows:
        return False
    return all(p.rows is None and p.name not in written for p in use.parts)


def flat_sum(f: Features, where: dict, size: int) -> torch.Tensor:
    """(K, P): Σ_n of the per-example gradients (one GEMM per layer, nothing per example)."""
    ones = torch.ones(f.n, dtype=f.dtype, device=f.device)
    parts = f.weighted_sum(ones)
    out = torch.empty(f.k, size, dtype=f.dtype, device=f.device)
    for name, (off, numel, _) in where.items():
        out[:, off : off + numel] = parts[name].reshape(f.k, numel)
    return out


def norm_bound(f: Features) -> torch.Tensor:
    """(N,) per-example gradient norms ‖(∂f_k(x_n)/∂θ)_k‖ (Frobenius over k), or upper bounds.

    A low-rank term with one position has norm ‖u‖‖v‖ per direction; with T positions
    Σ_t ‖u_t‖‖v_t‖ bounds it. Terms over disjoint parameters add in squares (exact for an MLP);
    terms sharing a parameter add by the triangle inequality."""
    norms, seen, shared = [], set(), False
    for use in f.uses:
        names = {p.name for p in use.parts}
        shared = shared or bool(names & seen)
        seen |= names
        if isinstance(use, LowRank):
            nv = 1.0 if use.index else use.v.norm(dim=-1)  # a one-hot row has norm 1
            norms.append((use.u.norm(dim=-1) * nv).sum(-1).square().sum(0).sqrt())
            continue
        for _, d in use.materialize():
            norms.append(d.reshape(f.n, -1).norm(dim=1))
    if not norms:
        return torch.zeros(f.n, dtype=f.dtype, device=f.device)
    stacked = torch.stack(norms)
    return stacked.sum(0) if shared else stacked.square().sum(0).sqrt()


def _block(dirs: torch.Tensor, part, where: dict) -> torch.Tensor:
    """Part ``part`` of the directions (J, P) in its group's (J, r, cols) layout (a view)."""
    off, numel, shape = where[part.name]
    d = dirs[:, off : off + numel].view(dirs.shape[0], *shape)
    if part.rows is not None:
        d = d[:, part.rows]
    return d.reshape(dirs.shape[0], *part.shape)


def dot_layers(f: Features, dirs: torch.Tensor, where: dict) -> torch.Tensor:
    """(N, K, J): Σ_p ∂f_k(x_n)/∂p · dirs[j, p] layer by layer, no (N, K, P) array."""
    n_dirs = dirs.shape[0]
    out = torch.zeros(f.n, f.k, n_dirs, dtype=f.dtype, device=f.device)
    for use in f.uses:
        if not isinstance(use, LowRank):
            for part, g in use.materialize():
                blk = _block(dirs, part, where).reshape(n_dirs, -1)
                out += (g.reshape(f.n * f.k, -1) @ blk.T).view(f.n, f.k, n_dirs)
            continue
        k, n, t, r = use.u.shape
        step = max(1, CHUNK // max(1, n * t * r))
        for j0 in range(0, n_dirs, step):
            sub = dirs[j0 : j0 + step]
            y = None  # (J, N·T, r): each direction's block applied to the inputs, D v_t
            for part in use.parts:
                blk = _block(sub, part, where)
                if use.index:  # blk (J, c, r): rows of the table picked by the indices
                    term = blk.index_select(1, use.v.reshape(-1))
                else:
                    blk = blk.reshape(sub.shape[0], r, -1) if use.u_rows else blk
                    cols = slice(None) if part.cols is None else part.cols
                    vc = use.v.reshape(n * t, -1)[:, cols]
                    lay = blk.transpose(1, 2) if use.u_rows else blk.reshape(sub.shape[0], -1, r)
                    term = torch.matmul(vc, lay)
                y = term if y is None else y + term
            y = y.view(sub.shape[0], n, t, r)
            out[:, :, j0 : j0 + step] += torch.einsum("kntr,jntr->nkj", use.u, y)
    return out


def dot_cost(f: Features, n_dirs: int) -> tuple[int, int]:
    """Costs of (:func:`dot_layers`, materialise φ + one GEMM) for ``n_dirs`` directions, in GEMM
    multiply-adds: measured on MLPs on a CPU, the per-layer products run at ~1/3 of GEMM speed
    and forming φ costs ~(T + 25) per element (it is written, copied and read: memory-bound)."""
    per_layer = materialise = 0
    for use in f.uses:
        if isinstance(use, LowRank):
            k, n, t, r = use.u.shape
            rc = r * (1 if use.index else use.width)
            per_layer += 3 * n * t * n_dirs * (rc + k * r)
            materialise += 3 * n * k * (t + 25) * r * use.width + n * k * n_dirs * r * use.width
        else:
            numel = sum(math.prod(p.shape) for p in use.parts)
            per_layer += f.n * f.k * n_dirs * numel
            materialise += f.n * f.k * n_dirs * numel
    return per_layer, materialise

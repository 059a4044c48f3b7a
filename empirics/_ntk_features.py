r"""Per-layer NTK features of a batch and their contraction into a kernel block.

One call of a layer contributes to the per-example gradient of output k of example n either

* a **low-rank** term ∂f_k(x_n)/∂W = Σ_t u_{k,n,t} ⊗ v_{n,t} over the positions t at which the
  layer is applied (tokens, pixels; T=1 for a plain MLP layer), with u the gradient of the
  layer's output and v its input (``nn.Linear``: W is (d_out, d_in), u = ∂f/∂z, v = a; a bias
  is a constant column of v; Conv: v are the unfolded patches; Embedding: v is a one-hot index), or
* a **dense** per-example gradient (N, K, *shape) (norm affine parameters, torch.func fallbacks).

Two examples' kernel over the parameters of a low-rank group is then, for outputs traced,

    Θ(x_n, x'_m) = Σ_k Σ_{t,s} (u_{k,n,t}·u'_{k,m,s}) (v_{n,t}·v'_{m,s})          (Gram identity)

which costs N·N'·T·T'·(c + K·r) and never forms a per-example gradient, or, materialized,
⟨G_n, G'_m⟩ with G_n = Σ_t u ⊗ v of size K·r·c. :func:`cross_kernel` picks the cheaper of the
two for each group (Novak et al., "Fast finite width neural tangent kernel", ICML 2022, give the
same cost comparison for structured derivatives). Uses of one parameter by several calls (a module
applied twice) are extra positions t of one group; a parameter shared by groups of different
shapes (tied weights across layer types) is materialized, so cross terms between uses are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

BUDGET = 2**27  # elements of one intermediate (512 MiB in float32) before a contraction is split
TILE = 256  # a symmetric block is computed as tiles of this many rows, on and above the diagonal


@dataclass(frozen=True)
class Part:
    """Parameter ``name`` (its rows ``rows``; None: all) is columns ``cols`` of a group matrix."""

    name: str
    shape: tuple
    rows: slice | None = None
    cols: slice | None = None


@dataclass(eq=False)
class LowRank:
    """Per-example gradient Σ_t u[k, n, t] ⊗ v[n, t] of the parameters in ``parts``.

    u: (K, N, T, r). v: (N, T, c) floating, or (N, T) integer indices of a one-hot of width c.
    The group's matrix is (r, c) when ``u_rows`` else (c, r); part p is its columns ``p.cols``.
    """

    u: torch.Tensor
    v: torch.Tensor
    width: int
    u_rows: bool
    parts: tuple

    @property
    def index(self) -> bool:
        return not self.v.is_floating_point()

    def key(self):
        cells = tuple((p.name, _sl(p.rows), _sl(p.cols)) for p in self.parts)
        return cells, self.width, self.u_rows, self.index, self.u.shape[-1]

    def raw(self) -> torch.Tensor:
        """(N, K, r·c): the group's per-example gradient matrices, flattened as computed."""
        k, n, t, r = self.u.shape
        c = self.width
        if self.index:
            m = torch.zeros(n * c, k * r, dtype=self.u.dtype, device=self.u.device)
            rows = (torch.arange(n, device=self.v.device)[:, None] * c + self.v).reshape(-1)
            m.index_add_(0, rows, self.u.permute(1, 2, 0, 3).reshape(n * t, k * r))
            return m.view(n, c, k, r).permute(0, 2, 3, 1).reshape(n, k, r * c)
        return torch.bmm(self.u.permute(1, 0, 3, 2).reshape(n, k * r, t), self.v).view(n, k, -1)

    def materialize(self):
        """[(part, (N, K, *part.shape))] — the per-example gradients of this call."""
        k, n, _, r = self.u.shape
        return self._split(self.raw().view(n, k, r, self.width))

    def weighted(self, w: torch.Tensor):
        """[(part, (K, *part.shape))]: Σ_n w_n × the per-example gradient of example n."""
        k, n, t, r = self.u.shape
        uw = (self.u * w.view(1, n, 1, 1)).permute(1, 2, 0, 3).reshape(n * t, k * r)
        if self.index:
            m = uw.new_zeros(self.width, k * r).index_add_(0, self.v.reshape(-1), uw)
        else:
            m = self.v.reshape(n * t, self.width).T @ uw
        return self._split(m.T.reshape(k, r, self.width))

    def _split(self, m):
        lead = m.shape[:-2]
        out = []
        for p in self.parts:
            blk = m if p.cols is None else m[..., p.cols]
            if not self.u_rows:
                blk = blk.transpose(-1, -2)
            out.append((p, blk.reshape(*lead, *p.shape)))
        return out


def _weighted(parts_tensors, w):
    return [(p, torch.tensordot(w, d, dims=([0], [0]))) for p, d in parts_tensors]


@dataclass(eq=False)
class Dense:
    """Per-example gradient d: (N, K, *part.shape) of one parameter (or rows of it)."""

    part: Part
    d: torch.Tensor

    @property
    def parts(self):
        return (self.part,)

    def key(self):
        return None

    def materialize(self):
        return [(self.part, self.d)]

    def weighted(self, w):
        return _weighted(self.materialize(), w)


@dataclass(eq=False)
class Deferred:
    """Per-example gradients computed only when contracted: ``make() -> [(part, (N, K, ...))]``."""

    parts: tuple
    make: object

    def key(self):
        return None

    def materialize(self):
        return self.make()

    def weighted(self, w):
        return _weighted(self.materialize(), w)


@dataclass(eq=False)
class Features:
    """What a batch of N examples contributes to the NTK, for K output directions.

    ``uses``: LowRank and Dense terms, one per layer call (summed per parameter); ``shapes``:
    every parameter the kernel is over (a parameter with no use has zero gradient).
    """

    n: int
    k: int
    uses: list
    shapes: dict
    dtype: torch.dtype
    device: torch.device
    meta: dict = field(default_factory=dict)

    def weighted_sum(self, w: torch.Tensor) -> dict:
        """{name: (K, *shape)} Σ_n w_n ∂f_k(x_n)/∂θ, w: (N,) — the probe's per-example check."""
        out, owned = {}, set()
        for use in self.uses:
            for part, g in use.weighted(w):
                name, shape = part.name, (self.k, *self.shapes[part.name])
                if part.rows is None and name not in out:
                    out[name] = g.reshape(shape)
                    continue
                if name not in owned:
                    base = out.get(name)
                    out[name] = g.new_zeros(shape) if base is None else base.clone()
                    owned.add(name)
                dst = out[name] if part.rows is None else out[name][:, part.rows]
                dst += g.reshape(dst.shape)
        for name, s in self.shapes.items():
            if name not in out:
                out[name] = torch.zeros(self.k, *s, dtype=self.dtype, device=self.device)
        return out

    def per_example(self, names=None) -> dict:
        """{name: (N, K, *shape)} per-example gradients (summed over every use of the parameter)."""
        names = list(self.shapes) if names is None else list(names)
        return _dense_sum(self, [u for u in self.uses if _touches(u, names)], names)


def _sl(s):
    return None if s is None else (s.start, s.stop, s.step)


def _touches(use, names) -> bool:
    return any(p.name in names for p in use.parts)


def _dense_sum(f: Features, uses, names) -> dict:
    out, owned = {}, set()
    for use in uses:
        for part, g in use.materialize():
            name = part.name
            if name not in names:
                continue
            shape = f.shapes[name]
            if part.rows is None and name not in out:
                out[name] = g.reshape(f.n, f.k, *shape)  # not ours to modify in place
                continue
            if name not in out:
                out[name] = g.new_zeros(f.n, f.k, *shape)
            elif name not in owned:
                out[name] = out[name].clone()
            owned.add(name)
            dst = out[name] if part.rows is None else out[name][:, :, part.rows]
            dst += g.reshape(dst.shape)
    for name in names:
        if name not in out:
            out[name] = torch.zeros(f.n, f.k, *f.shapes[name], dtype=f.dtype, device=f.device)
    return out


def cross_kernel(fa: Features, fb: Features, full: bool = False, budget: int = BUDGET):
    r"""Θ(xa, xb) = Σ_params ∂f(xa)/∂θ · ∂f(xb)/∂θ from the features of two batches.

    ``fa`` and ``fb`` may come from different parameter values of the same model (the cross
    kernel of the path kernel). Returns (Na, Nb) summed over the K outputs, or (Na, Nb, Ka, Kb)
    with ``full=True``, where the two batches may carry different output directions (the path
    kernel's batch has one, the cotangent ∂L/∂f). Passing the same object twice computes a
    symmetric block once.
    """
    if (fa.k != fb.k and not full) or fa.shapes.keys() != fb.shapes.keys():
        raise ValueError("fa and fb must be features of the same parameters and outputs")
    same = fa is fb
    shape = (fa.n, fb.n, fa.k, fb.k) if full else (fa.n, fb.n)
    total = torch.zeros(shape, dtype=fa.dtype, device=fa.device)
    tiles = _tiles(fa.n, fb.n, same)
    seen = {}
    for use in fa.uses + ([] if same else fb.uses):
        for p in use.parts:
            seen.setdefault(p.name, set()).add(use.key())
    gram_keys = []
    for use in fa.uses:
        key = use.key()
        if key is not None and key not in gram_keys:
            if all(seen[p.name] == {key} for p in use.parts):
                gram_keys.append(key)
    mat_a = [u for u in fa.uses if u.key() not in gram_keys]
    mat_b = mat_a if same else [u for u in fb.uses if u.key() not in gram_keys]
    for key in gram_keys:
        ua = [u for u in fa.uses if u.key() == key]
        ub = ua if same else [u for u in fb.uses if u.key() == key]
        if not ub:
            continue
        a = _stack(ua)
        b = a if same else _stack(ub)
        if _gram_is_cheaper(a, b, full, same, budget):
            for rows, cols in tiles:
                ar = _rows(a, rows)
                total[rows, cols] += _gram(
                    ar, ar if same and rows == cols else _rows(b, cols), full
                )
        else:
            mat_a = mat_a + ua
            mat_b = mat_b if same else mat_b + ub
    _add_dense(total, fa, fb, mat_a, mat_b, full, same, budget, tiles)
    for rows, cols in tiles if same else ():  # mirror the tiles above the diagonal
        if rows != cols:
            up = total[rows, cols]
            total[cols, rows] = up.permute(1, 0, 3, 2) if full else up.T
    return total


def _tiles(n1: int, n2: int, same: bool):
    """(rows, cols) slices that cover the result; for a symmetric one only those on or above the
    diagonal (about half the products of a single block)."""
    if not same or n1 < 2 * TILE:
        return [(slice(0, n1), slice(0, n2))]
    edges = list(range(0, n1 - TILE // 2, TILE)) + [n1]
    cuts = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]
    return [(r, c) for i, r in enumerate(cuts) for c in cuts[i:]]


def _rows(use: LowRank, rows: slice) -> LowRank:
    return LowRank(use.u[:, rows], use.v[rows], use.width, use.u_rows, use.parts)


def _stack(uses) -> LowRank:
    if len(uses) == 1:
        return uses[0]
    u0 = uses[0]
    return LowRank(
        torch.cat([u.u for u in uses], 2),
        torch.cat([u.v for u in uses], 1),
        u0.width,
        u0.u_rows,
        u0.parts,
    )


def _gram_is_cheaper(a: LowRank, b: LowRank, full: bool, same: bool, budget: int) -> bool:
    k, n1, t1, r = a.u.shape
    kb, n2, t2, c = b.u.shape[0], b.u.shape[1], b.u.shape[2], a.width
    pairs = n1 * n2 * t1 * t2
    kk = k * kb if full else k
    gram = pairs * ((1 if a.index else 2 * c) + 2 * kk * r + kk)
    form = 2 * (n1 * t1 * k + (0 if same else n2 * t2 * kb)) * r * (1 if a.index else c)
    mat = form + 2 * n1 * n2 * kk * r * c
    mem_gram, mem_mat = pairs * kk, (n1 * k + n2 * kb) * r * c
    if (mem_gram > budget) != (mem_mat > budget):
        return mem_mat > budget
    return gram <= mat


def _gram(a: LowRank, b: LowRank, full: bool) -> torch.Tensor:
    k, n1, t1, r = a.u.shape
    n2, t2 = b.u.shape[1], b.u.shape[2]
    if a.index:
        gv = (a.v.reshape(-1, 1) == b.v.reshape(1, -1)).to(a.u.dtype)
    else:
        gv = a.v.reshape(n1 * t1, -1) @ b.v.reshape(n2 * t2, -1).T
    if not full:
        ua = a.u.permute(1, 2, 0, 3).reshape(n1 * t1, k * r)
        ub = ua if b is a else b.u.permute(1, 2, 0, 3).reshape(n2 * t2, k * r)
        gv.mul_(ua @ ub.T)
        return gv if t1 == t2 == 1 else gv.view(n1, t1, n2, t2).sum((1, 3))
    kb = b.u.shape[0]
    gu = (a.u.reshape(k * n1 * t1, r) @ b.u.reshape(kb * n2 * t2, r).T).view(k, n1, t1, kb, n2, t2)
    gu.mul_(gv.view(1, n1, t1, 1, n2, t2))
    return gu.sum((2, 5)).permute(1, 3, 0, 2)


def _components(uses):
    """Groups of uses that share a parameter (materialized and summed together)."""
    groups = []
    for use in uses:
        names = {p.name for p in use.parts}
        hit = [g for g in groups if g[0] & names]
        merged = (names.union(*(g[0] for g in hit)), [u for g in hit for u in g[1]] + [use])
        groups = [g for g in groups if all(g is not h for h in hit)] + [merged]
    return groups


def _add_dense(total, fa, fb, mat_a, mat_b, full, same, budget, tiles):
    """Add Σ ⟨J_a, J_b⟩ over the materialized terms: one GEMM per large matrix, the small ones
    concatenated (a symmetric result only on the tiles above the diagonal)."""
    small_a, small_b, size = [], [], 0
    comps_b = {} if same else {frozenset(n): us for n, us in _components(mat_b)}
    for names, uses_a in _components(mat_a):
        uses_b = uses_a if same else [u for k, us in comps_b.items() if k & names for u in us]
        keys = {u.key() for u in uses_a}
        raw = len(keys) == 1 and None not in keys and keys == {u.key() for u in uses_b}
        blocks_a = _blocks(fa, uses_a, names, raw)
        blocks_b = blocks_a if same else _blocks(fb, uses_b, names, raw)
        for da, db in zip(blocks_a, blocks_b):
            if da.shape[-1] * da.shape[1] >= 2048:
                _flush(total, [da], [db], full, same, tiles)
                continue
            small_a.append(da)
            small_b.append(db)
            size += da.numel() + (0 if same else db.numel())
            if size > budget:
                _flush(total, small_a, small_b, full, same, tiles)
                small_a, small_b, size = [], [], 0
    _flush(total, small_a, small_b, full, same, tiles)


def _blocks(f: Features, uses, names, raw: bool):
    """(N, K, p) matrices whose concatenation is the per-example gradient of ``names`` in a layout
    fixed by the uses: as computed when every use has the same layout, else per parameter."""
    if raw:
        total = uses[0].raw()
        for u in uses[1:]:
            total = total + u.raw()
        return [total]
    order = [n for n in f.shapes if n in names]
    g = _dense_sum(f, uses, order)
    return [g[n].reshape(f.n, f.k, -1) for n in order]


def _flush(total, pending_a, pending_b, full, same, tiles):
    if not pending_a:
        return
    da = torch.cat(pending_a, -1) if len(pending_a) > 1 else pending_a[0]
    db = da if same else (torch.cat(pending_b, -1) if len(pending_b) > 1 else pending_b[0])
    k, p = da.shape[1:]
    kb = db.shape[1]
    for rows, cols in tiles:
        a = da[rows]
        b = a if same and rows == cols else db[cols]
        n1, n2 = a.shape[0], b.shape[0]
        if full:
            prod = (a.reshape(n1 * k, p) @ b.reshape(n2 * kb, p).T).view(n1, k, n2, kb)
            total[rows, cols] += prod.permute(0, 2, 1, 3)
        else:
            total[rows, cols] += a.reshape(n1, k * p) @ b.reshape(n2, k * p).T

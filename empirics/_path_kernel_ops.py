"""Gradient work of the path-kernel recorder with :mod:`torch.func`: the general path.

The recorder's structured per-layer path (:mod:`._path_kernel_structured`: hooks and Gram
identities, taken by ``method="auto"`` when every parameter has a layer rule or a per-module
fallback) replaces both calls below; this module is what any other model, and
``method="jacobian"``/``"jvp"``, uses:

* :func:`per_example_grads` — g_i = J(x_i; θ)ᵀ a_i for a batch, (B, P) materialised, with
  a_i = ∂L/∂f(x_i), by ``vmap`` of ``vjp``;
* :class:`SegmentFeatures` — the test features of one step, φ_s(x) = ∫_0^1 ∇f(x; θ_s + tΔθ_s) dt
  by Gauss–Legendre quadrature, and ∇f(x; θ_s) (first order), applied to update directions:
  ``features.dot(terms)`` = φ_s(x)·(scale ⊙ rows[k]) for every row k, (n_test, O, K).

Plain SGD (no momentum) uses g_i only in ``dot([(G, −η)])`` = −η φ_s(x)·J(x_i; θ_s)ᵀa_i: the cross
kernel between the test points along the segment and the batch at θ_s, contracted with a_i.

Two ways to apply the test features, chosen per step by a multiply-add count (``method="auto"``):

* ``"jacobian"``: materialise Φ = Σ_t w_t J(x; θ_t), (n_test·O, P), then one GEMM with the
  directions — about n_test·O·K·P multiply-adds, best for few outputs;
* ``"jvp"``: ``vmap`` of forward-mode products over the K directions at every node — about
  3·n_nodes·n_test·K·(forward cost) and no (n_test·O, P) array, best for many outputs (logits).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import functional_call, jacrev, jvp, vjp, vmap

METHODS = ("auto", "structured", "jacobian", "jvp")


@dataclass
class ParamSpace:
    """The trainable parameters of a model as one flat vector of length P (fixed order)."""

    model: torch.nn.Module
    names: tuple[str, ...]
    params: tuple[torch.Tensor, ...]
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def numels(self) -> list[int]:
        return [p.numel() for p in self.params]

    @property
    def size(self) -> int:
        return sum(self.numels)

    def flat(self) -> torch.Tensor:
        """Current values, (P,), a copy."""
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    def flat_grads(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(grad (P,), had_grad (P,) bool): ``.grad`` of each parameter, zeros where it is None."""
        g, m = [], []
        for p in self.params:
            has = p.grad is not None
            g.append(p.grad.detach().reshape(-1) if has else torch.zeros_like(p).reshape(-1))
            m.append(torch.full((p.numel(),), has, dtype=torch.bool, device=p.device))
        return torch.cat(g), torch.cat(m)

    def per_param(self, values) -> torch.Tensor:
        """(P,) vector holding values[k] on the coordinates of parameter k (cached: read-only)."""
        key = tuple(float(v) for v in values)
        cache = self._cache
        if key not in cache:
            if len(cache) > 64:
                cache.clear()
            p0 = self.params[0]
            v = torch.tensor(key, dtype=p0.dtype, device=p0.device)
            cache[key] = torch.repeat_interleave(v, torch.tensor(self.numels, device=p0.device))
        return cache[key]

    def buffer(self, key: str, *shape: int) -> torch.Tensor:
        """A reusable work array (uninitialised): fresh multi-MB arrays page-fault every step."""
        buf = self._cache.get(("buffer", key))
        if buf is None or tuple(buf.shape) != shape:
            p0 = self.params[0]
            buf = self._cache[("buffer", key)] = torch.empty(
                shape, dtype=p0.dtype, device=p0.device
            )
        return buf

    def unflat(self, vec: torch.Tensor) -> dict[str, torch.Tensor]:
        """(P,) → {name: tensor}; (K, P) → {name: (K, *shape)}."""
        lead = vec.shape[:-1]
        parts = torch.split(vec, self.numels, dim=-1)
        return {n: t.reshape(*lead, *p.shape) for n, t, p in zip(self.names, parts, self.params)}

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """f(x; θ) with the flat trainable vector θ; other parameters and buffers from the model."""
        return functional_call(self.model, self.unflat(theta), (x,))


@contextlib.contextmanager
def flush_subnormals():
    """Flush subnormal floats to zero on the CPU inside the block, as it was before afterwards.

    Per-example moments of memorised examples decay into the subnormal range (float32 below
    1.2e-38), where CPU arithmetic is 10-100× slower: a recorded grokking run slowed from 0.11 to
    0.2 s per step by step 800 and kept slowing. Values that small change nothing here.
    """
    was_on = bool((torch.tensor([1e-39]) * 1.0)[0] == 0)  # a float32 subnormal survives unless FTZ
    if not was_on:
        torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if not was_on:
            torch.set_flush_denormal(False)


def per_example_grads(space: ParamSpace, theta, x, out_grad, chunk_size=None) -> torch.Tensor:
    """g_i = J(x_i; θ)ᵀ a_i for every row, (B, P); ``out_grad`` (B, O) holds a_i = ∂L/∂f(x_i)."""
    params = space.unflat(theta)
    names = space.names

    def one(xi, ai):
        def f(p):
            return functional_call(space.model, p, (xi.unsqueeze(0),)).reshape(-1)

        _, pull = vjp(f, params)
        return pull(ai)[0]

    g = vmap(one, chunk_size=chunk_size)(x, out_grad)
    out = space.buffer("per_example_grads", x.shape[0], space.size)
    return torch.cat([g[n].reshape(x.shape[0], -1) for n in names], dim=1, out=out)


def jacobian_into(space: ParamSpace, theta, x, out: torch.Tensor, alpha: float = 1.0) -> None:
    """out += alpha·J(x; θ), out (n, O, P); written block by block (no (n, O, P) temporaries)."""

    def f(p, xi):
        return functional_call(space.model, p, (xi.unsqueeze(0),)).reshape(-1)

    j = vmap(jacrev(f), in_dims=(None, 0))(space.unflat(theta), x)
    off = 0
    for name, k in zip(space.names, space.numels):
        out[:, :, off : off + k].add_(j[name].reshape(out.shape[0], out.shape[1], k), alpha=alpha)
        off += k


def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n Gauss–Legendre nodes and weights on [0, 1] (exact for polynomials of degree ≤ 2n−1)."""
    t, w = np.polynomial.legendre.leggauss(n)
    return (t + 1) / 2, w / 2


def choose_method(n_out, n_dirs, n_nodes, n_forms) -> str:
    """``"jacobian"`` or ``"jvp"`` by a cost model per test point and parameter, measured on MLPs
    on a CPU: building J costs ~270 GEMM multiply-adds per entry (memory-bound, per node), a
    batched JVP ~8 per direction (per node); both scale with n_test·P, which cancels."""
    jac = n_out * (270 * n_nodes + n_forms * n_dirs)
    jvp = 8 * n_nodes * n_dirs
    return "jacobian" if jac <= jvp else "jvp"


class SegmentFeatures:
    """Test features of one step, θ_s → θ_s + Δθ_s, at ``x_test`` (n_test rows, O outputs).

    ``quad_nodes`` Gauss–Legendre nodes give the exact form (0: none); ``first_order`` adds
    ∇f(x; θ_s).
    ``dot(terms)`` with terms [(rows (K, P), scale (P,) or None)] returns (exact, first), each
    (n_test, O, ΣK) or None, the rows of all terms concatenated in order.
    """

    def __init__(self, space, theta, delta, x_test, n_out, *, quad_nodes, first_order, method):
        self.space, self.x, self.n_out = space, x_test, n_out
        self.method = method
        t, w = gauss_legendre(quad_nodes) if quad_nodes > 0 else (np.zeros(0), np.zeros(0))
        self.nodes = [theta + float(ti) * delta for ti in t]
        self.weights = [float(wi) for wi in w]
        self.theta0 = theta if first_order else None
        self._phi = self._j0 = None
        if method == "jacobian":
            n = x_test.shape[0]
            if self.nodes:
                self._phi = space.buffer("phi", n, n_out, space.size).zero_()
                for wi, th in zip(self.weights, self.nodes):
                    jacobian_into(space, th, x_test, self._phi, wi)
                self._phi = self._phi.reshape(n * n_out, -1)
            if first_order:
                self._j0 = space.buffer("j0", n, n_out, space.size).zero_()
                jacobian_into(space, theta, x_test, self._j0)
                self._j0 = self._j0.reshape(n * n_out, -1)

    def dot(self, terms):
        n = self.x.shape[0]
        if self.method == "jacobian":

            def apply(mat):
                if mat is None:
                    return None
                cols = [(mat * s if s is not None else mat) @ rows.T for rows, s in terms]
                return torch.cat(cols, 1).reshape(n, self.n_out, -1)

            return apply(self._phi), apply(self._j0)
        dirs = self.space.buffer("directions", sum(r.shape[0] for r, _ in terms), self.space.size)
        row = 0
        for rows, s in terms:
            block = dirs[row : row + rows.shape[0]]
            torch.mul(rows, s, out=block) if s is not None else block.copy_(rows)
            row += rows.shape[0]
        tangents = self.space.unflat(dirs)
        chunk = max(1, 2**17 // max(n, 1))

        def at(theta):
            primal = self.space.unflat(theta)

            def one(v):
                return jvp(
                    lambda p: functional_call(self.space.model, p, (self.x,)), (primal,), (v,)
                )[1].reshape(n, self.n_out)

            return vmap(one, chunk_size=chunk)(tangents).permute(1, 2, 0)  # (n, O, K)

        with warnings.catch_warnings():  # torch loads its forward-AD decompositions via torch.jit
            warnings.filterwarnings(
                "ignore", "`torch.jit.script` is deprecated", DeprecationWarning
            )
            exact = (
                sum(wi * at(th) for wi, th in zip(self.weights, self.nodes)) if self.nodes else None
            )
            first = at(self.theta0) if self.theta0 is not None else None
        return exact, first


def torch_func_segment(
    space, theta, delta, x_test, n_out, n_dirs, *, quad_nodes, first_order, method
) -> SegmentFeatures:
    """:class:`SegmentFeatures` of a step for ``n_dirs`` directions; ``method="auto"`` picks
    ``"jacobian"`` or ``"jvp"`` by :func:`choose_method`."""
    if method not in ("jacobian", "jvp"):
        forms = (quad_nodes > 0) + bool(first_order)
        method = choose_method(n_out, n_dirs, quad_nodes + bool(first_order), forms)
    return SegmentFeatures(
        space, theta, delta, x_test, n_out,
        quad_nodes=quad_nodes, first_order=first_order, method=method,
    )  # fmt: skip

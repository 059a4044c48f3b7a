r"""The recorder's structured per-layer path: layer hooks and Gram identities, no torch.func vmap.

:mod:`._ntk_hooks` records, for any batch at any parameter values, what each layer call adds to
the per-example gradients (low-rank Σ_t u ⊗ v for Linear/Conv/Embedding, dense blocks for norms
and the exact torch.func fallbacks), checked once against autograd on a probe (:func:`make_plan`).
With it, one step s of the recorder (θ_s → θ_s + Δθ_s, batch B with cotangents
a_i = ∂L/∂f(x_i), test inputs x, Gauss–Legendre nodes t_q with weights w_q) needs:

* **Batch, one pass at θ_s along a_i.** The backward seeded with a_i gives the features of the
  scalar a_i·f(x_i), whose gradient is g_i = J(x_i; θ_s)ᵀ a_i. Their sum Σ_i g_i (one GEMM per
  layer) is what the per-step checks need: it must equal the user's ``.grad``, and the rebuilt
  update −η Σ_i g_i − ηλθ must equal θ_{s+1} − θ_s. With one output the test inputs ride along in
  the same pass (cotangent 1), which gives the first-order features ∇f(x; θ_s) for free — the
  t = 0 end of the segment, Domingos' form.
* **Plain SGD (no momentum; coupled decay allowed).** Δθ_s = −η ⊙ (Σ_i g_i + λθ_s), so

      c_i(x) += −η φ_s(x)·g_i = −η Σ_q w_q Σ_o′ K_q(x, x_i)_{o,o′} a_{i,o′},

  K_q(x, x_i) = J(x; θ_s + t_qΔθ_s) J(x_i; θ_s)ᵀ the cross kernel, by the Gram identity per layer
  Σ_{t,t′} (u_{x,t}·u_{i,t′})(v_{x,t}·v_{i,t′}) (:func:`cross_kernel`, ``full=True``, which also
  picks materialising when that is cheaper). The quadrature is on the kernel: the nodes' test
  features enter as one low-rank term with the positions of all nodes (:func:`combine`). Nothing
  per example of size P is formed and the only state is the n_test × n_train contributions. A
  learning rate per parameter group scales the batch features of its parameters.
* **Directions** d (the decay and rounding parts; momentum/Adam state rows scaled by the
  optimizer): φ_s(x)·d per layer, Σ_{q,t} w_q u_{q,t}ᵀ D v_{q,t}, or by materialising
  Φ = Σ_q w_q Σ_t u_{q,t} ⊗ v_{q,t} (one batched product per layer) and one GEMM — the cheaper by a
  multiply-add count (:func:`dot_cost`).
* **Momentum / Adam** need the per-example gradients (the n_train × P moments are sums of them):
  g_i = u_i ⊗ v_i per Linear layer, one batched outer product, written into the flat layout.
"""

from __future__ import annotations

import torch

from kernelcap.empirics._ntk_features import cross_kernel
from kernelcap.empirics._ntk_hooks import batch_features, make_plan
from kernelcap.empirics._path_kernel_layers import (
    Unaligned,
    combine,
    dot_cost,
    dot_layers,
    flat_into,
    flat_sum,
    memoized,
    norm_bound,
    offsets,
    scaled,
    summed_dense,
    take_rows,
)
from kernelcap.empirics._path_kernel_ops import gauss_legendre

__all__ = ["StructuredPath", "Segment", "per_name", "structured_path"]

FALLBACK = "model torch.func"


def structured_path(space, x_test, method: str):
    """The per-layer path for ``method="structured"``, and for ``"auto"`` when every parameter
    has a layer rule or a per-module fallback; else None (torch.func)."""
    if method not in ("auto", "structured"):
        return None
    try:
        path = StructuredPath(space, x_test)
    except (RuntimeError, ValueError, TypeError) as err:
        if method == "structured":
            msg = f"method='structured': the model has no layer plan ({err})"
            raise ValueError(msg) from err
        return None
    return path if method == "structured" or path.layered else None


class StructuredPath:
    """The hooks plan of the recorder's model and the per-layer work of one step."""

    def __init__(self, space, x_test: torch.Tensor):
        self.space, self.x_test = space, x_test
        self.plan = make_plan(space.model, x_test, params=list(space.names))
        if tuple(self.plan.names) != tuple(space.names):
            raise ValueError(f"plan parameters {self.plan.names} differ from {space.names}")
        self.where = offsets(space.names, space.params)

    @property
    def paths(self) -> dict:
        """{name: "layer rule" | "module torch.func" | "model torch.func"} per parameter."""
        return dict(self.plan.paths)

    @property
    def layered(self) -> bool:
        """True when no parameter needs the whole-model torch.func Jacobian."""
        return FALLBACK not in self.plan.paths.values()

    def features(self, theta, x, cotangents=None):
        return batch_features(self.plan, x, self.space.unflat(theta), cotangents)

    def batch(self, theta, x, grad_of, with_test: bool):
        """(features of the batch along a_i, test features at θ_s or None) at θ = ``theta``.

        ``grad_of(out)`` maps the batch's outputs (B, O) of this forward to a_i = ∂L/∂f(x_i),
        (B, O): the loss needs no forward of its own. With one output the test rows ride along
        in the same forward and backward (cotangent 1)."""
        b, xt = x.shape[0], self.x_test
        ride = with_test and self.plan.n_out == 1
        ride = ride and x.dtype == xt.dtype and x.shape[1:] == xt.shape[1:]

        def cotangent(out):
            a = grad_of(out[:b])
            return (torch.cat([a, a.new_ones(xt.shape[0], 1)]) if ride else a).unsqueeze(0)

        f = self.features(theta, torch.cat([x, xt]) if ride else x, cotangent)
        if ride:
            return take_rows(f, slice(0, b)), take_rows(f, slice(b, None))
        return memoized(f), self.features(theta, xt) if with_test else None

    def gradient_sum(self, fb) -> tuple[torch.Tensor, float]:
        """(Σ_i g_i (P,), Σ_i ‖g_i‖ or an upper bound of it) from the batch features."""
        g_sum = flat_sum(fb, self.where, self.space.size)[0]
        return g_sum, float(norm_bound(fb).sum())

    def per_example(self, fb) -> torch.Tensor:
        """(B, P) per-example gradients g_i, written layer by layer into a reused buffer."""
        out = self.space.buffer("per_example_grads", fb.n, self.space.size)
        return flat_into(fb, out.view(fb.n, 1, -1), self.where).view(fb.n, -1)

    def segment(self, theta, delta, quad_nodes: int, first):
        """:class:`Segment` of the step: test features at the nodes, combined; ``first`` the
        features at θ_s (or None for no first-order form)."""
        t, w = gauss_legendre(quad_nodes) if quad_nodes > 0 else ([], [])
        feats = [self.features(theta + float(ti) * delta, self.x_test) for ti in t]
        weights = [float(wi) for wi in w]
        try:
            exact = combine(feats, weights) if feats else None
        except Unaligned:  # layer calls differ along the segment: sum per-example gradients
            exact = summed_dense(feats, weights)
        return Segment(self, exact, first)


class Segment:
    """Test features of one step: ``exact`` = Σ_q w_q F(θ_q), ``first`` = F(θ_s) (either None).

    ``kernel(fb, scale)`` and ``dot(terms)`` return (exact, first), each (n_test, O, ·) or None,
    as :class:`~kernelcap.empirics._path_kernel_ops.SegmentFeatures` does.
    """

    def __init__(self, path: StructuredPath, exact, first):
        self.path, self.forms = path, (exact, first)

    def kernel(self, fb, scale):
        """(n_test, O, B): φ·(scale ⊙ g_i) for the batch features ``fb`` along a_i; ``scale`` a
        number or {name: number} (per parameter group)."""
        values = set(scale.values()) if isinstance(scale, dict) else {scale}
        factor = next(iter(values)) if len(values) == 1 else 1.0
        fb = fb if len(values) == 1 else scaled(fb, scale)

        def one(f):
            if f is None:
                return None
            k = cross_kernel(f, fb, full=True)  # (n_test, B, O, 1)
            return k[..., 0].permute(0, 2, 1).mul_(factor)

        return tuple(one(f) for f in self.forms)

    def dot(self, terms):
        """φ·(scale ⊙ rows[k]) for terms [(rows (K, P), scale (P,) or None)], concatenated.

        Per layer, or by materialising φ of both forms in one buffer and one GEMM per term (the
        rows, e.g. the n_train × P moments, are read once), whichever :func:`dot_cost` prefers."""
        n_dirs = sum(r.shape[0] for r, _ in terms)
        space, where = self.path.space, self.path.where
        forms = [f for f in self.forms if f is not None]
        costs = [dot_cost(f, n_dirs) for f in forms]
        n, k = forms[0].n, forms[0].k
        big = len(forms) * n * k * space.size > 2**27
        if big or sum(c[0] for c in costs) < sum(c[1] for c in costs):
            dirs = space.buffer("directions", n_dirs, space.size)
            row = 0
            for rows, s in terms:
                block = dirs[row : row + rows.shape[0]]
                torch.mul(rows, s, out=block) if s is not None else block.copy_(rows)
                row += rows.shape[0]
            res = iter([dot_layers(f, dirs, where) for f in forms])
            return tuple(None if f is None else next(res) for f in self.forms)
        phi = space.buffer("phi", len(forms) * n, k, space.size)
        for j, f in enumerate(forms):
            flat_into(f, phi[j * n : (j + 1) * n], where)
        phi = phi.view(len(forms) * n * k, -1)
        cols = []
        for rows, s in terms:
            mat = phi if s is None else torch.mul(phi, s, out=space.buffer("phi_s", *phi.shape))
            cols.append(mat @ rows.T)
        res = iter(torch.cat(cols, 1).view(len(forms), n, k, -1))
        return tuple(None if f is None else next(res) for f in self.forms)


def per_name(where: dict, vec: torch.Tensor) -> dict:
    """{name: value} of a per-coordinate vector that is constant on each parameter."""
    return {n: float(vec[off]) for n, (off, _, _) in where.items()}

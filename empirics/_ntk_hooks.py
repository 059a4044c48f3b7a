r"""Structured empirical NTK of any torch model: layer hooks, per-layer rules, exact fallbacks.

One forward pass with module hooks records what every parametrized layer sees; K batched
backward passes (one per output, or per given cotangent) give the gradient of the outputs with
respect to each layer's output; the rules of :mod:`._ntk_rules` turn these into per-layer
features (:mod:`._ntk_features`). BackPACK and nngeometry work the same way for per-sample
gradients and Gram matrices; unlike them, nothing here is trusted unchecked:

* **Which parameters count.** Those with ``requires_grad=True`` (optionally a ``params=`` subset).
* **Exactness guard.** :func:`make_plan` runs a probe on 2 examples (in float64 when the
  model allows): the per-example gradient each rule gives for ``u·f(x_n)``, u a random
  cotangent, is compared with autograd on the *unmodified* model, one example alone at a time.
  A parameter used outside its layer's forward (``F.linear(x, self.lin.weight)``), an
  overridden layer, a wrong batch axis (sequence-first layers), a model that mixes examples, a
  rule bug — any mismatch sends that parameter to the whole-model torch.func fallback. Tied
  weights and modules called twice are exact by construction: their calls are summed.
* **Fallbacks.** A parametrized layer without a rule gets per-example gradients of its own
  parameters by ``vmap(vjp)`` of that layer alone (``"module torch.func"``); a parameter that
  failed the probe gets ``vmap(jacrev)`` of the whole model (``"model torch.func"``).

Internal API (used by ``empirical_ntk`` and by the path-kernel recorder)::

    plan = make_plan(model, x_probe, params=None, select_output=None)  # once per model
    fa = per_layer_features(model, x1, params_dict=theta_a, plan=plan)  # at any parameter values
    fb = per_layer_features(model, x2, params_dict=theta_b, plan=plan)
    k = cross_kernel(fa, fb, full=False)  # Σ_p ∂f(x1;θa)/∂p·∂f(x2;θb)/∂p: (N1, N2) | (N1, N2, O, O)
    g = per_example_gradients(model, x, params_dict=None, plan=plan)  # {name: (N, O, *shape)}
    select_parameters(model, params)       # {name: Parameter} that count (see _ntk_input)

``params_dict`` maps parameter names to values (missing ones: the model's own); the model's
weights are never changed (``torch.func.functional_call``; hooks still fire under it).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import torch
from torch import nn

from kernelcap.empirics import _ntk_mha
from kernelcap.empirics._ntk_features import Dense, Features, Part, cross_kernel
from kernelcap.empirics._ntk_func import func_context, jacobian_features, model_fn, module_gradients
from kernelcap.empirics._ntk_input import (
    as_batch,
    check_model,
    output_picker,
    select_parameters,
)
from kernelcap.empirics._ntk_rules import Unsupported, rule_for

__all__ = [
    "Plan",
    "make_plan",
    "per_layer_features",
    "per_example_gradients",
    "cross_kernel",
    "select_parameters",
]

PROBE_ROWS = 2
TOLERANCE = {torch.float64: 1e-9, torch.float32: 2e-3}


@dataclass(eq=False)
class Plan:
    """How each parameter's contribution is computed for one model (from :func:`make_plan`).

    Attributes:
        names: the parameters the kernel is over, in model order. shapes: their shapes.
        paths: {name: "layer rule" | "module torch.func" | "model torch.func"}.
        n_out: outputs per example O.
    """

    model: nn.Module
    names: tuple
    shapes: dict
    pick: object
    hooked: dict  # module -> (rule or None for the module fallback, {local: name})
    attention: dict  # MultiheadAttention -> {local: name}, written out while recording
    subtree: dict  # fallback module -> {local name: model name} of all its parameters
    canonical: dict  # every parameter name (aliases included) -> its first name
    fallback: tuple = ()
    n_out: int = 0
    paths: dict = field(default_factory=dict)

    def values(self, params_dict=None, dtype=None) -> dict:
        """{name: tensor} of all parameters (and buffers when casting) for functional_call."""
        vals = {n: p.detach() for n, p in self.model.named_parameters()}
        for k, v in (params_dict or {}).items():
            if k not in self.canonical:
                raise ValueError(f"params_dict: {k!r} is not a parameter of the model")
            name = self.canonical[k]
            if tuple(v.shape) != tuple(vals[name].shape):
                raise ValueError(
                    f"params_dict[{k!r}] has shape {tuple(v.shape)}, "
                    f"expected {tuple(vals[name].shape)}"
                )
            vals[name] = v.detach()
        if dtype is not None:
            vals = {k: v.to(dtype) if v.is_floating_point() else v for k, v in vals.items()}
            for k, b in self.model.named_buffers():
                vals[k] = b.to(dtype) if b.is_floating_point() else b
        for name in self.names:
            vals[name] = vals[name].detach().requires_grad_(True)
        return vals


@dataclass(eq=False)
class _Call:
    module: nn.Module
    rule: object
    names: dict
    saved: object
    z: torch.Tensor


class _Recorder:
    """Hooks (and written-out attention) that record layer calls while ``active``."""

    def __init__(self, plan: Plan):
        self.plan, self.active, self.clone = plan, False, False
        self.calls, self.failed, self.versions, self.handles = [], set(), [], []

    def __enter__(self):
        for m, (rule, names) in self.plan.hooked.items():
            hook = self._hook(rule, names)
            self.handles.append(m.register_forward_hook(hook, with_kwargs=True))
        self.patched = {}
        for m, names in self.plan.attention.items():
            self.patched[m] = m.__dict__.get("forward")
            m.forward = types.MethodType(self._attention(names, m.forward), m)
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        for m, previous in self.patched.items():
            if previous is None:
                m.__dict__.pop("forward", None)
            else:
                m.forward = previous

    def start(self, clone: bool):
        self.active, self.clone = True, clone
        self.calls, self.versions = [], []

    def _keep(self, t):
        if isinstance(t, torch.Tensor):
            self.versions.append((t, t._version))
            return t.detach().clone() if self.clone else t.detach()
        if isinstance(t, (tuple, list)):
            return type(t)(self._keep(s) for s in t)
        if isinstance(t, dict):
            return {k: self._keep(s) for k, s in t.items()}
        return t

    def _add(self, module, rule, names, saved, z):
        self.versions.append((z, z._version))
        self.calls.append(_Call(module, rule, names, self._keep(saved), z))
        return z.clone() if self.clone else None

    def _hook(self, rule, names):
        def hook(m, args, kwargs, out):
            if not self.active:
                return None
            if rule is None:  # module fallback: keep the call's inputs
                if not isinstance(out, torch.Tensor):
                    self.failed.update(names.values())
                    return None
                return self._add(m, None, names, (args, kwargs), out)
            try:
                saved, z = rule.capture(m, args, kwargs, out)
            except Unsupported:
                self.failed.update(names.values())
                return None
            return self._add(m, rule, names, saved, z)

        return hook

    def _attention(self, names, original):
        def forward(m, *args, **kwargs):
            if self.active:
                res = _ntk_mha.attention_forward(m, self._record(m, names), *args, **kwargs)
                if res is not None:
                    return res
            return original(*args, **kwargs)

        return forward

    def _record(self, m, names):
        def record(z, saved):
            self.versions.append((z, z._version))
            self.calls.append(_Call(m, _ntk_mha.PROJECTION, names, self._keep(saved), z))

        return record

    def unchanged(self) -> bool:
        return all(t._version == v for t, v in self.versions)


def make_plan(model: nn.Module, x, params=None, select_output=None) -> Plan:
    """Decide, once per model, how each parameter's per-example gradient is computed.

    Args:
        model: any ``torch.nn.Module`` in eval mode. x: (N, ...) example inputs; the first
            ``PROBE_ROWS`` rows are the probe. params, select_output: as in ``empirical_ntk``.
    """
    check_model(model)
    selected = select_parameters(model, params)
    first = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        first.setdefault(id(p), name)
    canonical = {n: first[id(p)] for n, p in model.named_parameters(remove_duplicate=False)}
    p0 = next(iter(selected.values()))
    x = as_batch(x[:PROBE_ROWS] if hasattr(x, "__getitem__") else x, "x", p0.dtype, p0.device)
    if x.shape[0] == 1:  # two rows (with different cotangents) show a wrong batch axis
        x = torch.cat([x, x])
    hooked, attention, subtree = {}, {}, {}
    for _, m in model.named_modules():
        own = {k: first[id(p)] for k, p in m.named_parameters(recurse=False)}
        own = {k: n for k, n in own.items() if n in selected}
        if not own:
            continue
        if isinstance(m, nn.MultiheadAttention) and _ntk_mha.supported(m):
            attention[m] = own
            continue
        rule = rule_for(m)
        hooked[m] = (rule, own)
        if rule is None:
            subtree[m] = {k: first[id(p)] for k, p in m.named_parameters(remove_duplicate=False)}
    plan = Plan(
        model,
        tuple(selected),
        {n: p.shape for n, p in selected.items()},
        output_picker(select_output),
        hooked,
        attention,
        subtree,
        canonical,
    )
    failed = _probe(plan, x)
    plan.fallback = tuple(n for n in plan.names if n in failed)
    for table in (plan.hooked, plan.attention):  # probe-failed parameters leave the hooks
        for m in list(table):
            entry = table[m]
            own = entry[1] if isinstance(entry, tuple) else entry
            keep = {k: n for k, n in own.items() if n not in failed}
            if not keep:
                del table[m]
            else:
                table[m] = (entry[0], keep) if isinstance(entry, tuple) else keep
    fallback_modules = {n for m, (r, own) in hooked.items() if r is None for n in own.values()}
    plan.paths = {
        n: "model torch.func"
        if n in failed
        else ("module torch.func" if n in fallback_modules else "layer rule")
        for n in plan.names
    }
    return plan


def _probe(plan: Plan, x) -> set:
    """Names whose recorded per-example gradients differ from autograd's (see module docstring).

    With random cotangents u and example weights w (generic, so no mismatch can cancel), the
    rules' Σ_n w_n ∂(u_n·f(x_n))/∂θ must equal autograd's on each example run alone: a wrong
    attribution of positions to examples, a use the hooks did not see, or examples that interact
    all change it."""
    n = x.shape[0]
    f = model_fn(plan.model, plan.pick)
    gen = torch.Generator().manual_seed(0)
    drawn = {}

    def cotangent(out):  # u, drawn once the number of outputs is known
        u = torch.randn(1, n, out.shape[1], generator=gen, dtype=torch.float64)
        drawn["u"] = u.to(out.device, out.dtype)
        return drawn["u"]

    for dtype in (torch.float64, None):  # float64 unless the model insists on its own dtype
        vals = plan.values(dtype=dtype)
        xp = x.double() if dtype is not None and x.is_floating_point() else x
        try:
            feats, failed = _features(plan, xp, vals, cotangent, whole_model=False, strict=False)
            break
        except (RuntimeError, TypeError):
            if dtype is None:
                raise
    some = vals[plan.names[0]]
    tol = TOLERANCE.get(some.dtype, 5e-2)
    u = drawn["u"]
    plan.n_out = u.shape[2]
    w = torch.randn(n, generator=gen, dtype=torch.float64).to(some.device, some.dtype)
    try:  # Σ_n w_n ∂(u_n·f(x_n))/∂θ as the rules attribute the batch to examples ...
        got = feats.weighted_sum(w)
    except (RuntimeError, Unsupported):
        return set(plan.names)
    leaves = [vals[k] for k in plan.names]
    with func_context():  # ... and by autograd, each example alone
        loss = sum(w[r] * (f(vals, xp[r : r + 1]) * u[0, r]).sum() for r in range(n))
        want = torch.autograd.grad(loss, leaves, allow_unused=True)
    want = [torch.zeros_like(v) if g is None else g for v, g in zip(leaves, want)]
    norms = [
        (float(a.norm()), float(b.norm())) for a, b in zip((got[k][0] for k in plan.names), want)
    ]
    floor = tol * 1e-6 * max(max(pair) for pair in norms)
    for k, b, (na, nb) in zip(plan.names, want, norms):
        if float((got[k][0] - b).norm()) > tol * max(na, nb) + floor:
            failed.add(k)
    return failed


def _features(plan, x, vals, cotangents=None, whole_model=True, strict=True):
    with func_context():  # once: the nested blocks below then cost nothing
        return _traced(plan, x, vals, cotangents, whole_model, strict)


def _traced(plan, x, vals, cotangents, whole_model, strict):
    n = x.shape[0]
    f = model_fn(plan.model, plan.pick)
    with _Recorder(plan) as rec:
        for clone in (False, True):
            rec.start(clone)
            out = f(vals, x)
            rec.active = False
            if rec.unchanged():
                break
    calls, failed = rec.calls, set(rec.failed)
    if callable(cotangents):
        cotangents = cotangents(out)
    k = out.shape[1] if cotangents is None else cotangents.shape[0]
    grads = _output_gradients(out, [c.z for c in calls], cotangents)
    uses = []
    for call, g in zip(calls, grads):
        try:
            uses += _call_uses(plan, call, g, vals, n)
        except (Unsupported, RuntimeError, ValueError) as err:
            if strict:
                raise RuntimeError(
                    f"layer {type(call.module).__name__} could not be expressed for a batch of "
                    f"{n} although it passed the probe ({err}); use method='jacobian'"
                ) from err
            failed.update(call.names.values())
    if whole_model and plan.fallback:
        with func_context():
            jac = jacobian_features(f, vals, plan.fallback, x, cotangents)
        uses += [Dense(Part(name, tuple(plan.shapes[name])), jac[name]) for name in plan.fallback]
    skip = set() if strict else failed
    uses = [u for u in uses if not any(p.name in skip for p in u.parts)]
    some = vals[plan.names[0]]
    shapes = {name: tuple(plan.shapes[name]) for name in plan.names}
    return Features(n, k, uses, shapes, some.dtype, some.device), failed


def _output_gradients(out, zs, cotangents):
    """[(K, *z.shape)] gradients of each output direction with respect to each recorded z."""
    k = out.shape[1] if cotangents is None else cotangents.shape[0]
    live = [i for i, z in enumerate(zs) if z.requires_grad] if out.requires_grad else []
    per_z = [[None] * k for _ in zs]
    with func_context():
        for d in range(k if live else 0):
            if cotangents is None:
                ct = torch.zeros_like(out)
                ct[:, d] = 1
            else:
                ct = cotangents[d]
            gs = torch.autograd.grad(
                out, [zs[i] for i in live], ct, retain_graph=d < k - 1, allow_unused=True
            )
            for i, g in zip(live, gs):
                per_z[i][d] = g
    res = []
    for z, gs in zip(zs, per_z):
        gs = [torch.zeros_like(z) if g is None else g for g in gs]
        res.append(gs[0].unsqueeze(0) if k == 1 else torch.stack(gs))
    return res


def _call_uses(plan, call, g, vals, n):
    if call.rule is not None:
        return call.rule.uses(call.module, call.saved, g, n, call.names)
    if call.z.ndim == 0 or call.z.shape[0] != n:
        raise Unsupported(f"output {tuple(call.z.shape)} has no batch axis of {n}")
    sub = {local: vals[name] for local, name in plan.subtree[call.module].items()}
    own = {local: name for local, name in call.names.items()}
    args, kwargs = call.saved
    with func_context():
        grads = module_gradients(call.module, sub, own, args, kwargs, g, n)
    return [Dense(Part(name, tuple(plan.shapes[name])), grads[name]) for name in own.values()]


def per_layer_features(model, x, params_dict=None, *, plan=None, params=None, select_output=None):
    """Features of the batch ``x`` (N, ...) at parameter values ``params_dict`` (see module doc).

    ``plan`` (from :func:`make_plan`) is made from ``x`` when not given."""
    plan = plan if plan is not None else make_plan(model, x, params, select_output)
    p0 = dict(plan.model.named_parameters())[plan.names[0]]
    return batch_features(plan, as_batch(x, "x", p0.dtype, p0.device), params_dict)


def batch_features(plan: Plan, x: torch.Tensor, params_dict=None, cotangents=None) -> Features:
    """:func:`per_layer_features` for an already validated batch (no copy, no checks).

    ``cotangents`` (K, N, O): features of the K directions Σ_o cotangents[k, n, o] f_o(x_n)
    instead of the O outputs (one backward per direction)."""
    return _features(plan, x, plan.values(params_dict), cotangents)[0]


def per_example_gradients(
    model, x, params_dict=None, *, plan=None, params=None, select_output=None
):
    """{name: (N, O, *param.shape)} per-example gradients ∂f_o(x_n)/∂θ at ``params_dict``."""
    feats = per_layer_features(
        model, x, params_dict, plan=plan, params=params, select_output=select_output
    )
    return feats.per_example()

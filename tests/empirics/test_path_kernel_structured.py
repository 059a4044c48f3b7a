"""The recorder's structured per-layer path against its torch.func path and the trained net.

Each case trains the same model twice from the same initialisation on the same minibatches, once
recorded with ``method="structured"`` (hooks, Gram identities; plain SGD through the cross kernel
along a_i, with no per-example gradients) and once with ``method="jacobian"`` (torch.func
per-example Jacobians). Recording does not change training, so the two runs end at bitwise equal
weights — the same run — and every recorded term must agree to float64 rounding, and both must
rebuild the trained net. The zoo covers layer rules, per-module fallbacks (a parameter outside any
layer, an overridden forward), frozen and gradient-less parameters; the optimizers SGD (plain,
param groups with decay, nesterov, dampened momentum with decay), Adam (amsgrad, coupled decay)
and AdamW, also under lr schedulers. A weight used outside its layer fails the probe: ``auto``
then records with torch.func.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kernelcap.empirics.path_kernel import PathKernelRecorder

N, NT, STEPS, BATCH = 10, 4, 4, 4


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _floats(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _vectors(n, seed=0):
    return _floats(n, 5, seed=seed)


def _tokens(n, seed=0):
    return torch.randint(1, 11, (n, 3), generator=torch.Generator().manual_seed(seed))


def _mlp(act, out, frozen=False):
    m = nn.Sequential(nn.Linear(5, 12), act(), nn.Linear(12, 12), act(), nn.Linear(12, out))
    if frozen:
        m[0].requires_grad_(False)
    return m


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, stride=2, groups=2)
        self.gn, self.head = nn.GroupNorm(2, 4), nn.Linear(4, 2)

    def forward(self, x):
        h = torch.tanh(self.c1(x.view(-1, 1, 5, 5)))
        return self.head(F.silu(self.gn(self.c2(h))).mean((2, 3)))


class EmbedPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.head = nn.Embedding(11, 6, padding_idx=0), nn.Linear(6, 2)

    def forward(self, ids):
        return self.head(torch.tanh(self.emb(ids).mean(1)))


class Residual(nn.Module):
    """Pre-norm residual block, one Linear applied twice, and a layer with no rule."""

    def __init__(self):
        super().__init__()
        self.inp, self.norm, self.up = nn.Linear(5, 6), nn.LayerNorm(6), nn.Linear(6, 6)
        self.s = nn.Parameter(torch.linspace(0.5, 1.5, 6))
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        h = self.inp(x)
        h = h + self.up(F.gelu(self.up(self.norm(h)))) * self.s
        return self.head(torch.tanh(h))


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, ids):
        h = self.emb(ids)
        return self.head(self.attn(h, h, h, need_weights=False)[0].mean(1))


class UnusedHead(nn.Module):
    """A trainable layer outside the forward: no .grad, so the optimizer skips it every step."""

    def __init__(self):
        super().__init__()
        self.body, self.unused = _mlp(nn.Tanh, 2), nn.Linear(5, 2)

    def forward(self, x):
        return self.body(x)


class DoubledLinear(nn.Linear):
    """A Linear whose forward is overridden: the layer rule does not apply to it."""

    def forward(self, x):
        return F.linear(x, 2 * self.weight, self.bias)


class RawWeight(nn.Module):
    """A weight used outside its layer: the probe sends it to the whole-model torch.func path."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(5, 7), nn.Linear(7, 2)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)) + 0.3 * torch.tanh(F.linear(x, self.a.weight)))


def _mse(out, y):
    return 0.5 * (out - y).square().flatten(1).sum(1)


def _ce(out, y):
    return F.cross_entropy(out, y, reduction="none")


# name -> (model builder, input maker (n, seed), loss, target maker (n))
ZOO = {
    "mlp-tanh-1-output": (lambda: _mlp(nn.Tanh, 1), _vectors, _mse, lambda n: _floats(n, 1)),
    "mlp-gelu-ce": (lambda: _mlp(nn.GELU, 3), _vectors, _ce, lambda n: torch.arange(n) % 3),
    "mlp-frozen-first": (lambda: _mlp(nn.Tanh, 2, frozen=True), _vectors, _mse, None),
    "cnn-groupnorm": (ConvNet, lambda n, seed=0: _floats(n, 25, seed=seed), _mse, None),
    "embedding": (EmbedPool, _tokens, _mse, None),
    "residual-layernorm-custom": (Residual, _vectors, _mse, None),
    "attention": (Attention, _tokens, _mse, None),
    "unused-head": (UnusedHead, _vectors, _mse, None),
}


def _split_groups(params, **first):
    params = list(params)
    return [{"params": params[: len(params) // 2], **first}, {"params": params[len(params) // 2 :]}]


OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.2),
    "sgd-groups-decay": lambda p: torch.optim.SGD(
        _split_groups(p, lr=0.05, weight_decay=0.3), lr=0.2, weight_decay=0.1
    ),
    "nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "momentum-dampening-decay": lambda p: torch.optim.SGD(
        p, lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.05
    ),
    "adam-amsgrad-decay": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1, amsgrad=True),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.5),
}


def _run(name, opt_name, method, dtype=torch.float64, sched=None, **kw):
    build, inputs, loss, targets = ZOO[name]
    torch.manual_seed(0)
    model = build().to(dtype)
    x, xt = inputs(N), inputs(NT, seed=9)
    x, xt = (x.to(dtype), xt.to(dtype)) if x.is_floating_point() else (x, xt)
    y = _floats(N, 2, seed=3, dtype=dtype) if targets is None else targets(N)
    y = y.to(dtype) if y.is_floating_point() else y
    opt = OPTIMIZERS[opt_name]([p for p in model.parameters() if p.requires_grad])
    rec = PathKernelRecorder(model, opt, xt, loss_fn=loss, n_train=N, method=method, **kw)
    sched = None if sched is None else sched(opt)
    g = torch.Generator().manual_seed(1)
    for _ in range(STEPS):
        idx = torch.randperm(N, generator=g)[:BATCH]
        opt.zero_grad()
        loss(model(x[idx]), y[idx]).mean().backward()
        rec.step(x[idx], y[idx], idx)
        if sched is not None:
            sched.step()
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return rec, weights


@pytest.mark.parametrize("opt_name", OPTIMIZERS)
@pytest.mark.parametrize("name", ZOO)
def test_structured_equals_torch_func_and_rebuilds_the_net(name, opt_name):
    rec, w = _run(name, opt_name, "structured", quad_nodes=6)  # 3 nodes: ≤ 1.4e-6 here
    ref, w_ref = _run(name, opt_name, "jacobian", quad_nodes=6)
    _assert_same_run(rec, ref, w, w_ref)
    assert rec._sgd_kernel == (opt_name in ("sgd", "sgd-groups-decay"))
    km = rec.kernel_machine()
    assert km.relative_error < 1e-11, km
    assert km.grad_mismatch < 1e-14 and km.update_mismatch < 1e-9  # Adam: ~1e-10 (tiny v)
    decays = opt_name in ("sgd-groups-decay", "adamw", "momentum-dampening-decay")
    assert (np.abs(km.weight_decay).max() > 1e-6) == (decays or opt_name == "adam-amsgrad-decay")


def _assert_same_run(rec, ref, w, w_ref):
    """The structured and the torch.func recorder of one training run record the same terms."""
    assert torch.equal(w, w_ref)  # the same training run
    assert rec._path is not None and ref._path is None
    for form in ("exact", "first_order"):
        a, b = rec.kernel_machine(form), ref.kernel_machine(form)
        scale = np.abs(a.f_trained - a.f0).max()
        for field in ("contributions", "weight_decay", "rounding", "reconstruction"):
            np.testing.assert_allclose(
                getattr(a, field), getattr(b, field), rtol=0, atol=1e-13 * scale, err_msg=field
            )


SCHEDULERS = {
    "lambda": lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 / (1 + s)),
    "step": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
}


@pytest.mark.parametrize("sched", SCHEDULERS)
@pytest.mark.parametrize("opt_name", ["sgd-groups-decay", "nesterov", "adamw"])
@pytest.mark.parametrize("name", ["mlp-gelu-ce", "cnn-groupnorm"])
def test_structured_equals_torch_func_under_lr_schedulers(name, opt_name, sched):
    rec, w = _run(name, opt_name, "structured", sched=SCHEDULERS[sched])
    ref, w_ref = _run(name, opt_name, "jacobian", sched=SCHEDULERS[sched])
    _assert_same_run(rec, ref, w, w_ref)
    assert rec.kernel_machine().relative_error < 1e-5  # 3 nodes


def test_auto_takes_the_structured_path_where_every_layer_has_a_rule():
    rec, _ = _run("mlp-tanh-1-output", "sgd", "auto")
    assert rec._path is not None and rec._sgd_kernel
    rec, _ = _run("residual-layernorm-custom", "adamw", "auto")
    assert rec._path is not None and not rec._sgd_kernel
    assert set(rec._path.paths.values()) == {"layer rule", "module torch.func"}


def test_auto_applies_many_output_features_by_jvp_and_stays_exact(monkeypatch):
    """Adam on a 31-logit net (the grokking case): ``auto`` keeps the structured batch features
    but applies the test features by forward-mode products over the n_train moment rows (no
    (n_test·O, P) array; 5x faster on the grokking MLP), the same numbers as torch.func."""
    calls = []
    orig = PathKernelRecorder._jvp_cheaper
    monkeypatch.setattr(
        PathKernelRecorder, "_jvp_cheaper", lambda self, k: calls.append(orig(self, k)) or calls[-1]
    )
    torch.manual_seed(0)
    model = _mlp(nn.Tanh, 31).double()
    x, xt, y = _vectors(40), _vectors(3, seed=9), torch.randint(0, 31, (40,))

    def loss(out, t):
        return F.cross_entropy(out, t, reduction="none")

    recs = []
    for method in ("auto", "jacobian"):
        torch.manual_seed(1)
        m = _mlp(nn.Tanh, 31).double()
        m.load_state_dict(model.state_dict())
        opt = torch.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.5)
        rec = PathKernelRecorder(m, opt, xt, loss_fn=loss, method=method, quad_nodes=6)
        for _ in range(STEPS):
            opt.zero_grad()
            loss(m(x), y).mean().backward()
            rec.step(x, y)
        recs.append(rec)
    assert recs[0]._path is not None and calls and all(calls)  # structured batch, jvp segment
    a, b = (r.kernel_machine() for r in recs)
    scale = np.abs(a.f_trained - a.f0).max()
    np.testing.assert_allclose(a.contributions, b.contributions, rtol=0, atol=1e-12 * scale)
    assert a.relative_error < 1e-10, a


@pytest.mark.parametrize("opt_name", ["sgd", "adamw"])
def test_layer_without_a_rule_gets_its_exact_per_module_fallback(opt_name):
    """An overridden forward has no layer rule: its parameters take vmap(vjp) of that layer
    alone, which keeps ``auto`` on the structured path and its terms those of torch.func."""
    ZOO["no-rule"] = (
        lambda: nn.Sequential(DoubledLinear(5, 7), nn.Tanh(), nn.Linear(7, 2)),
        _vectors,
        _mse,
        None,
    )
    try:
        rec, w = _run("no-rule", opt_name, "auto")
        ref, w_ref = _run("no-rule", opt_name, "jacobian")
    finally:
        del ZOO["no-rule"]
    assert rec._path.paths == {
        "0.weight": "module torch.func",
        "0.bias": "module torch.func",
        "2.weight": "layer rule",
        "2.bias": "layer rule",
    }
    _assert_same_run(rec, ref, w, w_ref)


def test_weight_outside_its_layer_auto_uses_torch_func_and_structured_stays_exact():
    ZOO["raw-weight"] = (RawWeight, _vectors, _mse, None)
    try:
        auto, w = _run("raw-weight", "sgd", "auto")
        forced, w_forced = _run("raw-weight", "sgd", "structured")
    finally:
        del ZOO["raw-weight"]
    assert auto._path is None and forced._path.paths["a.weight"] == "model torch.func"
    assert torch.equal(w, w_forced)
    a, b = forced.kernel_machine(), auto.kernel_machine()
    np.testing.assert_allclose(a.contributions, b.contributions, rtol=0, atol=1e-13)
    assert a.relative_error < 1e-8


@pytest.mark.parametrize("opt_name", ["sgd", "adamw"])
def test_float32_paths_agree_to_float32_precision(opt_name):
    rec, _ = _run("mlp-gelu-ce", opt_name, "structured", dtype=torch.float32)
    ref, _ = _run("mlp-gelu-ce", opt_name, "jacobian", dtype=torch.float32)
    a, b = rec.kernel_machine(), ref.kernel_machine()
    assert a.contributions.dtype == np.float32
    scale = np.abs(a.f_trained - a.f0).max()
    np.testing.assert_allclose(a.contributions, b.contributions, rtol=0, atol=1e-5 * scale)
    assert a.relative_error < 1e-4


def test_first_order_only_and_exact_only():
    for kw in (dict(quad_nodes=0), dict(first_order=False)):
        rec, _ = _run("mlp-tanh-1-output", "sgd", "structured", **kw)
        ref, _ = _run("mlp-tanh-1-output", "sgd", "jacobian", **kw)
        form = "first_order" if kw.get("quad_nodes") == 0 else "exact"
        np.testing.assert_allclose(
            rec.kernel_machine(form).contributions,
            ref.kernel_machine(form).contributions,
            rtol=0,
            atol=1e-14,
        )


@pytest.mark.parametrize("name", ["mlp-gelu-ce", "cnn-groupnorm", "attention", "raw-weight"])
def test_cross_kernel_along_cotangents_is_the_full_kernel_contracted(name):
    """K(x, x_i) a_i from batch features seeded with a_i (one backward) equals the full
    (O × O) cross kernel contracted with a_i, layer rules and whole-model fallback alike."""
    from kernelcap.empirics._ntk_features import cross_kernel
    from kernelcap.empirics._ntk_hooks import batch_features, make_plan

    build, inputs, _, _ = {**ZOO, "raw-weight": (RawWeight, _vectors, None, None)}[name]
    torch.manual_seed(0)
    model = build().double()
    x, xt = inputs(N), inputs(NT, seed=9)
    x, xt = (x.double(), xt.double()) if x.is_floating_point() else (x, xt)
    plan = make_plan(model, xt)
    theta = {n: p.detach() + 0.01 for n, p in model.named_parameters()}  # another θ for the test
    a = _floats(1, N, plan.n_out, seed=5)
    fa = batch_features(plan, xt, theta)
    got = cross_kernel(fa, batch_features(plan, x, cotangents=a), full=True)
    full = cross_kernel(fa, batch_features(plan, x), full=True)
    assert got.shape == (NT, N, plan.n_out, 1)
    want = torch.einsum("nmoq,mq->nmo", full, a[0])
    torch.testing.assert_close(got[..., 0], want, rtol=1e-12, atol=1e-12)


def test_combined_nodes_equal_their_dense_sum_and_misaligned_nodes_fall_back_to_it():
    """Σ_q w_q F_q kept low-rank (positions side by side) is the weighted sum of the nodes'
    per-example gradients; feature sets with different layer calls are refused by combine."""
    from kernelcap.empirics._ntk_features import cross_kernel
    from kernelcap.empirics._ntk_hooks import batch_features, make_plan
    from kernelcap.empirics._path_kernel_layers import Unaligned, combine, summed_dense

    torch.manual_seed(0)
    model = Residual().double()
    x, xt = _vectors(N), _vectors(NT, seed=9)
    plan = make_plan(model, xt)
    thetas = [{n: p.detach() + 0.05 * q for n, p in model.named_parameters()} for q in range(3)]
    feats = [batch_features(plan, xt, th) for th in thetas]
    w = [0.3, 0.5, 0.2]
    fb = batch_features(plan, x)
    got = cross_kernel(combine(feats, w), fb, full=True)
    want = cross_kernel(summed_dense(feats, w), fb, full=True)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    with pytest.raises(Unaligned):
        combine([feats[0], batch_features(make_plan(_mlp(nn.Tanh, 2).double(), xt), xt)], [1, 1])

"""Every NTK method against an independent vmap(jacrev) reference on a zoo of architectures.

The reference is written here, not imported: per-example Jacobians of the model called on one
example at a time, over the parameters with requires_grad=True, contracted with einsum. A method
either matches it (float64: 1e-10 relative; float32: 1e-4) or raises; it never returns a
different kernel.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jacrev, vmap

from kernelcap.empirics.kernels import NTKLinear, empirical_ntk, ntk_paths

METHODS = ("auto", "structured", "jacobian", "ntvp")


@pytest.fixture(autouse=True)
def layer_rules_at_any_size(monkeypatch):
    """The zoo is tiny, and "auto" computes tiny kernels with torch.func; these tests are about
    the layer rules and their fallbacks, so "auto" takes them here at every size."""
    import kernelcap.empirics.kernels as kernels

    monkeypatch.setattr(kernels, "SMALL_PROBLEM", -1)


def reference_ntk(model, x1, x2=None, full=False, pick=None):
    """Σ_θ J(x1) J(x2)ᵀ over trainable θ, Jacobians of f(x_n) computed one example at a time."""
    x2 = x1 if x2 is None else x2
    train = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}

    def f(p, xi):
        out = functional_call(model, {**frozen, **p}, (xi[None],))
        return (out if pick is None else pick(out)).reshape(-1)

    def jac(x):
        j = vmap(jacrev(f), in_dims=(None, 0))(train, x)
        return torch.cat([v.reshape(x.shape[0], v.shape[1], -1) for v in j.values()], -1)

    j1, j2 = jac(x1), jac(x2)
    return torch.einsum("nop,mqp->nmoq" if full else "nop,mop->nm", j1, j2)


def _g(seed):
    return torch.Generator().manual_seed(seed)


def _floats(*shape, seed=0):
    return torch.randn(*shape, generator=_g(seed), dtype=torch.float64)


def _tokens(n, t, vocab, seed=0):
    return torch.randint(0, vocab, (n, t), generator=_g(seed))


class Residual(nn.Module):
    """Pre-norm residual MLP block with a scalar-output head."""

    def __init__(self, d=6, h=12):
        super().__init__()
        self.inp, self.norm = nn.Linear(5, d), nn.LayerNorm(d)
        self.up, self.down, self.head = nn.Linear(d, h), nn.Linear(h, d), nn.Linear(d, 2)

    def forward(self, x):
        h = self.inp(x)
        h = h + self.down(F.gelu(self.up(self.norm(h))))
        return self.head(h)


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.c2 = nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=2)
        self.gn = nn.GroupNorm(2, 6)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        h = F.relu(self.bn(self.c1(x)))
        h = F.silu(self.gn(self.c2(h)))
        return self.head(h.mean((2, 3)))


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv1d(4, 6, 3, dilation=2, padding="same", padding_mode="reflect")
        self.head = nn.Linear(6, 1)

    def forward(self, x):
        return self.head(torch.tanh(self.c(x)).mean(-1))


class EmbedPool(nn.Module):
    def __init__(self, vocab=11, d=6):
        super().__init__()
        self.emb, self.head = nn.Embedding(vocab, d, padding_idx=0), nn.Linear(d, 2)

    def forward(self, ids):
        return self.head(torch.tanh(self.emb(ids).mean(1)))


class Transformer(nn.Module):
    def __init__(self, d=8, batch_first=True):
        super().__init__()
        self.bf = batch_first
        self.emb = nn.Embedding(13, d)
        self.layer = nn.TransformerEncoderLayer(
            d, 2, 16, dropout=0.0, batch_first=batch_first, activation="gelu"
        )
        self.head = nn.Linear(d, 2)

    def forward(self, ids):
        h = self.emb(ids)
        h = self.layer(h if self.bf else h.transpose(0, 1))
        h = h if self.bf else h.transpose(0, 1)
        return self.head(h.mean(1))


class CrossAttention(nn.Module):
    """Query from one projection, keys/values of another width (separate projection weights)."""

    def __init__(self):
        super().__init__()
        self.q, self.kv = nn.Linear(5, 8), nn.Linear(5, 6)
        self.attn = nn.MultiheadAttention(8, 2, kdim=6, vdim=6, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        q, kv = self.q(x), torch.tanh(self.kv(x))
        out, _ = self.attn(q, kv, kv)
        return self.head(out.mean(1))


class TiedLM(nn.Module):
    """Output head tied to the embedding (different layer types share one Parameter)."""

    def __init__(self, vocab=9, d=6):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.mix = nn.Linear(d, d)
        self.out = nn.Linear(d, vocab, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, ids):
        return self.out(torch.tanh(self.mix(self.emb(ids).mean(1))))


class Twice(nn.Module):
    """One Linear applied twice (its calls' contributions have cross terms)."""

    def __init__(self):
        super().__init__()
        self.inp, self.lin, self.head = nn.Linear(5, 7), nn.Linear(7, 7), nn.Linear(7, 2)

    def forward(self, x):
        h = torch.tanh(self.inp(x))
        return self.head(self.lin(torch.tanh(self.lin(h))))


class RawWeight(nn.Module):
    """A layer's weight used outside its own forward: hooks cannot see that use."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(5, 7), nn.Linear(7, 2)

    def forward(self, x):
        h = torch.tanh(self.a(x)) + 0.3 * torch.tanh(F.linear(x, self.a.weight))
        return self.b(h)


class Scale(nn.Module):
    """A parametrized layer with no rule (torch.func for this layer alone)."""

    def __init__(self, d):
        super().__init__()
        self.s = nn.Parameter(torch.linspace(0.5, 1.5, d))

    def forward(self, x):
        return x * self.s + torch.sin(x) * self.s**2


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(5, 6), nn.Linear(6, 2)

    def forward(self, x):
        h = torch.relu(self.a(x))
        return {"logits": self.b(h), "hidden": h}


def _mlp(*layers):
    return nn.Sequential(*layers)


def _frozen(model, index):
    for p in model[index].parameters():
        p.requires_grad_(False)
    return model


# name -> (builder, input maker (n, seed) -> x, select_output)
ZOO = {
    "mlp-sigmoid-head": (
        lambda: _mlp(
            nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 16), nn.Linear(16, 3), nn.Sigmoid()
        ),
        lambda n, s: _floats(n, 5, seed=s),
        None,
    ),
    "mlp-frozen-first": (
        lambda: _frozen(
            _mlp(nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 12), nn.Tanh(), nn.Linear(12, 1)), 0
        ),
        lambda n, s: _floats(n, 5, seed=s),
        None,
    ),
    "mlp-frozen-last": (
        lambda: _frozen(_mlp(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 2)), 2),
        lambda n, s: _floats(n, 5, seed=s),
        None,
    ),
    "mlp-gelu-tanh-silu": (
        lambda: _mlp(
            nn.Linear(5, 10),
            nn.GELU(),
            nn.Linear(10, 10),
            nn.Tanh(),
            nn.Linear(10, 10),
            nn.SiLU(),
            nn.Linear(10, 2),
        ),
        lambda n, s: _floats(n, 5, seed=s),
        None,
    ),
    "ntk-mlp": (
        lambda: _mlp(NTKLinear(5, 12, 1.4, 0.3), nn.ReLU(), NTKLinear(12, 2, 1.4, 0.3, scale=0.5)),
        lambda n, s: _floats(n, 5, seed=s),
        None,
    ),
    "cnn-bn-groupnorm": (ConvBN, lambda n, s: _floats(n, 3, 6, 6, seed=s), None),
    "conv1d-dilated": (Conv1dNet, lambda n, s: _floats(n, 4, 9, seed=s), None),
    "residual-layernorm": (Residual, lambda n, s: _floats(n, 5, seed=s), None),
    "embedding-pool": (EmbedPool, lambda n, s: _tokens(n, 4, 11, seed=s), None),
    "transformer": (Transformer, lambda n, s: _tokens(n, 5, 13, seed=s), None),
    "cross-attention": (CrossAttention, lambda n, s: _floats(n, 4, 5, seed=s), None),
    "tied-embedding-head": (TiedLM, lambda n, s: _tokens(n, 3, 9, seed=s), None),
    "linear-applied-twice": (Twice, lambda n, s: _floats(n, 5, seed=s), None),
    "weight-used-outside": (RawWeight, lambda n, s: _floats(n, 5, seed=s), None),
    "unknown-layer": (
        lambda: _mlp(nn.Linear(5, 6), Scale(6), nn.Linear(6, 1)),
        lambda n, s: _floats(n, 5, seed=s),
        None,
    ),
    "dict-output": (TupleOut, lambda n, s: _floats(n, 5, seed=s), "logits"),
}


def build(name, dtype=torch.float64):
    torch.manual_seed(0)
    make, data, select = ZOO[name]
    model = make().to(dtype).eval()
    for m in model.modules():  # non-trivial running statistics
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x1, x2 = data(5, 1), data(4, 2)
    if x1.is_floating_point():
        x1, x2 = x1.to(dtype), x2.to(dtype)
    pick = None if select is None else (lambda out: out[select])
    return model, x1, x2, select, pick


def rel_err(k, ref):
    return float((k - ref).abs().max() / ref.abs().max())


@pytest.mark.parametrize("name", list(ZOO))
def test_every_method_matches_reference_float64(name):
    model, x1, x2, select, pick = build(name)
    ref = reference_ntk(model, x1, x2, pick=pick)
    for method in METHODS:
        try:
            k = empirical_ntk(model, x1, x2, method=method, select_output=select)
        except (ValueError, RuntimeError) as err:  # a method may refuse, naming why
            assert method in ("structured", "ntvp"), f"{method} refused {name}: {err}"
            assert "method=" in str(err)
            continue
        assert k.dtype == torch.float64 and k.shape == ref.shape
        assert rel_err(k, ref) < 1e-10, (method, rel_err(k, ref))


FULL = [
    "mlp-sigmoid-head",
    "cnn-bn-groupnorm",
    "transformer",
    "tied-embedding-head",
    "unknown-layer",
]


@pytest.mark.parametrize("name", FULL)
def test_full_outputs_match_reference(name):
    model, x1, x2, select, pick = build(name)
    ref = reference_ntk(model, x1, x2, full=True, pick=pick)
    for method in ("auto", "jacobian"):
        k = empirical_ntk(model, x1, x2, method=method, outputs="full", select_output=select)
        assert k.shape == ref.shape and rel_err(k, ref) < 1e-10, method


@pytest.mark.parametrize(
    "name", ["mlp-sigmoid-head", "cnn-bn-groupnorm", "transformer", "residual-layernorm"]
)
def test_float32_matches_reference(name):
    model, x1, x2, select, pick = build(name, torch.float32)
    ref = reference_ntk(
        model.double(),
        x1.double() if x1.is_floating_point() else x1,
        x2.double() if x2.is_floating_point() else x2,
        pick=pick,
    )
    model.float()
    for method in ("auto", "jacobian"):
        k = empirical_ntk(model, x1, x2, method=method, select_output=select)
        assert k.dtype == torch.float32 and rel_err(k.double(), ref) < 1e-4, method


def test_paths_say_which_parameters_fall_back():
    paths = ntk_paths(*build("transformer")[:2])
    assert set(paths.values()) == {"layer rule"}  # attention's packed in_proj included
    paths = ntk_paths(*build("weight-used-outside")[:2])
    assert paths["a.weight"] == "model torch.func" and paths["a.bias"] == "layer rule"
    assert paths["b.weight"] == "layer rule"
    paths = ntk_paths(*build("unknown-layer")[:2])
    assert paths["1.s"] == "module torch.func" and paths["0.weight"] == "layer rule"
    model, x1, x2, _, _ = build("weight-used-outside")
    with pytest.raises(ValueError, match="a.weight"):
        empirical_ntk(model, x1, method="structured")


def test_sequence_first_transformer_is_exact():
    model = Transformer(batch_first=False).double().eval()
    x1, x2 = _tokens(5, 5, 13, 1), _tokens(4, 5, 13, 2)
    ref = reference_ntk(model, x1, x2)
    assert rel_err(empirical_ntk(model, x1, x2), ref) < 1e-10


@pytest.mark.parametrize("name", ["cnn-bn-groupnorm", "transformer", "tied-embedding-head"])
def test_symmetric_psd_and_blocks_consistent(name):
    model, x1, x2, select, _ = build(name)
    xx = torch.cat([x1, x2])
    k = empirical_ntk(model, xx, select_output=select)
    assert torch.allclose(k, k.T, rtol=0, atol=1e-12 * k.abs().max())
    assert torch.linalg.eigvalsh(k).min() > -1e-10 * k.abs().max()
    k12 = empirical_ntk(model, x1, x2, select_output=select)
    assert torch.allclose(k[: len(x1), len(x1) :], k12, rtol=1e-12, atol=1e-12 * k.abs().max())
    kc = empirical_ntk(model, xx, select_output=select, chunk_size=3)
    assert torch.allclose(kc, k, rtol=1e-12, atol=1e-12 * k.abs().max())


class MixesExamples(nn.Module):
    """Output of one example depends on the others (a batch mean): only torch.func is right."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(5, 6), nn.Linear(6, 1)

    def forward(self, x):
        h = torch.tanh(self.a(x))
        return self.b(h - 0.5 * h.mean(0, keepdim=True))


class Flattened(nn.Module):
    """Tokens flattened into the batch axis, example-major (rule applies) or position-major."""

    def __init__(self, position_major):
        super().__init__()
        self.pm, self.a, self.b = position_major, nn.Linear(4, 6), nn.Linear(6, 1)

    def forward(self, x):
        n, t, d = x.shape
        flat = x.transpose(0, 1).reshape(t * n, d) if self.pm else x.reshape(n * t, d)
        h = torch.tanh(self.a(flat))
        h = h.reshape(t, n, 6).transpose(0, 1) if self.pm else h.reshape(n, t, 6)
        return self.b(h.mean(1))


class InPlace(nn.Module):
    """A layer output modified in place before the next layer (the recorded copy must not be)."""

    def __init__(self):
        super().__init__()
        self.a, self.r, self.b = nn.Linear(5, 6), nn.ReLU(inplace=True), nn.Linear(6, 2)

    def forward(self, x):
        h = self.a(x)
        h.add_(1.0)
        return self.b(torch.tanh(self.r(h)))


@pytest.mark.parametrize(
    "model, x, fallback",
    [
        (MixesExamples(), _floats(6, 5), {"a.weight", "a.bias", "b.weight"}),
        (Flattened(False), _floats(6, 3, 4), set()),
        (Flattened(True), _floats(6, 3, 4), {"a.weight", "a.bias"}),
        (InPlace(), _floats(6, 5), set()),
    ],
)
def test_probe_sends_what_hooks_cannot_see_to_torch_func(model, x, fallback):
    model = model.double()
    paths = ntk_paths(model, x)
    assert {k for k, v in paths.items() if v == "model torch.func"} == fallback
    assert rel_err(empirical_ntk(model, x), reference_ntk(model, x)) < 1e-10


def test_probe_with_one_example_still_sees_the_batch_axis():
    model = Flattened(True).double()
    one, many = _floats(1, 3, 4), _floats(5, 3, 4, seed=1)
    assert ntk_paths(model, one)["a.weight"] == "model torch.func"
    assert rel_err(empirical_ntk(model, one, many), reference_ntk(model, one, many)) < 1e-10


class _Square(torch.autograd.Function):
    """An autograd.Function in the old style (no setup_context): torch.func refuses it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class OldStyleFunction(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin, self.head = nn.Linear(5, 8), nn.Linear(8, 1)

    def forward(self, x):
        return self.head(_Square.apply(torch.tanh(self.lin(x))))


def test_auto_uses_torch_func_for_tiny_problems_and_layer_rules_when_it_cannot(monkeypatch):
    import kernelcap.empirics.kernels as kernels

    monkeypatch.setattr(kernels, "SMALL_PROBLEM", 2**19)
    model, x1, x2, select, pick = build("weight-used-outside")
    calls = []
    real = kernels._kernel
    monkeypatch.setattr(kernels, "_kernel", lambda *a: calls.append(a[4]) or real(*a))
    ref = reference_ntk(model, x1, x2, pick=pick)
    assert rel_err(empirical_ntk(model, x1, x2), ref) < 1e-10 and calls == ["jacobian"]
    torch.manual_seed(0)
    odd = OldStyleFunction().double().eval()
    x = _floats(6, 5, seed=3)
    with pytest.raises(RuntimeError, match="method='jacobian'"):
        empirical_ntk(odd, x, method="jacobian")
    calls.clear()
    k = empirical_ntk(odd, x)
    assert calls == ["jacobian", "auto"]
    rows = []  # plain autograd, one example at a time
    for xi in x:
        grads = torch.autograd.grad(odd(xi[None]).sum(), list(odd.parameters()))
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    j = torch.stack(rows)
    assert rel_err(k, j @ j.T) < 1e-10

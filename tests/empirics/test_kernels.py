import numpy as np
import pytest
import torch
from torch import nn

from kernelcap.empirics._ntk_hooks import (
    cross_kernel,
    make_plan,
    per_example_gradients,
    per_layer_features,
)
from kernelcap.empirics.kernels import empirical_ntk, kernel_drift, ntk_mlp
from kernelcap.empirics.path_kernel import train_with_path_kernel
from tests.empirics.test_ntk_zoo import reference_ntk


def _x(n, d=5, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


class Custom(nn.Module):  # not a Sequential: a custom forward around two Linear layers
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(5, 16), nn.Linear(16, 3)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)) ** 2)


MODELS = {
    "ntk-relu-vector": lambda: ntk_mlp(5, 32, 2, 3, b_std=0.2),
    "torch-tanh": lambda: nn.Sequential(
        nn.Linear(5, 24), nn.Tanh(), nn.Linear(24, 24), nn.GELU(), nn.Linear(24, 2)
    ).double(),
    "scalar": lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1)).double(),
    "custom": lambda: Custom().double(),
}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("outputs", ["trace", "full"])
def test_methods_agree_symmetric_psd(name, outputs):
    torch.manual_seed(0)
    m = MODELS[name]()
    x1, x2 = _x(7), _x(4, seed=1)
    ref = reference_ntk(m, x1, x2, full=outputs == "full")
    for me in ("auto", "structured", "jacobian", "ntvp"):
        k = empirical_ntk(m, x1, x2, method=me, outputs=outputs)
        assert torch.allclose(k, ref, rtol=1e-10, atol=1e-12), me
    k = empirical_ntk(m, x1, outputs=outputs, chunk_size=3)
    assert torch.allclose(k, reference_ntk(m, x1, full=outputs == "full"), atol=1e-10)
    if outputs == "trace":
        assert torch.allclose(k, k.T)
        assert torch.linalg.eigvalsh(k).min() > -1e-9 * k.abs().max()


def test_integer_inputs_pass_uncast_and_outputs_are_chosen():
    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.head = nn.Embedding(10, 4), nn.Linear(4, 2)

        def forward(self, ids):
            h = self.emb(ids).mean(1)
            return self.head(h), h

    m = Tokens().double().eval()
    ids = torch.randint(0, 10, (6, 3), generator=torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="select_output"):
        empirical_ntk(m, ids)
    ref = reference_ntk(m, ids, pick=lambda out: out[0])
    for me in ("auto", "jacobian", "ntvp"):
        k = empirical_ntk(m, ids.numpy(), method=me, select_output=0)
        assert torch.allclose(k, ref, rtol=1e-10), me
    k = empirical_ntk(m, ids, select_output=lambda out: out[0][:, 1])
    assert k.shape == (6, 6)


def test_params_subset_is_the_after_kernel():
    m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    x1, x2 = _x(6), _x(3, seed=1)
    with torch.no_grad():
        h1, h2 = torch.tanh(m[0](x1)), torch.tanh(m[0](x2))
    after = h1 @ h2.T + 1  # ∂f/∂(w, b) of the last layer is (h, 1)
    for params in ("2", ["2.weight", "2.bias"], lambda n, p: n.startswith("2.")):
        for me in ("auto", "jacobian", "ntvp"):
            k = empirical_ntk(m, x1, x2, params=params, method=me)
            assert torch.allclose(k, after, rtol=1e-12), (params, me)
    bias_only = empirical_ntk(m, x1, x2, params="*.bias")
    m[0].weight.requires_grad_(False)
    m[2].weight.requires_grad_(False)
    assert torch.allclose(bias_only, reference_ntk(m, x1, x2), rtol=1e-12)


def test_frozen_parameters_do_not_count_in_any_method():
    m = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    m = m.double()
    for frozen in (0, 4):
        for p in m.parameters():
            p.requires_grad_(True)
        for p in m[frozen].parameters():
            p.requires_grad_(False)
        ref = reference_ntk(m, _x(5))
        for me in ("auto", "structured", "jacobian", "ntvp"):
            assert torch.allclose(empirical_ntk(m, _x(5), method=me), ref, rtol=1e-12), me


def test_frozen_backbone_does_not_drift():
    def model(head_seed):
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3)).double()
        m[0].requires_grad_(False)
        torch.manual_seed(head_seed)
        nn.init.normal_(m[2].weight)
        return m

    x = _x(8)
    for me in ("auto", "jacobian"):
        assert kernel_drift(model(1), model(2), x, method=me).relative_change < 1e-12
    with pytest.raises(ValueError, match="same trainable parameters"):
        kernel_drift(model(1), model(1).requires_grad_(True), x)


def test_path_kernel_api_cross_kernel_at_two_parameter_values():
    m = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 2)).double()
    x1, x2 = _x(4), _x(3, seed=1)
    theta_a = {k: v.detach().clone() for k, v in m.named_parameters()}
    theta_b = {k: v + 0.1 * torch.randn_like(v) for k, v in theta_a.items()}
    plan = make_plan(m, x1)
    fa = per_layer_features(m, x1, theta_a, plan=plan)
    fb = per_layer_features(m, x2, theta_b, plan=plan)
    ga = per_example_gradients(m, x1, theta_a, plan=plan)
    with torch.no_grad():
        for k, v in m.named_parameters():
            v.copy_(theta_b[k])
    gb = per_example_gradients(m, x2, plan=plan)  # the model's own values, now θb
    assert ga["2.weight"].shape == (4, 2, 2, 6)
    ja = torch.cat([g.reshape(4, 2, -1) for g in ga.values()], -1)
    jb = torch.cat([g.reshape(3, 2, -1) for g in gb.values()], -1)
    want = torch.einsum("nop,mqp->nmoq", ja, jb)
    assert torch.allclose(cross_kernel(fa, fb, full=True), want, rtol=1e-12)
    assert torch.allclose(cross_kernel(fa, fb), torch.einsum("nmoo->nm", want), rtol=1e-12)
    with pytest.raises(ValueError, match="params_dict"):
        per_layer_features(m, x1, {"nope": torch.zeros(1)}, plan=plan)


def test_chunks_and_file_output(tmp_path):
    m = ntk_mlp(5, 16, 1, 2, b_std=0.1, dtype=torch.float32)
    x, x2 = _x(11).float(), _x(5, seed=2).float()
    k = empirical_ntk(m, x)
    path = tmp_path / "k.npy"
    kc = empirical_ntk(m, x, chunk_size=4, out=path)
    assert torch.allclose(kc, k, rtol=1e-5, atol=1e-6)
    assert np.allclose(np.load(path), k.numpy(), rtol=1e-5, atol=1e-6)
    full = empirical_ntk(m, x, x2, chunk_size=3, outputs="full", out=tmp_path / "f.npy")
    assert torch.allclose(full, empirical_ntk(m, x, x2, outputs="full"), rtol=1e-5, atol=1e-6)


def test_refuses_models_whose_output_depends_on_the_batch():
    bn = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).double()
    with pytest.raises(ValueError, match=r"model\.eval\(\)"):
        empirical_ntk(bn, _x(4))
    drop = nn.Sequential(nn.Linear(5, 4), nn.Dropout(0.1), nn.Linear(4, 1)).double()
    with pytest.raises(ValueError, match=r"model\.eval\(\)"):
        empirical_ntk(drop, _x(4), method="jacobian")
    stats = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4, track_running_stats=False)).eval()
    with pytest.raises(ValueError, match="batch statistics"):
        empirical_ntk(stats.double(), _x(4))
    bn.eval()
    assert empirical_ntk(bn, _x(4)).shape == (4, 4)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(x1=_x(3)[0, 0]), ValueError, "x1.*batch axis"),
        (dict(x1=_x(0)), ValueError, "x1 is empty"),
        (dict(x2=_x(3, d=4)), ValueError, "per-example shape"),
        (dict(x1=np.array([["a"]])), TypeError, "x1"),
        (dict(method="fast"), ValueError, "method"),
        (dict(outputs="diag"), ValueError, "outputs"),
        (dict(chunk_size=0), ValueError, "chunk_size"),
        (dict(chunk_size=2.5), ValueError, "chunk_size"),
        (dict(params="fc9"), ValueError, "params: 'fc9' matches no parameter"),
        (dict(params=lambda n, p: False), ValueError, "params"),
        (dict(params=3), TypeError, "params"),
        (dict(out="/nonexistent-dir/k.npy"), ValueError, "out"),
        (dict(out=3), TypeError, "out"),
        (dict(select_output=3), ValueError, "select_output"),
        (dict(progress="yes"), TypeError, "progress"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, error, match):
    m = MODELS["scalar"]()
    args = dict(x1=_x(3))
    args.update(kwargs)
    x1 = args.pop("x1")
    with pytest.raises(error, match=match):
        empirical_ntk(m, x1, **args)


def test_bad_models_and_values():
    m = MODELS["scalar"]()
    with pytest.raises(TypeError, match="Module"):
        empirical_ntk(lambda x: x, _x(3))
    bad = _x(3)
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="x1 contains NaN"):
        empirical_ntk(m, bad)
    m[0].requires_grad_(False)
    with pytest.raises(ValueError, match="requires_grad=False"):
        empirical_ntk(m, _x(3), params="0")
    m.requires_grad_(False)
    with pytest.raises(ValueError, match="no parameter with requires_grad=True"):
        empirical_ntk(m, _x(3))
    with pytest.raises(ValueError, match="one row per example"):
        empirical_ntk(TotalLoss(), _x(3))


class TotalLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(5, 1).double()

    def forward(self, x):
        return self.lin(x).sum()


def test_kernel_drift_zero_for_same_model_and_positive_after_training():
    m0 = ntk_mlp(5, 64, 1, seed=3)
    x = _x(10)
    y = torch.sin(x[:, 0])
    d = kernel_drift(m0, m0, x, y)
    assert d.relative_change == 0 and abs(d.kernel_distance) < 1e-12 and -1 <= d.alignment_a <= 1
    m1 = ntk_mlp(5, 64, 1, seed=3)
    train_with_path_kernel(m1, x, y, x[:2], lr=0.5, steps=5, quad_nodes=0)
    assert kernel_drift(m0, m1, x).relative_change > 0


def test_symmetric_kernel_from_tiles_matches_reference():
    m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    x = _x(600)  # > 2 tiles: only tiles on and above the diagonal are computed
    for outputs in ("trace", "full"):
        ref = reference_ntk(m, x, full=outputs == "full")
        assert torch.allclose(empirical_ntk(m, x, outputs=outputs), ref, rtol=1e-12, atol=1e-13)

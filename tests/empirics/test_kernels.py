import pytest
import torch
from torch import nn

from kernelcap.empirics.kernels import empirical_ntk, kernel_drift, ntk_mlp
from kernelcap.empirics.path_kernel import train_with_path_kernel


def _x(n, d=5, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


class Custom(nn.Module):  # not a Sequential: needs the torch.func methods
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
}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("outputs", ["trace", "full"])
def test_methods_agree_symmetric_psd(name, outputs):
    torch.manual_seed(0)
    m = MODELS[name]()
    x1, x2 = _x(7), _x(4, seed=1)
    ks = [
        empirical_ntk(m, x1, x2, method=me, outputs=outputs)
        for me in ("structured", "jacobian", "ntvp")
    ]
    for k in ks[1:]:
        assert torch.allclose(k, ks[0], atol=1e-10)
    k = empirical_ntk(m, x1, outputs=outputs, chunk_size=3)
    assert torch.allclose(k, empirical_ntk(m, x1, method="jacobian", outputs=outputs), atol=1e-10)
    if outputs == "trace":
        assert torch.allclose(k, k.T)
        assert torch.linalg.eigvalsh(k).min() > -1e-9 * k.abs().max()


def test_custom_module_uses_func_methods():
    m = Custom().double()
    x = _x(6)
    k = empirical_ntk(m, x)
    assert torch.allclose(k, empirical_ntk(m, x, method="ntvp"), atol=1e-10)
    with pytest.raises(ValueError, match="structured"):
        empirical_ntk(m, x, method="structured")


def test_bad_inputs():
    m = MODELS["scalar"]()
    with pytest.raises(TypeError, match="Module"):
        empirical_ntk(lambda x: x, _x(3))
    with pytest.raises(ValueError, match="feature shape"):
        empirical_ntk(m, _x(3), _x(3, d=4))
    bad = _x(3)
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="x1"):
        empirical_ntk(m, bad)
    with pytest.raises(ValueError, match="method"):
        empirical_ntk(m, _x(3), method="fast")


def test_kernel_drift_zero_for_same_model_and_positive_after_training():
    m0 = ntk_mlp(5, 64, 1, seed=3)
    x = _x(10)
    y = torch.sin(x[:, 0])
    d = kernel_drift(m0, m0, x, y)
    assert d.relative_change == 0 and abs(d.kernel_distance) < 1e-12 and -1 <= d.alignment_a <= 1
    m1 = ntk_mlp(5, 64, 1, seed=3)
    train_with_path_kernel(m1, x, y, x[:2], lr=0.5, steps=5, quad_nodes=0)
    assert kernel_drift(m0, m1, x).relative_change > 0

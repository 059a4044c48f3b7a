"""Cross-checks against neural-tangents (optional ``jax`` extra); skipped when it is not
installed."""

import numpy as np
import pytest
import torch

nt = pytest.importorskip("neural_tangents")
jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
from neural_tangents import stax  # noqa: E402

from kernelcap.empirics.kernels import empirical_ntk, ntk_mlp  # noqa: E402
from kernelcap.theory.kernels import nngp_kernel, ntk_kernel  # noqa: E402

ACTS = {"relu": stax.Relu, "erf": stax.Erf, "identity": stax.Identity}


def _stax(depth, act, w, b, width=512, out=1):
    layers = []
    for _ in range(depth):
        layers += [stax.Dense(width, W_std=w, b_std=b), ACTS[act]()]
    return stax.serial(*layers, stax.Dense(out, W_std=w, b_std=b))


@pytest.mark.parametrize("act", ["relu", "erf", "identity"])
@pytest.mark.parametrize("depth", [1, 3])
def test_analytic_kernels_match_kernel_fn(act, depth):
    x = np.random.default_rng(0).normal(size=(6, 4))
    x2 = np.random.default_rng(1).normal(size=(5, 4))
    _, _, kernel_fn = _stax(depth, act, 1.3, 0.2)
    k = kernel_fn(x, x2, ("nngp", "ntk"))
    assert np.allclose(
        nngp_kernel(x, x2, depth, act, 1.3, 0.2), np.asarray(k.nngp), rtol=1e-6, atol=1e-9
    )
    assert np.allclose(
        ntk_kernel(x, x2, depth, act, 1.3, 0.2), np.asarray(k.ntk), rtol=1e-6, atol=1e-9
    )


def test_empirical_ntk_matches_nt_on_same_weights():
    m = ntk_mlp(4, 32, 2, 3, w_std=1.2, b_std=0.3, seed=0)
    init_fn, apply_fn, _ = _stax(2, "relu", 1.2, 0.3, width=32, out=3)
    dense = [layer for layer in m if hasattr(layer, "w_factor")]
    params = []
    for layer in dense:
        params += [(layer.weight.detach().numpy().T, layer.bias.detach().numpy()), ()]
    params = params[:-1]
    x = np.random.default_rng(0).normal(size=(6, 4))
    assert np.allclose(np.asarray(apply_fn(params, x)), m(torch.as_tensor(x)).detach().numpy())
    for impl in (
        nt.NtkImplementation.JACOBIAN_CONTRACTION,
        nt.NtkImplementation.NTK_VECTOR_PRODUCTS,
    ):
        k_nt = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), implementation=impl)(x, None, params)
        k = empirical_ntk(m, torch.as_tensor(x)).numpy()
        # neural-tangents' trace_axes=(-1,) averages over the O outputs; ours sums (Σ_o J_o J_oᵀ)
        assert np.allclose(k / 3, np.asarray(k_nt), rtol=1e-8, atol=1e-10)
        k_full = nt.empirical_ntk_fn(apply_fn, trace_axes=(), implementation=impl)(x, None, params)
        assert np.allclose(
            empirical_ntk(m, torch.as_tensor(x), outputs="full").numpy(),
            np.asarray(k_full),
            atol=1e-10,
        )

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelcap.theory.kernels import (
    centered_alignment,
    kernel_regression,
    linearized_prediction,
    nngp_kernel,
    ntk_kernel,
)

ACT = st.sampled_from(["relu", "erf", "identity"])


def _x(seed, n=6, d=3):
    return np.random.default_rng(seed).normal(size=(n, d))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    depth=st.integers(0, 4),
    act=ACT,
    w=st.floats(0.5, 2.0),
    b=st.floats(0.0, 1.0),
)
def test_kernels_symmetric_psd(seed, depth, act, w, b):
    x = _x(seed)
    for fn in (nngp_kernel, ntk_kernel):
        k = fn(x, depth=depth, activation=act, w_std=w, b_std=b)
        assert np.allclose(k, k.T, atol=1e-12)
        assert np.linalg.eigvalsh(k).min() > -1e-9 * np.abs(k).max()
        assert np.allclose(fn(x, x, depth=depth, activation=act, w_std=w, b_std=b), k)


def test_identity_ntk_is_depth_plus_one_times_linear_kernel():
    x = _x(0)
    lin = x @ x.T / 3
    assert np.allclose(ntk_kernel(x, depth=2, activation="identity"), 3 * lin)
    assert np.allclose(nngp_kernel(x, depth=2, activation="identity"), lin)


def test_relu_reference_values():
    # orthogonal inputs with σ_w²·x·x/d = 1: Σ² keeps the diagonal at 1 and maps 0 to 1/π
    x = np.eye(2)
    k = nngp_kernel(x, depth=1, activation="relu", w_std=np.sqrt(2))
    assert np.allclose(k, [[1, 1 / np.pi], [1 / np.pi, 1]])
    th = ntk_kernel(x, depth=1, activation="relu", w_std=np.sqrt(2))
    assert np.allclose(th, [[2, 1 / np.pi], [1 / np.pi, 2]])  # Θ² = 2·E[step²]·Σ¹ + Σ²


def test_linearized_prediction_matches_explicit_recursion():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 3))
    xt = rng.normal(size=(4, 3))
    k = ntk_kernel(x, depth=2)
    kt = ntk_kernel(xt, x, depth=2)
    y, f0, f0t = rng.normal(size=8), 0.1 * rng.normal(size=8), 0.1 * rng.normal(size=4)
    f, ft = f0.copy(), f0t.copy()
    lr = 0.7
    for _ in range(25):
        r = f - y
        f, ft = f - lr / 8 * k @ r, ft - lr / 8 * kt @ r
    out = linearized_prediction(k, kt, y, f0, f0t, lr, 25)
    assert np.allclose(out["train"], f) and np.allclose(out["test"], ft)
    many = linearized_prediction(k, kt, y, f0, f0t, lr, np.array([0, 25]))
    assert np.allclose(many["test"][0], f0t) and np.allclose(many["test"][1], ft)


def test_kernel_regression_interpolates_and_is_long_time_limit():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 3))
    k = ntk_kernel(x, depth=1, b_std=0.1)
    y = rng.normal(size=6)
    assert np.allclose(kernel_regression(k, k, y), y, atol=1e-8)
    out = linearized_prediction(k, k, y, np.zeros(6), np.zeros(6), 0.5, 200_000)
    assert np.allclose(out["test"], kernel_regression(k, k, y), atol=1e-6)


def test_centered_alignment_bounds():
    k = ntk_kernel(_x(3), depth=1)
    assert centered_alignment(k, 3 * k) == pytest.approx(1.0)
    y = np.arange(6.0)
    assert -1 <= centered_alignment(k, np.outer(y, y)) <= 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(activation="tanh"), "activation"),
        (dict(depth=-1), "depth"),
        (dict(w_std=0.0), "w_std"),
        (dict(b_std=-1.0), "b_std"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ntk_kernel(_x(0), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="feature dimension"):
        ntk_kernel(_x(0, d=3), _x(1, d=4))
    x = _x(0)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="x1"):
        nngp_kernel(x)
    with pytest.raises(TypeError):
        nngp_kernel("abc")

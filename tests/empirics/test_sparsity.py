"""Batched L1 solvers against independent solvers (scipy linprog, coordinate descent), and the
experiments' basic contracts (shapes, determinism, validation)."""

import numpy as np
import pytest
import torch
from scipy.optimize import linprog

from kernelcap.empirics import sparsity as es
from kernelcap.empirics._sparsity_recovery import _sparse_problems


def _linprog_basis_pursuit(A, y):
    """min 1ᵀ(p + q) s.t. A(p − q) = y, p, q ≥ 0."""
    n, d = A.shape
    res = linprog(np.ones(2 * d), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs")
    assert res.status == 0
    return res.x[:d] - res.x[d:]


def _coordinate_descent_lasso(A, y, lam, sweeps=400):
    x = np.zeros(A.shape[1])
    col2 = (A**2).sum(0)
    r = y.copy()
    for _ in range(sweeps):
        for j in range(A.shape[1]):
            r += A[:, j] * x[j]
            c = A[:, j] @ r
            x[j] = np.sign(c) * max(abs(c) - lam, 0.0) / col2[j]
            r -= A[:, j] * x[j]
    return x


def test_basis_pursuit_matches_linprog_on_padded_batch():
    gen = torch.Generator().manual_seed(3)
    n = torch.tensor([12, 20, 28, 20])
    k = torch.tensor([3, 8, 12, 2])
    A, y, x0, mask = _sparse_problems(n, k, 40, gen, torch.device("cpu"))
    x = es.basis_pursuit(A.double(), y.double(), row_mask=mask, n_iter=3000).x.numpy()
    for b in range(4):
        ref = _linprog_basis_pursuit(A[b, : n[b]].double().numpy(), y[b, : n[b]].double().numpy())
        assert np.abs(x[b]).sum() == pytest.approx(np.abs(ref).sum(), rel=1e-4)
        np.testing.assert_allclose(x[b], ref, atol=1e-3 * np.abs(ref).max())


def test_lasso_matches_coordinate_descent():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(3, 15, 25))
    y = rng.normal(size=(3, 15))
    lam = np.array([0.3, 1.0, 3.0])
    fit = es.lasso(torch.tensor(A), torch.tensor(y), lam, n_iter=5000)
    assert fit.gap.max() < 1e-6
    for b in range(3):
        np.testing.assert_allclose(
            fit.x[b].numpy(), _coordinate_descent_lasso(A[b], y[b], lam[b]), atol=1e-6
        )


def test_min_norm_solution_interpolates_and_ignores_padding():
    gen = torch.Generator().manual_seed(0)
    A, y, x0, mask = _sparse_problems(
        torch.tensor([5, 9]), torch.tensor([2, 2]), 12, gen, torch.device("cpu")
    )
    x = es.min_norm_solution(A.double(), y.double(), mask)
    np.testing.assert_allclose((A.double() @ x.unsqueeze(-1)).squeeze(-1), y.double(), atol=1e-8)
    ref = np.linalg.pinv(A[0, :5].double().numpy()) @ y[0, :5].double().numpy()
    np.testing.assert_allclose(x[0].numpy(), ref, atol=1e-8)


def test_phase_diagram_is_deterministic_and_shaped():
    kw = dict(n_trials=4, n_iter=100, device="cpu", seed=5)
    a = es.phase_diagram(30, [0.4, 0.8], [0.1, 0.5, 0.9], **kw)
    b = es.phase_diagram(30, [0.4, 0.8], [0.1, 0.5, 0.9], **kw)
    assert a.success.shape == (2, 3)
    np.testing.assert_array_equal(a.success, b.success)
    assert a.success[1, 0] == 1.0 and a.success[0, 2] == 0.0


def test_boundary_is_the_shared_crossing_and_nan_off_the_grid():
    rho = np.array([0.1, 0.2, 0.3, 0.4])
    n = np.array([10, 10, 10])
    success = np.array(
        [
            [1.0, 0.75, 0.25, 0.0],  # crosses between ρ = 0.2 and 0.3
            [0.25, 0.0, 0.0, 0.0],  # starts below 50%: the crossing is off the grid
            [1.0, 1.0, 0.75, 0.5],  # never falls below 50%
        ]
    )
    pd = es.PhaseDiagram(10, n, np.round(rho * n[:, None]).astype(int), success, 16, 0.0)
    rho50, err = pd.boundary()
    # linear interpolation; binomial SE √(¼/16) over the local slope (0.75 − 0.25)/0.1
    assert rho50[0] == pytest.approx(0.25) and err[0] == pytest.approx(0.125 / 5.0)
    assert np.isnan(rho50[1:]).all() and np.isnan(err[1:]).all()


def test_generator_gives_the_seeds_numbers_and_is_checked():
    kw = dict(n_trials=3, n_iter=50, progress=False, device="cpu")
    a = es.recovery_errors(20, 2, [8, 14], seed=7, **kw)
    b = es.recovery_errors(20, 2, [8, 14], generator=torch.Generator().manual_seed(7), **kw)
    np.testing.assert_array_equal(a.l1_error, b.l1_error)
    np.testing.assert_array_equal(a.l2_error, b.l2_error)
    fit = es.train_diagonal_network(
        10, 12, 2, [0.5], n_steps=20, device="cpu", generator=torch.Generator().manual_seed(1)
    )
    ref = es.train_diagonal_network(10, 12, 2, [0.5], n_steps=20, device="cpu", seed=1)
    np.testing.assert_array_equal(fit.beta_diag, ref.beta_diag)
    with pytest.raises(TypeError, match="generator"):
        es.phase_diagram(20, [0.5], [0.5], device="cpu", generator=7)


def test_trained_models_l1_zero_and_l2_dense():
    zf = es.orthonormal_zero_fractions(50, [0.5, 2.0], n_trials=4, progress=False, device="cpu")
    assert np.all(zf.l2_zero == 0) and np.all(zf.l1_zero > 0)
    mlp = es.train_penalized_mlps(n_seeds=1, n_steps=60, progress=False, device="cpu")
    assert mlp.zero_fraction[1, 0] == 0 and mlp.zero_fraction[2, 0] > 0


@pytest.mark.parametrize(
    "call, exc, word",
    [
        (lambda: es.basis_pursuit(torch.zeros(3, 4), torch.zeros(3, 3)), ValueError, "A must"),
        (lambda: es.basis_pursuit(torch.zeros(2, 3, 4), torch.zeros(2, 4)), ValueError, "y must"),
        (lambda: es.lasso(torch.ones(1, 3, 4), torch.ones(1, 3), -1.0), ValueError, "lam"),
        (lambda: es.phase_diagram(30, [1.5], [0.5]), ValueError, "undersampling"),
        (lambda: es.recovery_errors(20, 3, [25]), ValueError, "n_measurements"),
        (lambda: es.train_diagonal_network(10, 20, 2, [1.5]), ValueError, "lam_ratio"),
    ],
)
def test_bad_input(call, exc, word):
    with pytest.raises(exc, match=word):
        call()

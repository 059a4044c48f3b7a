"""Simulations of kernelcap.empirics.hopfield: shapes, determinism, exact identities, validation.

Every claim also runs at smoke scale in tests/test_claims.py; `-k hopfield` selects them there.
"""

import numpy as np
import pytest
import torch

from kernelcap.empirics import hopfield as e
from kernelcap.theory import hopfield as th


def test_padding_zeroes_outside_each_grid_point():
    g = torch.Generator().manual_seed(0)
    xi = e.padded_patterns([8, 12], [3, 5], 2, generator=g)
    assert xi.shape == (2, 2, 5, 12)
    assert torch.all(xi[0, :, 3:] == 0) and torch.all(xi[0, :, :, 8:] == 0)
    assert torch.all(xi[1].abs() == 1)


def test_one_step_errors_are_deterministic_and_match_theory_roughly():
    a = e.one_step_errors(100, [10, 30], 8, seed=3)
    b = e.one_step_errors(100, [10, 30], 8, seed=3)
    np.testing.assert_array_equal(a.error_rate, b.error_rate)
    pred = th.bit_error_probability(100, np.array([10, 30]), method="exact")
    assert np.all(np.abs(a.error_rate - pred) < 6 * a.error_stderr + 1e-3)


def test_padded_batch_equals_separate_runs_statistically():
    # a Hebbian grid point computed alone and padded inside a bigger grid has the same law
    alone = e.one_step_errors(64, [16], 64, seed=1).error_rate[0]
    padded = e.one_step_errors([64, 128], [16, 40], 64, seed=2).error_rate[0]
    assert abs(alone - padded) < 0.01


def test_fields_agree_with_explicit_hebbian_weights():
    g = torch.Generator().manual_seed(5)
    xi = e.padded_patterns(20, [6], 1, generator=g)[0, 0].double()
    w = e.store_patterns("hebbian", xi)
    assert torch.all(torch.diagonal(w) == 0)
    h = xi @ w.T
    direct = e.one_step_errors(20, [6], 1, generator=torch.Generator().manual_seed(5))
    expected = ((h * xi < 0).double() + 0.5 * (h * xi == 0).double()).mean().item()
    assert direct.error_rate[0] == pytest.approx(expected)


@pytest.mark.parametrize("rule", ["pseudo_inverse", "storkey"])
def test_other_rules_store_beyond_hebbian(rule):
    res = e.one_step_errors(40, [12], 4, rule=rule, seed=0)
    hebb = e.one_step_errors(40, [12], 4, rule="hebbian", seed=0)
    assert res.error_rate[0] <= hebb.error_rate[0]
    if rule == "pseudo_inverse":
        assert res.error_rate[0] == 0.0  # projection rule: every pattern is a fixed point for P ≤ N


def test_async_retrieval_keeps_low_load_patterns():
    res = e.async_retrieval(100, [2, 40], 6, max_sweeps=10, seed=0)
    assert res.overlap.shape == (2, 6)
    assert np.all(res.overlap[0] == 1.0)
    assert res.overlap[1].mean() < 0.99  # α = 0.4 ≫ α_c: no retrieval


def test_dense_degree_two_is_hebbian():
    r = e.dense_one_step_errors([100], [20], 2, 32, seed=0)
    pred = th.bit_error_probability(100, 20, method="exact")
    assert abs(r.error_rate[0] - pred) < 5 * r.error_stderr[0] + 1e-3


def test_modern_retrieval_never_exceeds_its_bound():
    r = e.modern_one_step_retrieval(16, [16, 64], 2, beta=0.5, distance=0.3, n_probes=8, seed=0)
    assert r.error.shape == (2, 2, 8)
    assert np.all(r.error <= r.bound * (1 + 1e-9))


def test_modern_bound_is_the_theorem_at_each_querys_separation():
    r = e.modern_one_step_retrieval(16, [16, 32], 2, beta=0.5, distance=0.3, n_probes=4, seed=1)
    assert r.separation.shape == r.error.shape == (2, 2, 4)
    expected = th.modern_retrieval_error_bound(
        np.array([16, 32])[:, None, None], 0.5, r.separation, 4.0, 0.3
    )
    np.testing.assert_allclose(r.bound, expected, rtol=1e-12)


def test_progress_argument_is_named_progress():
    res = e.async_retrieval(40, [2], 2, max_sweeps=2, seed=0, progress=False)
    assert res.overlap.shape == (1, 2)
    assert e.separable_fraction(3, [2], 2, seed=0, progress=False).fraction[0] == 1.0
    with pytest.raises(TypeError):
        e.async_retrieval(40, [2], 2, show_progress=False)


def test_hebbian_one_step_counts_match_a_direct_computation_with_padding():
    # grid points of different sizes share one padded tensor; each must equal its own count
    g = torch.Generator().manual_seed(7)
    res = e.one_step_errors([12, 20], [5, 3], 3, generator=g)
    xi = e.padded_patterns([12, 20], [5, 3], 3, generator=torch.Generator().manual_seed(7))
    for j, (n, p) in enumerate([(12, 5), (20, 3)]):
        x = xi[j, :, :p, :n].double()
        h = x @ e.store_patterns("hebbian", x).transpose(-1, -2)
        wrong = ((h * x < 0).double() + 0.5 * (h * x == 0).double()).mean((-1, -2))
        assert res.error_rate[j] == pytest.approx(wrong.mean().item(), abs=1e-15)


def test_separability_matches_cover_at_extremes():
    r = e.separable_fraction(5, [3, 5, 30], 20, seed=0)
    assert r.fraction[0] == 1.0 and r.fraction[1] == 1.0  # P ≤ N: always separable
    assert r.fraction[2] == 0.0  # P = 6N: P(separable) ≈ 1e-5


@pytest.mark.parametrize(
    "call,arg",
    [
        (lambda: e.one_step_errors(100, [0], 2), "n_patterns"),
        (lambda: e.one_step_errors(1, [3], 2), "n_neurons"),
        (lambda: e.one_step_errors(10, [3], 2, rule="oja"), "rule"),
        (lambda: e.async_retrieval(50, [5], 2, max_sweeps=0), "max_sweeps"),
        (lambda: e.dense_one_step_errors([10], [2], 3, 2, n_probes=4), "n_patterns"),
        (
            lambda: e.modern_one_step_retrieval(8, [8], 1, beta=-1.0, distance=0.1, n_probes=2),
            "beta",
        ),
        (lambda: e.separable_fraction(0, [3], 2), "n_inputs"),
    ],
)
def test_bad_inputs_raise(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()

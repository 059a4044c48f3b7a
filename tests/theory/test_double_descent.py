"""Properties and reference values of the double-descent risk formulas."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelcap.theory import double_descent as dd

gammas = st.floats(0.02, 20.0).filter(lambda g: abs(g - 1) > 1e-3)
lams = st.floats(1e-3, 50.0)
pos = st.floats(0.05, 10.0)


def test_ridgeless_reference_values():
    assert dd.ridgeless_risk(0.5, 1.0, 1.0) == pytest.approx(1.0)
    assert dd.ridgeless_risk(2.0, 1.0, 1.0) == pytest.approx(1.5)
    assert dd.ridgeless_risk(1.0) == np.inf
    out = dd.ridgeless_risk(np.array([[0.5], [2.0]]), 1.0, np.array([1.0, 2.0]))
    assert out.shape == (2, 2) and isinstance(dd.ridgeless_risk(0.3), float)


@given(gammas, pos, pos)
def test_ridgeless_limits_and_positivity(g, r2, s2):
    r = dd.ridgeless_risk(g, r2, s2)
    assert r > 0
    if g > 1:
        assert r >= r2 * (1 - 1 / g)
    assert dd.ridgeless_risk(g, r2, 2 * s2) > r  # monotone in σ²


def test_ridgeless_gamma_limits():
    assert dd.ridgeless_risk(1e-8, 1, 1) == pytest.approx(0, abs=1e-7)
    assert dd.ridgeless_risk(1e8, 3.0, 1) == pytest.approx(3.0, rel=1e-6)  # null risk r²
    assert dd.ridgeless_risk(1 - 1e-6) > 1e5 and dd.ridgeless_risk(1 + 1e-6) > 1e5


@given(gammas, lams)
def test_stieltjes_solves_the_marchenko_pastur_equation(g, lam):
    m = dd.marchenko_pastur_stieltjes(lam, g)
    scale = 1 + g * lam * m * m + abs(1 - g + lam) * m
    assert abs(g * lam * m * m + (1 - g + lam) * m - 1) <= 1e-12 * scale
    assert 0 < m <= 1 / lam + 1e-12


def test_stieltjes_matches_a_large_wishart_spectrum():
    rng = np.random.default_rng(0)
    n, p, lam = 2000, 1000, 0.3
    x = rng.standard_normal((n, p))
    s = np.linalg.eigvalsh(x.T @ x / n)
    assert np.mean(1 / (s + lam)) == pytest.approx(
        dd.marchenko_pastur_stieltjes(lam, p / n), rel=5e-3
    )


@given(gammas, lams, pos, pos)
def test_ridge_matches_the_closed_kappa_form(g, lam, r2, s2):
    # HMRT's isotropic form: κ = [(λ+γ−1) + √((λ+γ−1)² + 4λ)]/2, R = (κ²r² + σ²γ)/((1+κ)² − γ).
    k = ((lam + g - 1) + np.sqrt((lam + g - 1) ** 2 + 4 * lam)) / 2
    assert dd.ridge_risk(g, lam, r2, s2) == pytest.approx(
        (k * k * r2 + s2 * g) / ((1 + k) ** 2 - g), rel=1e-7
    )


@given(gammas, pos, pos)
def test_ridge_tends_to_ridgeless_and_optimum_is_optimal(g, r2, s2):
    assert dd.ridge_risk(g, 1e-9, r2, s2) == pytest.approx(dd.ridgeless_risk(g, r2, s2), rel=1e-4)
    lam_star, r_star = dd.optimal_ridge(g, r2, s2)
    assert lam_star == pytest.approx(s2 * g / r2)
    for f in (0.5, 0.9, 1.1, 2.0):
        assert dd.ridge_risk(g, f * lam_star, r2, s2) >= r_star - 1e-12
    assert r_star <= min(r2, dd.ridgeless_risk(g, r2, s2)) + 1e-12


def test_optimal_ridge_risk_is_monotone_in_gamma():
    g = np.linspace(0.01, 10, 2000)
    _, r = dd.optimal_ridge(g, 1.0, 0.5)
    assert np.all(np.diff(r) > 0)


def test_finite_sample_cases_and_undefined_band():
    assert dd.min_norm_risk_finite(40, 20, 1.0, 1.0) == pytest.approx(20 / 19)
    assert dd.min_norm_risk_finite(40, 80, 1.0, 1.0) == pytest.approx(0.5 + 40 / 39)
    assert np.all(np.isinf(dd.min_norm_risk_finite(40, [39, 40, 41])))


@settings(max_examples=50)
@given(st.sampled_from([0.2, 0.5, 0.8, 1.5, 2.0, 5.0]), pos, pos)
def test_finite_sample_approaches_asymptotic(g, r2, s2):
    ns = np.array([100, 1000, 10000, 100000])
    gap = np.abs(
        dd.min_norm_risk_finite(ns, np.round(g * ns), r2, s2) - dd.ridgeless_risk(g, r2, s2)
    )
    assert np.all(np.diff(gap) < 0) and gap[-1] < 1e-3 * dd.ridgeless_risk(g, r2, s2)


def test_random_features_reference_and_limits():
    # Measured earlier against 10-trial Monte Carlo at d=100, n=300 (within 2 SE): see the claim.
    r = dd.random_features_risk(np.array([0.6, 6.0, 12.0]), 3.0, 1e-3, 1.0, 0.25)
    assert np.all(r > 0) and r[2] < r[1]
    # Peak at N = n for vanishing λ.
    psi1 = np.linspace(1.0, 5.0, 81)
    curve = dd.random_features_risk(psi1, 3.0, 1e-6, 1.0, 0.25)
    assert psi1[np.argmax(curve)] == pytest.approx(3.0, abs=0.06)
    # More noise, more risk; ζ = μ1/μ* for ReLU.
    assert dd.random_features_risk(2.0, 3.0, 1e-3, 1.0, 1.0) > dd.random_features_risk(
        2.0, 3.0, 1e-3, 1.0, 0.25
    )
    mu0, mu1, mus = dd.relu_hermite_coefficients()
    assert mu0 == 0 and mu1 == 0.5 and mus**2 == pytest.approx(0.25 - 1 / (2 * np.pi))


def test_effective_ranks_and_benign_bound():
    lam = np.ones(10)
    r, big_r = dd.effective_ranks(lam, [0, 5])
    assert np.allclose(r, [10, 5]) and np.allclose(big_r, [10, 5])
    spectrum = np.concatenate([[1.0], np.full(10000, 1e-3)])
    out = dd.benign_overfitting_bound(spectrum, n=50)
    assert out["k_star"] == 1 and out["n_over_R"] == pytest.approx(50 / 10000)
    assert dd.benign_overfitting_bound(np.ones(10), n=50)["k_star"] == -1


@pytest.mark.parametrize(
    "call, arg",
    [
        (lambda: dd.ridgeless_risk(-1.0), "gamma"),
        (lambda: dd.ridgeless_risk(np.nan), "gamma"),
        (lambda: dd.ridgeless_risk(0.5, sigma2=-1), "sigma2"),
        (lambda: dd.ridge_risk(0.5, 0.0), "lam"),
        (lambda: dd.optimal_ridge(0.5, r2=0.0), "r2"),
        (lambda: dd.min_norm_risk_finite(10.5, 3), "n"),
        (lambda: dd.min_norm_risk_finite(10, -3), "p"),
        (lambda: dd.random_features_risk(1.0, 2.0, np.inf), "lam"),
        (lambda: dd.effective_ranks([1.0, -1.0], 0), "eigenvalues"),
        (lambda: dd.effective_ranks([1.0, 1.0], 2), "k"),
        (lambda: dd.benign_overfitting_bound([1.0], 0), "n"),
    ],
)
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="gamma"):
        dd.ridgeless_risk("0.5")

"""Property tests for kernelcap.theory.sparsity: prox identities, δ(ρ), factored penalty, input."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy.stats import norm

from kernelcap.theory import sparsity as th
from tests.theory._contract import assert_checks_arguments, log_uniform

finite = st.floats(-1e3, 1e3, allow_nan=False)
lams = st.floats(0, 1e2, allow_nan=False, allow_subnormal=False)  # a subnormal λ·x underflows to 0


@given(finite, lams)
def test_soft_threshold_is_the_l1_prox(x, lam):
    s = th.soft_threshold(x, lam)
    assert (s == 0.0) == (abs(x) <= lam)

    # prox optimality: s minimises ½(s − x)² + λ|s| — compare against a grid around s
    def obj(b):
        return 0.5 * (b - x) ** 2 + lam * abs(b)

    for b in (s - 1e-3, s + 1e-3, 0.0, x):
        assert obj(s) <= obj(b) + 1e-9 * (1 + abs(x) ** 2)


@given(finite, finite, lams)
def test_prox_maps_are_non_expansive(x, y, lam):
    assert abs(th.soft_threshold(x, lam) - th.soft_threshold(y, lam)) <= abs(x - y) + 1e-12
    assert abs(th.ridge_shrink(x, lam) - th.ridge_shrink(y, lam)) <= abs(x - y) + 1e-12


@given(finite.filter(lambda v: abs(v) > 1e-300), lams)  # subnormals underflow to 0 when divided
def test_ridge_never_gives_zero(x, lam):
    r = th.ridge_shrink(x, lam)
    assert r != 0 and np.sign(r) == np.sign(x) and abs(r) <= abs(x)


def test_vectorised_shapes_and_scalars():
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    assert th.soft_threshold(x, 1.0).shape == (3, 4)
    assert isinstance(th.soft_threshold(2.0, 1.0), float)
    assert th.l1_statistical_dimension(np.full((2, 5), 0.3)).shape == (2, 5)
    np.testing.assert_allclose(th.lasso_orthonormal([3.0, -0.5], 1.0), [2.0, 0.0])


def test_zero_fraction_matches_monte_carlo_and_fixed_beta_formula():
    rng = np.random.default_rng(0)
    d, eps, s, sigma, lam = 400_000, 0.3, 2.0, 1.0, 1.2
    beta = s * rng.normal(size=d) * (rng.random(d) < eps)
    z = beta + sigma * rng.normal(size=d)
    p = th.lasso_zero_fraction(lam, sigma, eps, s)
    assert abs((th.soft_threshold(z, lam) == 0).mean() - p) < 4 * np.sqrt(p * (1 - p) / d)
    assert th.lasso_zero_probability(0.0, lam, sigma) == pytest.approx(2 * norm.cdf(lam) - 1)
    assert th.lasso_zero_fraction(0.0, 1.0, 0.5) == 0.0


def _psi_by_quadrature(rho):
    def objective(tau):
        tail = 2 * integrate.quad(lambda u: (u - tau) ** 2 * norm.pdf(u), tau, np.inf)[0]
        return rho * (1 + tau**2) + (1 - rho) * tail

    return optimize.minimize_scalar(
        objective, bounds=(0, 8), method="bounded", options=dict(xatol=1e-8)
    ).fun


@pytest.mark.parametrize("rho", [0.02, 0.1, 0.3, 0.7])
def test_statistical_dimension_against_direct_minimisation(rho):
    assert th.l1_statistical_dimension(rho) == pytest.approx(_psi_by_quadrature(rho), abs=1e-4)


def test_statistical_dimension_reference_value_and_endpoints():
    assert th.l1_required_measurements(200, 20) == pytest.approx(65.8, abs=0.05)  # REFERENCES.md
    assert th.l1_statistical_dimension(0.0) == 0.0
    assert th.l1_statistical_dimension(1.0) == 1.0
    # Donoho–Tanner curve at δ = 1/2: ρ ≈ 0.3848 (Donoho & Tanner 2009, Fig. 1)
    assert th.l1_phase_transition(0.5) == pytest.approx(0.385, abs=2e-3)


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=20))
@settings(max_examples=50, deadline=None)
def test_statistical_dimension_monotone_in_unit_interval(rhos):
    r = np.sort(np.asarray(rhos))
    psi = th.l1_statistical_dimension(r)
    assert np.all((psi >= 0) & (psi <= 1))
    assert np.all(np.diff(psi) >= -1e-12)
    assert np.all(psi >= r - 1e-12)  # the cone contains the tangent space of dimension k


@given(st.floats(0.01, 0.99))
@settings(max_examples=30, deadline=None)
def test_phase_transition_inverts_statistical_dimension(delta):
    rho = th.l1_phase_transition(delta)
    assert th.l1_statistical_dimension(rho * delta) == pytest.approx(delta, abs=1e-9)


@given(
    st.lists(finite, min_size=1, max_size=10),
    st.floats(0, 10, allow_subnormal=False),
    st.integers(1, 5),
)
def test_factored_identity_on_random_inputs(w, lam, depth):
    w = np.asarray(w)
    pen = th.factored_l2_penalty(w, lam, depth)
    u = th.factored_l2_minimizer(w, depth)
    np.testing.assert_allclose(np.prod(u, axis=0), w, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(0.5 * lam * (u**2).sum(0), pen, rtol=1e-9, atol=1e-9)
    rng = np.random.default_rng(len(w))
    others = rng.normal(size=(depth, len(w)))
    assert np.all(
        0.5 * lam * (others**2).sum(0) >= th.factored_l2_penalty(others.prod(0), lam, depth) - 1e-9
    )
    if depth == 2:
        np.testing.assert_allclose(pen, lam * np.abs(w))


def test_hoyer_and_min_norm_error():
    assert th.hoyer_sparsity([0.0, 0.0, 5.0]) == pytest.approx(1.0)
    assert th.hoyer_sparsity([1.0, -1.0, 1.0]) == pytest.approx(0.0)
    assert th.min_norm_recovery_error(30, 100) == pytest.approx(0.7)


@pytest.mark.parametrize(
    "call, exc, word",
    [
        (lambda: th.soft_threshold(1.0, -1.0), ValueError, "lam"),
        (lambda: th.soft_threshold(np.nan, 1.0), ValueError, "x"),
        (lambda: th.ridge_shrink("a", 1.0), TypeError, "x"),
        (lambda: th.l1_statistical_dimension(1.5), ValueError, "rho"),
        (lambda: th.l1_phase_transition(-0.1), ValueError, "undersampling"),
        (lambda: th.l1_required_measurements(10, 11), ValueError, "n_nonzero"),
        (lambda: th.lasso_zero_fraction(1.0, 0.0, 0.5), ValueError, "sigma"),
        (lambda: th.lasso_zero_fraction(1.0, 1.0, 1.5), ValueError, "sparsity"),
        (lambda: th.factored_l2_penalty(1.0, 1.0, 0), ValueError, "depth"),
        (lambda: th.hoyer_sparsity([0.0, 0.0]), ValueError, "zero"),
        (lambda: th.min_norm_recovery_error(20, 10), ValueError, "n_measurements"),
    ],
)
def test_bad_input_is_refused_with_a_named_argument(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


# --- stability over the whole float range (issue 12, part 6) -------------------------------------

wide = log_uniform(-300, 300)


@given(
    lam=st.one_of(st.just(0.0), wide),
    sigma=wide,
    eps=st.floats(0, 1),
    s=st.one_of(st.just(0.0), wide),
)
@example(lam=0.0, sigma=1e-300, eps=0.3, s=1e-300)  # √(s² + σ²) underflowed: 0/0 = NaN
def test_lasso_zero_fraction_is_a_probability_over_the_float_range(lam, sigma, eps, s):
    p = th.lasso_zero_fraction(lam, sigma, eps, s)
    assert 0.0 <= p <= 1.0


@given(
    st.lists(st.one_of(st.just(0.0), wide, wide.map(lambda v: -v)), min_size=2, max_size=8).filter(
        lambda v: any(v)
    )
)
@example([1e-300, 1e300, 1e300])  # ‖x‖₂ overflowed: 2.37
@example([1e-300, 1.7e308, 1.7e308])  # ‖x‖₁ overflowed: NaN
def test_hoyer_sparsity_is_in_the_unit_interval_and_scale_free(x):
    h = th.hoyer_sparsity(x)
    assert -1e-12 <= h <= 1 + 1e-12
    xa = np.asarray(x)
    if np.min(np.abs(xa[xa != 0])) > 1e-290:  # 2^-40 x stays normal: the same sparsity
        assert th.hoyer_sparsity(np.ldexp(xa, -40)) == pytest.approx(h, abs=1e-12)


@given(w=st.one_of(wide, wide.map(lambda v: -v)), lam=wide, depth=st.integers(1, 6))
@example(w=1e-300, lam=1.7e308, depth=3)  # λ·L overflowed before |w|^{2/L} brought it down
def test_factored_penalty_is_finite_or_refused(w, lam, depth):
    try:
        pen = th.factored_l2_penalty(w, lam, depth)
    except OverflowError:
        log_pen = math.log(0.5 * depth) + math.log(lam) + (2.0 / depth) * math.log(abs(w))
        assert log_pen > math.log(np.finfo(float).max) - 1e-9
        return
    assert np.isfinite(pen) and pen >= 0
    if depth == 2:
        assert pen == pytest.approx(lam * abs(w), rel=1e-14)


@pytest.mark.parametrize(
    "fn, kwargs",
    [
        (th.soft_threshold, dict(x=1.0, lam=0.5)),
        (th.ridge_shrink, dict(x=1.0, lam=0.5)),
        (th.lasso_orthonormal, dict(z=[1.0, -2.0], lam=0.5)),
        (th.lasso_zero_probability, dict(beta=0.3, lam=1.0, sigma=1.0)),
        (th.lasso_zero_fraction, dict(lam=1.0, sigma=1.0, sparsity=0.3, signal_std=2.0)),
        (th.l1_statistical_dimension, dict(rho=0.3)),
        (th.l1_required_measurements, dict(n_features=200, n_nonzero=20)),
        (th.l1_phase_transition, dict(undersampling=0.5)),
        (th.min_norm_recovery_error, dict(n_measurements=30, n_features=100)),
        (th.factored_l2_penalty, dict(w=[1.0, -2.0], lam=0.5, depth=3)),
        (th.factored_l2_minimizer, dict(w=[1.0, -2.0], depth=3)),
        (th.hoyer_sparsity, dict(x=[1.0, 0.0, 2.0])),
    ],
)
def test_every_numeric_argument_refuses_bools_text_none_nan_and_inf(fn, kwargs):
    assert_checks_arguments(fn, kwargs, list(kwargs))

"""Gauss–Hermite rule and the Mei–Montanari random-features fixed point, against references
written here: SciPy's ``roots_hermitenorm`` and Gaussian moments for the quadrature, mpmath's
Hermite polynomials for the scaled recurrence, and for (B, V) the fixed point of Mei & Montanari
(2022, Def. 1) solved directly at ξ = i√(ψ1ψ2λ̄) with SciPy (ν_i = i a_i, a_i > 0) and then fed
into the paper's polynomials E0, E1, E2 — plus the closed form at ζ = 0 and the λ → ∞ limit.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from kernelcap.theory._random_features import (
    _normed_hermite_pair,
    _rf_chi,
    gauss_hermite,
    rf_bias_variance,
)

# --- Gauss–Hermite -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40, 150, 400])
def test_gauss_hermite_matches_scipy(n):
    x, w = gauss_hermite(n)
    xs, ws = special.roots_hermitenorm(n)
    ws = ws / ws.sum()
    assert x.shape == w.shape == (n,)
    np.testing.assert_allclose(x, xs, rtol=0, atol=1e-13 * max(1.0, np.abs(xs).max()))
    big = ws > 1e-250  # compare relative weights where they are not subnormal
    np.testing.assert_allclose(w[big], ws[big], rtol=1e-10)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)


def test_gauss_hermite_is_exact_for_polynomials_up_to_degree_2n_minus_1():
    n = 12
    x, w = gauss_hermite(n)
    for k in range(2 * n):
        moment = 0.0 if k % 2 else float(math.prod(range(k - 1, 0, -2)))  # (k−1)!!
        scale = np.dot(w, np.abs(x) ** k)  # rounding of the sum is relative to this
        assert abs(np.dot(w, x**k) - moment) <= 1e-13 * scale, k
    # degree 2n is not integrated exactly (the rule is Gaussian, not better)
    exact = float(math.prod(range(2 * n - 1, 0, -2)))
    assert abs(np.dot(w, x ** (2 * n)) - exact) > 1e-6 * exact


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 700))
def test_gauss_hermite_structure(n):
    x, w = gauss_hermite(n)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(w)) and np.all(w >= 0)
    assert w.sum() == pytest.approx(1.0, abs=1e-13)
    assert np.all(np.diff(x) > 0)  # distinct, ascending
    np.testing.assert_array_equal(x, -x[::-1])  # symmetric by construction
    np.testing.assert_array_equal(w, w[::-1])
    assert np.abs(x).max() <= math.sqrt(4 * n + 2)  # bound on the zeros of He_n
    # a smooth integrand converges: E cos G = e^{-1/2}
    if n >= 20:
        assert np.dot(w, np.cos(x)) == pytest.approx(math.exp(-0.5), abs=1e-13)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 30])
def test_normed_hermite_pair_matches_scipy(n):
    x = np.linspace(-6.0, 6.0, 13)
    cur, prev, e = _normed_hermite_pair(x, n)
    assert np.all(e == 0)
    ref = special.eval_hermitenorm(n, x) / math.sqrt(math.factorial(n))
    np.testing.assert_allclose(cur, ref, rtol=1e-11, atol=1e-13)
    if n:
        ref_prev = special.eval_hermitenorm(n - 1, x) / math.sqrt(math.factorial(n - 1))
        np.testing.assert_allclose(prev, ref_prev, rtol=1e-11, atol=1e-13)


def test_normed_hermite_pair_rescales_instead_of_overflowing():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    n, x = 600, np.array([40.0, 70.0])  # p̃_600(70) ~ 2^1300: beyond float64
    cur, prev, e = _normed_hermite_pair(x, n)
    assert np.all(e > 0) and np.all(np.isfinite(cur)) and np.all(np.isfinite(prev))
    for i, xi in enumerate(x):
        for k, got in ((n, cur[i]), (n - 1, prev[i])):
            he = mp.hermite(k, mp.mpf(xi) / mp.sqrt(2)) * mp.mpf(2) ** (mp.mpf(-k) / 2)
            ref = he / mp.sqrt(mp.factorial(k))
            assert math.log2(abs(got)) + e[i] == pytest.approx(float(mp.log(abs(ref), 2)), abs=1e-9)
            assert np.sign(got) == int(mp.sign(ref))


# --- the random-features fixed point -----------------------------------------------------------


def _fixed_point_chi(p1, p2, z2, lam_bar):
    """χ = ν1ν2 with ν_i = i a_i solving the fixed point at ξ = i y, y = √(ψ1ψ2λ̄):
    a1 = ψ1/(y + a2(1 + ζ²/(1 + ζ²a1a2))), a2 likewise (solved in log a)."""
    y = math.sqrt(p1 * p2 * lam_bar)

    def resid(log_a):
        a1, a2 = np.exp(log_a)
        c = 1 + z2 / (1 + z2 * a1 * a2)
        return [np.log(a1 * (y + a2 * c) / p1), np.log(a2 * (y + a1 * c) / p2)]

    sol = optimize.root(resid, [0.0, 0.0], method="hybr", tol=1e-15)
    assert np.max(np.abs(resid(sol.x))) < 1e-12  # converged (hybr may still report no progress)
    a1, a2 = np.exp(sol.x)
    return -a1 * a2


def _paper_bias_variance(p1, p2, z2, lam_bar):
    """(E1/E0, E2/E0) with the polynomials of Mei & Montanari's Definition 1."""
    chi = _fixed_point_chi(p1, p2, z2, lam_bar)
    z4, z6 = z2 * z2, z2**3
    e0 = (
        -(chi**5) * z6
        + 3 * chi**4 * z4
        + (p1 * p2 - p2 - p1 + 1) * chi**3 * z6
        - 2 * chi**3 * z4
        - 3 * chi**3 * z2
        + (p1 + p2 - 3 * p1 * p2 + 1) * chi**2 * z4
        + 2 * chi**2 * z2
        + chi**2
        + 3 * p1 * p2 * chi * z2
        - p1 * p2
    )
    e1 = p2 * chi**3 * z4 - p2 * chi**2 * z2 + p1 * p2 * chi * z2 - p1 * p2
    e2 = (
        chi**5 * z6
        - 3 * chi**4 * z4
        + (p1 - 1) * chi**3 * z6
        + 2 * chi**3 * z4
        + 3 * chi**3 * z2
        + (-p1 - 1) * chi**2 * z4
        - 2 * chi**2 * z2
        - chi**2
    )
    return e1 / e0, e2 / e0, chi


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.1, 10.0),
    st.floats(0.1, 10.0),
    st.floats(0.01, 5.0),
    st.floats(-1.5, 1.0).map(lambda e: 10.0**e),
)
def test_bias_variance_match_the_directly_solved_fixed_point(p1, p2, z2, lam_bar):
    b_ref, v_ref, chi_ref = _paper_bias_variance(p1, p2, z2, lam_bar)
    b, v = rf_bias_variance(np.float64(p1), np.float64(p2), z2, np.float64(lam_bar))
    chi = _rf_chi(np.float64(p1), np.float64(p2), z2, np.float64(lam_bar))[0]
    assert chi == pytest.approx(chi_ref, rel=1e-10)
    # the paper's E0 loses digits by cancellation; 1e-8 leaves room for that
    assert b == pytest.approx(b_ref, rel=1e-8)
    assert v == pytest.approx(v_ref, rel=1e-8, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.05, 20.0), st.floats(0.05, 20.0), st.floats(-8.0, 3.0))
def test_zeta_zero_closed_form(p1, p2, log_lam):
    # ζ = 0: a1(y + a2) = ψ1, a2(y + a1) = ψ2, so t = a1a2 is the small root of
    # t² − s t + P = 0 (s = ψ1 + ψ2 + y², P = ψ1ψ2, y² = Pλ̄); E1 = −P, E0 = t² − P, E2 = −t²:
    # B = P/(P − t²) = (s + √D)/(2√D), V = t²/(P − t²) = 2P/((s + √D)√D), with the discriminant
    # D = s² − 4P = (ψ1 − ψ2)² + 2(ψ1 + ψ2)y² + y⁴ written without cancellation.
    lam_bar = 10.0**log_lam
    big_p, y2 = p1 * p2, p1 * p2 * lam_bar
    s = p1 + p2 + y2
    root_d = math.sqrt((p1 - p2) ** 2 + 2 * (p1 + p2) * y2 + y2 * y2)
    t = 2 * big_p / (s + root_d)
    b, v = rf_bias_variance(np.float64(p1), np.float64(p2), 0.0, np.float64(lam_bar))
    chi, f1, f2 = _rf_chi(np.float64(p1), np.float64(p2), 0.0, np.float64(lam_bar))
    assert -chi == pytest.approx(t, rel=1e-12)
    assert b == pytest.approx((s + root_d) / (2 * root_d), rel=1e-11)
    assert v == pytest.approx(2 * big_p / ((s + root_d) * root_d), rel=1e-11)
    assert b - v == pytest.approx(1.0, rel=1e-11)  # the linear part is pure noise to the features


@settings(max_examples=40, deadline=None)
@given(st.floats(0.05, 20.0), st.floats(0.05, 20.0), st.floats(0.0, 10.0), st.floats(-12.0, 2.0))
def test_chi_solves_its_equation_and_is_symmetric(p1, p2, z2, log_lam):
    lam_bar = 10.0**log_lam
    args = (np.float64(p1), np.float64(p2), z2, np.float64(lam_bar))
    chi, f1, f2 = _rf_chi(*args)
    assert chi < 0 and f1 > 0 and f2 > 0
    # f_i(χ) = ψ_i(1 − ζ²χ) + (1 + ζ² − ζ²χ)χ and f1 f2 = ψ1ψ2λ̄(−χ)(1 − ζ²χ)²
    one = 1 - z2 * chi
    assert f1 == pytest.approx(p1 * one + (1 + z2 - z2 * chi) * chi, rel=1e-9, abs=1e-12)
    assert f2 == pytest.approx(p2 * one + (1 + z2 - z2 * chi) * chi, rel=1e-9, abs=1e-12)
    assert f1 * f2 == pytest.approx(p1 * p2 * lam_bar * (-chi) * one**2, rel=1e-9)
    chi_s, g1, g2 = _rf_chi(args[1], args[0], z2, args[3])
    assert chi_s == pytest.approx(chi, rel=1e-14)
    assert g1 == pytest.approx(f2, rel=1e-14) and g2 == pytest.approx(f1, rel=1e-14)


def test_bias_variance_limits():
    p1, p2 = np.array([0.5, 2.0, 5.0]), np.array([3.0, 1.0, 0.7])
    # λ → ∞: the fitted second layer → 0, so the risk is the null risk, B → 1 and V → 0
    b, v = rf_bias_variance(p1, p2, 0.6, np.full(3, 1e10))
    np.testing.assert_allclose(b, 1.0, atol=1e-6)
    np.testing.assert_allclose(v, 0.0, atol=1e-6)
    # ψ2 → 0 (no data) likewise
    b, v = rf_bias_variance(np.float64(2.0), np.float64(1e-9), 0.6, np.float64(0.1))
    assert b == pytest.approx(1.0, abs=1e-6) and v == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.05, 20.0), st.floats(0.05, 20.0), st.floats(0.01, 5.0), st.floats(-6.0, 2.0))
def test_more_ridge_less_variance(p1, p2, z2, log_lam):
    lam = 10.0**log_lam
    args = (np.float64(p1), np.float64(p2), z2)
    b, v = rf_bias_variance(*args, np.float64(lam))
    b2, v2 = rf_bias_variance(*args, np.float64(4 * lam))
    assert np.isfinite(b) and np.isfinite(v) and b >= 0 and v >= 0
    assert v2 <= v * (1 + 1e-12)


def test_broadcasting():
    p1 = np.array([[0.5], [2.0]])
    p2 = np.array([1.0, 3.0, 4.0])
    b, v = rf_bias_variance(p1, p2, 0.5, np.float64(0.2))
    assert b.shape == v.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            bij, vij = rf_bias_variance(p1[i, 0], p2[j], 0.5, np.float64(0.2))
            assert (b[i, j], v[i, j]) == (bij, vij)

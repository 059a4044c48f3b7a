"""The stable NNGP/NTK recursion against references written here without its closed forms.

* The recursion Σ^{l+1} = σ_w² E[φ(u)φ(v)] + σ_b², Θ^{l+1} = σ_w² E[φ'(u)φ'(v)] Θ^l + Σ^{l+1}
  with each Gaussian expectation integrated numerically: for ``erf`` the inner average over the
  orthogonal direction in closed form (Gaussian convolution of erf) and the outer one by SciPy
  ``quad``; for ``relu`` ``quad`` over the polar angle (the radial integral is
  ∫ r³ e^{−r²/2} dr = 2). Neither the arc-cosine nor the arcsine formula is used.
* A one-hidden-layer network of finite width m with hand-written parameter gradients: its
  empirical NNGP/NTK is a mean of m i.i.d. per-neuron terms, compared within 5 standard errors.
* Exact rational arithmetic (``fractions.Fraction``) for the Gram determinant and mpmath for the
  angle helpers.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from kernelcap.theory._mlp_kernels import (
    _angle,
    _erf_diagonal,
    _one_minus_j,
    _pairwise_gram_det,
    _row_exponents,
    mlp_kernels,
)


def _expectations(act, q1, q2, q12):
    """(E[φ(u)φ(v)], E[φ'(u)φ'(v)], E[φ(u)²], E[φ(v)²]), (u, v) ~ N(0, [[q1, q12], [q12, q2]])."""
    n = math.sqrt(q1 * q2)
    c = min(max(q12 / n, -1.0), 1.0)
    s = math.sqrt(max(1.0 - c * c, 0.0))
    if act == "erf":
        # inner Gaussian average in closed form, E_h erf(α + βh) = erf(α/√(1 + 2β²)) and
        # E_h e^{−(α+βh)²} = e^{−α²/(1+2β²)}/√(1 + 2β²); the outer one by adaptive quad
        a1, a2, beta2 = math.sqrt(q1), math.sqrt(q2) * c, q2 * s * s
        k = 1 / math.sqrt(1 + 2 * beta2)

        def gauss(f):
            dens = lambda g: math.exp(-g * g / 2) / math.sqrt(2 * math.pi)  # noqa: E731
            parts = [(-np.inf, 0.0), (0.0, np.inf)]
            return sum(
                integrate.quad(lambda g: f(g) * dens(g), lo, hi, epsabs=1e-15, epsrel=1e-13)[0]
                for lo, hi in parts
            )

        def dphi(z):
            return 2 / math.sqrt(math.pi) * math.exp(-z * z)

        return (
            gauss(lambda g: math.erf(a1 * g) * math.erf(a2 * g * k)),
            gauss(lambda g: dphi(a1 * g) * dphi(a2 * g * k) * k),
            gauss(lambda g: math.erf(a1 * g) ** 2),
            gauss(lambda g: math.erf(math.sqrt(q2) * g) ** 2),
        )
    # relu: g = r(cos t, sin t), u ∝ cos t, v ∝ cos(t − θ); both positive on part of (−π/2, π/2)
    theta = math.atan2(s, c)
    lo, hi = max(-math.pi / 2, theta - math.pi / 2), min(math.pi / 2, theta + math.pi / 2)
    if hi <= lo:
        return 0.0, 0.0, q1 / 2, q2 / 2
    ang = integrate.quad(lambda t: math.cos(t) * math.cos(t - theta), lo, hi, epsabs=1e-15)[0]
    return n / math.pi * ang, (hi - lo) / (2 * math.pi), q1 / 2, q2 / 2


def _reference(x1, x2, depth, act, w2, b2):
    d = x1.shape[1]
    sig, th = np.empty((len(x1), len(x2))), np.empty((len(x1), len(x2)))
    for i, a in enumerate(x1):
        for j, b in enumerate(x2):
            q1, q2, q12 = (w2 * float(np.dot(p, r)) / d + b2 for p, r in ((a, a), (b, b), (a, b)))
            t = q12
            for _ in range(depth):
                if act == "identity":
                    e, de, e1, e2 = q12, 1.0, q1, q2
                else:
                    e, de, e1, e2 = _expectations(act, q1, q2, q12)
                q12 = w2 * e + b2
                t = w2 * de * t + q12
                q1, q2 = w2 * e1 + b2, w2 * e2 + b2
            sig[i, j], th[i, j] = q12, t
    return sig, th


@pytest.mark.parametrize("act", ["relu", "erf", "identity"])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("w2, b2", [(1.0, 0.0), (2.0, 0.1), (0.7, 1.3)])
def test_recursion_matches_numerical_integration(act, depth, w2, b2):
    rng = np.random.default_rng(depth * 10 + int(10 * w2))
    x1 = rng.normal(size=(4, 3)) * np.array([[0.3], [1.0], [2.0], [1.0]])
    x1[3] = -0.8 * x1[1]  # an antiparallel pair
    x2 = rng.normal(size=(3, 3))
    sig, th = mlp_kernels(x1, x2, False, depth, act, w2, b2)
    ref_sig, ref_th = _reference(x1, x2, depth, act, w2, b2)
    np.testing.assert_allclose(sig, ref_sig, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(th, ref_th, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("act", ["relu", "erf"])
@pytest.mark.parametrize("w2, b2", [(2.0, 0.0), (1.5, 0.5)])
def test_one_hidden_layer_matches_a_finite_wide_network(act, w2, b2):
    # z¹ = (σ_w/√d) W x + σ_b b, f = (σ_w/√m) v·φ(z¹) + σ_b b_out, all weights N(0, 1).
    # ∂f/∂v_k = σ_w φ(z_k)/√m, ∂f/∂W_k = σ_w v_k φ'(z_k) σ_w x/√(md), ∂f/∂b_k = σ_w v_k φ'(z_k)
    # σ_b/√m, ∂f/∂b_out = σ_b: Θ̂ = mean_k[σ_w² φφ' + σ_w² v_k² φ'φ' Σ¹] + σ_b², i.i.d. over k.
    rng = np.random.default_rng(7)
    d, m = 3, 200_000
    x = np.array([[1.0, 0.5, -0.3], [-0.4, 1.2, 0.8], [0.9, 0.6, -0.1]])
    big_w, b, v = rng.normal(size=(m, d)), rng.normal(size=m), rng.normal(size=m)
    z = math.sqrt(w2 / d) * big_w @ x.T + math.sqrt(b2) * b[:, None]  # (m, N)
    if act == "relu":
        phi, dphi = np.maximum(z, 0), (z > 0).astype(float)
    else:
        phi, dphi = special.erf(z), 2 / math.sqrt(math.pi) * np.exp(-z * z)
    sigma1 = w2 * x @ x.T / d + b2
    sig_ref, th_ref = mlp_kernels(x, x, False, 1, act, w2, b2)
    for i in range(3):
        for j in range(3):
            nngp_terms = w2 * phi[:, i] * phi[:, j]
            ntk_terms = nngp_terms + w2 * v * v * dphi[:, i] * dphi[:, j] * sigma1[i, j]
            for terms, ref in ((nngp_terms, sig_ref[i, j]), (ntk_terms, th_ref[i, j])):
                se = terms.std(ddof=1) / math.sqrt(m)
                assert abs(terms.mean() + b2 - ref) <= 5 * se, (i, j, terms.mean() + b2, ref, se)


def test_depth_zero_is_the_linear_kernel_exactly():
    rng = np.random.default_rng(3)
    x1, x2 = rng.normal(size=(5, 4)), rng.normal(size=(2, 4))
    for act in ("relu", "erf", "identity"):
        sig, th = mlp_kernels(x1, x2, False, 0, act, 1.7, 0.4)
        np.testing.assert_allclose(sig, 1.7 * x1 @ x2.T / 4 + 0.4, rtol=1e-14)
        np.testing.assert_array_equal(sig, th)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(0, 4),
    st.sampled_from(["relu", "erf", "identity"]),
    st.floats(0.2, 3.0),
    st.sampled_from([0.0, 0.3, 2.0]),
)
def test_swapping_the_inputs_transposes_and_same_matches_explicit(seed, depth, act, w2, b2):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    s12, t12 = mlp_kernels(x1, x2, False, depth, act, w2, b2)
    s21, t21 = mlp_kernels(x2, x1, False, depth, act, w2, b2)
    np.testing.assert_allclose(s21, s12.T, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(t21, t12.T, rtol=1e-13, atol=1e-15)
    ss, ts = mlp_kernels(x1, x1, True, depth, act, w2, b2)
    se, te = mlp_kernels(x1, x1.copy(), False, depth, act, w2, b2)
    np.testing.assert_allclose(ss, se, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ts, te, rtol=1e-12, atol=1e-15)
    # the NTK adds non-negative terms to the NNGP on the diagonal; both grow with depth there
    assert np.all(np.diag(ts) >= np.diag(ss) * (1 - 1e-12))


def test_overflow_is_refused():
    x = np.array([[1e200, 1.0]])
    with pytest.raises(OverflowError, match="float64"):
        mlp_kernels(x, x, True, 1, "relu", 1.0, 0.0)
    # the erf kernel is bounded, so the same input is fine there
    sig, th = mlp_kernels(x, x, True, 2, "erf", 1.0, 0.0)
    assert np.all(np.isfinite(sig)) and np.all(np.isfinite(th))


# --- helpers -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.floats(-300, 300), st.booleans())
def test_row_exponents_bound_the_rows(seed, log_scale, up):
    x = np.random.default_rng(seed).normal(size=(3, 4)) * 10.0**log_scale
    e = _row_exponents(x, up)
    top = np.max(np.abs(x), axis=1) / np.ldexp(1.0, e)
    assert np.all(top <= 2.0**100)
    if up:
        assert np.all((top >= 0.5) & (top < 1.0))  # every row brought to ~1
    else:
        assert np.all(e >= 0) and np.all((e == 0) | (top > 2.0**99))
    assert _row_exponents(np.zeros((0, 4)), up).shape == (0,)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 0.5]), st.floats(-14.0, 0.0))
def test_pairwise_gram_det_matches_exact_rationals(seed, b2, log_eps):
    rng = np.random.default_rng(seed)
    d, a = 3, 0.9
    x1 = rng.normal(size=(2, d))
    x2 = np.stack([x1[0] * (1 + 10.0**log_eps * rng.normal(size=d)), rng.normal(size=d)])
    c1, c2 = np.array([1.0, 0.5]), np.array([1.0, 2.0])
    idx = (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
    got = _pairwise_gram_det(x1, x2, c1, c2, a, b2, idx)
    fa, fb = Fraction(a), Fraction(b2)
    for k, (i, j) in enumerate(zip(*idx)):
        u, w = [Fraction(float(t)) for t in x1[i]], [Fraction(float(t)) for t in x2[j]]
        ci, cj = Fraction(float(c1[i])), Fraction(float(c2[j]))
        dot = lambda p, q: sum((s * t for s, t in zip(p, q)), Fraction(0))  # noqa: E731
        q1, q2 = fa * dot(u, u) + fb * ci * ci, fa * dot(w, w) + fb * cj * cj
        q12 = fa * dot(u, w) + fb * ci * cj
        exact = float(q1 * q2 - q12 * q12)
        assert got[k] == pytest.approx(exact, rel=1e-10, abs=1e-300), (i, j)


def test_angle_is_accurate_near_zero_and_pi():
    for theta in (1e-12, 1e-6, 0.3, 1.5, math.pi - 1e-6, math.pi - 1e-12):
        n, q12 = np.array(1.0), np.array(math.cos(theta))
        delta = np.array(math.sin(theta) ** 2)
        got = float(_angle(n, q12, delta))
        assert got == pytest.approx(theta, rel=1e-12)
    assert float(_angle(np.array(0.0), np.array(0.0), np.array(0.0))) == pytest.approx(math.pi / 2)


def test_one_minus_j_against_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    theta = np.array([1e-8, 1e-4, 0.1, 0.49, 0.5, 0.51, 1.0, 2.0, 3.0, math.pi])
    got = _one_minus_j(theta, np.sin(theta), np.cos(theta))
    for t, g in zip(theta, got):
        tt = mp.mpf(float(t))
        ref = 1 - (mp.sin(tt) + (mp.pi - tt) * mp.cos(tt)) / mp.pi
        assert g == pytest.approx(float(ref), rel=1e-12), t


@settings(max_examples=60, deadline=None)
@given(st.floats(-200, 200), st.floats(-3, 3))
def test_erf_diagonal_against_mpmath(log_q, log_c2):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 500
    q, c2 = 10.0**log_q, 10.0**log_c2
    ref = 2 / mp.pi * mp.asin(2 * mp.mpf(q) / (mp.mpf(c2) + 2 * mp.mpf(q)))
    assert float(_erf_diagonal(np.array(q), np.array(c2))) == pytest.approx(float(ref), rel=1e-13)

"""Effective ranks and the benign-overfitting critical index against exact rational arithmetic.

References are written here independently of the module: r_k and R_k of Bartlett, Long, Lugosi &
Tsigler (2020, Def. 3) summed as ``fractions.Fraction`` (exact for any finite float, so also where
the module switches to its ratio recurrence), the geometric spectrum in closed form, and k* of
Thm 4 found by a plain scan over k.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kernelcap.theory._benign_overfitting import benign_overfitting_bound, effective_ranks


def _exact_ranks(values, k):
    """(r_k, R_k) from the definition, in exact rational arithmetic (None where λ_{k+1} = 0)."""
    lam = sorted((Fraction(float(v)) for v in values), reverse=True)
    tail = lam[k:]  # λ_{k+1}, λ_{k+2}, ... (1-based)
    if tail[0] == 0:
        return None
    s1 = sum(tail, Fraction(0))
    s2 = sum((t * t for t in tail), Fraction(0))
    return float(s1 / tail[0]), float(s1 * s1 / s2)


def _brute_bound(values, n, b=1.0):
    lam = sorted((float(v) for v in values), reverse=True)
    positive = sum(v > 0 for v in lam)
    r0 = _exact_ranks(lam, 0)[0]
    bias = lam[0] * max(math.sqrt(r0 / n), r0 / n)
    for k in range(positive):
        r, big_r = _exact_ranks(lam, k)
        if r >= b * n:
            return k, r, big_r, bias
    return -1, None, None, bias


spectra = st.lists(
    st.one_of(
        st.just(0.0),
        st.floats(-300, 300).map(lambda e: 10.0**e),
        st.floats(1e-3, 1e3),
    ),
    min_size=1,
    max_size=15,
).filter(lambda v: any(x > 0 for x in v))


@settings(max_examples=150, deadline=None)
@given(spectra, st.randoms(use_true_random=False))
@example([1.0, 1e-200, 1e-200, 0.0], None)  # the ratio-recurrence branch (λ² underflows)
@example([1e308, 1e308, 5e307], None)  # sums beyond the float range before rescaling
def test_effective_ranks_match_exact_rational_sums(values, rnd):
    shuffled = list(values)
    if rnd is not None:
        rnd.shuffle(shuffled)  # the module sorts; order of the input must not matter
    positive = sum(v > 0 for v in values)
    ks = np.arange(positive)
    r, big_r = effective_ranks(np.array(shuffled), ks)
    for k in ks:
        ref_r, ref_big_r = _exact_ranks(values, int(k))
        assert r[k] == pytest.approx(ref_r, rel=1e-12)
        assert big_r[k] == pytest.approx(ref_big_r, rel=1e-12)


@pytest.mark.parametrize("rho, p", [(0.5, 40), (0.9, 200), (0.99, 1000)])
def test_geometric_spectrum_closed_form(rho, p):
    # λ_i = ρ^{i-1}: r_k = (1 − ρ^{p−k})/(1 − ρ), R_k = r_k² (1 − ρ²)/(1 − ρ^{2(p−k)}).
    lam = rho ** np.arange(p)
    ks = np.array([0, 1, p // 3, p - 2, p - 1])
    r, big_r = effective_ranks(lam, ks)
    m = p - ks
    ref_r = (1 - rho**m) / (1 - rho)
    ref_big_r = ref_r**2 * (1 - rho**2) / (1 - rho ** (2 * m))
    np.testing.assert_allclose(r, ref_r, rtol=1e-11)
    np.testing.assert_allclose(big_r, ref_big_r, rtol=1e-11)
    assert r[-1] == pytest.approx(1.0) and big_r[-1] == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(spectra, st.floats(-250, 250))
def test_effective_ranks_are_scale_free(values, log_c):
    lam = np.array(values)
    pos = lam[lam > 0]
    if np.log10(pos.max()) + log_c > 300 or np.log10(pos.min()) + log_c < -300:
        return  # the scaled spectrum must stay normal floats
    c = 10.0**log_c
    ks = np.arange(int(np.sum(lam > 0)))
    r, big_r = effective_ranks(lam, ks)
    rc, big_rc = effective_ranks(lam * c, ks)
    np.testing.assert_allclose(rc, r, rtol=1e-12)
    np.testing.assert_allclose(big_rc, big_r, rtol=1e-12)


def test_effective_ranks_shapes_and_scalar_return():
    lam = [4.0, 3.0, 2.0, 1.0]
    r, big_r = effective_ranks(lam, 1)
    assert isinstance(r, float) and isinstance(big_r, float)
    assert r == pytest.approx(6 / 3) and big_r == pytest.approx(36 / 14)
    r, big_r = effective_ranks(lam, np.array([[0, 1, 2], [3, 2, 1]]))
    assert r.shape == big_r.shape == (2, 3)
    np.testing.assert_allclose(r, [[10 / 4, 2, 3 / 2], [1, 3 / 2, 2]])
    # trailing zeros change nothing where λ_{k+1} > 0
    rz, big_rz = effective_ranks(lam + [0.0, 0.0], [0, 3])
    np.testing.assert_allclose(rz, [10 / 4, 1])
    np.testing.assert_allclose(big_rz, [100 / 30, 1])


def test_effective_ranks_refusals():
    with pytest.raises(ValueError, match="empty"):
        effective_ranks([], 0)
    with pytest.raises(ValueError, match="λ_"):
        effective_ranks([1.0, 0.0, 0.0], 1)  # λ_2 = 0: r_1 undefined
    with pytest.raises(ValueError, match="k"):
        effective_ranks([1.0, 1.0], 1.5)
    with pytest.raises(ValueError, match="k"):
        effective_ranks([1.0, 1.0], -1)
    with pytest.raises(ValueError, match="eigenvalues"):
        effective_ranks([1.0, -1e-300], 0)


@settings(max_examples=120, deadline=None)
@given(spectra, st.integers(1, 40), st.sampled_from([0.1, 0.5, 1.0, 2.0]))
@example([1.0] + [1e-3] * 200, 50, 1.0)  # one spike over a flat tail: k* = 1
def test_bound_matches_a_plain_scan_over_k(values, n, b):
    out = benign_overfitting_bound(values, n, b)
    k, r, big_r, bias = _brute_bound(values, n, b)
    assert out["k_star"] == k
    assert out["bias_scale"] == pytest.approx(bias, rel=1e-12)
    if k < 0:
        assert all(np.isnan(out[key]) for key in ("r_k", "R_k", "k_over_n", "n_over_R"))
        assert out["variance_term"] == np.inf
        return
    assert out["r_k"] == pytest.approx(r, rel=1e-12) and out["r_k"] >= b * n
    assert out["R_k"] == pytest.approx(big_r, rel=1e-12)
    assert out["k_over_n"] == k / n
    assert out["n_over_R"] == pytest.approx(n / big_r, rel=1e-12)
    assert out["variance_term"] == pytest.approx(k / n + n / big_r, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(spectra, st.integers(1, 30))
def test_critical_index_never_decreases_with_n_or_b(values, n):
    def kstar(n, b=1.0):
        k = benign_overfitting_bound(values, n, b)["k_star"]
        return math.inf if k < 0 else k  # "no k qualifies" is the largest outcome

    assert kstar(n) <= kstar(n + 1) <= kstar(2 * n + 1)
    assert kstar(n, 0.5) <= kstar(n, 1.0) <= kstar(n, 2.0)


def test_bound_on_a_spiked_spectrum_by_hand():
    # two spikes of 10 over 1000 eigenvalues 0.01 and n = 20: r_0 = 30/10, r_1 = 20/10,
    # r_2 = 10/0.01 = 1000 ≥ 20, so k* = 2, R_2 = 1000.
    lam = np.concatenate([[10.0, 10.0], np.full(1000, 0.01)])
    out = benign_overfitting_bound(lam, 20)
    assert out["k_star"] == 2
    assert out["r_k"] == pytest.approx(1000) and out["R_k"] == pytest.approx(1000)
    assert out["variance_term"] == pytest.approx(2 / 20 + 20 / 1000)
    assert out["bias_scale"] == pytest.approx(10 * math.sqrt(3 / 20))


def test_bound_refusals():
    with pytest.raises(ValueError, match="positive"):
        benign_overfitting_bound([0.0, 0.0], 5)
    with pytest.raises(ValueError, match="n"):
        benign_overfitting_bound([1.0], 0)
    with pytest.raises(ValueError, match="b"):
        benign_overfitting_bound([1.0], 3, b=0.0)
    with pytest.raises(ValueError, match="eigenvalues"):
        benign_overfitting_bound([1.0, -2.0], 3)
    with pytest.raises(TypeError, match="n"):
        benign_overfitting_bound([1.0], "3")

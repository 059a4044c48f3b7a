"""The private numerics of kernelcap.theory.hopfield against exact integer and rational arithmetic,
scipy.special and closed forms (the public wrappers are tested in test_hopfield)."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import special, stats

from kernelcap.theory import _hopfield_numerics as hn

LOG_MAX = math.log(np.finfo(float).max)


def _cover(p: int, n: int) -> int:
    """Cover's count 2 Σ_{k<min(N,P)} binom(P−1, k), with math.comb."""
    return 2 * sum(math.comb(p - 1, k) for k in range(min(n, p)))


def _cover_incremental(p: int, n: int) -> int:
    """The same sum for large P, small N: binom(P−1, k) by exact multiplicative steps."""
    term, total = 1, 1
    for k in range(1, min(n, p)):
        term = term * (p - k) // k
        total += term
    return 2 * total


def _log_int(x: int) -> float:
    return math.log(x)  # math.log of a Python int is correctly computed for any size


# --- Cover's count ------------------------------------------------------------------------------


@given(p=st.integers(2, 600), n=st.integers(1, 599))
@settings(max_examples=100)
def test_exact_cover_count_is_the_binomial_sum(p, n):
    if n < p:
        assert hn._exact_cover_count(p, n) == _cover(p, n)


@given(p=st.integers(1, 40), n=st.integers(1, 40))
def test_exact_cover_count_satisfies_cover_recursion(p, n):
    # C(P+1, N) = C(P, N) + C(P, N−1), where both sides are in the N < P regime of the function
    if 2 <= n < p:
        assert hn._exact_cover_count(p + 1, n) == hn._exact_cover_count(
            p, n
        ) + hn._exact_cover_count(p, n - 1)
    # N = P − 1 misses only the all-parity pattern count binom(P−1, P−1) = 1 (twice) from 2^P
    if p >= 2:
        assert hn._exact_cover_count(p, p - 1) == 2**p - 2


@given(p=st.integers(1, 2500), n=st.integers(1, 1200))
@example(p=1024, n=1100)  # p ≤ n: 2^1024 overflows
@example(p=1023, n=1023)  # 2^1023: the largest power of two in float64
@example(p=2047, n=1023)  # N = 1023 is the last exactly summed N
@settings(max_examples=80, deadline=None)
def test_cover_count_scalar_is_the_rounded_integer_or_inf(p, n):
    exact = _cover(p, n)
    try:
        ref = float(exact)
    except OverflowError:
        ref = math.inf
    assert hn._cover_count_scalar(p, n) == ref


@pytest.mark.parametrize(
    "p, n", [(10**15, 20), (10**12, 40), (2**52, 30), (10**6, 60), (5 * 10**4, 80)]
)
def test_cover_count_scalar_large_p_small_n(p, n):
    exact = _cover_incremental(p, n)
    try:
        ref = float(exact)
    except OverflowError:
        ref = math.inf
    assert hn._cover_count_scalar(p, n) == ref


def test_cover_count_scalar_shortcuts_only_hopeless_sums():
    # N > 1023, N < P: C ≥ 2^{N+1} − 2 > float max, answered without summing
    assert hn._cover_count_scalar(3000, 1024) == math.inf
    assert _cover(1026, 1024) > int(np.finfo(float).max)
    # (N−1) ln((P−1)/(N−1)) > 710 ⇒ C ≥ 2 binom(P−1, N−1) > e^710
    p, n = 10**15, 60
    assert (n - 1) * math.log((p - 1) / (n - 1)) > 710
    assert _log_int(_cover_incremental(p, n)) > LOG_MAX
    assert hn._cover_count_scalar(p, n) == math.inf


# --- ln binom and ln C --------------------------------------------------------------------------


@given(m=st.integers(0, 20_000), frac=st.floats(0.0, 0.5))
@example(m=999, frac=0.001)  # z₂ = 999: the gammaln branch
@example(m=1000, frac=0.0)  # z₂ = 1001: the Stirling branch
@example(m=1998, frac=0.5)
@settings(max_examples=150)
def test_log_binom_matches_exact_integers(m, frac):
    k = int(frac * m)
    ref = _log_int(math.comb(m, k))
    if m - k + 1 < 1000:  # gammaln difference: a few ulps of ln Γ(m+1) absolute
        tol = 8 * math.ulp(float(special.gammaln(m + 1.0))) + 1e-15
        assert abs(hn._log_binom(m, k) - ref) <= tol
    else:  # Stirling series in log1p: relative accuracy
        assert hn._log_binom(m, k) == pytest.approx(ref, rel=1e-14, abs=1e-15)


def test_log_binom_relative_accuracy_at_small_m():
    for m, k in [(756, 1), (300, 2), (999, 3)]:
        ref = _log_int(math.comb(m, k))
        assert hn._log_binom(m, k) == pytest.approx(ref, rel=1e-15)


def _log_binom_by_fsum(m: int, k: int) -> float:
    """ln binom(m, k) = Σ_{i<k} ln((m−i)/(k−i)), each log of an exact float, summed exactly."""
    return math.fsum(math.log(m - i) - math.log(k - i) for i in range(k))


@given(m=st.integers(10**9, 2**52), k=st.integers(1, 400))
@example(m=10**15, k=400)
@example(m=10**13, k=1)
@settings(max_examples=60)
def test_log_binom_keeps_its_digits_at_huge_m(m, k):
    # where gammaln(m+1) − gammaln(m−k+1) would lose ~10 digits
    ref = _log_binom_by_fsum(m, k)
    assert hn._log_binom(m, k) == pytest.approx(ref, rel=2e-15)


def test_log_binom_beats_the_naive_gammaln_difference():
    m, k = 10**13, 5
    ref = _log_binom_by_fsum(m, k)
    naive = special.gammaln(m + 1.0) - special.gammaln(k + 1.0) - special.gammaln(m - k + 1.0)
    assert abs(hn._log_binom(m, k) - ref) < 1e-13 * ref
    assert abs(naive - ref) > 1e3 * abs(hn._log_binom(m, k) - ref)  # the loss it avoids


@given(p=st.integers(1, 3000), n=st.integers(1, 1600))
@example(p=1500, n=1500)  # p ≤ n
@example(p=3000, n=1024)  # first N beyond the exact sum, cdf branch
@example(p=2000, n=1000)  # C = 2^1999 exactly
@settings(max_examples=60, deadline=None)
def test_log_cover_count_matches_exact_integers(p, n):
    ref = _log_int(_cover(p, n))
    assert hn._log_cover_count_scalar(p, n) == pytest.approx(ref, rel=1e-13)


@pytest.mark.parametrize("p, n", [(100_000, 2000), (60_000, 1500), (400_000, 1100)])
def test_log_cover_count_deep_lower_tail(p, n):
    # Binomial(P−1, ½) cdf at N−1 underflows: the geometric sum from the top term is used
    assert stats.binom.cdf(n - 1, p - 1, 0.5) < 1e-250
    ref = _log_int(_cover_incremental(p, n))
    assert hn._log_cover_count_scalar(p, n) == pytest.approx(ref, rel=1e-13)


def test_log_cover_count_p_le_n_is_p_ln2():
    for p, n in [(1, 1), (5, 9), (2000, 2000), (10**15, 10**15 + 1)]:
        assert hn._log_cover_count_scalar(p, n) == pytest.approx(p * math.log(2), rel=1e-15)


@given(p=st.integers(2, 10**7), n=st.integers(1, 5000))
@settings(max_examples=40, deadline=None)
def test_log_cover_count_is_monotone_and_bounded(p, n):
    lc = hn._log_cover_count_scalar(p, n)
    assert math.log(2) <= lc <= p * math.log(2) * (1 + 1e-15)
    assert hn._log_cover_count_scalar(p + 1, n) >= lc * (1 - 1e-14)
    assert hn._log_cover_count_scalar(p, n + 1) >= lc * (1 - 1e-14)


def test_per_pair_evaluates_each_distinct_pair_once_and_keeps_the_shape():
    calls = []

    def fn(a, b):
        calls.append((a, b))
        assert isinstance(a, int) and isinstance(b, int)
        return float(10 * a + b)

    p = np.array([[1.0, 2.0, 1.0], [2.0, 1.0, 3.0]])
    n = np.array([[4.0, 5.0, 4.0], [5.0, 4.0, 4.0]])
    out = hn._per_pair(fn, p, n)
    assert out.shape == (2, 3)
    assert out.tolist() == [[14.0, 25.0, 14.0], [25.0, 14.0, 34.0]]
    assert sorted(calls) == [(1, 4), (2, 5), (3, 4)]


# --- dense-memory helpers -----------------------------------------------------------------------


@pytest.mark.parametrize("m", [-1, 1, 3, 5, 7, 21, 101, 301, 1001])
def test_log_double_factorial_matches_exact_product(m):
    ref = _log_int(math.prod(range(m, 0, -2)))  # empty product at m = −1
    assert hn._log_double_factorial(float(m)) == pytest.approx(ref, rel=1e-14, abs=1e-14)


def test_log_double_factorial_is_vectorised_and_recursive():
    m = np.arange(1, 400, 2, dtype=float)
    out = hn._log_double_factorial(m)
    assert out.shape == m.shape
    # m!! = m · (m−2)!!
    np.testing.assert_allclose(out[1:] - out[:-1], np.log(m[1:]), rtol=1e-12, atol=1e-12)


@given(n=st.integers(2, 10**6), d=st.integers(2, 400), k=st.integers(1, 10**9))
@example(n=100, d=400, k=2)  # N^{n−1} and (2n−3)!! both overflow
@example(n=10**6, d=60, k=1)  # the ratio itself overflows
@settings(max_examples=80)
def test_dense_ratio_matches_the_exact_rational(n, d, k):
    exact = Fraction(n ** (d - 1), math.prod(range(2 * d - 3, 0, -2)) * k)
    log_ref = _log_int(exact.numerator) - _log_int(exact.denominator)
    out = float(hn._dense_ratio(np.float64(n), np.int64(d), float(k), math.log(k)))
    if -700 < log_ref < LOG_MAX - 1e-9:
        assert out == pytest.approx(math.exp(log_ref), rel=1e-12 * max(1.0, abs(log_ref)))
    elif log_ref >= LOG_MAX + 1e-9:
        assert out == math.inf
    else:
        assert 0.0 <= out < 1e-300


def test_dense_ratio_from_logs_where_textbook_gives_nan():
    exact = Fraction(100**399, math.prod(range(797, 0, -2)) * 2)
    ref = math.exp(_log_int(exact.numerator) - _log_int(exact.denominator))  # ≈ 8.6e-188
    out = hn._dense_ratio(np.array([100.0]), np.array([400]), 2.0, math.log(2.0))
    assert out.shape == (1,)
    assert out[0] == pytest.approx(ref, rel=1e-11)


def _exact_finite_error(n: int, k: int, degree: int) -> float:
    g2 = sum(
        math.comb(n - 1, b) * ((2 * b - n + 2) ** degree - (2 * b - n) ** degree) ** 2
        for b in range(n)
    )
    signal = n**degree - (n - 2) ** degree
    s = Fraction(signal**2 * 2 ** (n - 1), (k - 1) * g2)
    return float(stats.norm.logsf(math.sqrt(float(s))))


@given(n=st.integers(2, 300), k=st.integers(2, 10**12), d=st.integers(2, 60))
@example(n=300, k=2, d=60)  # N^{2n} ≈ 1e297: powers divided by N^n, huge S
@example(n=3, k=10**12, d=2)
@settings(max_examples=50, deadline=None)
def test_dense_finite_scalar_matches_exact_integers(n, k, d):
    ref = _exact_finite_error(n, k, d)
    got = hn._dense_finite_scalar(n, float(k), d)
    if ref > -700:
        assert math.log(got) == pytest.approx(ref, rel=1e-9, abs=1e-12)
    else:
        assert 0.0 <= got < 1e-300


def test_dense_finite_scalar_single_pattern_and_two_neurons():
    assert hn._dense_finite_scalar(50, 1.0, 3) == 0.0
    # N = 2: x = ±1, g(±1)² = 2^{2n}; signal 2^n: S = 1/(K−1)
    for d, k in [(2, 2.0), (5, 3.0), (9, 101.0)]:
        assert hn._dense_finite_scalar(2, k, d) == pytest.approx(
            stats.norm.sf(math.sqrt(1.0 / (k - 1))), rel=1e-13
        )


def test_dense_finite_scalar_window_drops_nothing_visible():
    # at N = 20001 the window keeps only part of the binomial support; compare with the full sum
    n, k, d = 20_001, 1e6, 3
    b = np.arange(n)
    x = 2.0 * b - (n - 1)
    g = ((x + 1) ** d - (x - 1) ** d) / float(n) ** d
    g2 = float(np.sum(stats.binom.pmf(b, n - 1, 0.5) * g * g))
    signal = (float(n) ** d - float(n - 2) ** d) / float(n) ** d
    ref = stats.norm.sf(signal / math.sqrt((k - 1) * g2))
    assert hn._dense_finite_scalar(n, k, d) == pytest.approx(ref, rel=1e-10)


# --- modern-memory helpers ----------------------------------------------------------------------


def _exact_exponent(b: float, delta: float, d: float, m: float) -> float:
    exact = Fraction(b) * (2 * Fraction(d) * Fraction(m) - Fraction(delta))
    if abs(exact) > Fraction(np.finfo(float).max):
        return math.inf if exact > 0 else -math.inf
    return float(exact)


@given(
    b=st.floats(1e-300, 1e300),
    # normal Δ only: 0.25·Δ of a subnormal Δ drops bits (harmless: e^{±1e-300} = 1)
    delta=st.one_of(st.just(0.0), st.floats(1e-290, 1e300), st.floats(-1e300, -1e-290)),
    d=st.one_of(st.just(0.0), st.floats(1e-300, 1e300)),
    m=st.floats(1e-300, 1e300),
)
@example(b=1e-300, delta=0.0, d=1e300, m=1e300)  # dM overflows, β dM = 1e300
@example(b=1.0, delta=1e300, d=1e300, m=1e10)  # dM overflows, the exponent does too
@example(b=1e300, delta=-1e300, d=0.0, m=1.0)  # −βΔ overflows: +inf
@example(b=1e300, delta=1e300, d=0.0, m=1.0)  # −inf
@settings(max_examples=150)
def test_modern_exponent_matches_exact_rationals(b, delta, d, m):
    ref = _exact_exponent(b, delta, d, m)
    got = float(hn._modern_exponent(np.float64(b), np.float64(delta), np.float64(d), m))
    assert not math.isnan(got)
    if math.isinf(ref):
        assert got == ref
    else:
        # a few ulps of the terms β·2dM and βΔ (which may nearly cancel), more where β dM is
        # formed as exp(ln β + ln d + ln M)
        scale = Fraction(b) * (2 * Fraction(d) * Fraction(m) + abs(Fraction(delta)))
        logs = abs(math.log(b)) + abs(math.log(m)) + (abs(math.log(d)) if d > 0 else 0.0)
        assert abs(Fraction(got) - Fraction(ref)) <= scale * Fraction(1e-15) * max(
            1.0, logs
        ) + Fraction(1e-15)  # dM or Δ/4 may underflow: an absolute error < 1e-23, invisible in e^x


def test_modern_exponent_is_exact_for_representable_simple_values():
    # β(2dM − Δ) with small dyadic inputs is exactly representable
    assert float(hn._modern_exponent(0.5, 3.0, 0.25, 4.0)) == 0.5 * (2 * 0.25 * 4.0 - 3.0)
    assert float(hn._modern_exponent(2.0, -1.0, 0.0, 8.0)) == 2.0
    out = hn._modern_exponent(np.array([1.0, 2.0]), np.array([[0.0], [4.0]]), 1.0, 1.0)
    assert out.tolist() == [[2.0, 4.0], [-2.0, -4.0]]


@given(
    log_pref=st.floats(-800.0, 800.0),
    exponent=st.floats(-1500.0, 1500.0),
)
@settings(max_examples=150)
def test_scaled_exp_is_the_product_of_the_exact_logs(log_pref, exponent):
    with np.errstate(over="ignore", under="ignore"):
        pref = float(np.exp(log_pref))  # 0 or inf at the ends, as a spurious overflow would be
    got = float(hn._scaled_exp(pref, log_pref, exponent))
    total = log_pref + exponent
    if pref == 0.0:
        assert got == 0.0  # documented: a zero prefactor gives exactly 0
    elif total > LOG_MAX + 1e-9:
        assert got == math.inf
    elif total > -700:
        assert got == pytest.approx(math.exp(total), rel=1e-12 * max(1.0, abs(exponent)))
    else:
        assert 0.0 <= got < 1e-300


def test_scaled_exp_uses_the_direct_product_where_it_is_finite():
    pref, exponent = 3.7, 12.5
    assert float(hn._scaled_exp(pref, math.log(pref), exponent)) == pref * math.exp(exponent)
    # direct product overflows spuriously (e^800 = inf) but the answer is e^100·1e-300·…
    got = float(hn._scaled_exp(1e-300, math.log(1e-300), 800.0))
    assert got == pytest.approx(math.exp(math.log(1e-300) + 800.0), rel=1e-12)
    # prefactor overflowed to inf, exponent brings it back
    got = float(hn._scaled_exp(math.inf, 750.0, -700.0))
    assert got == pytest.approx(math.exp(50.0), rel=1e-12)
    assert float(hn._scaled_exp(0.0, -math.inf, 1e300)) == 0.0

"""Properties, limits and published reference values of kernelcap.theory.hopfield."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kernelcap.theory import hopfield as h
from tests.theory._contract import assert_checks_arguments, assert_checks_choice, assert_checks_flag

sizes = st.integers(min_value=2, max_value=400)
small = st.integers(min_value=1, max_value=9)


# --- crosstalk ---------------------------------------------------------------------------------


@given(n=sizes, p=st.integers(1, 400))
def test_bit_error_is_a_probability_below_half(n, p):
    for method in ("asymptotic", "finite", "exact"):
        value = h.bit_error_probability(n, p, method=method)
        assert isinstance(value, float)
        assert 0.0 <= value <= 0.5


@given(n=sizes, p=st.integers(1, 200))
def test_bit_error_grows_with_load(n, p):
    for method in ("asymptotic", "finite", "exact"):
        assert (
            h.bit_error_probability(n, p + 1, method=method)
            >= h.bit_error_probability(n, p, method=method) - 1e-15
        )


def test_bit_error_exact_matches_brute_force_enumeration():
    # N=4, P=3: S is a sum of M=(N-1)(P-1)=6 random ±1; error iff S < -(N-1), tie counts ½
    n, p = 4, 3
    m = (n - 1) * (p - 1)
    total = 0.0
    for signs in itertools.product((-1, 1), repeat=m):
        s = sum(signs)
        total += 1.0 if s < -(n - 1) else (0.5 if s == -(n - 1) else 0.0)
    assert h.bit_error_probability(n, p, method="exact") == pytest.approx(total / 2**m, abs=1e-15)


def test_bit_error_methods_agree_at_large_n_and_reference_value():
    assert h.bit_error_probability(1000, 100) == pytest.approx(0.5 * math.erfc(math.sqrt(5)))
    e, a = (
        h.bit_error_probability(20000, 2000, method="exact"),
        h.bit_error_probability(20000, 2000),
    )
    assert e == pytest.approx(a, rel=0.02)
    assert h.bit_error_probability(50, 1, method="exact") == 0.0


def test_bit_error_vectorises():
    out = h.bit_error_probability(np.array([100, 200]), np.array([[10], [20]]))
    assert out.shape == (2, 2)


# --- AGS -----------------------------------------------------------------------------------------


def test_ags_critical_load_matches_published_value():
    assert h.ags_critical_load() == pytest.approx(0.1379, abs=2e-4)
    assert h.ags_overlap(h.ags_critical_load() - 1e-9) == pytest.approx(0.967, abs=1e-3)


@given(a=st.floats(0.0, 0.137), b=st.floats(0.0, 0.137))
def test_ags_overlap_decreases_below_alpha_c(a, b):
    lo, hi = sorted((a, b))
    assert 0.96 < h.ags_overlap(hi) <= h.ags_overlap(lo) + 1e-12 <= 1.0 + 1e-12


@given(a=st.floats(0.1381, 10.0))
def test_ags_overlap_vanishes_above_alpha_c(a):
    assert h.ags_overlap(a) == 0.0


def test_ags_overlap_solves_the_replica_equations():
    from scipy.special import erf

    for alpha in (0.05, 0.1, 0.13):
        m = h.ags_overlap(alpha)
        # m = erf(y) with y(√(2α) + (2/√π) e^{-y²}) = erf(y)
        from scipy.special import erfinv

        y = erfinv(m)
        assert y * (
            math.sqrt(2 * alpha) + 2 / math.sqrt(math.pi) * math.exp(-y * y)
        ) == pytest.approx(m, abs=1e-7)
        assert erf(y) == pytest.approx(m)
    assert h.ags_overlap(0.0) == 1.0
    assert h.ags_overlap([0.0, 0.2]).tolist() == [1.0, 0.0]


# --- McEliece, Storkey, pseudo-inverse, dense ----------------------------------------------------


@given(n=st.floats(2.0, 1e7))
def test_capacity_orderings(n):
    assert h.mceliece_capacity(n) == pytest.approx(h.mceliece_capacity(n, all_patterns=False) / 2)
    assert h.mceliece_capacity(n, all_patterns=False) == pytest.approx(h.dense_capacity(n, 2))
    assert h.pseudo_inverse_capacity(n) == n
    assert h.storkey_capacity(n) > h.mceliece_capacity(n, all_patterns=False) * 0.99 or n < 3


def test_all_stable_probability_crosses_half_near_published_finite_n():
    p = np.arange(1, 30)
    prob = h.all_stable_probability(100, p)
    assert np.all(np.diff(prob) <= 1e-12)
    p50 = p[np.argmax(prob < 0.5)]
    assert 9 <= p50 <= 12  # ≈1.75 × N/(4 ln N) at N=100
    assert p50 > h.mceliece_capacity(100)


@given(n=st.integers(3, 200), deg=st.integers(2, 5))
def test_dense_capacity_grows_like_power(n, deg):
    ratio = h.dense_capacity(2 * n, deg) / h.dense_capacity(n, deg)
    assert ratio == pytest.approx(2 ** (deg - 1) * math.log(n) / math.log(2 * n))


def test_dense_error_reduces_to_hebbian():
    assert h.dense_bit_error_probability(300, 30, 2) == pytest.approx(
        h.bit_error_probability(300, 30)
    )
    assert h.dense_bit_error_probability(300, 30, 2, method="finite") == pytest.approx(
        h.bit_error_probability(300, 30, method="finite")
    )
    # finite-N converges to the asymptotic form
    a = h.dense_bit_error_probability(400, 0.3 * 400**2 / 3, 3)
    f = h.dense_bit_error_probability(400, 0.3 * 400**2 / 3, 3, method="finite")
    assert f == pytest.approx(a, rel=0.05)


# --- Cover, Gardner ------------------------------------------------------------------------------


def _brute_force_cover(p, n):
    """Count sign patterns realisable by w·x over a random point set in general position."""
    rng = np.random.default_rng(p * 10 + n)
    x = rng.standard_normal((p, n))
    w = rng.standard_normal((200_000, n))
    return len({tuple(r) for r in np.sign(w @ x.T).astype(int)})


@pytest.mark.parametrize("p,n", [(1, 1), (3, 1), (3, 2), (4, 2), (5, 2), (4, 3), (6, 3)])
def test_cover_count_matches_enumeration(p, n):
    assert h.cover_count(p, n) == _brute_force_cover(p, n)


@given(p=st.integers(1, 60), n=st.integers(1, 30))
def test_cover_count_recursion_and_probability(p, n):
    # Cover's recursion C(P+1, N) = C(P, N) + C(P, N-1)
    if n >= 2:
        assert h.cover_count(p + 1, n) == pytest.approx(
            h.cover_count(p, n) + h.cover_count(p, n - 1)
        )
    assert h.separable_probability(p, n) == pytest.approx(h.cover_count(p, n) / 2.0**p)
    if p <= n:
        assert h.separable_probability(p, n) == 1.0


@given(n=st.integers(1, 500))
def test_separable_probability_is_half_at_two_n(n):
    assert h.separable_probability(2 * n, n) == pytest.approx(0.5, abs=1e-12)


def test_gardner_reference_values():
    assert h.gardner_capacity(0.0) == pytest.approx(2.0)
    assert h.gardner_capacity(0.5) == pytest.approx(0.961, abs=1e-3)
    assert h.gardner_capacity(1.0) == pytest.approx(0.520, abs=1e-3)


@given(a=st.floats(0, 20), b=st.floats(0, 20))
def test_gardner_decreasing(a, b):
    lo, hi = sorted((a, b))
    assert h.gardner_capacity(hi) <= h.gardner_capacity(lo) + 1e-15


# --- modern --------------------------------------------------------------------------------------


@given(
    p=st.integers(2, 10**6),
    beta=st.floats(0.01, 10),
    delta=st.floats(0, 50),
    eps=st.floats(1e-6, 1),
)
@settings(max_examples=50)
def test_modern_capacity_inverts_the_bound(p, beta, delta, eps):
    cap = h.modern_hopfield_capacity(beta, delta, 8.0, eps)
    bound_at_cap = h.modern_retrieval_error_bound(cap, beta, delta, 8.0)
    assert bound_at_cap == pytest.approx(eps, rel=1e-9)


def test_modern_capacity_is_exponential_in_separation():
    c1 = h.modern_hopfield_capacity(1.0, 10.0, 8.0, 0.1)
    c2 = h.modern_hopfield_capacity(1.0, 20.0, 8.0, 0.1)
    assert (c2 - 1) / (c1 - 1) == pytest.approx(math.exp(10.0))


# --- input validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,arg",
    [
        (lambda: h.bit_error_probability(float("nan"), 10), "n_neurons"),
        (lambda: h.bit_error_probability(-5, 10), "n_neurons"),
        (lambda: h.bit_error_probability(100, 0), "n_patterns"),
        (lambda: h.bit_error_probability(100.5, 10, method="exact"), "n_neurons"),
        (lambda: h.ags_overlap(-0.1), "alpha"),
        (lambda: h.ags_overlap(float("nan")), "alpha"),
        (lambda: h.mceliece_capacity(1), "n_neurons"),
        (lambda: h.cover_count(0, 3), "n_patterns"),
        (lambda: h.separable_probability(5, 2.5), "n_inputs"),
        (lambda: h.gardner_capacity(-1), "kappa"),
        (lambda: h.dense_capacity(100, 1), "degree"),
        (lambda: h.dense_bit_error_probability(100, 10, 2.5), "degree"),
        (lambda: h.modern_retrieval_error_bound(10, 0, 1, 1), "beta"),
        (lambda: h.modern_hopfield_capacity(1, 1, -1, 0.1), "radius"),
        (lambda: h.storkey_capacity(float("inf")), "n_neurons"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


def test_non_numeric_and_bad_method_rejected():
    with pytest.raises(TypeError):
        h.bit_error_probability("100", 10)
    with pytest.raises(ValueError, match="method"):
        h.bit_error_probability(100, 10, method="nope")


# --- stability over the whole float range (issue 12, part 6) -------------------------------------

LOG_MAX = math.log(np.finfo(float).max)


def _exact_log_dense(n: int, degree: int) -> float:
    """ln(N^{n−1} / (2 (2n−3)!! ln N)) from exact integers."""
    dfact = math.prod(range(1, 2 * degree - 2, 2))
    return math.log(n ** (degree - 1)) - math.log(dfact) - math.log(2 * math.log(n))


@given(n=st.integers(2, 10**12), deg=st.integers(2, 600))
@example(n=100, deg=400)  # N^{n−1} and (2n−3)!! both overflowed: inf/inf = NaN
@settings(max_examples=150)
def test_dense_capacity_is_finite_unless_it_truly_overflows(n, deg):
    cap = h.dense_capacity(n, deg)
    log_ref = _exact_log_dense(n, deg)
    if log_ref < LOG_MAX - 1e-9:
        assert np.isfinite(cap) and cap >= 0
        if log_ref > -700:  # not in the subnormal range
            assert cap == pytest.approx(math.exp(log_ref), rel=1e-12 * max(1.0, abs(log_ref)))
    else:
        assert cap == np.inf


@given(n=st.integers(3, 10**9), deg=st.integers(2, 40))
def test_capacities_increase_with_n(n, deg):
    assert h.dense_capacity(n + 1, deg) >= h.dense_capacity(n, deg)
    assert h.mceliece_capacity(n + 1) >= h.mceliece_capacity(n)
    assert h.storkey_capacity(n + 1) >= h.storkey_capacity(n)


@given(
    n=st.floats(2.0, 1e300),
    k=st.floats(1.0, 1.7e308),
    deg=st.integers(2, 10**6),
)
@example(n=1e8, k=1.7e308, deg=400)  # snr² = inf and 2K = inf: inf/inf = NaN
def test_dense_bit_error_is_a_probability_over_the_float_range(n, k, deg):
    p = h.dense_bit_error_probability(n, k, deg)
    assert 0.0 <= p <= 0.5
    assert h.dense_bit_error_probability(n, min(2 * k, 1.7e308), deg) >= p  # more load


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 20_000), k=st.floats(1.0, 1e300), deg=st.integers(2, 300))
@example(n=1001, k=1e40, deg=31)  # x = 0 is a crosstalk value when N is odd
@example(n=1000, k=10.0, deg=200)  # x^n overflowed float64
def test_dense_finite_method_is_a_probability(n, k, deg):
    p = h.dense_bit_error_probability(n, k, deg, method="finite")
    assert 0.0 <= p <= 0.5


def test_dense_finite_method_refuses_sizes_it_would_have_to_allocate():
    with pytest.raises(ValueError, match="n_neurons"):
        h.dense_bit_error_probability(10**14, 10.0, 3, method="finite")


def _exact_cover(p: int, n: int) -> int:
    return 2 * sum(math.comb(p - 1, k) for k in range(min(n, p)))


@given(p=st.integers(1, 3000), n=st.integers(1, 400))
@example(p=2000, n=1000)  # 2^1999: beyond float64
@settings(max_examples=150, deadline=None)
def test_cover_count_is_the_rounded_exact_count_or_an_honest_inf(p, n):
    exact = _exact_cover(p, n)
    try:
        expected = float(exact)
    except OverflowError:
        expected = math.inf
    assert h.cover_count(p, n) == expected
    assert h.log_cover_count(p, n) == pytest.approx(math.log(exact), rel=1e-13)


@given(p=st.integers(1, 2**52), n=st.integers(1, 2**52))
@settings(max_examples=100, deadline=None)
def test_cover_counts_increase_in_p_and_n(p, n):
    c, lc = h.cover_count(p, n), h.log_cover_count(p, n)
    assert np.isfinite(lc) and lc > 0
    assert h.cover_count(p + 1, n) >= c and h.cover_count(p, n + 1) >= c
    slack = 1e-14 * lc  # ln C ~ 1e15 is only resolved to its ulp; documented accuracy ~1e-13
    assert h.log_cover_count(p + 1, n) >= lc - slack and h.log_cover_count(p, n + 1) >= lc - slack
    if abs(lc - LOG_MAX) > 1e-12:  # (at the boundary ln C cannot tell which way C rounds)
        assert np.isinf(c) == (lc > LOG_MAX)


def test_cover_count_reference_values_and_no_large_allocation():
    import tracemalloc

    assert h.log_cover_count(2000, 1000) == pytest.approx(1999 * math.log(2), rel=1e-15)
    tracemalloc.start()
    assert h.cover_count(10, 10**9) == 1024.0  # was a 7.45 GiB arange over k < N
    assert h.cover_count(10**9, 10) == float(_exact_cover(10**9, 10))
    assert h.log_cover_count(10**15, 10**14) > 0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50e6
    with pytest.raises(ValueError, match="n_patterns"):
        h.cover_count(2.0**60, 3)


@given(
    p=st.integers(1, 10**6),
    beta=st.floats(1e-300, 1e300),
    delta=st.floats(-1e300, 1e300),
    m=st.floats(1e-300, 1e300),
    d=st.one_of(st.just(0.0), st.floats(1e-300, 1e300)),
)
@example(p=1, beta=1.0, delta=-1e300, m=1e-300, d=0.0)  # 0·inf = NaN before
@example(p=2, beta=1e-300, delta=0.0, m=1e300, d=1e300)  # 2dM overflowed inside the exponent
def test_modern_bound_is_finite_unless_it_truly_overflows(p, beta, delta, m, d):
    from fractions import Fraction

    exact = Fraction(beta) * (2 * Fraction(d) * Fraction(m) - Fraction(delta))
    exponent = float(min(max(exact, Fraction(-(10**4))), Fraction(10**4)))  # beyond: 0 or inf
    bound = h.modern_retrieval_error_bound(p, beta, delta, m, d)
    if p == 1:
        assert bound == 0.0
        return
    log_ref = math.log(2 * m) + math.log(p - 1) + exponent
    if log_ref < LOG_MAX - 1e-6:
        assert np.isfinite(bound) and bound >= 0
        if -700 < log_ref:
            assert bound == pytest.approx(math.exp(log_ref), rel=1e-12 * max(1.0, abs(exponent)))
    else:
        assert bound == np.inf
    cap = h.modern_hopfield_capacity(beta, delta, m, 0.1, d)
    assert cap >= 1.0 and not np.isnan(cap)


def test_exact_bit_error_refuses_counts_beyond_2_53():
    assert 0.0 <= h.bit_error_probability(2**26, 2**26, method="exact") <= 0.5
    with pytest.raises(ValueError, match="n_neurons"):
        h.bit_error_probability(3, 2**53, method="exact")
    with pytest.raises(ValueError, match="n_neurons"):
        h.all_stable_probability(10**6, 10**12)


@pytest.mark.parametrize(
    "fn, kwargs",
    [
        (h.bit_error_probability, dict(n_neurons=100, n_patterns=10)),
        (h.all_stable_probability, dict(n_neurons=100, n_patterns=10)),
        (h.ags_overlap, dict(alpha=0.1)),
        (h.mceliece_capacity, dict(n_neurons=100)),
        (h.cover_count, dict(n_patterns=10, n_inputs=3)),
        (h.log_cover_count, dict(n_patterns=10, n_inputs=3)),
        (h.separable_probability, dict(n_patterns=10, n_inputs=3)),
        (h.gardner_capacity, dict(kappa=0.5)),
        (h.pseudo_inverse_capacity, dict(n_neurons=100)),
        (h.storkey_capacity, dict(n_neurons=100)),
        (h.dense_bit_error_probability, dict(n_neurons=100, n_patterns=10, degree=3)),
        (h.dense_capacity, dict(n_neurons=100, degree=3)),
        (
            h.modern_retrieval_error_bound,
            dict(n_patterns=10, beta=1.0, separation=5.0, radius=2.0, distance=0.1),
        ),
        (
            h.modern_hopfield_capacity,
            dict(beta=1.0, separation=5.0, radius=2.0, tolerance=0.1, distance=0.1),
        ),
    ],
)
def test_every_numeric_argument_refuses_bools_text_none_nan_and_inf(fn, kwargs):
    assert_checks_arguments(fn, kwargs, list(kwargs))


def test_options_are_checked():
    assert_checks_choice(h.bit_error_probability, dict(n_neurons=100, n_patterns=10), "method")
    assert_checks_choice(
        h.dense_bit_error_probability, dict(n_neurons=100, n_patterns=10, degree=3), "method"
    )
    assert_checks_flag(h.mceliece_capacity, dict(n_neurons=100), "all_patterns")


# --- added for the hopfield.* claims: finite-N McEliece capacity, Gaussian crosstalk, dense SNR ---


def test_all_stable_capacity_reference_values():
    # the values hopfield.mceliece computed inline before they moved here (seed-free theory)
    assert h.all_stable_capacity([50, 100, 200]) == pytest.approx(
        [6.932943477681803, 10.589882995013685, 16.939826073104868], rel=1e-12
    )
    assert isinstance(h.all_stable_capacity(100), float)
    ratio = [h.all_stable_capacity(n) / h.mceliece_capacity(n) for n in (100, 1000, 10000)]
    assert ratio == pytest.approx([1.95, 1.58, 1.43], abs=0.01)  # → 1, logarithmically slowly


@given(n=st.integers(2, 300), level=st.floats(0.01, 0.99))
@settings(max_examples=60, deadline=None)
def test_all_stable_capacity_brackets_the_level(n, level):
    cap = h.all_stable_capacity(n, level)
    k = math.floor(cap)
    assert cap >= 1
    assert h.all_stable_probability(n, k) >= level  # the last integer at or above the level
    assert h.all_stable_probability(n, k + 1) < level or cap == k


@given(n=st.integers(2, 300))
@settings(max_examples=30, deadline=None)
def test_all_stable_capacity_falls_with_the_level(n):
    assert h.all_stable_capacity(n, 0.9) <= h.all_stable_capacity(n, 0.5)
    assert h.all_stable_capacity(n, 0.5) <= h.all_stable_capacity(n, 0.1)


@given(s=st.floats(0, 1e4), t=st.floats(0, 1e4))
def test_gaussian_crosstalk_error_is_a_decreasing_probability(s, t):
    lo, hi = sorted((s, t))
    assert 0.0 <= h.gaussian_crosstalk_error(hi) <= h.gaussian_crosstalk_error(lo) <= 0.5
    assert h.gaussian_crosstalk_error(s) == pytest.approx(
        0.5 * math.erfc(math.sqrt(s / 2)), rel=1e-12, abs=1e-300
    )


def test_gaussian_crosstalk_error_limits_and_hebbian():
    assert h.gaussian_crosstalk_error(0.0) == 0.5
    assert h.gaussian_crosstalk_error(np.inf) == 0.0
    assert h.gaussian_crosstalk_error(1.0) == pytest.approx(0.15865525393145707)  # Φ(−1)
    assert h.gaussian_crosstalk_error(1000 / 100) == pytest.approx(
        h.bit_error_probability(1000, 100), rel=1e-14
    )  # Hebbian: S = N/P


@given(n=st.integers(2, 120), k=st.floats(1, 1e5), deg=st.integers(2, 5))
@settings(max_examples=60, deadline=None)
def test_dense_snr_reproduces_the_dense_error_probability(n, k, deg):
    for method in ("asymptotic", "finite"):
        snr = h.dense_signal_to_noise(n, k, deg, method=method)
        err = h.dense_bit_error_probability(n, k, deg, method=method)
        assert h.gaussian_crosstalk_error(snr) == pytest.approx(err, rel=1e-9, abs=1e-300)
    assert h.dense_signal_to_noise(n, k, deg) == pytest.approx(
        h.dense_capacity_constant(n, deg) / k, rel=1e-14
    )


@given(n=st.floats(1, 1e4), deg=st.integers(2, 6))
def test_dense_capacity_constant_is_n_to_the_n_minus_1_over_double_factorial(n, deg):
    dfact = math.prod(range(2 * deg - 3, 0, -2))
    assert h.dense_capacity_constant(n, deg) == pytest.approx(n ** (deg - 1) / dfact, rel=1e-12)
    assert h.dense_capacity_constant(n, 2) == pytest.approx(n)  # Hebbian: z²P = N
    # error-free capacity = constant / (2 ln N)
    if n > 1:
        assert h.dense_capacity(n, deg) == pytest.approx(
            h.dense_capacity_constant(n, deg) / (2 * math.log(n)), rel=1e-12
        )


def test_dense_finite_snr_converges_to_the_asymptotic_one():
    # relative O(n²/N) correction: shrinks ~10× from N = 40 to N = 400
    gaps = [
        abs(
            h.dense_signal_to_noise(n, 0.3 * n**2, 3, method="finite")
            / h.dense_signal_to_noise(n, 0.3 * n**2, 3)
            - 1
        )
        for n in (40, 400)
    ]
    assert gaps[1] < gaps[0] / 5 and gaps[1] < 0.05
    assert h.dense_signal_to_noise(50, 1, 3, method="finite") == math.inf
    assert h.dense_signal_to_noise([50, 60], 10, 2, method="finite").shape == (2,)


@pytest.mark.parametrize(
    "call,arg",
    [
        (lambda: h.all_stable_capacity(1), "n_neurons"),
        (lambda: h.all_stable_capacity(10.5), "n_neurons"),
        (lambda: h.all_stable_capacity(10, 1.0), "level"),
        (lambda: h.gaussian_crosstalk_error(-1.0), "snr"),
        (lambda: h.gaussian_crosstalk_error(float("nan")), "snr"),
        (lambda: h.dense_capacity_constant(0, 2), "n_neurons"),
        (lambda: h.dense_capacity_constant(10, 1), "degree"),
        (lambda: h.dense_signal_to_noise(10.5, 3, 2, method="finite"), "n_neurons"),
        (lambda: h.dense_signal_to_noise(10, 0, 2), "n_patterns"),
        (lambda: h.dense_signal_to_noise(10, 3, 2, method="nope"), "method"),
    ],
)
def test_new_functions_refuse_bad_inputs(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()

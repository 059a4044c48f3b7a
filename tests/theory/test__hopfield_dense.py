"""kernelcap.theory._hopfield_dense against independent references: exact integer and rational
arithmetic, brute-force enumeration, scipy.stats, a Monte Carlo of the one-step update and the
softmax update itself. (Published values and the cross-function identities are in test_hopfield.)
"""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from kernelcap.theory import _hopfield_dense as dense

LOG_MAX = math.log(np.finfo(float).max)


def _double_factorial(m: int) -> int:
    return math.prod(range(m, 0, -2))


def _exact_capacity_constant(n: int, degree: int) -> Fraction:
    return Fraction(n ** (degree - 1), _double_factorial(2 * degree - 3))


def _exact_finite_snr(n: int, k, degree: int) -> Fraction:
    """(F(N) − F(N−2))² / ((K−1) E g(x)²) with exact integers; E over Binomial(N−1, ½)."""
    g2 = sum(
        math.comb(n - 1, b) * ((2 * b - n + 2) ** degree - (2 * b - n) ** degree) ** 2
        for b in range(n)
    )  # x = 2b − (N−1): x + 1 = 2b − N + 2, x − 1 = 2b − N
    signal = n**degree - (n - 2) ** degree
    return Fraction(signal**2 * 2 ** (n - 1)) / ((Fraction(k) - 1) * g2)


def _enumerated_finite_snr(n: int, k: int, degree: int) -> Fraction:
    """The same ratio, E g(x)² by enumerating every ±1 vector of the N−1 other neurons."""
    total = 0
    for signs in itertools.product((-1, 1), repeat=n - 1):
        x = sum(signs)
        total += ((x + 1) ** degree - (x - 1) ** degree) ** 2
    signal = n**degree - (n - 2) ** degree
    return Fraction(signal**2 * 2 ** (n - 1), (k - 1) * total)


def _log_phi_minus_sqrt(s: Fraction) -> float:
    return float(stats.norm.logsf(math.sqrt(float(s))))


# --- dense_bit_error_probability -----------------------------------------------------------------


@given(n=st.integers(2, 10**6), k=st.integers(1, 10**12), deg=st.integers(2, 30))
@settings(max_examples=80, deadline=None)
def test_asymptotic_error_is_the_erfc_of_the_exact_ratio(n, k, deg):
    # P = ½ erfc(√x), x = N^{n−1} / (2 (2n−3)!! K) as an exact rational
    x = _exact_capacity_constant(n, deg) / (2 * k)
    got = dense.dense_bit_error_probability(n, k, deg)
    if float(x) > 700:  # P < 1e-300: compare in logs
        ref = float(stats.norm.logsf(math.sqrt(2 * float(x))))
        if ref > -700:
            assert math.log(got) == pytest.approx(ref, rel=1e-10)
        else:
            assert 0.0 <= got < 1e-300
    else:
        assert got == pytest.approx(0.5 * math.erfc(math.sqrt(float(x))), rel=1e-11)


@pytest.mark.parametrize("n, k, deg", [(2, 3, 2), (3, 2, 3), (5, 4, 3), (8, 7, 4), (11, 50, 5)])
def test_finite_error_matches_brute_force_enumeration(n, k, deg):
    s = _enumerated_finite_snr(n, k, deg)
    ref = float(stats.norm.sf(math.sqrt(float(s))))
    assert dense.dense_bit_error_probability(n, k, deg, method="finite") == pytest.approx(
        ref, rel=1e-11
    )
    assert dense.dense_signal_to_noise(n, k, deg, method="finite") == pytest.approx(
        float(s), rel=1e-12
    )


@given(n=st.integers(2, 160), k=st.integers(2, 10**9), deg=st.integers(2, 40))
@example(n=2, k=5, deg=7)  # (N − 2)^n = 0
@example(n=101, k=10**6, deg=31)  # N odd: x = 0 is a crosstalk value
@example(n=150, k=2, deg=40)  # N^{2n} ≈ 1e174: the log-sum path
@settings(max_examples=60, deadline=None)
def test_finite_error_matches_exact_binomial_moments(n, k, deg):
    s = _exact_finite_snr(n, k, deg)
    got = dense.dense_bit_error_probability(n, k, deg, method="finite")
    ref = _log_phi_minus_sqrt(s)
    if ref > -700:
        assert math.log(got) == pytest.approx(ref, rel=1e-9, abs=1e-12)
    else:
        assert 0.0 <= got < 1e-300


def test_finite_error_is_zero_for_a_single_pattern_and_vectorises():
    assert dense.dense_bit_error_probability(30, 1, 3, method="finite") == 0.0
    out = dense.dense_bit_error_probability([20, 21, 22], [[2.0], [50.0]], 3, method="finite")
    assert out.shape == (2, 3)
    for i, k in enumerate((2, 50)):
        for j, n in enumerate((20, 21, 22)):
            ref = stats.norm.sf(math.sqrt(float(_exact_finite_snr(n, k, 3))))
            assert out[i, j] == pytest.approx(ref, rel=1e-10)


def test_finite_error_agrees_with_a_monte_carlo_of_the_update():
    # One neuron, started at pattern 1: field = ξ¹ᵢ(F(N) − F(N−2)) + Σ_{μ≥2} ξ^μᵢ g(x_μ), with the
    # x_μ = Σ_{j≠i} ξ^μ_j ξ¹_j independent sums of N−1 random ±1 and g(x) = F(x+1) − F(x−1).
    n, deg, k, trials = 60, 3, 730, 8000
    rng = np.random.default_rng(20160)
    x = 2.0 * rng.binomial(n - 1, 0.5, size=(trials, k - 1)) - (n - 1)
    xi = rng.choice((-1.0, 1.0), size=(trials, k - 1))
    crosstalk = np.sum(xi * ((x + 1) ** deg - (x - 1) ** deg), axis=1)
    signal = float(n**deg - (n - 2) ** deg)
    # crosstalk variance (K−1) E g² = signal² / S_finite: check within 5 standard errors
    snr = dense.dense_signal_to_noise(n, k, deg, method="finite")
    var_mc = float(np.mean(crosstalk**2))
    se_var = float(np.std(crosstalk**2)) / math.sqrt(trials)
    assert abs(var_mc - signal**2 / snr) < 5 * se_var
    # error rate: sampling error (5 SE) plus the Gaussian approximation over K−1 = 729 patterns
    flips = np.where(signal + crosstalk < 0, 1.0, np.where(signal + crosstalk == 0, 0.5, 0.0))
    p_mc = float(np.mean(flips))
    p = dense.dense_bit_error_probability(n, k, deg, method="finite")
    assert 0.05 < p < 0.2
    assert abs(p_mc - p) < 5 * math.sqrt(p * (1 - p) / trials) + 0.01


@given(n=st.integers(3, 80), k=st.integers(2, 10**6), deg=st.integers(2, 8))
@settings(max_examples=40, deadline=None)
def test_finite_error_grows_with_load_and_falls_with_degree_at_fixed_ratio(n, k, deg):
    p = dense.dense_bit_error_probability(n, k, deg, method="finite")
    assert dense.dense_bit_error_probability(n, 2 * k, deg, method="finite") >= p
    assert 0.0 <= p <= 0.5


def test_finite_method_rejects_non_integer_neurons_and_bad_method():
    with pytest.raises(ValueError, match="n_neurons"):
        dense.dense_bit_error_probability(10.5, 3, 2, method="finite")
    with pytest.raises(ValueError, match="method"):
        dense.dense_bit_error_probability(10, 3, 2, method="exact")  # not offered for dense
    assert dense.dense_bit_error_probability(10.5, 3, 2) == pytest.approx(
        0.5 * math.erfc(math.sqrt(10.5 / 6))
    )  # the asymptotic form takes real N


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (dict(n_neurons=1, n_patterns=3, degree=2), "n_neurons"),
        (dict(n_neurons=10, n_patterns=0.5, degree=2), "n_patterns"),
        (dict(n_neurons=10, n_patterns=3, degree=1), "degree"),
    ],
)
def test_error_probability_refuses_out_of_range_arguments(kwargs, arg):
    for method in ("asymptotic", "finite"):
        with pytest.raises(ValueError, match=arg):
            dense.dense_bit_error_probability(**kwargs, method=method)


# --- dense_capacity ------------------------------------------------------------------------------


@given(n=st.integers(2, 10**6), deg=st.integers(2, 60))
@settings(max_examples=80)
def test_capacity_matches_the_exact_rational_over_two_ln_n(n, deg):
    ref = float(_exact_capacity_constant(n, deg)) / (2 * math.log(n))
    assert dense.dense_capacity(n, deg) == pytest.approx(ref, rel=1e-12)


@given(n=st.floats(1.5, 1e12))
def test_capacity_for_degree_two_is_mceliece(n):
    assert dense.dense_capacity(n, 2) == pytest.approx(n / (2 * math.log(n)), rel=1e-14)


@given(deg=st.integers(2, 12), a=st.floats(0.0, 50.0), b=st.floats(0.0, 50.0))
def test_capacity_increases_in_n_above_e_to_the_one_over_n_minus_1(deg, a, b):
    threshold = math.exp(1.0 / (deg - 1))
    lo, hi = sorted((threshold * (1 + a), threshold * (1 + b)))
    assert dense.dense_capacity(hi, deg) >= dense.dense_capacity(lo, deg) * (1 - 1e-13)


@pytest.mark.parametrize("deg", [2, 3, 5])
def test_capacity_falls_below_the_threshold_and_diverges_at_one(deg):
    threshold = math.exp(1.0 / (deg - 1))
    grid = np.linspace(1.0 + 1e-6, threshold, 50)
    assert np.all(np.diff(dense.dense_capacity(grid, deg)) < 0)
    near_one = 1.0 + 1e-12
    ref = near_one ** (deg - 1) / (_double_factorial(2 * deg - 3) * 2 * math.log(near_one))
    assert dense.dense_capacity(near_one, deg) == pytest.approx(ref, rel=1e-12)
    assert ref > 1e9


def test_capacity_broadcasts_and_rejects_bad_input():
    out = dense.dense_capacity(np.array([[10.0], [100.0]]), np.array([2, 3, 4]))
    assert out.shape == (2, 3)
    assert out[1, 1] == pytest.approx(100.0**2 / (3 * 2 * math.log(100.0)))
    with pytest.raises(ValueError, match="n_neurons"):
        dense.dense_capacity(1.0, 3)
    with pytest.raises(ValueError, match="degree"):
        dense.dense_capacity(10.0, 2.5)


# --- modern (softmax) memory ---------------------------------------------------------------------


@given(
    p=st.integers(1, 10**6),
    beta=st.floats(0.01, 10.0),
    delta=st.floats(-5.0, 50.0),
    m=st.floats(0.1, 10.0),
    d=st.floats(0.0, 1.0),
)
def test_retrieval_bound_is_the_closed_form(p, beta, delta, m, d):
    ref = 2 * m * (p - 1) * math.exp(-beta * (delta - 2 * d * m))
    got = dense.modern_retrieval_error_bound(p, beta, delta, m, d)
    assert got == pytest.approx(ref, rel=1e-12, abs=0.0)
    if p == 1:
        assert got == 0.0


@given(seed=st.integers(0, 2**32 - 1), beta=st.floats(0.05, 5.0), frac=st.floats(0.0, 1.0))
@settings(max_examples=40, deadline=None)
def test_retrieval_bound_holds_for_the_actual_softmax_update(seed, beta, frac):
    rng = np.random.default_rng(seed)
    dim, count = 12, 8
    x = rng.standard_normal((dim, count)) + 3.0 * np.eye(dim, count)  # fairly well separated
    m = float(np.max(np.linalg.norm(x, axis=0)))
    i = int(rng.integers(count))
    gram = x.T @ x
    delta = float(gram[i, i] - np.max(np.delete(gram[i], i)))
    u = rng.standard_normal(dim)
    dist = frac * 0.5
    query = x[:, i] + dist * u / np.linalg.norm(u)
    logits = beta * (x.T @ query)
    weights = np.exp(logits - logits.max())
    new = x @ (weights / weights.sum())
    error = float(np.linalg.norm(new - x[:, i]))
    bound = dense.modern_retrieval_error_bound(count, beta, delta, m, dist)
    assert error <= bound * (1 + 1e-9) + 1e-12


@given(
    beta=st.floats(0.01, 10.0),
    delta=st.floats(-5.0, 50.0),
    m=st.floats(0.1, 10.0),
    tol=st.floats(1e-6, 10.0),
    d=st.floats(0.0, 1.0),
)
def test_capacity_is_the_closed_form_and_the_largest_integer_meets_the_tolerance(
    beta, delta, m, tol, d
):
    ref = 1 + tol / (2 * m) * math.exp(beta * (delta - 2 * d * m))
    cap = dense.modern_hopfield_capacity(beta, delta, m, tol, d)
    assert cap == pytest.approx(ref, rel=1e-12)
    if cap < 1e15:
        p = math.floor(cap)
        assert dense.modern_retrieval_error_bound(p, beta, delta, m, d) <= tol * (1 + 1e-12)
        assert dense.modern_retrieval_error_bound(p + 1, beta, delta, m, d) > tol * (1 - 1e-12)


@given(a=st.floats(0.0, 30.0), b=st.floats(0.0, 30.0))
def test_modern_capacity_monotone_in_separation_tolerance_and_distance(a, b):
    lo, hi = sorted((a, b))
    cap = dense.modern_hopfield_capacity
    assert cap(1.0, hi, 2.0, 0.1) >= cap(1.0, lo, 2.0, 0.1)
    assert cap(1.0, 5.0, 2.0, 0.1 + hi) >= cap(1.0, 5.0, 2.0, 0.1 + lo)
    assert cap(1.0, 5.0, 2.0, 0.1, lo) >= cap(1.0, 5.0, 2.0, 0.1, hi)


def test_modern_functions_broadcast():
    out = dense.modern_retrieval_error_bound(
        np.array([1, 2, 3]), np.array([[1.0], [2.0]]), 2.0, 1.0
    )
    assert out.shape == (2, 3)
    assert out[:, 0].tolist() == [0.0, 0.0]
    assert out[1, 2] == pytest.approx(2 * 2 * math.exp(-4.0))
    cap = dense.modern_hopfield_capacity([1.0, 2.0], 3.0, 1.0, 0.5)
    assert cap == pytest.approx([1 + 0.25 * math.exp(3.0), 1 + 0.25 * math.exp(6.0)])


@pytest.mark.parametrize(
    "call, arg",
    [
        (lambda: dense.modern_retrieval_error_bound(0.5, 1.0, 1.0, 1.0), "n_patterns"),
        (lambda: dense.modern_retrieval_error_bound(3, -1.0, 1.0, 1.0), "beta"),
        (lambda: dense.modern_retrieval_error_bound(3, 1.0, 1.0, 0.0), "radius"),
        (lambda: dense.modern_retrieval_error_bound(3, 1.0, 1.0, 1.0, -0.1), "distance"),
        (lambda: dense.modern_retrieval_error_bound(3, 1.0, float("nan"), 1.0), "separation"),
        (lambda: dense.modern_hopfield_capacity(1.0, 1.0, 1.0, 0.0), "tolerance"),
        (lambda: dense.modern_hopfield_capacity(0.0, 1.0, 1.0, 0.1), "beta"),
        (lambda: dense.modern_hopfield_capacity(1.0, 1.0, 1.0, 0.1, -1.0), "distance"),
    ],
)
def test_modern_functions_refuse_bad_input(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


# --- gaussian_crosstalk_error --------------------------------------------------------------------


@given(s=st.floats(0.0, 1400.0))
def test_crosstalk_error_is_the_normal_tail_at_root_s(s):
    got = dense.gaussian_crosstalk_error(s)
    assert got == pytest.approx(stats.norm.sf(math.sqrt(s)), rel=1e-12)
    if s > 0:
        assert math.log(got) == pytest.approx(stats.norm.logsf(math.sqrt(s)), rel=1e-12)


def test_crosstalk_error_agrees_with_a_monte_carlo_of_a_noisy_bit():
    rng = np.random.default_rng(7)
    signal, sigma, trials = 1.3, 1.1, 200_000
    flips = float(np.mean(signal + sigma * rng.standard_normal(trials) < 0))
    p = dense.gaussian_crosstalk_error((signal / sigma) ** 2)
    assert abs(flips - p) < 5 * math.sqrt(p * (1 - p) / trials)


def test_crosstalk_error_shapes_and_bad_input():
    out = dense.gaussian_crosstalk_error(np.array([[0.0, np.inf], [4.0, 1.0]]))
    assert out.shape == (2, 2)
    assert out[0].tolist() == [0.5, 0.0]
    assert out[1, 0] == pytest.approx(stats.norm.cdf(-2.0), rel=1e-14)
    assert isinstance(dense.gaussian_crosstalk_error(1.0), float)
    with pytest.raises(ValueError, match="snr"):
        dense.gaussian_crosstalk_error(-np.inf)
    with pytest.raises(ValueError, match="snr"):
        dense.gaussian_crosstalk_error([1.0, -1e-300])


# --- dense_capacity_constant and dense_signal_to_noise -------------------------------------------


@given(n=st.integers(1, 10**6), deg=st.integers(2, 120))
@settings(max_examples=80)
def test_capacity_constant_matches_exact_rational(n, deg):
    exact = _exact_capacity_constant(n, deg)
    log_ref = math.log(exact.numerator) - math.log(exact.denominator)
    with np.errstate(over="ignore", invalid="ignore"):
        got = dense.dense_capacity_constant(n, deg)
    if -700 < log_ref < LOG_MAX - 1e-9 and n ** (deg - 1) < 1e308:
        assert got == pytest.approx(float(exact), rel=1e-12)


@given(n=st.floats(1e-3, 1.0))
def test_capacity_constant_accepts_fractional_n(n):
    assert dense.dense_capacity_constant(n, 3) == pytest.approx(n**2 / 3)


def test_capacity_constant_is_finite_where_both_factors_overflow():
    exact = _exact_capacity_constant(100, 400)
    ref = math.exp(math.log(exact.numerator) - math.log(exact.denominator))
    with np.errstate(all="ignore"):
        got = dense.dense_capacity_constant(100, 400)
        snr = dense.dense_signal_to_noise(100, 10, 400)
    assert got == pytest.approx(ref, rel=1e-10)
    assert snr == pytest.approx(ref / 10, rel=1e-10)


@given(n=st.integers(2, 10**5), k=st.integers(1, 10**9), deg=st.integers(2, 30))
@settings(max_examples=60)
def test_asymptotic_snr_is_the_exact_constant_over_k(n, k, deg):
    ref = _exact_capacity_constant(n, deg) / k
    if n ** (deg - 1) < 1e300:
        assert dense.dense_signal_to_noise(n, k, deg) == pytest.approx(float(ref), rel=1e-12)


@given(n=st.integers(2, 60), k=st.integers(2, 10**6), deg=st.integers(2, 12))
@settings(max_examples=60, deadline=None)
def test_finite_snr_matches_exact_binomial_moments(n, k, deg):
    ref = float(_exact_finite_snr(n, k, deg))
    # the moment is summed from raw powers: (x+1)^n − (x−1)^n cancels ~log10(|x|/n) digits
    assert dense.dense_signal_to_noise(n, k, deg, method="finite") == pytest.approx(ref, rel=1e-9)


def test_finite_snr_is_inf_for_one_pattern_and_falls_as_one_over_k_minus_1():
    assert dense.dense_signal_to_noise([10, 20], 1, 3, method="finite").tolist() == [
        math.inf,
        math.inf,
    ]
    s2 = dense.dense_signal_to_noise(25, 2, 4, method="finite")
    for k in (3, 11, 1001):
        assert dense.dense_signal_to_noise(25, k, 4, method="finite") == pytest.approx(
            s2 / (k - 1), rel=1e-14
        )


def test_finite_snr_survives_large_powers_like_the_error_probability():
    n, k, deg = 150, 2, 80  # N^{2n} ≈ 1e348
    ref = _exact_finite_snr(n, k, deg)
    with np.errstate(all="ignore"):
        snr = dense.dense_signal_to_noise(n, k, deg, method="finite")
    assert snr == pytest.approx(float(ref), rel=1e-9)


@pytest.mark.parametrize(
    "call, arg",
    [
        (lambda: dense.dense_signal_to_noise(1.5, 3, 2), "n_neurons"),
        (lambda: dense.dense_signal_to_noise(10, 3, 1), "degree"),
        (lambda: dense.dense_signal_to_noise(10, 3, 3.5, method="finite"), "degree"),
        (lambda: dense.dense_signal_to_noise(10, 0.9, 3, method="finite"), "n_patterns"),
        (lambda: dense.dense_capacity_constant(-1.0, 2), "n_neurons"),
        (lambda: dense.dense_capacity_constant(10.0, 3.5), "degree"),
    ],
)
def test_snr_and_constant_refuse_bad_input(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()

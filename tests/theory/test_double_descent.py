"""Properties and reference values of the double-descent risk formulas."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kernelcap.theory import double_descent as dd
from tests.theory._contract import assert_checks_arguments, assert_checks_flag, log_uniform

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
    # The gap closes like λ/(γ−1)² (≈ 2λ/(γ−1)² relative at r² = σ²), so the limit is tested
    # where that is ≤ 1e-6: 1e-4 leaves a factor 50 over the worst r²/σ² here. Hypothesis found
    # γ = 1.0039, where the λ = 1e-9 risk is still 1.3e-4 above the ridgeless one — correctly.
    if 1e-9 / (g - 1) ** 2 <= 1e-6:
        assert dd.ridge_risk(g, 1e-9, r2, s2) == pytest.approx(
            dd.ridgeless_risk(g, r2, s2), rel=1e-4
        )
    assert abs(dd.ridge_risk(g, 1e-10, r2, s2) - dd.ridgeless_risk(g, r2, s2)) <= abs(
        dd.ridge_risk(g, 1e-9, r2, s2) - dd.ridgeless_risk(g, r2, s2)
    )
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


# --- stability over the whole float range (issue 12, part 6) -----------------------------------

wide = log_uniform(-300, 300)
moderate = log_uniform(-3, 3)


@settings(max_examples=200)
@given(wide, wide, moderate, moderate)
@example(456005.0, 1e-8, 1.0, 1.0)  # m-form cancellation put this below the optimal risk
@example(0.5, 1e308, 1.0, 1.0)  # κ² overflowed: NaN
@example(1.0, 1e-300, 1.0, 1.0)  # the ridgeless peak, ~1/(2√λ)
def test_ridge_risk_is_finite_and_never_below_the_optimal_ridge(g, lam, r2, s2):
    risk = dd.ridge_risk(g, lam, r2, s2)
    lam_star, best = dd.optimal_ridge(g, r2, s2)
    assert np.isfinite(risk) and np.isfinite(best) and 0 <= best
    assert risk >= best * (1 - 1e-12)
    assert dd.ridge_risk(g, lam_star, r2, s2) == pytest.approx(best, rel=1e-14)


@given(wide, wide)
@example(1e-8, 456005.0)
def test_stieltjes_is_accurate_over_the_float_range(lam, g):
    m = dd.marchenko_pastur_stieltjes(lam, g)
    assert np.isfinite(m) and m > 0
    # γλm² + (1−γ+λ)m − 1 = 0 divided by m; the residual is at rounding level of its terms.
    terms = np.array([g * lam * m, 1.0, -g, lam, -1.0 / m])
    assert abs(terms.sum()) <= 1e-14 * np.abs(terms).sum()


def test_ridge_values_at_ordinary_inputs_and_peak_scaling():
    # HMRT's κ form evaluated with mpmath at 400 digits.
    assert dd.ridge_risk(3.0, 1e-3) == pytest.approx(1.1659179146387859558, rel=1e-15)
    assert dd.ridge_risk(0.5, 0.1) == pytest.approx(0.60356745147454629751, rel=1e-15)
    assert dd.ridge_risk(456005, 1e-8) == pytest.approx(1.000000000004809077, rel=1e-15)
    # At γ = 1 the risk grows like σ²/(2√λ), all the way down to λ = 1e-300.
    assert dd.ridge_risk(1.0, 1e-300, 0.0, 1.0) == pytest.approx(0.5e150, rel=1e-12)


psis = log_uniform(-50, 50)


@settings(max_examples=60, deadline=None)
@given(psis, psis, wide, st.sampled_from([(0.5, None), (0.0, 1.0), (3.0, 0.3), (1e6, 1.0)]))
@example(1.0, 1.0, 1e-300, (0.5, None))  # was -6e12 (the damped iteration could not resolve √λ)
@example(3.0, 3.0, 1e-30, (0.5, None))
def test_random_features_risk_is_finite_and_at_least_the_nonlinear_floor(p1, p2, lam, mu):
    mu1, mus = mu
    mus = dd.relu_hermite_coefficients()[2] if mus is None else mus
    risk = dd.random_features_risk(p1, p2, lam, 1.0, 0.3, 0.2, mu1=mu1, mu_star=mus)
    assert np.isfinite(risk) and risk >= 0.2  # F*² is never learned: R ≥ F*²


@settings(max_examples=30, deadline=None)
@given(st.floats(0.05, 20.0), st.floats(-300, -40))
def test_random_features_peak_grows_like_inverse_sqrt_lambda(psi, log_lam):
    # At ψ1 = ψ2 the ridgeless risk is infinite; for λ → 0 it diverges like C/√λ.
    lam = 10.0**log_lam
    ratio = dd.random_features_risk(psi, psi, lam) / dd.random_features_risk(psi, psi, 1e10 * lam)
    assert ratio == pytest.approx(1e5, rel=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.05, 20.0), st.floats(0.05, 20.0), st.floats(-300, -40))
def test_random_features_tends_to_the_ridgeless_limit_off_the_peak(p1, p2, log_lam):
    if abs(p1 - p2) < 0.05:
        return
    lam = 10.0**log_lam
    assert dd.random_features_risk(p1, p2, lam) == pytest.approx(
        dd.random_features_risk(p1, p2, 1e-30), rel=1e-10
    )


def test_random_features_reference_values_from_high_precision():
    # mpmath (60-400 digits) solution of the same fixed point with the paper's E0, E1, E2.
    r = dd.random_features_risk(np.array([1.0, 2.0, 0.5]), 1.0, 1e-300, 1.0, 0.3, 0.2)
    assert r[0] == pytest.approx(2.1344819259131082e149, rel=1e-14)
    assert r[1] == pytest.approx(1.6557134347566331, rel=1e-14)
    assert r[2] == pytest.approx(2.049956441528884, rel=1e-14)
    assert dd.random_features_risk(1.0, 1.000000000001, 1e-40, 1.0, 0.3, 0.2) == pytest.approx(
        947821943414.6804, rel=1e-13
    )


@settings(max_examples=10, deadline=None)
@given(st.sampled_from([2, 30, 201, 500, 1500]))
@example(500)  # NumPy's hermegauss weights overflowed to NaN
def test_hermite_coefficients_are_finite_for_any_node_count(n):
    mu0, mu1, mus = dd.hermite_coefficients(np.tanh, n_nodes=n)
    assert all(np.isfinite([mu0, mu1, mus])) and mus >= 0
    if n >= 201:  # converged: E G tanh G = E sech² G
        assert mu1 == pytest.approx(0.6057055096021589, abs=1e-14)
        assert abs(mu0) < 1e-15


def test_hermite_coefficients_refusals():
    with pytest.raises(ValueError, match="n_nodes"):
        dd.hermite_coefficients(np.tanh, n_nodes=10**9)  # refused before any allocation
    with pytest.raises(ValueError, match="non-finite"), np.errstate(over="ignore"):
        dd.hermite_coefficients(lambda u: np.exp(u * u), n_nodes=300)
    with pytest.raises(ValueError, match="shape"):
        dd.hermite_coefficients(lambda u: 1.0)
    with pytest.raises(TypeError, match="activation"):
        dd.hermite_coefficients("tanh")


def test_random_features_refuses_what_it_cannot_compute():
    with pytest.raises(ValueError, match="n_features_per_dim"):
        dd.random_features_risk(1e60, 1.0, 1.0)
    with pytest.raises(ValueError, match="mu1"):
        dd.random_features_risk(1.0, 1.0, 1.0, mu1=1e7, mu_star=1.0)
    with pytest.raises(OverflowError):
        dd.random_features_risk(1.0, 1.0, 1.0, f1_sq=1e308, f_star_sq=1e308)


@pytest.mark.parametrize(
    "fn, kwargs, none_ok",
    [
        (dd.ridgeless_risk, dict(gamma=0.5, r2=1.0, sigma2=1.0), ()),
        (dd.marchenko_pastur_stieltjes, dict(lam=0.1, gamma=0.5), ()),
        (dd.ridge_risk, dict(gamma=0.5, lam=0.1, r2=1.0, sigma2=1.0), ()),
        (dd.optimal_ridge, dict(gamma=0.5, r2=1.0, sigma2=1.0), ()),
        (dd.min_norm_risk_finite, dict(n=40, p=20, r2=1.0, sigma2=1.0), ()),
        (dd.hermite_coefficients, dict(activation=np.tanh, n_nodes=20), ()),
        (
            dd.random_features_risk,
            dict(
                n_features_per_dim=2.0,
                n_samples_per_dim=1.0,
                lam=0.1,
                f1_sq=1.0,
                tau2=0.1,
                f_star_sq=0.1,
                mu1=0.5,
                mu_star=0.3,
            ),
            ("mu1", "mu_star"),
        ),
        (dd.effective_ranks, dict(eigenvalues=[3.0, 2.0, 1.0], k=1), ()),
        (dd.benign_overfitting_bound, dict(eigenvalues=[3.0, 2.0, 1.0], n=5, b=1.0), ()),
    ],
)
def test_every_numeric_argument_refuses_bools_text_none_nan_and_inf(fn, kwargs, none_ok):
    numeric = [k for k in kwargs if k != "activation"]
    assert_checks_arguments(fn, kwargs, numeric, none_ok=none_ok)


def test_centered_is_a_flag():
    assert_checks_flag(dd.relu_hermite_coefficients, {}, "centered")


@given(
    st.lists(st.one_of(st.just(0.0), log_uniform(-300, 300)), min_size=1, max_size=12).filter(
        lambda v: any(v)
    )
)
@example([1.0, 1e-300, 1e-300])  # λ² underflowed: R_k = 0/0 = NaN
@example([1.7e308, 1.7e308, 1.7e308])  # Σλ overflowed
def test_effective_ranks_lie_between_one_and_the_tail_length(values):
    lam = np.sort(np.asarray(values))[::-1]
    ks = np.arange(int(np.sum(lam > 0)))
    r, big_r = dd.effective_ranks(lam, ks)
    tail = lam.size - ks
    assert np.all((r >= 1 - 1e-12) & (r <= tail * (1 + 1e-12)))
    assert np.all((big_r >= 1 - 1e-12) & (big_r <= tail * (1 + 1e-12)))
    # r_k ≤ R_k ≤ r_k² (Bartlett et al. 2020, Lemma 5)
    assert np.all(big_r >= r * (1 - 1e-12)) and np.all(big_r <= r * r * (1 + 1e-12))


def test_more_refusals_and_extremes():
    assert np.isfinite(dd.marchenko_pastur_stieltjes(1.0, 1.7e308))  # (h − b)/(2γ) overflowed
    with pytest.raises(ValueError, match="n"):
        dd.min_norm_risk_finite(2.0**60, 3)  # the undefined band is not resolvable beyond 2^53

"""kernelcap.theory._memorization_capacity against independent references: Jacobian ranks of a
ReLU net, projection residuals by numpy least squares, Cover's count in exact integers, a linear
programme on random dichotomies, and a Monte Carlo of min-norm interpolation on Gaussian designs.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from kernelcap.theory import _memorization_capacity as mc
from tests.theory._contract import assert_checks_arguments

# ---------------------------------------------------------------------------------------------
# relu_effective_parameters


def _relu_jacobian(x, w, b, v, *, bias):
    """d f(x_i) / d(params) of f(x) = Σ_j v_j relu(w_j·x + b_j) + c, one row per sample."""
    z = x @ w.T + (b if bias else 0.0)
    act = (z > 0).astype(float)
    cols = [np.maximum(z, 0.0)]  # d/dv_j
    cols.append((act * v)[:, :, None] * x[:, None, :])  # d/dw_jk
    if bias:
        cols.append(act * v)  # d/db_j
    cols.append(np.ones((x.shape[0], 1)))  # d/dc
    return np.concatenate([c.reshape(x.shape[0], -1) for c in cols], axis=1)


@pytest.mark.parametrize(
    "width, dim, bias",
    [(1, 1, True), (3, 1, True), (3, 2, True), (4, 5, True), (2, 7, True)]
    + [(1, 1, False), (3, 2, False), (4, 5, False), (2, 7, False)],
)
def test_effective_parameters_equal_the_jacobian_rank_at_a_generic_init(width, dim, bias):
    rng = np.random.default_rng(width * 100 + dim)
    w = rng.standard_normal((width, dim))
    b = rng.standard_normal(width) * 0.3
    v = rng.standard_normal(width)
    n_params = width * (dim + 1 + (1 if bias else 0)) + 1
    x = rng.standard_normal((4 * n_params + 50, dim))  # many more samples than parameters
    jac = _relu_jacobian(x, w, b, v, bias=bias)
    assert jac.shape[1] == n_params
    rank = np.linalg.matrix_rank(jac)
    p_eff = mc.relu_effective_parameters(width, dim, bias=bias)
    assert isinstance(p_eff, float)
    assert p_eff == rank
    assert p_eff == n_params - width  # one rescaling direction per hidden unit


def test_rescaling_direction_spans_the_jacobian_null_space_per_unit():
    rng = np.random.default_rng(11)
    width, dim = 3, 2
    w, b, v = rng.standard_normal((width, dim)), rng.standard_normal(width), rng.standard_normal(3)
    x = rng.standard_normal((200, dim))
    jac = _relu_jacobian(x, w, b, v, bias=True)
    # parameter order: v (H), w (H*d), b (H), c
    for j in range(width):
        direction = np.zeros(jac.shape[1])
        direction[j] = -v[j]
        direction[width + j * dim : width + (j + 1) * dim] = w[j]
        direction[width + width * dim + j] = b[j]
        assert np.allclose(jac @ direction, 0.0, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_linearized_net_cannot_interpolate_more_than_p_eff_generic_targets(seed):
    # the necessary side of the threshold: P_eff + 1 samples exceed the Jacobian's rank. (The
    # converse needs every unit active on enough samples, which a random init does not ensure.)
    rng = np.random.default_rng(seed)
    width, dim = 4, 3
    w, b, v = rng.standard_normal((width, dim)), rng.standard_normal(width), rng.standard_normal(4)
    n = int(mc.relu_effective_parameters(width, dim)) + 1
    x = rng.standard_normal((n, dim))
    y = rng.standard_normal(n)
    jac = _relu_jacobian(x, w, b, v, bias=True)
    assert np.linalg.matrix_rank(jac) < n
    delta = np.linalg.lstsq(jac, y, rcond=None)[0]
    assert np.linalg.norm(jac @ delta - y) > 1e-6


def test_bias_free_one_dimensional_units_are_degenerate_so_p_eff_is_only_a_bound():
    # d = 1 without biases: every unit is relu(±x) up to scale, so the rank stops at 3
    rng = np.random.default_rng(16)
    width = 5
    w, v = rng.standard_normal((width, 1)), rng.standard_normal(width)
    x = rng.standard_normal((200, 1))
    rank = np.linalg.matrix_rank(_relu_jacobian(x, w, None, v, bias=False))
    assert rank <= 3 < mc.relu_effective_parameters(width, 1, bias=False)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 500), min_size=1, max_size=5),
    st.integers(1, 300),
    st.booleans(),
)
def test_effective_parameters_broadcast_and_grow_linearly_in_width(widths, dim, bias):
    out = mc.relu_effective_parameters(np.array(widths), dim, bias=bias)
    assert isinstance(out, np.ndarray) and out.shape == (len(widths),)
    per_unit = dim + (1 if bias else 0)
    assert np.array_equal(out, [h * per_unit + 1 for h in widths])
    assert mc.relu_effective_parameters(widths[0] + 1, dim, bias=bias) - out[0] == per_unit


def test_effective_parameters_refuse_bad_arguments():
    assert_checks_arguments(mc.relu_effective_parameters, {"width": 3, "dim": 2}, ["width", "dim"])
    for name, bad in (("width", 0), ("width", 2.5), ("dim", 0), ("dim", -1)):
        with pytest.raises(ValueError, match=f"^{name}"):
            mc.relu_effective_parameters(**{"width": 3, "dim": 2, name: bad})


# ---------------------------------------------------------------------------------------------
# random_label_train_error


@pytest.mark.parametrize("p, n", [(0, 7), (1, 7), (5, 20), (19, 20), (20, 20), (35, 20), (3, 3)])
def test_train_error_is_the_trace_of_the_residual_projector(p, n):
    # E||(I − Π)y||² = tr(I − Π) for y ~ N(0, I): exact for any full-rank design, here by lstsq
    rng = np.random.default_rng(p * 31 + n)
    f = rng.standard_normal((n, p))
    eye = np.eye(n)
    fitted = f @ np.linalg.lstsq(f, eye, rcond=None)[0] if p else np.zeros((n, n))
    expected = np.trace(eye - fitted) / n
    assert mc.random_label_train_error(p, n) == pytest.approx(expected, abs=1e-10)


def test_train_error_of_a_monte_carlo_fit_with_fresh_features_each_trial():
    rng = np.random.default_rng(13)
    n, p, trials = 16, 6, 2000
    errs = np.empty(trials)
    for t in range(trials):
        f = rng.standard_normal((n, p))
        y = rng.standard_normal(n)
        resid = y - f @ np.linalg.lstsq(f, y, rcond=None)[0]
        errs[t] = resid @ resid / n  # relative to the target variance 1
    se = errs.std(ddof=1) / np.sqrt(trials)
    assert errs.mean() == pytest.approx(mc.random_label_train_error(p, n), abs=4 * se)


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1e4), st.floats(1e-3, 1e4), st.floats(1e-3, 1e3))
def test_train_error_is_scale_free_bounded_and_zero_past_the_threshold(p, n, c):
    e = mc.random_label_train_error(p, n)
    assert 0.0 <= e <= 1.0
    assert mc.random_label_train_error(c * p, c * n) == pytest.approx(e, abs=1e-12)
    if p >= n:
        assert e == 0.0
    else:
        assert e == pytest.approx((n - p) / n)


def test_train_error_broadcasts():
    out = mc.random_label_train_error(np.array([0, 10, 40, 80]), 40)
    assert np.allclose(out, [1.0, 0.75, 0.0, 0.0])
    assert mc.random_label_train_error(0, 5) == 1.0


def test_train_error_refuses_bad_arguments():
    kw = {"n_features": 3, "n_samples": 10}
    assert_checks_arguments(mc.random_label_train_error, kw, ["n_features", "n_samples"])
    with pytest.raises(ValueError, match="^n_features"):
        mc.random_label_train_error(-1, 10)
    with pytest.raises(ValueError, match="^n_samples"):
        mc.random_label_train_error(3, 0)


# ---------------------------------------------------------------------------------------------
# sign_fit_probability


def _cover_fraction(n, p):
    return 2 * sum(math.comb(n - 1, k) for k in range(p)) / 2**n


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 120), st.integers(1, 120))
def test_sign_fit_probability_is_covers_count_over_two_to_the_n(n, p):
    assert mc.sign_fit_probability(n, p) == pytest.approx(_cover_fraction(n, p), rel=1e-10)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 200))
def test_sign_fit_probability_is_one_below_and_half_at_twice_the_features(p):
    assert mc.sign_fit_probability(p, p) == 1.0
    assert mc.sign_fit_probability(2 * p, p) == pytest.approx(0.5, abs=1e-12)
    # symmetric about n = 2P in the sense C(n, P) + C(n, n - P) = 2^n
    n = 2 * p + 1
    assert mc.sign_fit_probability(n, p) + mc.sign_fit_probability(n, n - p) == pytest.approx(1.0)


def _separable(x, y):
    # y_i w·x_i >= 1 for all i feasible: a linear programme with a zero objective
    res = optimize.linprog(
        np.zeros(x.shape[1]),
        A_ub=-(y[:, None] * x),
        b_ub=-np.ones(len(y)),
        bounds=[(None, None)] * x.shape[1],
        method="highs",
    )
    return res.status == 0


@pytest.mark.parametrize("n, p", [(7, 3), (9, 3)])
def test_sign_fit_probability_matches_random_dichotomies_solved_by_lp(n, p):
    rng = np.random.default_rng(14 + n)
    trials = 300
    hits = sum(
        _separable(rng.standard_normal((n, p)), rng.choice([-1.0, 1.0], n)) for _ in range(trials)
    )
    prob = mc.sign_fit_probability(n, p)
    se = np.sqrt(prob * (1 - prob) / trials)
    assert hits / trials == pytest.approx(prob, abs=4 * se)


def test_sign_fit_probability_broadcasts_and_is_monotone():
    out = mc.sign_fit_probability(np.arange(1, 61), 10)
    assert out.shape == (60,)
    assert np.all(np.diff(out) <= 0) and out[0] == 1.0 and out[-1] < 1e-3


def test_sign_fit_probability_refuses_bad_values():
    for kw in ({"n_samples": 0, "n_features": 3}, {"n_samples": 4, "n_features": 1.5}):
        with pytest.raises(ValueError):
            mc.sign_fit_probability(**kw)
    with pytest.raises(TypeError):
        mc.sign_fit_probability(True, 3)


def test_sign_fit_probability_errors_name_its_own_arguments():
    kw = {"n_samples": 10, "n_features": 3}
    assert_checks_arguments(mc.sign_fit_probability, kw, ["n_samples", "n_features"])


# ---------------------------------------------------------------------------------------------
# min_norm_risk_spectrum


def _monte_carlo_min_norm_risk(lam, theta, n, sigma2, draws, rng):
    """Bias and variance of θ̂ = X⁺y, averaged over Gaussian designs (exact over the noise)."""
    p = lam.size
    sq = np.sqrt(lam)
    bias, var = np.empty(draws), np.empty(draws)
    for t in range(draws):
        x = rng.standard_normal((n, p)) * sq
        pinv = np.linalg.pinv(x)
        miss = theta - pinv @ (x @ theta)  # (I − Π)θ*
        bias[t] = miss @ (lam * miss)
        var[t] = sigma2 * np.sum(lam[:, None] * pinv**2)  # σ² tr(X⁺ᵀ Σ X⁺)
    return bias, var


def test_min_norm_risk_matches_monte_carlo_least_squares_on_an_anisotropic_design():
    rng = np.random.default_rng(15)
    n, p, sigma2 = 60, 150, 0.5
    lam = 1.0 / np.arange(1, p + 1) ** 0.6
    theta = rng.standard_normal(p) * 0.8
    res = mc.min_norm_risk_spectrum(lam, lam * theta**2, n, sigma2)
    bias, var = _monte_carlo_min_norm_risk(lam, theta, n, sigma2, 300, rng)
    for mc_vals, de in ((bias, res.bias), (var, res.variance), (bias + var, res.risk)):
        se = mc_vals.std(ddof=1) / np.sqrt(mc_vals.size)
        # exact only as n, p → ∞ (Õ(n^-1/2) here ≈ 1 %): allow 3 % plus 4 MC errors
        assert mc_vals.mean() == pytest.approx(de, abs=0.03 * de + 4 * se)


def test_min_norm_variance_for_isotropic_design_matches_inverse_wishart_mean():
    # Σ = I: E tr((XXᵀ)⁻¹) = n / (p − n − 1) exactly; the equivalent gives n / (p − n)
    n, p = 20, 60
    res = mc.min_norm_risk_spectrum(np.ones(p), 0.0, n, 1.0)
    assert res.variance == pytest.approx(n / (p - n), rel=1e-10)
    assert res.variance == pytest.approx(n / (p - n - 1), rel=1.5 / (p - n))
    assert res.bias == 0.0


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 300), st.floats(1.01, 10.0), st.floats(0.01, 100.0))
def test_min_norm_isotropic_kappa_and_df2_closed_forms(n, gamma, scale):
    p = int(math.ceil(gamma * n))
    if p <= n:
        p = n + 1
    res = mc.min_norm_risk_spectrum(np.full(p, scale), 0.0, n, 1.0)
    # p·λ/(λ + κ) = n  ⇒  κ = λ(p/n − 1);  df₂ = n²/p
    assert res.kappa == pytest.approx(scale * (p / n - 1), rel=1e-9)
    assert res.df2 == pytest.approx(n**2 / p, rel=1e-9)


def test_min_norm_two_level_spectrum_solves_the_fixed_point():
    # λ = (a ×k, b ×m): a k/(a + κ) + b m/(b + κ) = n is a quadratic in κ
    a, k, b, m, n = 4.0, 10, 0.5, 90, 30
    lam = np.r_[np.full(k, a), np.full(m, b)]
    res = mc.min_norm_risk_spectrum(lam, 1.0, n, 0.0)
    # n(a + κ)(b + κ) = a k (b + κ) + b m (a + κ), expanded in powers of κ
    coeffs = [n, n * (a + b) - a * k - b * m, n * a * b - a * b * (k + m)]
    roots = np.roots(coeffs)
    kappa = roots[roots > 0].max()
    assert res.kappa == pytest.approx(kappa, rel=1e-10)
    assert res.variance == 0.0


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 3.0), st.floats(1e-3, 1e3))
def test_min_norm_risk_invariances(seed, sigma2, c):
    rng = np.random.default_rng(seed)
    n, p = 12, 30
    lam = rng.uniform(0.05, 2.0, p)
    sig = rng.uniform(0.0, 1.0, p)
    res = mc.min_norm_risk_spectrum(lam, sig, n, sigma2)
    assert res.risk == pytest.approx(res.bias + res.variance, rel=1e-12, abs=1e-300)
    assert res.bias >= 0 and res.variance >= 0 and 0 < res.df2 < n
    # noise scales the variance only; the signal scales the bias only
    twice = mc.min_norm_risk_spectrum(lam, 2 * sig, n, 2 * sigma2)
    assert twice.bias == pytest.approx(2 * res.bias, rel=1e-9)
    assert twice.variance == pytest.approx(2 * res.variance, rel=1e-9, abs=1e-300)
    # rescaling Σ by c with the same signal energies: κ → cκ, the risk unchanged
    scaled = mc.min_norm_risk_spectrum(c * lam, sig, n, sigma2)
    assert scaled.kappa == pytest.approx(c * res.kappa, rel=1e-8)
    assert scaled.risk == pytest.approx(res.risk, rel=1e-8)
    # zero-variance directions carrying no signal change nothing; order does not matter
    padded = mc.min_norm_risk_spectrum(np.r_[lam, np.zeros(5)], np.r_[sig, np.zeros(5)], n, sigma2)
    assert padded.risk == pytest.approx(res.risk, rel=1e-10)
    perm = rng.permutation(p)
    shuffled = mc.min_norm_risk_spectrum(lam[perm], sig[perm], n, sigma2)
    assert shuffled.risk == pytest.approx(res.risk, rel=1e-10)


def test_min_norm_scalar_signal_spreads_r2_evenly_over_theta():
    lam = np.linspace(0.2, 3.0, 40)
    res = mc.min_norm_risk_spectrum(lam, 2.5, 15, 0.3)
    ref = mc.min_norm_risk_spectrum(lam, lam * 2.5 / lam.size, 15, 0.3)
    assert res == ref


def test_min_norm_risk_refuses_bad_arguments():
    kw = {"eigenvalues": np.ones(8), "signal": 1.0, "n": 3, "sigma2": 1.0}
    assert_checks_arguments(mc.min_norm_risk_spectrum, kw, ["eigenvalues", "signal", "n", "sigma2"])
    with pytest.raises(ValueError, match="signal must have"):
        mc.min_norm_risk_spectrum(np.ones(8), np.ones(7), 3)
    with pytest.raises(ValueError, match="^eigenvalues"):
        mc.min_norm_risk_spectrum(np.r_[np.ones(7), -1.0], 1.0, 3)
    with pytest.raises(ValueError, match="^signal"):
        mc.min_norm_risk_spectrum(np.ones(8), -1.0, 3)
    with pytest.raises(ValueError, match="^sigma2"):
        mc.min_norm_risk_spectrum(np.ones(8), 1.0, 3, -0.1)
    with pytest.raises(ValueError, match="^n"):
        mc.min_norm_risk_spectrum(np.ones(8), 1.0, 0)
    with pytest.raises(TypeError, match="^n"):
        mc.min_norm_risk_spectrum(np.ones(8), 1.0, 2.5)
    # zeros do not count towards p > n
    with pytest.raises(ValueError, match="p > n"):
        mc.min_norm_risk_spectrum(np.r_[np.ones(5), np.zeros(10)], 0.0, 5)

"""Memorization theory: closed forms against brute-force refits, properties, null laws."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from kernelcap.theory import double_descent as dd
from kernelcap.theory import kernels as tk
from kernelcap.theory import memorization as mz


def _problem(seed, n=10, d=3, outputs=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    k = tk.ntk_kernel(x, depth=1, b_std=0.5)
    y = rng.standard_normal(n if outputs is None else (n, outputs))
    return rng, k, y


def _brute_loo(k, y, ridge):
    n = k.shape[0]
    out = []
    for i in range(n):
        keep = np.arange(n) != i
        pred = tk.kernel_regression(k[np.ix_(keep, keep)], k[i : i + 1, keep], y[keep], ridge)
        out.append(y[i] - pred[0])
    return np.array(out)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 1e-3, 0.5, 5.0]), st.sampled_from([None, 3]))
def test_loo_residuals_equal_brute_force_refits(seed, ridge, outputs):
    _, k, y = _problem(seed, outputs=outputs)
    res = mz.kernel_loo_residuals(k, y, ridge)
    assert res.loo_residuals.shape == y.shape
    assert np.allclose(res.loo_residuals, _brute_loo(k, y, ridge), atol=1e-7, rtol=1e-6)
    assert np.allclose(res.loo_predictions, y - res.loo_residuals)
    assert np.all((res.leverages >= 0) & (res.leverages <= 1))
    if ridge > 0:  # the PRESS identity e = r / (1 − H_ii)
        lev = res.leverages if y.ndim == 1 else res.leverages[:, None]
        assert np.allclose(res.loo_residuals, res.residuals / (1 - lev), rtol=1e-8)
    else:  # interpolation: no training residual, leverage 1, finite LOO residual
        assert np.allclose(res.residuals, 0) and np.allclose(res.leverages, 1)


def test_loo_refuses_singular_asymmetric_and_indefinite_kernels():
    rng, k, y = _problem(0)
    x = rng.standard_normal((5, 2))
    dup = np.vstack([x, x[:1]])  # a duplicated point makes the kernel singular
    kd = tk.ntk_kernel(dup, depth=1)
    with pytest.raises(ValueError, match="ill-conditioned"):
        mz.kernel_loo_residuals(kd, np.arange(6.0), 0.0)
    assert np.all(np.isfinite(mz.kernel_loo_residuals(kd, np.arange(6.0), 1e-3).loo_residuals))
    with pytest.raises(ValueError, match="symmetric"):
        mz.kernel_loo_residuals(k + np.triu(np.ones_like(k), 1), y)
    with pytest.raises(ValueError, match="positive semi-definite"):
        mz.kernel_loo_residuals(-k, y, 0.1)
    with pytest.raises(ValueError, match="shape"):
        mz.kernel_loo_residuals(k, y[:-1])
    with pytest.raises(ValueError, match="ridge"):
        mz.kernel_loo_residuals(k, y, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        mz.kernel_loo_residuals(k, np.full_like(y, np.nan))


def test_subset_predictions_match_kernel_regression_and_linearized_dynamics():
    rng, k, y = _problem(1, n=12, outputs=2)
    masks = rng.random((6, 12)) < 0.6
    masks[0] = np.arange(12) < 3  # subsets of unequal size (padding)
    ridge_pred = mz.subset_kernel_predictions(k, y, masks, ridge=0.1)
    steps = 37
    lr = 0.5 * masks.sum(1).min() / np.linalg.eigvalsh(k)[-1]
    gd_pred = mz.subset_kernel_predictions(k, y, masks, lr=lr, steps=steps)
    for b, s in enumerate(masks):
        ref = tk.kernel_regression(k[np.ix_(s, s)], k[:, s], y[s], 0.1)
        assert np.allclose(ridge_pred[b], ref, atol=1e-10)
        m = int(s.sum())
        lin = tk.linearized_prediction(
            k[np.ix_(s, s)], k[:, s], y[s], np.zeros((m, 2)), np.zeros((12, 2)), lr, steps
        )["test"]
        assert np.allclose(gd_pred[b], lin, atol=1e-10)
    # one kernel per subset gives the same as the shared kernel when they are equal
    per = mz.subset_kernel_predictions(np.repeat(k[None], 6, 0), y, masks, ridge=0.1)
    assert np.allclose(per, ridge_pred)
    # long gradient descent reaches the interpolant
    far = mz.subset_kernel_predictions(k, y, masks[1:2], lr=lr, steps=10**7)
    interp = mz.subset_kernel_predictions(k, y, masks[1:2])
    assert np.allclose(far, interp, atol=1e-6)


def test_subset_mask_leaving_out_one_point_predicts_its_loo_value():
    _, k, y = _problem(2, n=9)
    masks = ~np.eye(9, dtype=bool)
    pred = mz.subset_kernel_predictions(k, y, masks, ridge=0.2)
    loo = mz.kernel_loo_residuals(k, y, 0.2)
    assert np.allclose(np.diag(pred), loo.loo_predictions)


def test_subset_predictions_refuse_bad_arguments():
    _, k, y = _problem(3, n=6)
    masks = np.ones((2, 6), bool)
    with pytest.raises(ValueError, match="both lr and steps"):
        mz.subset_kernel_predictions(k, y, masks, lr=0.1)
    with pytest.raises(ValueError, match="diverges"):
        mz.subset_kernel_predictions(k, y, masks, lr=1e6, steps=3)
    with pytest.raises(ValueError, match="at least one"):
        mz.subset_kernel_predictions(k, y, np.zeros((1, 6), bool))
    with pytest.raises(ValueError, match="masks must have shape"):
        mz.subset_kernel_predictions(k, y, np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="kernels for"):
        mz.subset_kernel_predictions(np.repeat(k[None], 3, 0), y, masks)


def test_feldman_zhang_matches_a_loop_and_has_positive_errors():
    rng = np.random.default_rng(4)
    masks = rng.random((40, 7)) < 0.5
    masks[:2] = True
    masks[2:4] = False
    vals = (rng.random((40, 7)) < 0.7).astype(float)
    vals[:, 0] = 1.0  # always correct: Agresti–Caffo keeps the error positive
    est = mz.feldman_zhang(vals, masks)
    for i in range(7):
        a, b = vals[masks[:, i], i], vals[~masks[:, i], i]
        assert est.mem[i] == pytest.approx(a.mean() - b.mean())
        assert est.n_in[i] == a.size and est.n_out[i] == b.size
    assert est.mem[0] == 0 and np.all(est.stderr > 0)
    real = rng.standard_normal((40, 7))
    est = mz.feldman_zhang(real, masks)
    a, b = real[masks[:, 3], 3], real[~masks[:, 3], 3]
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert est.stderr[3] == pytest.approx(se)
    masks[:, 0] = True
    with pytest.raises(ValueError, match="more models"):
        mz.feldman_zhang(vals, masks)


def test_kernel_scores_and_score_values():
    rng, k, y = _problem(5, n=10)
    y = np.sign(y)
    masks = np.zeros((30, 10), bool)
    for b in range(30):
        masks[b, rng.choice(10, 5, replace=False)] = True
    for kind in mz.KINDS:
        est = mz.kernel_memorization_scores(k, y, masks, kind=kind, ridge=1e-3)
        assert est.mem.shape == (10,) and np.all(np.isfinite(est.stderr))
    # near-interpolation: being in the training set can only help the squared loss
    assert np.all(mz.kernel_memorization_scores(k, y, masks, ridge=1e-6).mem > 0)
    pred = np.array([[[0.2, 0.9], [1.0, -1.0]]])
    onehot = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert np.array_equal(mz.score_values(pred, onehot, "accuracy"), [[1.0, 1.0]])
    assert np.allclose(mz.score_values(pred, onehot, "margin"), [[0.9, 1.0]])
    with pytest.raises(ValueError, match="kind"):
        mz.score_values(pred, onehot, "bogus")


def test_first_fit_step():
    c = np.array([[0, 1, 0, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 0]], bool).T
    assert mz.first_fit_step(c, [0, 10, 20, 30, 40]).tolist() == [30, 0, np.inf, np.inf]
    stacked = mz.first_fit_step(np.stack([c, c]), np.arange(5))
    assert stacked.shape == (2, 4)
    with pytest.raises(ValueError):
        mz.first_fit_step(c, [0, 1])


def test_capacity_thresholds():
    assert mz.relu_effective_parameters(10, 4) == 51
    assert mz.relu_effective_parameters(10, 4, bias=False) == 41
    assert mz.random_label_train_error(10, 40) == pytest.approx(0.75)
    assert mz.random_label_train_error(50, 40) == 0.0
    assert mz.sign_fit_probability(20, 10) == pytest.approx(0.5)  # Cover: ½ at n = 2H
    assert mz.sign_fit_probability(8, 10) == 1.0


def test_random_label_train_error_is_the_projection_residual():
    rng = np.random.default_rng(6)
    n, p, t = 30, 12, 3000
    f = rng.standard_normal((n, p))
    proj = np.eye(n) - f @ np.linalg.pinv(f)
    y = rng.standard_normal((t, n))
    ratio = ((y @ proj) * y).sum(1) / (y * y).sum(1)
    expected = mz.random_label_train_error(p, n)
    assert ratio.mean() == pytest.approx(expected, abs=4 * ratio.std() / np.sqrt(t))


@settings(max_examples=30, deadline=None)
@given(st.integers(10, 200), st.floats(1.05, 8.0), st.floats(0.1, 3.0), st.floats(0.0, 2.0))
def test_min_norm_risk_reduces_to_hmrt_for_isotropic_spectra(n, gamma, r2, s2):
    p = int(round(gamma * n))
    if p <= n:
        return
    res = mz.min_norm_risk_spectrum(np.ones(p), r2, n, s2)
    assert res.risk == pytest.approx(dd.ridgeless_risk(p / n, r2, s2), rel=1e-7)
    assert res.bias >= 0 and res.variance >= 0


def test_min_norm_risk_kappa_and_benign_decay():
    lam = 1.0 / np.arange(1, 400) ** 0.5
    res = mz.min_norm_risk_spectrum(lam, lam, 50, 1.0)
    assert np.sum(lam / (lam + res.kappa)) == pytest.approx(50, rel=1e-10)
    risks = []
    for n in (25, 50, 100, 200, 400):
        tail = int(n**1.5)
        ev = np.concatenate([np.ones(3), np.full(tail, np.sqrt(n) / tail)])
        sig = np.concatenate([np.full(3, 1 / 3), np.zeros(tail)])
        risks.append(mz.min_norm_risk_spectrum(ev, sig, n).risk)
    assert np.all(np.diff(risks) < 0) and risks[-1] < 0.5 * risks[0]
    with pytest.raises(ValueError, match="p > n"):
        mz.min_norm_risk_spectrum(np.ones(10), 1.0, 10)


def test_auroc_and_its_null_law():
    rng = np.random.default_rng(7)
    s, pos = rng.standard_normal(50), rng.random(50) < 0.3
    pairs = np.mean([(a > b) + 0.5 * (a == b) for a in s[pos] for b in s[~pos]])
    assert mz.auroc(s, pos) == pytest.approx(pairs)
    n_pos, n_neg = 12, 40
    sims = [mz.auroc(rng.standard_normal(52), np.arange(52) < n_pos) for _ in range(3000)]
    mean, sd = mz.auroc_null(n_pos, n_neg)
    assert np.mean(sims) == pytest.approx(mean, abs=4 * sd / np.sqrt(3000))
    assert np.std(sims) == pytest.approx(sd, rel=0.06)
    assert mz.auroc_stderr(0.5, n_pos, n_neg) == pytest.approx(sd, rel=0.1)
    with pytest.raises(ValueError, match="both classes"):
        mz.auroc(s, np.ones(50, bool))


def test_spearman_overlap_and_max_z_nulls():
    rng = np.random.default_rng(8)
    n, k = 40, 8
    rho = [stats.spearmanr(rng.random(n), rng.random(n)).statistic for _ in range(3000)]
    assert np.std(rho) == pytest.approx(mz.spearman_null_sd(n), rel=0.06)
    mean, sd = mz.topk_overlap_null(n, k)
    h = stats.hypergeom(n, k, k)
    assert mean == pytest.approx(h.mean() / k) and sd == pytest.approx(h.std() / k)
    z = mz.max_abs_z_bound(100, 0.01)
    assert (1 - 2 * stats.norm.sf(z)) ** 100 == pytest.approx(0.99)
    assert mz.max_abs_z_bound(1, 0.05) == pytest.approx(1.959964, rel=1e-5)
    assert mz.max_abs_z_bound(100, 0.01, dof=10) > z

"""kernelcap.theory._memorization_nulls against independent references: brute-force pair counting
and scipy's Mann–Whitney U, exact permutation enumeration of the AUROC and Spearman nulls, scipy's
hypergeometric law, and seeded Monte Carlo simulations with tolerances from their standard errors.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from kernelcap.theory import _memorization_nulls as nl
from tests.theory._contract import assert_checks_arguments

# ---------------------------------------------------------------------------------------------
# auroc


def _pair_count_auroc(scores, positives):
    s, pos = np.ravel(scores), np.ravel(positives).astype(bool)
    wins = 0.0
    for a in s[pos]:
        for b in s[~pos]:
            wins += 1.0 if a > b else 0.5 if a == b else 0.0
    return wins / (pos.sum() * (~pos).sum())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-3, 3), st.booleans()), min_size=2, max_size=30).filter(
        lambda rows: 0 < sum(p for _, p in rows) < len(rows)
    )
)
def test_auroc_with_ties_equals_brute_force_pair_counting(rows):
    scores = np.array([s for s, _ in rows], float)
    pos = np.array([p for _, p in rows])
    got = nl.auroc(scores, pos)
    assert got == pytest.approx(_pair_count_auroc(scores, pos), abs=1e-12)
    u = stats.mannwhitneyu(scores[pos], scores[~pos]).statistic
    assert got == pytest.approx(u / (pos.sum() * (~pos).sum()), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 40))
def test_auroc_symmetries_and_rank_invariance(seed, n):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(n)
    pos = np.arange(n) < rng.integers(1, n)
    a = nl.auroc(s, pos)
    assert 0.0 <= a <= 1.0
    assert nl.auroc(-s, pos) == pytest.approx(1 - a, abs=1e-12)
    assert nl.auroc(s, ~pos) == pytest.approx(1 - a, abs=1e-12)
    assert nl.auroc(np.exp(3 * s) + 7, pos) == pytest.approx(a, abs=1e-12)  # monotone map
    perm = rng.permutation(n)
    assert nl.auroc(s[perm], pos[perm]) == pytest.approx(a, abs=1e-12)


def test_auroc_extremes_constant_scores_and_shapes():
    s = np.arange(10.0)
    assert nl.auroc(s, s >= 6) == 1.0
    assert nl.auroc(s, s < 3) == 0.0
    assert nl.auroc(np.zeros(7), np.arange(7) < 2) == 0.5  # every pair a tie
    grid = np.arange(12.0).reshape(3, 4)
    assert nl.auroc(grid, grid > 4) == 1.0  # 2-D input is flattened
    assert nl.auroc([0.1, 0.9, 0.4], [0, 1, 0]) == 1.0  # 0/1 integers as labels
    assert isinstance(nl.auroc(s, s > 2), float)


def test_auroc_refuses_bad_input():
    s = np.arange(6.0)
    for pos in (np.ones(6, bool), np.zeros(6, bool), np.ones(5, bool), np.ones((2, 3), bool)):
        with pytest.raises(ValueError, match="both classes"):
            nl.auroc(s, pos)
    with pytest.raises(ValueError, match="^scores"):
        nl.auroc([0.1, np.nan, 0.3], [True, False, True])
    with pytest.raises(TypeError, match="^scores"):
        nl.auroc(["a", "b"], [True, False])


# ---------------------------------------------------------------------------------------------
# auroc_null


@pytest.mark.parametrize("n_pos, n_neg", [(1, 1), (1, 5), (3, 4), (4, 6), (5, 5), (2, 11)])
def test_auroc_null_is_the_exact_permutation_law(n_pos, n_neg):
    # every placement of the positives among distinct scores is equally likely under the null
    n = n_pos + n_neg
    scores = np.arange(n, dtype=float)
    vals = []
    for idx in itertools.combinations(range(n), n_pos):
        pos = np.zeros(n, bool)
        pos[list(idx)] = True
        vals.append(_pair_count_auroc(scores, pos))
    assert len(vals) == math.comb(n, n_pos)
    mean, sd = nl.auroc_null(n_pos, n_neg)
    assert mean == 0.5
    assert np.mean(vals) == pytest.approx(mean, abs=1e-12)
    assert np.std(vals) == pytest.approx(sd, rel=1e-12)


def test_auroc_null_matches_a_seeded_permutation_simulation_with_large_classes():
    rng = np.random.default_rng(21)
    n_pos, n_neg, trials = 30, 70, 4000
    s = rng.standard_normal(n_pos + n_neg)
    labels = np.arange(n_pos + n_neg) < n_pos
    ranks = stats.rankdata(s)
    sims = np.array([ranks[rng.permutation(labels)].sum() for _ in range(trials)])
    sims = (sims - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    mean, sd = nl.auroc_null(n_pos, n_neg)
    assert sims.mean() == pytest.approx(mean, abs=4 * sd / np.sqrt(trials))
    assert sims.std(ddof=1) == pytest.approx(sd, rel=4 / np.sqrt(2 * (trials - 1)))


def test_auroc_null_broadcasts_and_refuses_bad_counts():
    mean, sd = nl.auroc_null(np.array([1, 10, 100]), 10)
    assert np.array_equal(mean, [0.5, 0.5, 0.5]) and sd.shape == (3,)
    assert np.all(np.diff(sd) < 0)
    assert isinstance(nl.auroc_null(3, 4)[1], float)
    assert_checks_arguments(nl.auroc_null, {"n_pos": 3, "n_neg": 4}, ["n_pos", "n_neg"])
    with pytest.raises(ValueError, match="^n_pos"):
        nl.auroc_null(0, 3)
    with pytest.raises(ValueError, match="^n_neg"):
        nl.auroc_null(2, 1.5)


# ---------------------------------------------------------------------------------------------
# spearman_null_sd


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7])
def test_spearman_null_sd_is_exact_over_all_permutations(n):
    perms = np.array(list(itertools.permutations(range(n))), float)
    d = perms - np.arange(n)
    rhos = 1 - 6 * (d**2).sum(1) / (n * (n**2 - 1))
    # the rank-difference formula is Spearman's ρ (checked against scipy on a few permutations)
    for row in perms[:: max(1, len(perms) // 7)]:
        assert stats.spearmanr(np.arange(n), row).statistic == pytest.approx(
            1 - 6 * ((row - np.arange(n)) ** 2).sum() / (n * (n**2 - 1))
        )
    assert rhos.mean() == pytest.approx(0.0, abs=1e-12)
    assert rhos.std() == pytest.approx(nl.spearman_null_sd(n), rel=1e-12)


def test_spearman_null_sd_matches_monte_carlo_for_larger_n():
    rng = np.random.default_rng(22)
    n, trials = 150, 3000
    ref = np.arange(n)
    d = np.array([ref - rng.permutation(n) for _ in range(trials)])
    rho = 1 - 6 * (d**2).sum(1) / (n * (n**2 - 1))  # no ties: the rank-difference formula
    sd = nl.spearman_null_sd(n)
    assert rho.std(ddof=1) == pytest.approx(sd, rel=4 / np.sqrt(2 * (trials - 1)))


def test_spearman_null_sd_broadcasts_and_refuses_small_n():
    out = nl.spearman_null_sd(np.array([3, 5, 101]))
    assert np.allclose(out, [1 / np.sqrt(2), 0.5, 0.1])
    assert_checks_arguments(nl.spearman_null_sd, {"n": 10}, ["n"])
    for bad in (2, 0, 4.5):
        with pytest.raises(ValueError, match="^n"):
            nl.spearman_null_sd(bad)


# ---------------------------------------------------------------------------------------------
# topk_overlap_null


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 5000), st.data())
def test_topk_overlap_null_is_the_hypergeometric_law(n, data):
    k = data.draw(st.integers(1, n))
    mean, sd = nl.topk_overlap_null(n, k)
    support = np.arange(k + 1)
    pmf = stats.hypergeom.pmf(support, n, k, k)  # |A ∩ B| for two random k-subsets
    h_mean = pmf @ support
    h_var = pmf @ (support - h_mean) ** 2
    assert mean == pytest.approx(h_mean / k, rel=1e-9)
    assert sd == pytest.approx(np.sqrt(h_var) / k, rel=1e-6, abs=1e-9)


def test_topk_overlap_null_matches_a_simulation_of_random_subsets():
    rng = np.random.default_rng(23)
    n, k, trials = 30, 9, 4000
    overlap = np.empty(trials)
    for t in range(trials):
        a = rng.choice(n, k, replace=False)
        b = rng.choice(n, k, replace=False)
        overlap[t] = np.intersect1d(a, b).size / k
    mean, sd = nl.topk_overlap_null(n, k)
    assert overlap.mean() == pytest.approx(mean, abs=4 * sd / np.sqrt(trials))
    assert overlap.std(ddof=1) == pytest.approx(sd, rel=4 / np.sqrt(2 * (trials - 1)))


def test_topk_overlap_null_edges_broadcast_and_errors():
    assert nl.topk_overlap_null(10, 10) == (1.0, 0.0)  # both subsets are everything
    mean, sd = nl.topk_overlap_null(np.array([10, 20, 40]), 5)
    assert np.allclose(mean, [0.5, 0.25, 0.125]) and sd.shape == (3,)
    assert_checks_arguments(nl.topk_overlap_null, {"n": 10, "k": 3}, ["n", "k"])
    with pytest.raises(ValueError, match="k must be <= n"):
        nl.topk_overlap_null(5, 6)
    with pytest.raises(ValueError, match="^n"):
        nl.topk_overlap_null(1, 1)
    with pytest.raises(ValueError, match="^k"):
        nl.topk_overlap_null(5, 0)
    with pytest.raises(ValueError, match="^k"):
        nl.topk_overlap_null(5, 2.5)


# ---------------------------------------------------------------------------------------------
# max_abs_z_bound


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10**6), st.floats(1e-8, 0.5), st.one_of(st.none(), st.floats(0.5, 200)))
def test_max_abs_z_bound_satisfies_sidaks_identity(m, alpha, dof):
    z = nl.max_abs_z_bound(m, alpha, dof=dof)
    law = stats.norm if dof is None else stats.t(dof)
    # P(max|Z| <= z) = (1 − 2 P(Z > z))^m = 1 − α, in logs for accuracy at small α, large m
    log_cover = m * np.log1p(-2 * law.sf(z))
    assert -np.expm1(log_cover) == pytest.approx(alpha, rel=1e-6)


def test_max_abs_z_bound_exceedance_rate_by_simulation():
    rng = np.random.default_rng(24)
    m, alpha, trials = 25, 0.1, 20_000
    se = np.sqrt(alpha * (1 - alpha) / trials)
    z = nl.max_abs_z_bound(m, alpha)
    rate = np.mean(np.abs(rng.standard_normal((trials, m))).max(1) > z)
    assert rate == pytest.approx(alpha, abs=4 * se)
    zt = nl.max_abs_z_bound(m, alpha, dof=4)
    rate_t = np.mean(np.abs(rng.standard_t(4, (trials, m))).max(1) > zt)
    assert rate_t == pytest.approx(alpha, abs=4 * se)


def test_max_abs_z_bound_special_cases_and_monotonicity():
    # m = 1: the two-sided normal quantile; Šidák sits just below Bonferroni
    assert nl.max_abs_z_bound(1, 0.05) == pytest.approx(stats.norm.isf(0.025), rel=1e-12)
    assert nl.max_abs_z_bound(1) == pytest.approx(stats.norm.isf(5e-4), rel=1e-12)
    assert nl.max_abs_z_bound(1, 0.1, dof=7) == pytest.approx(stats.t.isf(0.05, 7), rel=1e-12)
    for m in (2, 50, 10**5):
        z = nl.max_abs_z_bound(m, 0.01)
        assert stats.norm.isf(0.005) < z <= stats.norm.isf(0.01 / (2 * m))
    ms = nl.max_abs_z_bound(np.array([1, 10, 100, 1000]), 0.01)
    assert ms.shape == (4,) and np.all(np.diff(ms) > 0)
    alphas = nl.max_abs_z_bound(100, np.array([1e-6, 1e-3, 0.1]))
    assert np.all(np.diff(alphas) < 0)
    # heavier tails need a larger bound; the t bound tends to the normal one
    dofs = [nl.max_abs_z_bound(100, 0.01, dof=v) for v in (2, 5, 30, 1e6)]
    assert np.all(np.diff(dofs) < 0)
    assert dofs[-1] == pytest.approx(nl.max_abs_z_bound(100, 0.01), rel=1e-4)


def test_max_abs_z_bound_refuses_bad_arguments():
    kw = {"n_tests": 10, "alpha": 0.05, "dof": 5}
    assert_checks_arguments(nl.max_abs_z_bound, kw, ["n_tests", "alpha", "dof"], none_ok=("dof",))
    for name, bad in (("n_tests", 0), ("n_tests", 2.5), ("alpha", 0), ("alpha", 1), ("dof", 0)):
        with pytest.raises(ValueError, match=f"^{name}"):
            nl.max_abs_z_bound(**{**kw, name: bad})


# ---------------------------------------------------------------------------------------------
# auroc_stderr


@pytest.mark.parametrize("n_pos, n_neg", [(1, 1), (3, 8), (12, 40), (200, 7)])
def test_auroc_stderr_at_half_equals_the_null_sd_exactly(n_pos, n_neg):
    # the exponential model at A = ½ is the null: Q₁ = Q₂ = ⅓ gives (m + n + 1)/(12 m n)
    assert nl.auroc_stderr(0.5, n_pos, n_neg) == pytest.approx(
        nl.auroc_null(n_pos, n_neg)[1], rel=1e-12
    )


@pytest.mark.parametrize("auc", [0.65, 0.85])
def test_auroc_stderr_matches_simulation_of_the_exponential_score_model(auc):
    # negatives ~ Exp(1), positives ~ Exp(μ): P(pos > neg) = 1/(1 + μ), and Hanley–McNeil's
    # Q₁ = A/(2 − A), Q₂ = 2A²/(1 + A) are exact, so the U-statistic variance formula is exact
    rng = np.random.default_rng(25)
    n_pos, n_neg, trials = 15, 25, 3000
    mu = 1 / auc - 1
    neg = rng.exponential(1.0, (trials, n_neg))
    pos = rng.exponential(1 / mu, (trials, n_pos))
    sims = (pos[:, :, None] > neg[:, None, :]).mean(axis=(1, 2))
    se = nl.auroc_stderr(auc, n_pos, n_neg)
    assert sims.mean() == pytest.approx(auc, abs=4 * se / np.sqrt(trials))
    assert sims.std(ddof=1) == pytest.approx(se, rel=4 / np.sqrt(2 * (trials - 1)) + 0.01)


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1), st.integers(1, 10_000), st.integers(1, 10_000))
def test_auroc_stderr_is_bounded_and_shrinks_with_more_samples(a, n_pos, n_neg):
    se = nl.auroc_stderr(a, n_pos, n_neg)
    # Q₁ − A², Q₂ − A² ∈ [0, A(1 − A)]: never above the single-pair Bernoulli SD √(A(1 − A))
    assert 0.0 <= se <= np.sqrt(a * (1 - a)) + 1e-12
    assume(n_pos > 1 or n_neg > 1)
    bigger = nl.auroc_stderr(a, 4 * n_pos, 4 * n_neg)
    assert bigger <= se + 1e-15


def test_auroc_stderr_edges_broadcast_and_errors():
    assert nl.auroc_stderr(1.0, 10, 20) == 0.0
    assert nl.auroc_stderr(0.0, 10, 20) == 0.0
    assert nl.auroc_stderr(0.7, 1, 1) == pytest.approx(np.sqrt(0.7 * 0.3))  # one pair: Bernoulli
    out = nl.auroc_stderr(np.array([0.5, 0.7, 0.9]), 20, 30)
    assert out.shape == (3,) and np.all(np.diff(out) < 0)
    kw = {"auc": 0.7, "n_pos": 5, "n_neg": 6}
    assert_checks_arguments(nl.auroc_stderr, kw, ["auc", "n_pos", "n_neg"])
    for name, bad in (("auc", 1.01), ("auc", -0.1), ("n_pos", 0), ("n_neg", 2.5)):
        with pytest.raises(ValueError, match=f"^{name}"):
            nl.auroc_stderr(**{**kw, name: bad})

"""Null laws that set the memorization claims' tolerances (re-exported by
:mod:`kernelcap.theory.memorization`): AUROC, Spearman ρ and top-k overlap under no signal, and the
max |z| over many examples."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from kernelcap.theory._validation import as_array, scalar_or_array


def auroc(scores, positives) -> float:
    """Area under the ROC curve of ``scores`` for the boolean ``positives`` (ties count ½):
    the Mann–Whitney U / (n_pos n_neg)."""
    s = as_array(scores, "scores").ravel()
    pos = np.asarray(positives, bool).ravel()
    if pos.shape != s.shape or pos.all() or not pos.any():
        raise ValueError("positives must match scores and contain both classes")
    ranks = stats.rankdata(s)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auroc_null(n_pos, n_neg):
    r"""Mean and standard deviation of the AUROC of a score unrelated to the labels (continuous,
    no ties): ½ and √((n_pos + n_neg + 1) / (12 n_pos n_neg)), the Mann–Whitney U null law
    divided by n_pos n_neg; asymptotically normal.

    References: Mann & Whitney, Ann. Math. Stat. 1947; Hanley & McNeil, Radiology 1982.
    """
    p = as_array(n_pos, "n_pos", ge=1, integer=True)
    q = as_array(n_neg, "n_neg", ge=1, integer=True)
    sd = np.sqrt((p + q + 1) / (12 * p * q))
    return scalar_or_array(np.full_like(sd, 0.5), n_pos, n_neg), scalar_or_array(sd, n_pos, n_neg)


def spearman_null_sd(n):
    r"""Standard deviation of Spearman's ρ between two independent continuous samples of size n:
    exactly 1/√(n − 1) (mean 0; asymptotically normal).

    References: Kendall & Stuart, *The Advanced Theory of Statistics* vol. 2, §31.
    """
    n = as_array(n, "n", ge=3, integer=True)
    return scalar_or_array(1.0 / np.sqrt(n - 1), n)


def topk_overlap_null(n, k):
    r"""Mean and standard deviation of the overlap fraction |A ∩ B|/k of two independent uniformly
    random k-subsets of n items: |A ∩ B| ~ Hypergeometric(n, k, k), mean k/n and variance
    k(k/n)(1 − k/n)(n − k)/(n − 1) for the count.

    References: any text on the hypergeometric law (e.g. Johnson, Kemp & Kotz 2005, ch. 6).
    """
    n = as_array(n, "n", ge=2, integer=True)
    k = as_array(k, "k", ge=1, integer=True)
    if np.any(k > n):
        raise ValueError(f"k must be <= n, got k={k}, n={n}")
    f = k / n
    var = k * f * (1 - f) * (n - k) / (n - 1)
    return scalar_or_array(f, n, k), scalar_or_array(np.sqrt(var) / k, n, k)


def max_abs_z_bound(n_tests, alpha: float = 1e-3, dof=None):
    r"""The (1 − α) quantile of max_j |Z_j| over m independent standard normal (or Student-t with
    ``dof`` degrees of freedom) statistics, by Šidák's identity P(max|Z| ≤ z) = (1 − 2Φ̄(z))^m:

        z = Φ̄⁻¹((1 − (1 − α)^{1/m}) / 2).

    A max |z| check with this bound has family-wise false-alarm rate α across the m examples.

    References: Šidák, J. Am. Stat. Assoc. 1967.
    """
    m = as_array(n_tests, "n_tests", ge=1, integer=True)
    a = as_array(alpha, "alpha", gt=0, lt=1)
    tail = -special.expm1(special.log1p(-a) / m) / 2
    if dof is None:
        out = stats.norm.isf(tail)
    else:
        out = stats.t.isf(tail, as_array(dof, "dof", gt=0))
    return scalar_or_array(out, n_tests, alpha)


def auroc_stderr(auc, n_pos, n_neg):
    r"""Standard error of an empirical AUROC A (Hanley & McNeil 1982):

        SE² = [A(1 − A) + (n_pos − 1)(Q₁ − A²) + (n_neg − 1)(Q₂ − A²)] / (n_pos n_neg),

    Q₁ = A/(2 − A), Q₂ = 2A²/(1 + A) (exponential score model; at A = ½ it is close to the null
    standard deviation of :func:`auroc_null`).

    References: Hanley & McNeil, "The meaning and use of the area under a ROC curve",
    Radiology 1982.
    """
    a = as_array(auc, "auc", ge=0, le=1)
    p = as_array(n_pos, "n_pos", ge=1, integer=True)
    q = as_array(n_neg, "n_neg", ge=1, integer=True)
    q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
    var = (a * (1 - a) + (p - 1) * (q1 - a**2) + (q - 1) * (q2 - a**2)) / (p * q)
    return scalar_or_array(np.sqrt(np.clip(var, 0.0, None)), auc, n_pos, n_neg)

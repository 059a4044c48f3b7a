"""compare.loglog_slope(weighted=True): the inverse-variance weighted log-log fit."""

import numpy as np
import pytest

from kernelcap import compare


def test_weighted_slope_equals_the_generalised_least_squares_solution():
    rng = np.random.default_rng(0)
    x = np.array([12.0, 16.0, 20.0, 28.0, 40.0])
    se = np.array([0.5, 2.0, 1.0, 4.0, 3.0])
    y = 3.0 * x**2.5 * np.exp(rng.normal(0, 0.05, x.size))
    est = compare.loglog_slope(x, y, se, weighted=True)
    design = np.stack([np.ones_like(x), np.log(x)], 1)
    w = (y / se) ** 2
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    coef = cov @ design.T @ (w * np.log(y))
    assert est.value == pytest.approx(coef[1], rel=1e-12)
    assert est.stderr == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-12)


def test_weighted_slope_is_exact_on_a_power_law_and_ignores_imprecise_points():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = 5 * x**-0.5
    assert compare.loglog_slope(x, y, 0.01 * y, weighted=True).value == pytest.approx(-0.5)
    bent = y.copy()
    bent[-1] *= 3  # an outlier with a huge error bar hardly moves the weighted fit
    se = np.array([0.01, 0.01, 0.01, 1e6]) * bent
    assert compare.loglog_slope(x, bent, se, weighted=True).value == pytest.approx(-0.5, abs=1e-6)
    assert compare.loglog_slope(x, bent, se).value > -0.2  # the OLS fit follows it


def test_weighted_slope_needs_standard_errors():
    with pytest.raises(ValueError, match="stderr"):
        compare.loglog_slope([1, 2], [1, 2], weighted=True)

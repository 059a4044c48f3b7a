"""The shared estimators of kernelcap.compare: weighted log-log slope, 50 % crossing."""

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


def test_crossing_on_a_grid_point_takes_the_slope_from_both_sides():
    # 12 of 24 trials exactly at x=2: the crossing is x=2; the next segment alone is nearly flat
    x, f = [0.0, 1.0, 2.0, 3.0], [1.0, 0.9, 0.5, 0.46]
    cr = compare.crossing(x, f, 0.5, n_trials=24)
    assert cr.value == 2.0
    assert cr.stderr == pytest.approx(np.sqrt(0.25 / 24) / ((0.9 - 0.46) / 2))
    # off the grid point the interpolating segment's slope is used, as before
    cr = compare.crossing(x, [1.0, 0.9, 0.52, 0.46], 0.5, n_trials=24)
    assert cr.stderr == pytest.approx(np.sqrt(0.25 / 24) / 0.06)
    # level met at the first point: only the right-hand segment exists
    assert compare.crossing([0, 1], [0.5, 0.3], 0.5, n_trials=4).stderr == pytest.approx(0.25 / 0.2)

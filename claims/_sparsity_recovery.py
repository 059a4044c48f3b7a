"""sparsity.phase-transition and sparsity.ridge-fails: sparse recovery from Gaussian measurements.

Part of :mod:`kernelcap.claims.sparsity` (the registry reads its ``CLAIMS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kernelcap import compare
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.empirics import sparsity as es
from kernelcap.theory import sparsity as theory

# ------------------------------------------------------------------------------ phase transition


@dataclass(frozen=True)
class PhaseTransitionConfig:
    n_features: int
    undersampling: tuple[float, ...]
    sparsity_ratio: tuple[float, ...]
    n_trials: int
    n_iter: int


def measure_phase_transition(cfg: PhaseTransitionConfig, rt) -> Measurement:
    pd = es.phase_diagram(
        cfg.n_features,
        cfg.undersampling,
        cfg.sparsity_ratio,
        n_trials=cfg.n_trials,
        n_iter=cfg.n_iter,
        progress=rt.progress,
        device=rt.torch_device,
        generator=rt.generator(0),
    )
    rho50, err = pd.boundary()
    n = pd.n_measurements
    return Measurement(
        {
            # the crossing per column, in Donoho–Tanner coordinates (δ, ρ₅₀) = (n/d, k₅₀/n) ...
            "boundary": Points(
                {"undersampling": pd.undersampling, "n_measurements": n},
                rho50,
                err,
                label="empirical 50% boundary",
            ),
            # ... and read the other way: n measurements recover k₅₀-sparse vectors half the time
            "measurements": Points(
                {"k50": rho50 * n}, n, label="measurements n at the 50% crossing k₅₀"
            ),
        },
        extras=dict(problems=int(pd.success.size * pd.n_trials)),
        timings=dict(solve_s=pd.seconds),
        run=pd,
    )


def predict_phase_transition(cfg: PhaseTransitionConfig, m: Measurement) -> dict:
    k50 = m["measurements"].grid["k50"]
    ok = np.isfinite(k50)  # no crossing, no sparsity to evaluate the theory at
    m_star = np.full_like(k50, np.nan)
    m_star[ok] = theory.l1_required_measurements(cfg.n_features, k50[ok])
    return {
        "boundary": theory.l1_phase_transition(m["boundary"].grid["undersampling"]),
        "measurements": m_star,
    }


def _measurement_gaps(m: Measurement, predicted) -> np.ndarray:
    """|n − d·ψ(k₅₀/d)| per column, NaN where the column has no crossing."""
    return np.abs(m["measurements"].measured - predicted["measurements"])


def compare_phase_transition(cfg: PhaseTransitionConfig, m: Measurement, predicted) -> list:
    gap = _measurement_gaps(m, predicted)
    band = math.sqrt(cfg.n_features)
    return [
        compare.at_most(
            "max |n − d·ψ(k₅₀/d)| (measurements)",
            np.nanmax(gap) if np.isfinite(gap).any() else np.nan,
            band,
            reason=f"finite-size band √d = {band:.1f}: the transition centre lies within one s.d. "
            "√Var ≤ √(2 min(δ, d−δ)) ≤ √d of the statistical dimension (ALMT 2014, Thm 6.1)",
        ),
        compare.at_least(
            "columns with a measured 50% crossing",
            float(np.isfinite(m["boundary"].measured).mean()),
            1.0,
            reason="the k/n grid spans both sides of the curve for every n/d",
        ),
    ]


def curve_phase_transition(cfg: PhaseTransitionConfig, m: Measurement) -> dict:
    delta = np.linspace(0.01, 1, 200)
    return {"ψ(ρδ) = δ (Donoho–Tanner)": (delta, theory.l1_phase_transition(delta))}


def decorate_phase_transition(fig, axes, cfg, m: Measurement, predicted) -> None:
    from kernelcap.plotting import plot_measured, plot_theory

    pd, ax = m.run, axes[1]
    im = ax.scatter(
        np.broadcast_to(pd.undersampling[:, None], pd.success.shape),
        pd.sparsity_ratio,
        c=pd.success,
        cmap="viridis",
        marker="s",
        s=30,
        vmin=0,
        vmax=1,
        zorder=1,
    )
    fig.colorbar(im, ax=ax, label="P(success)")
    for label, (x, y) in curve_phase_transition(cfg, m).items():
        plot_theory(ax, x, y, label=label)
    b = m["boundary"]
    plot_measured(ax, b.grid["undersampling"], b.measured, b.stderr, label=None)
    ax.set(xlabel="δ = n/d", ylabel="ρ = k/n", title=f"d = {cfg.n_features}, {pd.n_trials} trials")
    for a in axes:
        a.set(xlim=(0, 1), ylim=(0, 1))


def summarize_phase_transition(cfg: PhaseTransitionConfig, m: Measurement, predicted) -> str:
    pd, d = m.run, cfg.n_features
    return (
        f"d={d}: 50% boundary vs Donoho–Tanner, max gap "
        f"{np.nanmax(_measurement_gaps(m, predicted)):.1f} measurements (band {math.sqrt(d):.1f}); "
        f"k/n at δ=0.5: theory {float(theory.l1_phase_transition(0.5)):.3f}; solve "
        f"{pd.seconds:.1f}s for {pd.success.size * pd.n_trials} problems in one batch"
    )


PHASE_TRANSITION = Claim(
    "sparsity.phase-transition",
    statement="Basis pursuit with Gaussian measurements recovers a k-sparse x₀ ∈ ℝᵈ exactly when "
    "n ≳ d·ψ(k/d) (ψ the normalised statistical dimension of the L1 descent cone): the empirical "
    "50% boundary in the (n/d, k/n) plane lies on the Donoho–Tanner curve within O(√d) "
    "measurements.",
    source="Donoho & Tanner (2009); Amelunxen, Lotz, McCoy & Tropp (2014)",
    configs=Scales(
        smoke=PhaseTransitionConfig(
            50, (0.3, 0.5, 0.7), tuple(np.linspace(0.05, 0.9, 12).tolist()), 12, 400
        ),
        quick=PhaseTransitionConfig(
            100,
            (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
            tuple(np.linspace(0.05, 0.95, 16).tolist()),
            16,
            400,
        ),
        paper=PhaseTransitionConfig(
            400,
            tuple(np.linspace(0.05, 0.95, 19).tolist()),
            tuple(np.linspace(0.02, 0.98, 49).tolist()),
            100,
            2000,
        ),
    ),
    measure=measure_phase_transition,
    predict=predict_phase_transition,
    compare=compare_phase_transition,
    curve=curve_phase_transition,
    decorate=decorate_phase_transition,
    summarize=summarize_phase_transition,
    panels=2,
    x="undersampling",
    xlabel="δ = n/d",
    ylabel="ρ = k/n",
)


# ------------------------------------------------------------------------------ ridge fails


@dataclass(frozen=True)
class RidgeFailsConfig:
    n_features: int
    n_nonzero: int
    n_measurements: tuple[int, ...]
    n_trials: int
    n_iter: int


def measure_ridge_fails(cfg: RidgeFailsConfig, rt) -> Measurement:
    rec = es.recovery_errors(
        cfg.n_features,
        cfg.n_nonzero,
        cfg.n_measurements,
        n_trials=cfg.n_trials,
        n_iter=cfg.n_iter,
        progress=rt.progress,
        device=rt.torch_device,
        generator=rt.generator(0),
    )
    n, T = rec.n_measurements, rec.l2_error.shape[1]
    grid = {"n_measurements": n, "n_over_d": n / rec.n_features}
    l2_se = rec.l2_error.std(1, ddof=1) / math.sqrt(T)
    return Measurement(
        {
            "l2": Points(grid, rec.l2_error.mean(1), l2_se, label="L2 (min-norm interpolant)"),
            "l1": Points(grid, np.median(rec.l1_error, axis=1), label="L1 (basis pursuit), median"),
        },
        extras=dict(l1_success=(rec.l1_error <= es.SUCCESS_TOL**2).mean(1).tolist()),
        timings=dict(solve_s=rec.seconds),
        run=rec,
    )


def predict_ridge_fails(cfg: RidgeFailsConfig, m: Measurement) -> dict:
    # L1 has no finite-n closed form for its error (only where the transition is); no series.
    return {"l2": theory.min_norm_recovery_error(m["l2"].grid["n_measurements"], cfg.n_features)}


def _past_transition(cfg: RidgeFailsConfig, m: Measurement) -> tuple[float, np.ndarray]:
    """m* = d·ψ(k/d) and the mask of n one finite-size width √d past it."""
    m_star = float(theory.l1_required_measurements(cfg.n_features, cfg.n_nonzero))
    return m_star, m["l2"].grid["n_measurements"] > m_star + math.sqrt(cfg.n_features)


def compare_ridge_fails(cfg: RidgeFailsConfig, m: Measurement, predicted) -> list:
    l2, l1, pred = m["l2"], m["l1"], predicted["l2"]
    m_star, past = _past_transition(cfg, m)
    return [
        compare.max_abs_z(
            l2.measured,
            pred,
            l2.stderr,
            bound=4.0,
            name="max |L2 error − (1 − n/d)| / SE",
            reason=f"4 Monte-Carlo standard errors over {cfg.n_trials} trials per n",
        ),
        compare.at_most(
            f"max median L1 error at n > m*+√d = {m_star + math.sqrt(cfg.n_features):.0f}",
            l1.measured[past].max() if past.any() else np.nan,
            es.SUCCESS_TOL**2,
            reason="exact recovery up to the solver tolerance (relative error 1e-3) for most "
            "trials one finite-size width √d past the transition",
        ),
        compare.at_least(
            "min L2 error where L1 is exact",
            l2.measured[past].min() if past.any() else np.nan,
            0.5 * pred[past].min() if past.any() else np.nan,
            reason="L2 stays at 1 − n/d, at least half of it allowing for Monte-Carlo noise",
        ),
    ]


def curve_ridge_fails(cfg: RidgeFailsConfig, m: Measurement) -> dict:
    n = np.linspace(0, cfg.n_features, 200)
    err = theory.min_norm_recovery_error(n, cfg.n_features)
    return {"L2 theory 1 − n/d": (n / cfg.n_features, err)}


def decorate_ridge_fails(fig, ax, cfg: RidgeFailsConfig, m: Measurement, predicted) -> None:
    d = cfg.n_features
    m_star, _ = _past_transition(cfg, m)
    label = f"L1 transition m*/d = ψ(k/d) = {m_star / d:.2f}"
    ax.axvline(m_star / d, color="k", ls="--", lw=1, label=label)
    ax.axvspan((m_star - math.sqrt(d)) / d, (m_star + math.sqrt(d)) / d, color="k", alpha=0.08)
    ax.set_title(f"d = {d}, k = {cfg.n_nonzero}, {cfg.n_trials} trials per n", fontsize=9)
    handles, names = ax.get_legend_handles_labels()  # series keys -> their labels
    ax.legend(handles, [m[s].label if s in m.series else s for s in names], fontsize=8)


def summarize_ridge_fails(cfg: RidgeFailsConfig, m: Measurement, predicted) -> str:
    l2, l1 = m["l2"], m["l1"]
    z = compare.z_values(l2.measured, predicted["l2"], l2.stderr)
    m_star, past = _past_transition(cfg, m)
    nan = float("nan")
    return (
        f"d={cfg.n_features}, k={cfg.n_nonzero}: L2 error vs 1−n/d max {z.max():.2f} SE; L1 "
        f"transition m*={m_star:.1f}; past m*+√d L1 median error "
        f"{l1.measured[past].max() if past.any() else nan:.1e} while L2 error ≥ "
        f"{l2.measured[past].min() if past.any() else nan:.2f}"
    )


RIDGE_FAILS = Claim(
    "sparsity.ridge-fails",
    statement="On the same k-sparse problems, the min-L2 interpolant has relative squared error "
    "1 − n/d at every n (it ignores sparsity), while basis pursuit recovers x₀ exactly once "
    "n > d·ψ(k/d) + √d.",
    source="Amelunxen, Lotz, McCoy & Tropp (2014); Donoho (2006) compressed sensing",
    configs=Scales(
        smoke=RidgeFailsConfig(60, 6, (6, 12, 18, 24, 30, 36, 42, 48, 54), 12, 400),
        quick=RidgeFailsConfig(100, 10, tuple(range(10, 100, 5)), 40, 500),
        paper=RidgeFailsConfig(400, 40, tuple(range(20, 400, 10)), 200, 2000),
    ),
    measure=measure_ridge_fails,
    predict=predict_ridge_fails,
    compare=compare_ridge_fails,
    curve=curve_ridge_fails,
    decorate=decorate_ridge_fails,
    summarize=summarize_ridge_fails,
    x="n_over_d",
    xlabel="n/d",
    ylabel="‖x̂ − x₀‖² / ‖x₀‖²",
)

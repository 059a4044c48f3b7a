"""double_descent.* claims: min-norm and ridge risk curves against theory (this module);
random-features and MLP width sweeps (:mod:`._double_descent_models`). ``CLAIMS`` lists all five."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernelcap import compare
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.claims._double_descent_models import MLP_WIDTH, RANDOM_FEATURES
from kernelcap.empirics.double_descent import min_norm_risk_curve, ridge_risk_curve
from kernelcap.theory import double_descent as theory

RISK = "excess risk E‖β̂ − β‖²"


def _gaps(x: np.ndarray, y: np.ndarray, at: float) -> np.ndarray:
    """y with NaN inserted where x crosses ``at``, so a theory line breaks at the singularity."""
    return np.where(np.abs(x - at) < 1e-9, np.nan, y)


# ------------------------------------------------------------------------------ finite-sample


@dataclass(frozen=True)
class FiniteSampleConfig:
    n: int
    sizes: tuple[int, ...]
    n_trials: int
    r2: float = 1.0
    sigma2: float = 1.0


def measure_finite_sample(cfg: FiniteSampleConfig, rt) -> Measurement:
    curve = min_norm_risk_curve(
        cfg.n,
        cfg.sizes,
        r2=cfg.r2,
        sigma2=cfg.sigma2,
        trials=cfg.n_trials,
        device=rt.torch_device,
        generator=rt.generator(),
    )
    ps = curve.sizes
    return Measurement(Points({"p": ps, "gamma": ps / cfg.n}, curve.risk, curve.se, label=RISK))


def predict_finite_sample(cfg: FiniteSampleConfig, m: Measurement) -> dict:
    return {"main": theory.min_norm_risk_finite(cfg.n, m.main.grid["p"], cfg.r2, cfg.sigma2)}


def compare_finite_sample(cfg: FiniteSampleConfig, m: Measurement, predicted) -> list:
    p = m.main
    return [
        compare.max_abs_z(
            p.measured,
            predicted["main"],
            p.stderr,
            bound=4.0,
            reason=f"4 Monte-Carlo standard errors ({cfg.n_trials} designs per p), {len(p)} points",
        )
    ]


def curve_finite_sample(cfg: FiniteSampleConfig, m: Measurement) -> dict:
    fine = np.arange(1, int(m.main.grid["p"].max()) + 1)
    risk = theory.min_norm_risk_finite(cfg.n, fine, cfg.r2, cfg.sigma2)
    return {"exact E‖β̂−β‖²": (fine / cfg.n, np.where(np.isfinite(risk), risk, np.nan))}


def summarize_finite_sample(cfg: FiniteSampleConfig, m: Measurement, predicted) -> str:
    p, pred = m.main, predicted["main"]
    z = compare.z_values(p.measured, pred, p.stderr)
    k = int(np.argmax(pred))
    return (
        f"min-norm risk at n={cfg.n}: max |z| = {z.max():.2f} over {len(p)} p; peak side "
        f"p={p.grid['p'][k]}: predicted {pred[k]:.3f}, measured {p.measured[k]:.3f} ± "
        f"{p.stderr[k]:.3f}"
    )


FINITE_SAMPLE = Claim(
    "double_descent.finite-sample",
    statement="The Monte-Carlo risk of min-norm least squares on Gaussian design equals the exact "
    "finite-sample expectation σ²p/(n−p−1) (p ≤ n−2) and r²(1−n/p) + σ²n/(p−n−1) (p ≥ n+2).",
    source="Breiman & Freedman (1983); Belkin, Hsu & Xu (2020), Thm 1",
    configs=Scales(
        smoke=FiniteSampleConfig(20, (2, 5, 10, 14, 30, 40, 60, 80), 1000),
        quick=FiniteSampleConfig(40, (4, 10, 20, 28, 34, 46, 60, 80, 120, 160), 4000),
        paper=FiniteSampleConfig(200, (20, 50, 100, 150, 180, 220, 250, 300, 400, 600, 800), 20000),
    ),
    measure=measure_finite_sample,
    predict=predict_finite_sample,
    compare=compare_finite_sample,
    curve=curve_finite_sample,
    summarize=summarize_finite_sample,
    x="gamma",
    xlabel="γ = p/n",
    ylabel=RISK,
    yscale="log",
    decorate=lambda fig, ax, cfg, m, pred: ax.axvline(1.0, color="0.6", ls=":"),
)


# ------------------------------------------------------------------------------ asymptotic


@dataclass(frozen=True)
class AsymptoticConfig:
    ns: tuple[int, ...]
    gammas: tuple[float, ...]
    design_budget: int
    r2: float = 1.0
    sigma2: float = 1.0

    def n_trials(self, n: int) -> int:
        """Designs per grid point at sample size n: the budget spread as 1/n (at least 20)."""
        return max(20, self.design_budget // n)


def measure_asymptotic(cfg: AsymptoticConfig, rt) -> Measurement:
    gam = np.asarray(cfg.gammas, float)
    series = {}
    # One batched program per n (shapes differ); trials shrink as 1/n, the per-point spread with it.
    for k, n in enumerate(cfg.ns):
        c = min_norm_risk_curve(
            n,
            np.round(gam * n).astype(int),
            r2=cfg.r2,
            sigma2=cfg.sigma2,
            trials=cfg.n_trials(n),
            device=rt.torch_device,
            generator=rt.generator(k),
        )
        series[f"n={n}"] = Points({"n": n, "gamma": gam}, c.risk, c.se, label=RISK)
    return Measurement(series)


def predict_asymptotic(cfg: AsymptoticConfig, m: Measurement) -> dict:
    return {
        name: theory.ridgeless_risk(p.grid["gamma"], cfg.r2, cfg.sigma2)
        for name, p in m.series.items()
    }


def _relative_gaps(m: Measurement, predicted) -> list[float]:
    return [
        float(np.mean(np.abs(p.measured - predicted[k]) / predicted[k]))
        for k, p in m.series.items()
    ]


def _finite_gaps(cfg: AsymptoticConfig) -> list[float]:
    gam = np.asarray(cfg.gammas, float)
    asym = theory.ridgeless_risk(gam, cfg.r2, cfg.sigma2)
    return [
        float(
            np.mean(
                np.abs(theory.min_norm_risk_finite(n, np.round(gam * n), cfg.r2, cfg.sigma2) - asym)
                / asym
            )
        )
        for n in cfg.ns
    ]


def compare_asymptotic(cfg: AsymptoticConfig, m: Measurement, predicted) -> list:
    n_max = cfg.ns[-1]
    last, asym = m[f"n={n_max}"], predicted[f"n={n_max}"]
    finite = theory.min_norm_risk_finite(
        n_max, np.round(last.grid["gamma"] * n_max), cfg.r2, cfg.sigma2
    )
    band = np.abs(finite - asym) + 4 * last.stderr
    gaps = _relative_gaps(m, predicted)
    return [
        compare.at_most(
            "max |R̂ − R∞| / band at largest n",
            float(np.max(np.abs(last.measured - asym) / band)),
            1.0,
            reason=f"band = exact finite-size gap |R_n − R∞| (O(1/n) at n={n_max}) + "
            "4 Monte-Carlo standard errors",
        ),
        compare.at_least(
            "gap(n_min) / gap(n_max)",
            gaps[0] / gaps[-1],
            2.0,
            reason=f"an O(1/n) gap shrinks {cfg.ns[-1] / cfg.ns[0]:.0f}× over the n "
            "range; 2× leaves room for Monte-Carlo noise in the small gap at the "
            "largest n",
        ),
    ]


def curve_asymptotic(cfg: AsymptoticConfig, m: Measurement) -> dict:
    fine = np.linspace(0.05, max(cfg.gammas) + 0.5, 300)
    return {"n → ∞": (fine, _gaps(fine, theory.ridgeless_risk(fine, cfg.r2, cfg.sigma2), 1.0))}


def decorate_asymptotic(fig, axes, cfg: AsymptoticConfig, m: Measurement, predicted) -> None:
    from kernelcap.plotting import plot_measured, plot_theory

    axes[0].set_ylim(0.05, 20)
    ns = np.asarray(cfg.ns, float)
    plot_theory(axes[1], ns, _finite_gaps(cfg), label="exact finite-n gap (O(1/n))")
    plot_measured(axes[1], ns, _relative_gaps(m, predicted), None, label="measured gap")
    axes[1].set(xscale="log", yscale="log", xlabel="n", ylabel="mean |R̂ − R∞| / R∞")
    axes[1].legend(fontsize=7)


def summarize_asymptotic(cfg: AsymptoticConfig, m: Measurement, predicted) -> str:
    gaps = _relative_gaps(m, predicted)
    return (
        f"mean relative gap to the n→∞ curve: {gaps[0]:.3f} at n={cfg.ns[0]} → "
        f"{gaps[-1]:.4f} at n={cfg.ns[-1]} ({gaps[0] / gaps[-1]:.1f}× smaller)"
    )


_GAMMAS = (0.25, 0.5, 2.0, 4.0)
ASYMPTOTIC = Claim(
    "double_descent.asymptotic",
    statement="As n grows at fixed γ = p/n, the min-norm risk curve approaches the asymptotic "
    "σ²γ/(1−γ) (γ<1), r²(1−1/γ) + σ²/(γ−1) (γ>1), with an O(1/n) gap.",
    source="Hastie, Montanari, Rosset & Tibshirani (2022), Thm 1",
    configs=Scales(
        smoke=AsymptoticConfig((12, 24, 48), _GAMMAS, 24000),
        quick=AsymptoticConfig((20, 40, 80, 160), _GAMMAS, 24000),
        paper=AsymptoticConfig((50, 100, 200, 400, 800), (0.25, 0.5, 0.75, 1.5, 2.0, 4.0), 400000),
    ),
    measure=measure_asymptotic,
    predict=predict_asymptotic,
    compare=compare_asymptotic,
    curve=curve_asymptotic,
    decorate=decorate_asymptotic,
    summarize=summarize_asymptotic,
    panels=2,
    x="gamma",
    xlabel="γ = p/n",
    ylabel="excess risk",
    yscale="log",
)


# ------------------------------------------------------------------------------ optimal ridge


@dataclass(frozen=True)
class OptimalRidgeConfig:
    n: int
    gammas: tuple[float, ...]
    n_trials: int
    r2: float = 1.0
    sigma2: float = 1.0


def measure_optimal_ridge(cfg: OptimalRidgeConfig, rt) -> Measurement:
    ps = np.round(np.asarray(cfg.gammas) * cfg.n).astype(int)
    gam = ps / cfg.n
    lam_star = theory.optimal_ridge(gam, cfg.r2, cfg.sigma2)[0]
    curve = ridge_risk_curve(
        cfg.n,
        ps,
        lam_star,
        r2=cfg.r2,
        sigma2=cfg.sigma2,
        trials=cfg.n_trials,
        device=rt.torch_device,
        generator=rt.generator(),
    )
    return Measurement(
        Points({"gamma": gam, "lam": lam_star}, curve.risk, curve.se, label="measured at λ*")
    )


def predict_optimal_ridge(cfg: OptimalRidgeConfig, m: Measurement) -> dict:
    return {"main": theory.optimal_ridge(m.main.grid["gamma"], cfg.r2, cfg.sigma2)[1]}


def compare_optimal_ridge(cfg: OptimalRidgeConfig, m: Measurement, predicted) -> list:
    p = m.main
    # Finite n: E over Gaussian designs differs from the n → ∞ limit by O(1/n); budget r²/n.
    band = 4 * p.stderr + cfg.r2 / cfg.n
    drops = (p.measured[:-1] - p.measured[1:]) / np.hypot(p.stderr[:-1], p.stderr[1:])
    return [
        compare.at_most(
            "max |R̂ − R(λ*)| / band",
            float(np.max(np.abs(p.measured - predicted["main"]) / band)),
            1.0,
            reason="band = 4 Monte-Carlo standard errors + r²/n (the O(1/n) "
            f"finite-size term at n={cfg.n})",
        ),
        compare.at_most(
            "largest drop between consecutive γ (z)",
            float(drops.max()),
            4.0,
            reason="monotone within 4 standard errors of the difference",
        ),
        compare.at_most(
            "max (R̂ − r²)/SE",
            float(np.max((p.measured - cfg.r2) / p.stderr)),
            4.0,
            reason="tuned ridge never does worse than β̂ = 0 (risk r²), within 4 standard errors",
        ),
    ]


def curve_optimal_ridge(cfg: OptimalRidgeConfig, m: Measurement) -> dict:
    fine = np.linspace(0.05, max(m.main.grid["gamma"]) + 0.2, 300)
    lines = {"ridge at λ* (theory)": (fine, theory.optimal_ridge(fine, cfg.r2, cfg.sigma2)[1])}
    for lam in (1e-3, 0.1, 1.0):
        lines[f"λ = {lam:g} (theory)"] = (fine, theory.ridge_risk(fine, lam, cfg.r2, cfg.sigma2))
    return lines


def summarize_optimal_ridge(cfg: OptimalRidgeConfig, m: Measurement, predicted) -> str:
    p, pred = m.main, predicted["main"]
    k = int(np.argmin(abs(p.grid["gamma"] - 1)))
    band = 4 * p.stderr + cfg.r2 / cfg.n
    drops = (p.measured[:-1] - p.measured[1:]) / np.hypot(p.stderr[:-1], p.stderr[1:])
    return (
        f"tuned ridge, n={cfg.n}: at γ≈1 predicted {pred[k]:.3f}, measured "
        f"{p.measured[k]:.3f}; max deviation/band {np.max(np.abs(p.measured - pred) / band):.2f}"
        f"; largest drop z = {drops.max():.2f}"
    )


OPTIMAL_RIDGE = Claim(
    "double_descent.optimal-ridge",
    statement="Ridge tuned at λ* = σ²γ/r² (per-sample scaling) has no double-descent peak: its "
    "risk rises monotonically in γ = p/n and matches the Marchenko–Pastur ridge risk.",
    source="Hastie, Montanari, Rosset & Tibshirani (2022), Thm 2; Dobriban & Wager (2018)",
    configs=Scales(
        smoke=OptimalRidgeConfig(40, (0.2, 0.5, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0), 150),
        quick=OptimalRidgeConfig(
            100, (0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 2.5, 3.0), 300
        ),
        paper=OptimalRidgeConfig(400, tuple(np.round(np.linspace(0.1, 4.0, 40), 2).tolist()), 1000),
    ),
    measure=measure_optimal_ridge,
    predict=predict_optimal_ridge,
    compare=compare_optimal_ridge,
    curve=curve_optimal_ridge,
    summarize=summarize_optimal_ridge,
    decorate=lambda fig, ax, cfg, m, pred: ax.set_ylim(0, 3 * cfg.r2 + cfg.sigma2),
    x="gamma",
    xlabel="γ = p/n",
    ylabel="excess risk",
)


CLAIMS = (ASYMPTOTIC, FINITE_SAMPLE, MLP_WIDTH, OPTIMAL_RIDGE, RANDOM_FEATURES)

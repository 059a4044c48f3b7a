"""memorization.random-labels: how many random labels a model fits, and how long it takes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from kernelcap import compare
from kernelcap.cache import shared_run
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.theory import memorization as theory

# ------------------------------------------------------------------------------ random labels


@dataclass(frozen=True)
class RandomLabelsConfig:
    n_features: int
    ratios: tuple[float, ...]  # n / H
    n_trials: int
    # time to fit (Zhang et al. Fig. 1) on long-tailed data
    fit_n: int
    fit_width: int
    fractions: tuple[float, ...]
    fit_trials: int
    fit_steps: int
    dim: int = 10
    n_classes: int = 4
    lr: float = 0.005
    alpha: float = 1e-3


def _p(n_tests: int, alpha: float) -> float:
    """One-sided Šidák z bound for ``n_tests`` tests at family-wise level ``alpha``."""
    return float(stats.norm.isf(-math.expm1(math.log1p(-alpha) / n_tests)))


@shared_run
def random_labels_run(cfg: RandomLabelsConfig, rt):
    from torch import nn

    from kernelcap.empirics._memorization_capacity import fit_times, random_label_fits
    from kernelcap.empirics.memorization import TrainConfig, long_tailed_mixture

    ns = sorted({int(round(r * cfg.n_features)) for r in cfg.ratios})
    fits = random_label_fits(
        ns,
        cfg.n_features,
        dim=cfg.dim,
        n_trials=cfg.n_trials,
        seed=rt.seed,
        show_progress=rt.progress,
    )
    data = long_tailed_mixture(
        cfg.fit_n, cfg.dim, cfg.n_classes, n_clusters=cfg.fit_n // 8, seed=rt.seed
    )

    def make():
        return nn.Sequential(
            nn.Linear(cfg.dim, cfg.fit_width), nn.ReLU(), nn.Linear(cfg.fit_width, cfg.n_classes)
        )

    times = fit_times(
        make,
        data.x,
        data.y,
        cfg.fractions,
        n_trials=cfg.fit_trials,
        train=TrainConfig(steps=cfg.fit_steps, lr=cfg.lr, loss="ce", optimizer="adam"),
        n_classes=cfg.n_classes,
        seed=rt.seed,
        device=rt.device,
    )
    return fits, times


def measure_random_labels(cfg: RandomLabelsConfig, rt) -> Measurement:
    fits, times = random_labels_run(cfg, rt)
    ns, h, t = fits.n_samples, fits.n_features, cfg.n_trials
    err = fits.train_error
    over = ns > h
    s = fits.fitted.sum(1)
    p_adj = (s + 1) / (t + 2)  # Agresti–Coull: a positive error also at 0 or t fits
    ms = times.mean_steps
    series = {
        "features": Points(
            {"n_over_H": ns[over] / h, "n": ns[over]},
            err[over].mean(1),
            err[over].std(1, ddof=1) / math.sqrt(t),
            label="train MSE / E y² (real labels)",
        ),
        "signs": Points(
            {"n_over_H": ns / h, "n": ns},
            s / t,
            np.sqrt(p_adj * (1 - p_adj) / (t + 2)),
            label="fraction of ±1 labelings fitted",
        ),
        "fit-time": Points(
            {"fraction": times.fractions},
            ms.mean(1),
            ms.std(1, ddof=1) / math.sqrt(ms.shape[1]),
            label="mean steps to fit an example",
        ),
    }
    extras = {
        "max_train_error_interpolating": float(err[~over].max()) if (~over).any() else 0.0,
        "steps_to_100pct_median": dict(
            zip([f"{p:g}" for p in times.fractions], np.median(times.steps, 1).tolist())
        ),
        "fit_all_fitted": float(np.isfinite(times.steps).mean()),
        "fit_wall_s": times.wall_s,
    }
    return Measurement(series, extras=extras, run=(fits, times))


def predict_random_labels(cfg: RandomLabelsConfig, m: Measurement) -> dict:
    h = cfg.n_features
    return {
        "features": theory.random_label_train_error(h, m["features"].grid["n"]),
        "signs": theory.sign_fit_probability(m["signs"].grid["n"], h),
    }


def compare_random_labels(cfg: RandomLabelsConfig, m: Measurement, predicted) -> list:
    n_pts = len(m["features"]) + len(m["signs"])
    bound = float(theory.max_abs_z_bound(n_pts, cfg.alpha))
    why = (
        f"Šidák bound at family-wise level {cfg.alpha:g} over {n_pts} points; standard errors over "
        f"{cfg.n_trials} draws (Agresti–Coull for the fitted fraction)"
    )
    ft = m["fit-time"]
    z_up = _p(1, cfg.alpha)
    diffs = (ft.measured[1:] - ft.measured[:-1]) / np.hypot(ft.stderr[1:], ft.stderr[:-1])
    rise = (ft.measured[-1] - ft.measured[0]) / math.hypot(ft.stderr[-1], ft.stderr[0])
    return [
        compare.max_abs_z(
            m["signs"].measured,
            predicted["signs"],
            m["signs"].stderr,
            bound=bound,
            reason=why,
            name="max |z| signs vs Cover",
        ),
        compare.max_abs_z(
            m["features"].measured,
            predicted["features"],
            m["features"].stderr,
            bound=bound,
            reason=why,
            name="max |z| train error vs (1 − H/n)",
        ),
        compare.at_most(
            "max train error at n ≤ H",
            m.extras["max_train_error_interpolating"],
            1e-10,
            reason="H generic features interpolate n ≤ H real labels: the residual is rounding "
            "error (float64 least squares)",
        ),
        compare.at_least(
            "fit time rise p=max vs p=0 (z)",
            float(rise),
            z_up,
            reason=f"one-sided z at level {cfg.alpha:g}: random labels take longer to fit "
            f"(mean steps per example, {cfg.fit_trials} networks per fraction)",
        ),
        compare.at_least(
            "min step between consecutive fractions (z)",
            float(diffs.min()),
            -_p(len(diffs), cfg.alpha),
            reason="no significant decrease of the fit time as the random fraction grows "
            f"(Šidák over {len(diffs)} steps)",
        ),
        compare.at_least(
            "fraction of networks that fit",
            m.extras["fit_all_fitted"],
            1.0,
            reason="every network fits all its labels within the run, so no example's fit time "
            "is cut off by the end of training",
        ),
    ]


def decorate_random_labels(fig, axes, cfg: RandomLabelsConfig, m: Measurement, predicted) -> None:
    from kernelcap.plotting import plot_measured

    ax = axes[0]
    ax.axvline(1.0, color="0.6", ls=":")
    ax.axvline(2.0, color="0.6", ls="--")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    ft = m["fit-time"]
    plot_measured(axes[1], ft.grid["fraction"], ft.measured, ft.stderr, label="MLP, Adam")
    axes[1].set(xlabel="fraction of random labels p", ylabel="mean steps to fit an example")
    axes[1].legend(fontsize=7)


def curve_random_labels(cfg: RandomLabelsConfig, m: Measurement) -> dict:
    h = cfg.n_features
    r = np.linspace(min(cfg.ratios), max(cfg.ratios), 300)
    n = np.maximum(1, np.round(r * h)).astype(int)
    return {
        "Cover C(n,H)/2ⁿ": (n / h, theory.sign_fit_probability(n, h)),
        "(1 − H/n)₊": (r, theory.random_label_train_error(h, r * h)),
    }


def summarize_random_labels(cfg: RandomLabelsConfig, m: Measurement, predicted) -> str:
    s = m["signs"]
    half = compare.crossing(s.grid["n_over_H"], s.measured, 0.5, n_trials=cfg.n_trials)
    ft = m["fit-time"]
    times = ", ".join(f"{p:g}: {t:.0f}" for p, t in zip(ft.grid["fraction"], ft.measured))
    return (
        f"H={cfg.n_features} random tanh features fit random signs up to n/H = {half.value:.2f} "
        f"(Cover: 2); MLP mean steps to fit an example by random fraction: {times}"
    )


RANDOM_LABELS = Claim(
    "memorization.random-labels",
    statement="A two-layer net whose H readout weights are trained (tanh first layer at its "
    "random init: a linear model on H generic features) fits n random labels once H passes a "
    "threshold ∝ n: real labels iff H ≥ n (training error (1 − H/n)₊ below it), random signs with "
    "Cover's probability C(n, H)/2ⁿ (½ at n = 2H); and an MLP with every layer trained takes "
    "longer to fit the more of its labels are random.",
    source="Cover (1965); Zhang, Bengio, Hardt, Recht & Vinyals (2017), Fig. 1",
    configs=Scales(
        smoke=RandomLabelsConfig(
            12, (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0), 40, 128, 32, (0.0, 0.5, 1.0), 3, 600
        ),
        quick=RandomLabelsConfig(
            30,
            (0.5, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 4.0),
            150,
            256,
            64,
            (0.0, 0.25, 0.5, 0.75, 1.0),
            4,
            1200,
        ),
        paper=RandomLabelsConfig(
            100,
            tuple(np.round(np.linspace(0.5, 4.0, 15), 2).tolist()),
            500,
            2000,
            256,
            (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
            8,
            6000,
        ),
    ),
    measure=measure_random_labels,
    predict=predict_random_labels,
    compare=compare_random_labels,
    curve=curve_random_labels,
    decorate=decorate_random_labels,
    summarize=summarize_random_labels,
    panels=2,
    x="n_over_H",
    xlabel="n / H (examples per trained weight)",
    ylabel="fitted fraction / train error",
)

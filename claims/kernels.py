"""kernels.* claims: the empirical NTK against its infinite-width limit, the linearized network,
and lazy vs rich training (this module; the data, training and per-width fits they share are in
:mod:`._kernels_width`); the path kernel (:mod:`._kernels_path`: exact and first-order machines
of GD, the exact machine of a user-written AdamW loop).

Measurements from :mod:`kernelcap.empirics.kernels`, predictions from
:mod:`kernelcap.theory.kernels`; ``CLAIMS`` lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kernelcap import compare
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.claims._kernels_path import PATH_EXACT, PATH_EXACT_ADAMW, PATH_FIRST_ORDER
from kernelcap.claims._kernels_width import (
    bracket,
    by_width,
    fit_line,
    log_axes,
    slope_series,
    sphere_data,
    train_gd,
)
from kernelcap.empirics.kernels import empirical_ntk, kernel_drift, ntk_mlp
from kernelcap.theory.kernels import linearized_prediction, ntk_kernel

W_STD, B_STD = 2**0.5, 0.1
SOURCE_LAZY = (
    "Lee et al. (2019), 'Wide neural networks of any depth evolve as linear models under "
    "gradient descent'; Dyer & Gur-Ari (2019), 'Asymptotics of wide networks from Feynman diagrams'"
)


# ------------------------------------------------------------------------------ infinite width


@dataclass(frozen=True)
class InfiniteWidthConfig:
    widths: tuple[int, ...]
    n_seeds: int
    n: int
    d: int
    depth: int


def measure_infinite_width(cfg: InfiniteWidthConfig, rt) -> Measurement:
    dev = rt.torch_device
    x, _ = sphere_data(cfg.n, cfg.d, rt.seed, device=dev)
    theta = ntk_kernel(
        x.cpu().numpy(), depth=cfg.depth, activation="relu", w_std=W_STD, b_std=B_STD
    )
    errs = [
        [
            np.linalg.norm(empirical_ntk(net, x).cpu().numpy() - theta) / np.linalg.norm(theta)
            for net in (
                ntk_mlp(
                    cfg.d,
                    w,
                    cfg.depth,
                    w_std=W_STD,
                    b_std=B_STD,
                    seed=rt.seed * 1000 + s + 1,
                    device=dev,
                )
                for s in range(cfg.n_seeds)
            )
        ]
        for w in cfg.widths
    ]
    widths = np.asarray(cfg.widths, float)
    mean, se = by_width(widths, errs)
    error = Points({"width": cfg.widths}, mean, se, label="‖Θ̂ − Θ‖_F / ‖Θ‖_F")
    return Measurement({"error": error, "slope": slope_series(widths, mean, se)})


def predict_infinite_width(cfg, m: Measurement) -> dict:
    return {"slope": -0.5}  # Jacot et al.: fluctuations of the empirical NTK are O(n^-1/2)


def compare_infinite_width(cfg: InfiniteWidthConfig, m: Measurement, predicted) -> list:
    s = m["slope"]
    band = max(0.1, 4 * float(s.stderr[0]))
    return [
        compare.at_most(
            "|slope + 0.5|",
            abs(float(s.measured[0]) - predicted["slope"][0]),
            band,
            reason=f"4 standard errors of the fitted log-log slope from {cfg.n_seeds} seeds per "
            "width (floor 0.1)",
        )
    ]


def decorate_infinite_width(fig, ax, cfg, m: Measurement, predicted) -> None:
    e = m["error"]
    fit_line(
        ax,
        e.grid["width"],
        e.measured,
        -0.5,
        "c·n^(-1/2) through the data (theory slope)",
        color="C0",
    )
    log_axes(ax)


def summarize_infinite_width(cfg, m: Measurement, predicted) -> str:
    e, s = m["error"], m["slope"]
    return (
        f"relative NTK error {e.measured[0]:.3g} at n={cfg.widths[0]} → {e.measured[-1]:.3g} at "
        f"n={cfg.widths[-1]}; slope {s.measured[0]:.3f} ± {s.stderr[0]:.3f} (theory −0.5)"
    )


INFINITE_WIDTH = Claim(
    "kernels.infinite-width",
    statement="The empirical NTK of a ReLU MLP at initialization converges to the analytic NTK, "
    "with relative Frobenius error falling like width^(-1/2).",
    source="Jacot, Gabriel & Hongler (2018); Arora et al. (2019)",
    configs=Scales(
        smoke=InfiniteWidthConfig((64, 256, 1024), 4, 12, 6, 2),
        quick=InfiniteWidthConfig((64, 128, 256, 512, 1024, 2048), 8, 24, 8, 2),
        paper=InfiniteWidthConfig((128, 256, 512, 1024, 2048, 4096, 8192), 32, 64, 16, 3),
    ),
    measure=measure_infinite_width,
    predict=predict_infinite_width,
    compare=compare_infinite_width,
    decorate=decorate_infinite_width,
    summarize=summarize_infinite_width,
    x="width",
    xlabel="width n",
    ylabel=r"$\|\hat\Theta-\Theta\|_F/\|\Theta\|_F$",
    xscale="log",
    yscale="log",
)


# ------------------------------------------------------------------------------ linearized


@dataclass(frozen=True)
class LinearizedConfig:
    widths: tuple[int, ...]
    n_seeds: int
    n: int
    n_test: int
    d: int
    depth: int
    lr: float
    steps: int


def linearized_run(width: int, cfg: LinearizedConfig, seed: int, device="cpu") -> dict:
    """One net of ``width``: its NTK quantities at init (for the prediction) and trained outputs."""
    x, y = sphere_data(cfg.n, cfg.d, seed, device=device)
    xt, _ = sphere_data(cfg.n_test, cfg.d, seed + 7919, device=device)
    net = ntk_mlp(
        cfg.d, width, cfg.depth, w_std=W_STD, b_std=B_STD, seed=seed * 1000 + width, device=device
    )
    with torch.no_grad():
        f0, f0t = net(x).reshape(-1), net(xt).reshape(-1)
    out = {
        "ntk": empirical_ntk(net, x),
        "ntk_test": empirical_ntk(net, xt, x),
        "y": y,
        "f0": f0,
        "f0_test": f0t,
    }
    train_gd(net, x, y, cfg.lr, cfg.steps)
    with torch.no_grad():
        out["f_test"] = net(xt).reshape(-1)
    return {k: v.detach().cpu().numpy() for k, v in out.items()}


def _linear_test(cfg: LinearizedConfig, run: dict) -> np.ndarray:
    return linearized_prediction(
        run["ntk"], run["ntk_test"], run["y"], run["f0"], run["f0_test"], cfg.lr, cfg.steps
    )["test"]


def measure_linearized(cfg: LinearizedConfig, rt) -> Measurement:
    runs = [
        [linearized_run(w, cfg, rt.seed * 100 + s, rt.torch_device) for s in range(cfg.n_seeds)]
        for w in cfg.widths
    ]
    gaps = [
        [
            np.linalg.norm(r["f_test"] - (lin := _linear_test(cfg, r)))
            / np.linalg.norm(lin - r["f0_test"])
            for r in row
        ]
        for row in runs
    ]
    widths = np.asarray(cfg.widths, float)
    mean, se = by_width(widths, gaps)
    widest = runs[-1][0]
    return Measurement(
        {
            "gap": Points({"width": cfg.widths}, mean, se, label="‖f_net − f_lin‖ / ‖f_lin − f_0‖"),
            "slope": slope_series(widths, mean, se),
            "test outputs": Points(
                {"test_index": np.arange(cfg.n_test)},
                widest["f_test"],
                label=f"trained net, n={cfg.widths[-1]}",
            ),
        },
        run=widest,
    )


def predict_linearized(cfg: LinearizedConfig, m: Measurement) -> dict:
    """The linearized network's test outputs (theory, from the widest net's NTK at init)."""
    return {"test outputs": _linear_test(cfg, m.run)}


def compare_linearized(cfg: LinearizedConfig, m: Measurement, predicted) -> list:
    return bracket(m["slope"], cfg.n_seeds)


def decorate_linearized(fig, axes, cfg, m: Measurement, predicted) -> None:
    from kernelcap.plotting import plot_measured, plot_theory

    g = m["gap"]
    fit_line(axes[0], g.grid["width"], g.measured, -1.0, "c·n^(-1) fit (asymptote)", color="C0")
    fit_line(
        axes[0], g.grid["width"], g.measured, -0.5, "c·n^(-1/2) fit (bound)", color="C0", alpha=0.5
    )
    log_axes(axes[0])
    lin, net = predicted["test outputs"], m["test outputs"].measured
    lim = [float(min(lin.min(), net.min())), float(max(lin.max(), net.max()))]
    plot_theory(axes[1], lim, lim, label="net = linearized")
    plot_measured(axes[1], lin, net, label=f"test points, n={cfg.widths[-1]}")
    axes[1].set(xlabel="linearized network f_lin(x) (theory)", ylabel="trained net f(x)")
    axes[1].legend(fontsize=8)


def summarize_linearized(cfg, m: Measurement, predicted) -> str:
    g, s = m["gap"], m["slope"]
    return (
        f"test gap net vs linearized {g.measured[0]:.3g} at n={cfg.widths[0]} → "
        f"{g.measured[-1]:.3g} at n={cfg.widths[-1]}; slope {s.measured[0]:.3f} ± "
        f"{s.stderr[0]:.3f} (theory between −1 and −1/2)"
    )


LINEARIZED = Claim(
    "kernels.linearized",
    statement="A wide MLP trained by full-batch GD on MSE tracks its linearization's prediction on "
    "test points; the relative gap falls with width n with a log-log slope between -1 (the O(1/n) "
    "asymptote) and -1/2 (the O(n^-1/2) bound).",
    source=SOURCE_LAZY,
    configs=Scales(
        smoke=LinearizedConfig((128, 512, 2048), 2, 16, 8, 4, 1, 0.5, 60),
        quick=LinearizedConfig((128, 256, 512, 1024, 2048, 4096), 4, 32, 16, 6, 1, 0.5, 200),
        paper=LinearizedConfig((256, 512, 1024, 2048, 4096, 8192), 16, 256, 128, 16, 3, 0.5, 2000),
    ),
    measure=measure_linearized,
    predict=predict_linearized,
    compare=compare_linearized,
    decorate=decorate_linearized,
    summarize=summarize_linearized,
    panels=2,
    x="width",
    xlabel="width n",
    ylabel=r"$\|f_{net}-f_{lin}\|/\|f_{lin}-f_0\|$ (test)",
    xscale="log",
    yscale="log",
)


# ------------------------------------------------------------------------------ lazy vs rich


@dataclass(frozen=True)
class LazyRichConfig:
    widths: tuple[int, ...]
    n_seeds: int
    n: int
    d: int
    depth: int
    lr: float
    mf_lr: float
    steps: int


def kernel_change(width: int, cfg: LazyRichConfig, seed: int, mean_field: bool, device="cpu"):
    """Relative change of the empirical NTK over training, NTK or mean-field readout scaling."""
    x, y = sphere_data(cfg.n, cfg.d, seed, device=device)
    scale = width**-0.5 if mean_field else 1.0
    nets = [
        ntk_mlp(
            cfg.d,
            width,
            cfg.depth,
            w_std=W_STD,
            b_std=B_STD,
            readout_scale=scale,
            seed=seed * 1000 + width,
            device=device,
        )
        for _ in range(2)
    ]
    # mean-field needs η ∝ n to move the output at O(1) speed; its rich dynamics a smaller constant
    train_gd(nets[1], x, y, cfg.mf_lr * width if mean_field else cfg.lr, cfg.steps)
    return kernel_drift(nets[0], nets[1], x, y).relative_change


def measure_lazy_rich(cfg: LazyRichConfig, rt) -> Measurement:
    dev = rt.torch_device
    drift = [
        [kernel_change(w, cfg, rt.seed * 100 + s, False, dev) for s in range(cfg.n_seeds)]
        for w in cfg.widths
    ]
    mf = [
        kernel_change(cfg.widths[-1], cfg, rt.seed * 100 + s, True, dev) for s in range(cfg.n_seeds)
    ]
    widths = np.asarray(cfg.widths, float)
    mean, se = by_width(widths, drift)
    label = "‖Θ_T − Θ_0‖_F / ‖Θ_0‖_F"
    return Measurement(
        {
            "ntk": Points({"width": cfg.widths}, mean, se, label=f"NTK scaling: {label}"),
            "slope": slope_series(widths, mean, se),
            "mean-field": Points(
                {"width": cfg.widths[-1]},
                np.mean(mf),
                np.std(mf, ddof=1) / np.sqrt(len(mf)),
                label="mean-field scaling (rich)",
            ),
        }
    )


def predict_lazy_rich(cfg, m: Measurement) -> dict:
    return {}  # bracket and bound (compare_lazy_rich); no pointwise theory value


def compare_lazy_rich(cfg: LazyRichConfig, m: Measurement, predicted) -> list:
    ratio = float(m["mean-field"].measured[0] / m["ntk"].measured[-1])
    return [
        *bracket(m["slope"], cfg.n_seeds),
        compare.at_least(
            "mean-field / NTK drift at widest",
            ratio,
            0.125 * cfg.widths[-1] ** 0.5,
            reason="mean-field drift is O(1) and NTK drift O(n^-1/2) or smaller, so the ratio "
            "grows at least like √n; √n/8 allows an O(1) constant",
        ),
    ]


def decorate_lazy_rich(fig, ax, cfg, m: Measurement, predicted) -> None:
    g = m["ntk"]
    fit_line(ax, g.grid["width"], g.measured, -1.0, "c·n^(-1) fit (asymptote)", color="C0")
    fit_line(ax, g.grid["width"], g.measured, -0.5, "c·n^(-1/2) fit (bound)", color="C0", alpha=0.5)
    log_axes(ax)


def summarize_lazy_rich(cfg, m: Measurement, predicted) -> str:
    g, s, mf = m["ntk"], m["slope"], float(m["mean-field"].measured[0])
    return (
        f"NTK-param kernel drift {g.measured[0]:.3g} at n={cfg.widths[0]} → {g.measured[-1]:.3g} "
        f"at n={cfg.widths[-1]} (slope {s.measured[0]:.3f} ± {s.stderr[0]:.3f}, theory in "
        f"[−1, −1/2]); mean-field drift {mf:.3g} ({mf / g.measured[-1]:.1f}×)"
    )


LAZY_RICH = Claim(
    "kernels.lazy-rich",
    statement="After training, the relative change of the empirical NTK falls with width n in NTK "
    "parameterization (lazy) with a log-log slope between -1 and -1/2, and is much larger under "
    "mean-field scaling (rich).",
    source="Lee et al. (2019); Dyer & Gur-Ari (2019); Chizat, Oyallon & Bach (2019); Fort et al. "
    "(2020)",
    configs=Scales(
        smoke=LazyRichConfig((128, 512, 2048), 2, 16, 4, 1, 0.5, 0.05, 50),
        quick=LazyRichConfig((128, 256, 512, 1024, 2048, 4096), 4, 32, 6, 1, 0.5, 0.05, 200),
        paper=LazyRichConfig((256, 512, 1024, 2048, 4096, 8192), 16, 256, 16, 1, 0.5, 0.05, 2000),
    ),
    measure=measure_lazy_rich,
    predict=predict_lazy_rich,
    compare=compare_lazy_rich,
    decorate=decorate_lazy_rich,
    summarize=summarize_lazy_rich,
    x="width",
    xlabel="width n",
    ylabel=r"$\|\Theta_T-\Theta_0\|_F/\|\Theta_0\|_F$",
    xscale="log",
    yscale="log",
)

CLAIMS = (INFINITE_WIDTH, LAZY_RICH, LINEARIZED, PATH_EXACT, PATH_EXACT_ADAMW, PATH_FIRST_ORDER)

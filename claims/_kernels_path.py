"""kernels.path-exact, .path-first-order and .path-exact-adamw: a trained net rebuilt as a kernel
machine on its recorded path kernel.

The measurement is the trained network's output at test inputs; the prediction is Domingos'
representation f_0(x) + Σ_i c_i(x) + c_w(x) evaluated on the path kernel recorded along the run
(:func:`kernelcap.theory.kernels.kernel_machine_prediction`), with the segment-averaged test
gradient of Bell et al. (2023) that makes it exact for discrete steps. The recorder is
:class:`kernelcap.empirics.path_kernel.PathKernelRecorder` (public API only); the float rounding
term c_r is not part of the machine and is reported, not predicted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from kernelcap import compare
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.claims._kernels_width import sphere_data
from kernelcap.empirics.kernels import ntk_mlp
from kernelcap.empirics.path_kernel import KernelMachine, PathKernelRecorder, train_with_path_kernel
from kernelcap.runtime import single_cpu_thread
from kernelcap.theory.kernels import kernel_machine_prediction

SOURCE_DOMINGOS = "Domingos (2020), arXiv 2012.00152"
SOURCE_EXACT = f"{SOURCE_DOMINGOS}; Bell et al. (2023), arXiv 2308.00824"
BOUND = 1e-6  # issue 13's bound on the exact machine's relative error in float64


def _machine(km: KernelMachine) -> np.ndarray:
    """The kernel machine f_0 + Σ_i c_i + c_w at the test inputs (theory on the recorded kernel)."""
    return kernel_machine_prediction(km.f0, km.contributions, km.weight_decay)


def _relative(km: KernelMachine, approx) -> float:
    """‖approx − f_T‖ / ‖f_T − f_0‖ over every test input and output."""
    return float(np.linalg.norm(approx - km.f_trained) / np.linalg.norm(km.f_trained - km.f0))


def _outputs(km: KernelMachine, label: str) -> Points:
    """The trained net's (scalar) test outputs, one row per test input."""
    return Points({"test_index": np.arange(km.f0.shape[0])}, km.f_trained.reshape(-1), label=label)


def _parity_panel(ax, machine, net, label: str) -> None:
    """Kernel machine (theory, x) against the net (measured, y) with the identity line."""
    from kernelcap.plotting import plot_measured, plot_theory

    lim = [float(min(machine.min(), net.min())), float(max(machine.max(), net.max()))]
    plot_theory(ax, lim, lim, label="net = kernel machine")
    plot_measured(ax, machine, net, label=label)
    ax.set(
        xlabel=r"kernel machine $f_0(x)+\sum_i c_i(x)+c_w(x)$ (theory)",
        ylabel=r"trained net $f_T(x)$",
    )
    ax.legend(fontsize=8)


# ------------------------------------------------------------------------------ exact (GD)


@dataclass(frozen=True)
class PathExactConfig:
    n: int
    n_test: int
    d: int
    width: int
    lr: float
    steps: int
    quad_nodes: int


def _path_setup(n: int, n_test: int, d: int, width: int, seed: int, device):
    """A one-hidden-layer erf MLP (NTK parameterization) and sphere data (kernels' convention)."""
    x, y = sphere_data(n, d, seed, device=device)
    xt, _ = sphere_data(n_test, d, seed + 7919, device=device)
    model = ntk_mlp(d, width, 1, activation="erf", b_std=0.1, seed=seed + 1, device=device)
    return model, x, y, xt


def measure_path_exact(cfg: PathExactConfig, rt) -> Measurement:
    model, x, y, xt = _path_setup(cfg.n, cfg.n_test, cfg.d, cfg.width, rt.seed, rt.torch_device)
    start = time.perf_counter()
    rec = train_with_path_kernel(
        model, x, y, xt, lr=cfg.lr, steps=cfg.steps, quad_nodes=cfg.quad_nodes
    )
    train_s = time.perf_counter() - start
    km, first = rec.kernel_machine("exact"), rec.kernel_machine("first_order")
    return Measurement(
        _outputs(km, "trained net f_T(x)"),
        extras=dict(
            relative_error=km.relative_error,
            max_abs_error=km.max_abs_error,
            first_order_relative_error=first.relative_error,
            rounding_relative=float(
                np.linalg.norm(km.rounding) / np.linalg.norm(km.f_trained - km.f0)
            ),
        ),
        timings=dict(train_s=train_s),
        run=km,
    )


def predict_path_exact(cfg, m: Measurement) -> dict:
    return {"main": _machine(m.run).reshape(-1)}


def compare_path_exact(cfg: PathExactConfig, m: Measurement, predicted) -> list:
    return [
        compare.at_most(
            "relative reconstruction error",
            _relative(m.run, predicted["main"].reshape(m.run.f_trained.shape)),
            BOUND,
            reason=f"a smooth (erf) net: {cfg.quad_nodes}-node Gauss–Legendre segment averages are "
            "exact to ~‖Δθ‖^(2·nodes+1) per step and float64 rounds at ~1e-16, so the measured "
            "~5e-16 is round-off; 1e-6 is issue 13's stated bound",
        )
    ]


def decorate_path_exact(fig, ax, cfg, m: Measurement, predicted) -> None:
    _parity_panel(ax, predicted["main"], m.main.measured, f"{cfg.n_test} test points")


def summarize_path_exact(cfg, m: Measurement, predicted) -> str:
    e = m.extras
    err = _relative(m.run, predicted["main"].reshape(m.run.f_trained.shape))
    return (
        f"exact path-kernel machine vs net on {cfg.n_test} test points after {cfg.steps} GD steps: "
        f"relative error {err:.2e} (max abs {e['max_abs_error']:.2e}); Domingos' first-order form "
        f"{e['first_order_relative_error']:.2e}"
    )


PATH_EXACT = Claim(
    "kernels.path-exact",
    statement="The exact discrete path-kernel machine f_0(x) + Σ_s Σ_i a_{s,i} K_s(x, x_i) "
    "reproduces a trained net's test outputs to ≤ 1e-6 relative error in float64.",
    source=SOURCE_EXACT,
    configs=Scales(
        smoke=PathExactConfig(16, 8, 4, 64, 0.5, 20, 4),
        quick=PathExactConfig(32, 16, 6, 128, 0.5, 100, 4),
        paper=PathExactConfig(256, 64, 16, 512, 0.5, 1000, 6),
    ),
    measure=measure_path_exact,
    predict=predict_path_exact,
    compare=compare_path_exact,
    decorate=decorate_path_exact,
    summarize=summarize_path_exact,
)


# ------------------------------------------------------------------------------ first order


@dataclass(frozen=True)
class PathFirstOrderConfig:
    n: int
    n_test: int
    d: int
    width: int
    lrs: tuple[float, ...]
    time: float  # η·T, the training time held fixed across learning rates


def measure_path_first_order(cfg: PathFirstOrderConfig, rt) -> Measurement:
    errs = []
    for lr in cfg.lrs:
        model, x, y, xt = _path_setup(cfg.n, cfg.n_test, cfg.d, cfg.width, rt.seed, rt.torch_device)
        rec = train_with_path_kernel(
            model, x, y, xt, lr=float(lr), steps=int(round(cfg.time / lr)), quad_nodes=0
        )
        errs.append(rec.kernel_machine("first_order").relative_error)
    est = compare.loglog_slope(cfg.lrs, errs)
    span = f"{cfg.lrs[0]:g}–{cfg.lrs[-1]:g}"
    return Measurement(
        {
            "error": Points({"lr": cfg.lrs}, errs, label="relative error, first-order machine"),
            "slope": Points({"lrs": span}, est.value, est.stderr, label="log-log slope"),
        }
    )


def predict_path_first_order(cfg, m: Measurement) -> dict:
    # Domingos' form takes ∇f(x; θ_s) for the segment average φ_s: O(η²) per step, T = time/η steps
    return {"slope": 1.0}


def compare_path_first_order(cfg: PathFirstOrderConfig, m: Measurement, predicted) -> list:
    slope = float(m["slope"].measured[0])
    return [
        compare.at_most(
            "|slope − 1|",
            abs(slope - predicted["slope"][0]),
            0.15,
            reason="the O(η²) next-order term makes the local slope 1 + O(η) (smoke, worst of "
            "seeds 0-9: 1.22, 1.09, 1.04, 1.02 between η = 0.8, 0.4, …, 0.05), so the grid stays "
            "off η = 0.8 at smoke (a fit over 0.8–0.2 reached 1.156) and runs down to 0.05 at "
            "quick: fitted slopes within 0.07 of 1 at every seed, about half the bound; "
            "deterministic run",
        )
    ]


def decorate_path_first_order(fig, ax, cfg, m: Measurement, predicted) -> None:
    from matplotlib.ticker import NullFormatter

    e = m["error"]
    x, y = np.asarray(e.grid["lr"], float), e.measured
    c = np.exp(np.mean(np.log(y) - np.log(x)))
    ax.plot(x, c * x, "--", color="C0", label="c·η fit through the data (theory slope 1)")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8)


def summarize_path_first_order(cfg, m: Measurement, predicted) -> str:
    e, s = m["error"].measured, m["slope"]
    return (
        f"first-order error {e[0]:.3g} at η={cfg.lrs[0]} → {e[-1]:.3g} at η={cfg.lrs[-1]}; "
        f"slope {s.measured[0]:.3f} ± {s.stderr[0]:.3f} (theory 1)"
    )


PATH_FIRST_ORDER = Claim(
    "kernels.path-first-order",
    statement="Domingos' first-order path-kernel machine (test gradient at the start of each step) "
    "misses the trained net by an error proportional to the learning rate at fixed training time.",
    source=SOURCE_DOMINGOS,
    configs=Scales(
        smoke=PathFirstOrderConfig(12, 6, 4, 32, (0.4, 0.2, 0.1), 6.4),
        quick=PathFirstOrderConfig(32, 16, 6, 128, (0.8, 0.4, 0.2, 0.1, 0.05), 12.8),
        paper=PathFirstOrderConfig(256, 64, 16, 512, (0.8, 0.4, 0.2, 0.1, 0.05, 0.025), 51.2),
    ),
    measure=measure_path_first_order,
    predict=predict_path_first_order,
    compare=compare_path_first_order,
    decorate=decorate_path_first_order,
    summarize=summarize_path_first_order,
    x="lr",
    xlabel=r"learning rate $\eta$ (fixed time $\eta T$)",
    ylabel="relative error of first-order machine",
    xscale="log",
    yscale="log",
)


# ------------------------------------------------------------------------------ AdamW, user loop


@dataclass(frozen=True)
class PathAdamWConfig:
    n: int
    n_test: int
    d: int
    width: int
    lr: float
    weight_decay: float
    steps: int
    batch_size: int
    quad_nodes: int


def smooth_mlp(d: int, width: int, seed: int, device) -> nn.Module:
    """Linear–tanh–Linear–GELU–Linear in float64 with torch's default initialisation, drawn from
    ``seed`` without touching the global generator: smooth, so the segment quadrature is exact."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Linear(d, width), nn.Tanh(), nn.Linear(width, width), nn.GELU(), nn.Linear(width, 1)
        )
    return model.to(device=device, dtype=torch.float64)


def per_example_loss(out, y):
    """½(f(x_i) − y_i)² per example; the loop averages it over the batch."""
    return 0.5 * (out.reshape(-1) - y).square()


def measure_path_adamw(cfg: PathAdamWConfig, rt) -> Measurement:
    dev = rt.torch_device
    x, y = sphere_data(cfg.n, cfg.d, rt.seed, device=dev)
    x_test, _ = sphere_data(cfg.n_test, cfg.d, rt.seed + 7919, device=dev)
    model = smooth_mlp(cfg.d, cfg.width, rt.seed * 1000 + 3, dev)
    gen = rt.generator(11)
    start = time.perf_counter()
    # --- the user's loop: only rec.step differs from a plain one
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.steps)
    rec = PathKernelRecorder(
        model, optimizer, x_test, loss_fn=per_example_loss, n_train=cfg.n, quad_nodes=cfg.quad_nodes
    )
    with single_cpu_thread(dev):
        for _ in range(cfg.steps):
            idx = torch.randperm(cfg.n, generator=gen, device=gen.device)[: cfg.batch_size]
            optimizer.zero_grad()
            per_example_loss(model(x[idx]), y[idx]).mean().backward()
            rec.step(x[idx], y[idx], idx)
            schedule.step()
    train_s = time.perf_counter() - start
    km, first = rec.kernel_machine(), rec.kernel_machine("first_order")
    moved = float(np.linalg.norm(km.f_trained - km.f0))
    return Measurement(
        _outputs(km, "trained net f_T(x)"),
        extras=dict(
            relative_error=km.relative_error,
            max_abs_error=km.max_abs_error,
            first_order_relative_error=first.relative_error,
            rounding_relative=float(np.linalg.norm(km.rounding)) / moved,
            decay_relative=float(np.linalg.norm(km.weight_decay)) / moved,
            grad_mismatch=km.grad_mismatch,
            update_mismatch=km.update_mismatch,
            final_batch_loss=float(km.losses[-1]),
        ),
        timings=dict(train_s=train_s),
        run=dict(exact=km, first_order=first),
    )


def predict_path_adamw(cfg, m: Measurement) -> dict:
    return {"main": _machine(m.run["exact"]).reshape(-1)}


def _adamw_errors(m: Measurement, predicted) -> dict[str, float]:
    km, first = m.run["exact"], m.run["first_order"]
    shape = km.f_trained.shape
    return {
        "exact": _relative(km, predicted["main"].reshape(shape)),
        "no decay": _relative(km, kernel_machine_prediction(km.f0, km.contributions)),
        "first order": _relative(first, _machine(first)),
    }


def compare_path_adamw(cfg: PathAdamWConfig, m: Measurement, predicted) -> list:
    err = _adamw_errors(m, predicted)
    return [
        compare.at_most(
            "relative reconstruction error",
            err["exact"],
            BOUND,
            reason=f"a smooth (tanh/GELU) net: {cfg.quad_nodes}-node Gauss–Legendre segment "
            "averages are exact to ~‖Δθ‖^(2·nodes+1) per step and AdamW's update is rebuilt to "
            "float64 rounding (~1e-16); 1e-6 is issue 13's stated bound",
        ),
        compare.at_least(
            "relative error without the decay term c_w",
            err["no decay"],
            BOUND,
            reason="AdamW's decoupled decay −ηλθ_s is a term of its own: dropping it must miss by "
            "more than the headline's bound, or the claim would not test it",
        ),
        compare.at_least(
            "relative error of Domingos' first-order form",
            err["first order"],
            BOUND,
            reason="the test gradient at the start of each step is off by O(η) at this learning "
            "rate: the segment average must be needed to meet the headline's bound",
        ),
    ]


def decorate_path_adamw(fig, axes, cfg, m: Measurement, predicted) -> None:
    km, err = m.run["exact"], _adamw_errors(m, predicted)
    _parity_panel(axes[0], predicted["main"], m.main.measured, f"{cfg.n_test} test points")
    moved = np.linalg.norm(km.f_trained - km.f0)
    sizes = {
        r"$\|\sum_i c_i\|$": np.linalg.norm(km.contributions.sum(1)) / moved,
        r"$\|c_w\|$ (decay)": np.linalg.norm(km.weight_decay) / moved,
        r"$\|c_r\|$ (rounding)": np.linalg.norm(km.rounding) / moved,
        "error, exact": err["exact"],
        "error, no $c_w$": err["no decay"],
        "error, first order": err["first order"],
    }
    axes[1].bar(
        range(len(sizes)), list(sizes.values()), color=["C0", "C2", "0.5", "C3", "C1", "C1"]
    )
    axes[1].axhline(BOUND, color="k", lw=0.8, ls="--", label="bound 1e-6")
    axes[1].set_xticks(range(len(sizes)), list(sizes), rotation=30, ha="right", fontsize=7)
    axes[1].set(yscale="log", ylabel=r"relative to $\|f_T - f_0\|$")
    axes[1].legend(fontsize=8)


def summarize_path_adamw(cfg, m: Measurement, predicted) -> str:
    err, e = _adamw_errors(m, predicted), m.extras
    return (
        f"AdamW (λ={cfg.weight_decay}, cosine lr, batches of {cfg.batch_size}, {cfg.steps} steps) "
        f"rebuilt at {cfg.n_test} test points: relative error {err['exact']:.2e}; without c_w "
        f"{err['no decay']:.2e}, first order {err['first order']:.2e}; ‖c_r‖ "
        f"{e['rounding_relative']:.1e}, update mismatch {e['update_mismatch']:.1e}, gradient "
        f"mismatch {e['grad_mismatch']:.1e}"
    )


PATH_EXACT_ADAMW = Claim(
    "kernels.path-exact-adamw",
    statement="A smooth net trained by a user-written AdamW loop with weight decay (minibatches, a "
    "cosine schedule) is reproduced at test inputs by the exact path-kernel machine "
    "f_0 + Σ_i c_i + c_w to ≤ 1e-6 relative error in float64, while leaving out the decay term or "
    "using Domingos' first-order test gradients misses by more.",
    source=f"{SOURCE_EXACT}; Eichin et al. (2025), 'ExPLAIND', arXiv 2505.20076; Loshchilov & "
    "Hutter (2019), 'Decoupled weight decay regularization'",
    configs=Scales(
        smoke=PathAdamWConfig(16, 8, 4, 32, 1e-2, 0.1, 40, 8, 4),
        quick=PathAdamWConfig(64, 32, 8, 128, 1e-2, 0.1, 400, 16, 4),
        paper=PathAdamWConfig(512, 128, 16, 512, 1e-3, 0.1, 5000, 64, 4),
    ),
    measure=measure_path_adamw,
    predict=predict_path_adamw,
    compare=compare_path_adamw,
    decorate=decorate_path_adamw,
    summarize=summarize_path_adamw,
    panels=2,
)

CLAIMS = (PATH_EXACT, PATH_EXACT_ADAMW, PATH_FIRST_ORDER)

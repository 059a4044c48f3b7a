"""memorization.* claims: which examples a network memorizes, predicted from its kernel, flagged by
three estimators, fitted last, and what capacity and spectra allow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernelcap import compare
from kernelcap.cache import shared_run
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.claims._memorization_benign import BENIGN
from kernelcap.claims._memorization_noisy import CLEAN_FIRST, MISLABELED
from kernelcap.claims._memorization_random_labels import RANDOM_LABELS
from kernelcap.empirics.kernels import ntk_mlp
from kernelcap.empirics.memorization import TrainConfig, long_tailed_mixture, memorization_scores
from kernelcap.theory import kernels as tk
from kernelcap.theory import memorization as theory

# ------------------------------------------------------------------------------ kernel prediction


@dataclass(frozen=True)
class KernelConfig:
    n: int
    dim: int
    width: int
    n_models: int
    steps: int
    subset_fraction: float = 0.5
    lr_scale: float = 1.0
    b_std: float = 0.1
    label_noise: float = 0.1
    zipf: float = 1.2
    cluster_std: float = 0.5
    alpha: float = 1e-3


@dataclass(frozen=True)
class KernelRun:
    x: np.ndarray
    y: np.ndarray  # ±1 targets
    flipped: np.ndarray
    cluster_size: np.ndarray
    lr: float
    scores: object  # MemorizationScores


def _ntk(cfg: KernelConfig, x: np.ndarray) -> np.ndarray:
    return tk.ntk_kernel(x, depth=1, activation="relu", w_std=1.0, b_std=cfg.b_std)


@shared_run
def kernel_run(cfg: KernelConfig, rt) -> KernelRun:
    data = long_tailed_mixture(
        cfg.n,
        cfg.dim,
        2,
        zipf=cfg.zipf,
        cluster_std=cfg.cluster_std,
        label_noise=cfg.label_noise,
        seed=rt.seed,
    )
    x = data.x.double().numpy()
    m = int(round(cfg.subset_fraction * cfg.n))
    # η = c·m/λ_max(Θ): stable (η s/m < 2) on every subset kernel, since λ_max(Θ_SS) ≤ λ_max(Θ).
    lr = cfg.lr_scale * m / float(np.linalg.eigvalsh(_ntk(cfg, x))[-1])
    import torch

    def factory(seed: int):
        return ntk_mlp(
            cfg.dim, cfg.width, 1, 1, b_std=cfg.b_std, seed=seed, dtype=torch.float32, device="cpu"
        )

    scores = memorization_scores(
        factory,
        data.x,
        data.y,
        n_models=cfg.n_models,
        subset_fraction=cfg.subset_fraction,
        train=TrainConfig(steps=cfg.steps, lr=lr, loss="mse", optimizer="sgd"),
        subtract_init=True,
        seed=rt.seed,
        device=rt.device,
        progress=rt.progress,
    )
    y = data.signed_targets().numpy()
    return KernelRun(x, y, data.flipped.numpy(), data.cluster_size.numpy(), lr, scores)


KINDS = ("loss", "accuracy")
LABELS = {
    "loss": "mem (loss): E[(f−y)² | out] − E[(f−y)² | in]",
    "accuracy": "mem (accuracy): P(correct | in) − P(correct | out)",
}


def _kernel_prediction(cfg: KernelConfig, run: KernelRun, kind: str):
    return theory.kernel_memorization_scores(
        _ntk(cfg, run.x),
        run.y,
        run.scores.masks,
        kind=kind,
        lr=run.lr,
        steps=cfg.steps,
    )


def measure_kernel(cfg: KernelConfig, rt) -> Measurement:
    run = kernel_run(cfg, rt)
    order = np.argsort(_kernel_prediction(cfg, run, "loss").mem, kind="stable")
    series = {}
    for kind in KINDS:
        est = run.scores.estimate(kind)
        grid = {
            "example": order,
            "cluster_size": run.cluster_size[order],
            "flipped": run.flipped[order],
        }
        if kind == "loss":  # the standard figure draws this series; decorate draws the other
            grid["rank"] = np.arange(cfg.n)
        series[kind] = Points(grid, est.mem[order], est.stderr[order], label=LABELS[kind])
    fit = float(run.scores.correct[run.scores.masks].mean())
    return Measurement(
        series,
        extras={"lr": run.lr, "train_accuracy": fit, "train_wall_s": run.scores.wall_s},
        run=run,
    )


def predict_kernel(cfg: KernelConfig, m: Measurement) -> dict:
    out = {}
    for kind in KINDS:
        pred = _kernel_prediction(cfg, m.run, kind).mem
        out[kind] = pred[m[kind].grid["example"]]
    return out


def _z_bound(cfg: KernelConfig) -> float:
    return float(theory.max_abs_z_bound(len(KINDS) * cfg.n, cfg.alpha))


def _null_stderr(cfg: KernelConfig, m: Measurement, kind: str) -> np.ndarray:
    """Per-example standard error of the K-model estimator if the networks were the kernel
    predictors (same masks): the estimator's formula applied to the kernel's own values (binomial,
    Agresti–Caffo, for accuracy). The error under the null being tested; unlike the networks'
    plug-in error it does not collapse when their in- and out-group outcomes happen to be equal."""
    return _kernel_prediction(cfg, m.run, kind).stderr[m[kind].grid["example"]]


def compare_kernel(cfg: KernelConfig, m: Measurement, predicted) -> list:
    bound = _z_bound(cfg)
    why = (
        f"Šidák bound: max |z| over {len(KINDS)}×{cfg.n} examples stays below it with probability "
        f"1 − {cfg.alpha:g} when the networks' scores equal the kernel's; z uses the standard "
        f"error the {cfg.n_models}-model estimator has under that null (the kernel's values on "
        "the same masks; sharing the masks only shrinks the difference's error)"
    )
    checks = [
        compare.max_abs_z(
            m[k].measured,
            predicted[k],
            _null_stderr(cfg, m, k),
            bound=bound,
            reason=why,
            name=f"max |z| {k}",
        )
        for k in KINDS
    ]
    p = m["loss"]
    w = 1 / p.stderr**2
    chi2 = float(np.sum(w * (p.measured - np.sum(w * p.measured) / np.sum(w)) ** 2))
    from scipy import stats

    checks.append(
        compare.at_least(
            "resolution χ² (loss scores vs a constant)",
            chi2,
            float(stats.chi2.isf(cfg.alpha, cfg.n - 1)),
            reason=f"the measured scores must differ between examples beyond their errors "
            f"(χ²_{cfg.n - 1} quantile at 1 − {cfg.alpha:g}), or agreeing with the kernel "
            "would say nothing",
        )
    )
    return checks


def summarize_kernel(cfg: KernelConfig, m: Measurement, predicted) -> str:
    parts = []
    for k in KINDS:
        z = compare.z_values(m[k].measured, predicted[k], _null_stderr(cfg, m, k))
        r = float(np.corrcoef(m[k].measured, predicted[k])[0, 1])
        parts.append(f"{k}: max |z| {z.max():.2f}, Pearson r {r:.3f}")
    return (
        f"{cfg.n_models} width-{cfg.width} nets, {cfg.steps} GD steps, n={cfg.n}: "
        + "; ".join(parts)
        + f" (bound {_z_bound(cfg):.2f})"
    )


def decorate_kernel(fig, axes, cfg: KernelConfig, m: Measurement, predicted) -> None:
    from kernelcap.plotting import plot_measured, plot_theory

    k = "accuracy"
    order = np.argsort(predicted[k], kind="stable")
    rank = np.arange(cfg.n)
    plot_theory(axes[1], rank, predicted[k][order], label="kernel (theory)")
    plot_measured(axes[1], rank, m[k].measured[order], m[k].stderr[order], label="networks")
    axes[1].set(xlabel="example (sorted by predicted accuracy score)", ylabel=LABELS[k])
    axes[1].legend(fontsize=7)
    axes[0].set_ylabel(LABELS["loss"])
    flipped = m["loss"].grid["flipped"].astype(bool)
    axes[0].plot(
        m["loss"].grid["rank"][flipped],
        m["loss"].measured[flipped],
        "kx",
        ms=7,
        label="flipped label",
    )


KERNEL = Claim(
    "memorization.kernel",
    statement="In the lazy regime (wide NTK-parameterized ReLU net, init output removed, MSE, "
    "small-step gradient descent), the Feldman–Zhang memorization scores measured by retraining on "
    "random halves equal those of kernel regression on the infinite-width NTK under the same "
    "gradient-descent filter and the same subsets, example by example, within the estimator's "
    "standard errors.",
    source="Feldman & Zhang (2020); Jacot, Gabriel & Hongler (2018); Lee et al. (2019)",
    configs=Scales(
        smoke=KernelConfig(n=32, dim=8, width=256, n_models=32, steps=100),
        quick=KernelConfig(n=64, dim=8, width=1024, n_models=96, steps=100),
        paper=KernelConfig(n=256, dim=16, width=8192, n_models=512, steps=200),
    ),
    measure=measure_kernel,
    predict=predict_kernel,
    compare=compare_kernel,
    summarize=summarize_kernel,
    decorate=decorate_kernel,
    panels=2,
    x="rank",
    xlabel="example (sorted by predicted loss score)",
    ylabel="memorization score",
)

CLAIMS = (KERNEL, MISLABELED, CLEAN_FIRST, RANDOM_LABELS, BENIGN)

"""sparsity.* claims: exact zeros of the L1 prox, the basis-pursuit phase transition, the min-norm
interpolant's failure on sparse problems, and weight decay on factored weights = the lasso.

sparsity.prox and sparsity.factored-l2 (trained models) are defined here; the two sparse-recovery
claims in :mod:`kernelcap.claims._sparsity_recovery`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from kernelcap import compare
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.claims._sparsity_recovery import (
    PHASE_TRANSITION,
    RIDGE_FAILS,
    PhaseTransitionConfig,
    RidgeFailsConfig,
)
from kernelcap.empirics import sparsity as es
from kernelcap.theory import sparsity as theory

__all__ = [
    "CLAIMS",
    "FACTORED_L2",
    "PHASE_TRANSITION",
    "PROX",
    "RIDGE_FAILS",
    "FactoredL2Config",
    "PhaseTransitionConfig",
    "ProxConfig",
    "RidgeFailsConfig",
]

# ------------------------------------------------------------------------------ prox


@dataclass(frozen=True)
class ProxConfig:
    n_features: int
    lam: tuple[float, ...]
    n_trials: int
    mlp_n_steps: int
    mlp_n_seeds: int
    sigma: float = 1.0
    sparsity: float = 0.2
    signal_std: float = 3.0

    def mlp_kwargs(self) -> dict:
        """Keyword arguments of :func:`~kernelcap.empirics.sparsity.train_penalized_mlps`."""
        return dict(n_seeds=self.mlp_n_seeds, n_steps=self.mlp_n_steps)


def _binomial_se(p, n: int) -> np.ndarray:
    return np.sqrt(np.asarray(p) * (1 - np.asarray(p)) / n)


def _null_se(p, n: int) -> np.ndarray:
    """The score test's standard error: binomial at the predicted p (every coefficient is zero
    independently, see theory.lasso_zero_fraction), floored so p → 0 cannot divide by zero."""
    return np.sqrt(np.maximum(p * (1 - p), 1e-12) / n)


def measure_prox(cfg: ProxConfig, rt) -> Measurement:
    t0 = time.perf_counter()
    zf = es.orthonormal_zero_fractions(
        cfg.n_features,
        cfg.lam,
        sigma=cfg.sigma,
        sparsity=cfg.sparsity,
        signal_std=cfg.signal_std,
        n_trials=cfg.n_trials,
        progress=rt.progress,
        device=rt.torch_device,
        generator=rt.generator(0),
    )
    t1 = time.perf_counter()
    mlp = es.train_penalized_mlps(
        **cfg.mlp_kwargs(), progress=rt.progress, device=rt.torch_device, generator=rt.generator(1)
    )
    t2 = time.perf_counter()
    n, s = zf.n_coefficients, cfg.mlp_n_seeds
    mlp_se = mlp.zero_fraction.std(1, ddof=1) / math.sqrt(s) if s > 1 else None
    lam = {"lam": zf.lam}
    return Measurement(
        {
            "l1": Points(lam, zf.l1_zero, _binomial_se(zf.l1_zero, n), label="L1, proximal GD"),
            "l2": Points(lam, zf.l2_zero, _binomial_se(zf.l2_zero, n), label="L2, weight decay"),
            "mlp": Points(
                {"penalty": np.asarray(mlp.penalties)},
                mlp.zero_fraction.mean(1),
                mlp_se,
                label="MLP exact-zero fraction",
            ),
        },
        extras=dict(
            n_coefficients=n,
            mlp_zero_fraction=mlp.zero_fraction.mean(1).tolist(),
            mlp_near_zero=mlp.near_zero_fraction.mean(1).tolist(),
            mlp_hoyer=mlp.hoyer.mean(1).tolist(),
            mlp_test_accuracy=mlp.test_accuracy.mean(1).tolist(),
        ),
        timings=dict(linear_s=t1 - t0, mlp_s=t2 - t1),
        run=(zf, mlp),
    )


def predict_prox(cfg: ProxConfig, m: Measurement) -> dict:
    # L2 exact zeros and the MLPs have no closed form here (ridge's is "none": a probability-0
    # event), so only the L1 series carries a prediction.
    lam = m["l1"].grid["lam"]
    return {"l1": theory.lasso_zero_fraction(lam, cfg.sigma, cfg.sparsity, cfg.signal_std)}


def compare_prox(cfg: ProxConfig, m: Measurement, predicted) -> list:
    zf, mlp = m.run
    p, n = predicted["l1"], zf.n_coefficients
    predicted_zeros = theory.lasso_orthonormal(zf.z[None], zf.lam[:, None, None]) == 0
    return [
        compare.max_abs_z(
            m["l1"].measured,
            p,
            _null_se(p, n),
            bound=4.0,
            name="max |L1 zero fraction − theory| / SE",
            reason=f"4 binomial standard errors √(p(1−p)/N) at the predicted p, over N = "
            f"trials×d = {n} coefficients per λ",
        ),
        compare.at_most(
            "L2 exact-zero fraction (linear, all λ)",
            zf.l2_zero.max(),
            0.0,
            reason="ridge shrinks z/(1+λ), which is zero only if z is exactly zero (probability 0)",
        ),
        compare.at_least(
            "L1 zeros are exactly {|Xᵀy| ≤ λ}",
            float(np.all(predicted_zeros == (zf.l1_coef == 0))),
            1.0,
            reason="the fixed point of the prox iteration is S_λ(Xᵀy), zero iff |Xᵀy| ≤ λ",
        ),
        compare.at_most(
            "L2 exact-zero fraction (MLP weights)",
            mlp.zero_fraction[1].max(),
            0.0,
            reason="gradient steps with weight decay never land on exactly 0 in floating point",
        ),
        compare.at_least(
            "L1 exact-zero fraction (MLP weights)",
            mlp.zero_fraction[2].min(),
            0.05,
            reason="the prox zeroes every weight whose gradient stays below λ₁; on a teacher "
            "using 4 of 40 inputs most first-layer weights are such",
        ),
    ]


def curve_prox(cfg: ProxConfig, m: Measurement) -> dict:
    lam = np.linspace(0, m["l1"].grid["lam"].max(), 200)
    zeros = theory.lasso_zero_fraction(lam, cfg.sigma, cfg.sparsity, cfg.signal_std)
    return {"theory (L1)": (lam, zeros)}


def decorate_prox(fig, axes, cfg: ProxConfig, m: Measurement, predicted) -> None:
    handles, names = axes[0].get_legend_handles_labels()  # series keys -> their labels
    axes[0].legend(handles, [m[s].label if s in m.series else s for s in names], fontsize=8)
    _, mlp = m.run
    bins = np.linspace(-8, 0, 41)
    for i, (name, color) in enumerate(zip(mlp.penalties, ("C7", "C2", "C3"))):
        w = mlp.weights[i].ravel()
        axes[1].hist(
            np.log10(np.abs(w[w != 0])),
            bins=bins,
            histtype="step",
            color=color,
            label=f"{name}: {100 * (w == 0).mean():.0f}% exact 0, "
            f"acc {mlp.test_accuracy[i].mean():.2f}",
        )
    axes[1].set(xlabel="log₁₀ |w|  (MLP weights, nonzero)", ylabel="count")
    axes[1].legend(fontsize=7)


def summarize_prox(cfg: ProxConfig, m: Measurement, predicted) -> str:
    zf, mlp = m.run
    p = predicted["l1"]
    z = compare.z_values(zf.l1_zero, p, _null_se(p, zf.n_coefficients))
    return (
        f"L1 zero fraction vs theory: max {z.max():.2f} SE over {len(zf.lam)} λ; L2 zeros "
        f"{zf.l2_zero.max():.0%}; MLP exact zeros none/L2/L1 = "
        f"{mlp.zero_fraction.mean(1).round(3).tolist()}, Hoyer "
        f"{mlp.hoyer.mean(1).round(2).tolist()}, test acc "
        f"{mlp.test_accuracy.mean(1).round(3).tolist()}"
    )


PROX = Claim(
    "sparsity.prox",
    statement="L1 (soft-threshold prox) training gives exact zeros in the fraction "
    "(1−ε)(2Φ(λ/σ)−1)+ε(2Φ(λ/√(s²+σ²))−1) for an orthonormal design; L2 (weight decay) gives "
    "none, also in trained MLPs.",
    source="Tibshirani (1996); Hoyer (2004); Parikh & Boyd (2014) proximal algorithms",
    configs=Scales(
        smoke=ProxConfig(200, (0.25, 0.5, 1.0, 1.5, 2.0, 3.0), 10, 150, 2),
        quick=ProxConfig(200, (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0), 30, 300, 3),
        paper=ProxConfig(2000, tuple(np.linspace(0.1, 3.0, 15).tolist()), 200, 2000, 10),
    ),
    measure=measure_prox,
    predict=predict_prox,
    compare=compare_prox,
    curve=curve_prox,
    decorate=decorate_prox,
    summarize=summarize_prox,
    panels=2,
    x="lam",
    xlabel="λ / σ",
    ylabel="fraction of exact zeros  P(β̂ⱼ = 0)",
)


# ------------------------------------------------------------------------------ factored L2

RESOLUTION = 1e-3  # relative coefficient resolution of the diagonal-net vs lasso comparison


@dataclass(frozen=True)
class FactoredL2Config:
    n_samples: int
    n_features: int
    n_nonzero: int
    lam_ratio: tuple[float, ...]
    n_steps: int
    n_problems: int

    def fit_kwargs(self) -> dict:
        """Keyword arguments of :func:`~kernelcap.empirics.sparsity.train_diagonal_network`."""
        return dict(
            n_samples=self.n_samples,
            n_features=self.n_features,
            n_nonzero=self.n_nonzero,
            lam_ratio=self.lam_ratio,
            n_problems=self.n_problems,
            n_steps=self.n_steps,
        )


def _coefficient_errors(fit) -> tuple[np.ndarray, np.ndarray]:
    """Relative error max_j |β_diag − β_lasso| / ‖β_lasso‖∞ and support mismatches, (S, L)."""
    scale = np.abs(fit.beta_lasso).max(-1, keepdims=True)  # (S, L, 1)
    err = (np.abs(fit.beta_diag - fit.beta_lasso) / scale).max(-1)
    tol = RESOLUTION * scale
    return err, ((np.abs(fit.beta_diag) > tol) != (np.abs(fit.beta_lasso) > tol)).sum(-1)


def measure_factored_l2(cfg: FactoredL2Config, rt) -> Measurement:
    fit = es.train_diagonal_network(
        **cfg.fit_kwargs(),
        progress=rt.progress,
        device=rt.torch_device,
        generator=rt.generator(0),
    )
    err, mism = _coefficient_errors(fit)
    return Measurement(
        Points(
            {"lam_ratio": np.asarray(cfg.lam_ratio, float)},
            err.max(0),
            label="max over problems of |β_diag − β_lasso| / ‖β_lasso‖∞",
        ),
        extras=dict(
            max_rel_error=float(err.max()),
            support_mismatches=mism.sum(0).tolist(),
            mean_support_size=(fit.beta_lasso != 0).sum(-1).mean(0).tolist(),
        ),
        run=fit,
    )


def predict_factored_l2(cfg: FactoredL2Config, m: Measurement) -> dict:
    # The reference is the lasso solved numerically on the same data (FISTA, in the empirics);
    # theory's part, min over u⊙v = β of (λ/2)(‖u‖² + ‖v‖²) = λ‖β‖₁, is drawn in the last panel.
    return {}


def compare_factored_l2(cfg: FactoredL2Config, m: Measurement, predicted) -> list:
    fit = m.run
    err, mism = _coefficient_errors(fit)
    return [
        compare.at_most(
            "max |β_diag − β_lasso| / ‖β_lasso‖∞",
            err.max(),
            RESOLUTION,
            reason="optimisation tolerance: inactive weights decay like "
            "exp(−η(λ − |Xⱼᵀr|/n)t/(1−μ)) and are below 1e-3 after the configured steps; a "
            "ridge-like or unconverged solution is off by O(1)",
        ),
        compare.at_most(
            "support mismatches at resolution 1e-3",
            mism.sum(),
            0,
            reason="same support: coefficients above 1e-3·‖β‖∞ in one solution and not the other",
        ),
        compare.at_most(
            "max lasso KKT violation / λ (FISTA reference)",
            (fit.kkt_lasso / fit.lam).max(),
            1e-6,
            reason="the reference is itself the lasso solution to near machine precision",
        ),
    ]


def decorate_factored_l2(fig, axes, cfg: FactoredL2Config, m: Measurement, predicted) -> None:
    from kernelcap.plotting import plot_measured, plot_theory

    axes[0].axhline(RESOLUTION, color="k", ls="--", lw=1, label="tolerance 1e-3")
    ratio = np.asarray(cfg.lam_ratio, float)
    lasso_path, diag = m.run.beta_lasso[0], m.run.beta_diag[0]  # first problem, (L, d)
    ax = axes[1]
    for i, j in enumerate(np.nonzero(np.abs(lasso_path).max(0) > 0)[0]):
        first = i == 0
        plot_theory(ax, ratio, lasso_path[:, j], label="lasso (FISTA)" if first else None, lw=1.2)
        label = "u⊙v, weight decay" if first else None
        plot_measured(ax, ratio, diag[:, j], None, label=label, ms=3.5)
    ax.set(xlabel="λ / λ_max", ylabel="coefficient βⱼ", title="problem 1: lasso path vs u⊙v")
    ax.legend(fontsize=8)
    ax = axes[2]
    w = np.linspace(-2, 2, 201)
    plot_theory(ax, w, theory.factored_l2_penalty(w, 1.0, 2), label="min (λ/2)(u²+v²) = λ|w| (L=2)")
    plot_theory(
        ax, w, theory.factored_l2_penalty(w, 1.0, 3), label="L=3: (3λ/2)|w|^(2/3)", color="C1"
    )
    u, v = np.random.default_rng(0).normal(size=(2, 300))
    ax.plot(u * v, 0.5 * (u**2 + v**2), ".", ms=2, color="C7", label="random (u, v): (u²+v²)/2")
    ax.set(xlim=(-2, 2), ylim=(0, 4), xlabel="w = u·v", ylabel="penalty / λ")
    ax.legend(fontsize=7)


def summarize_factored_l2(cfg: FactoredL2Config, m: Measurement, predicted) -> str:
    err, mism = _coefficient_errors(m.run)
    return (
        f"{cfg.n_problems} problems × {len(cfg.lam_ratio)} λ: max rel. coefficient error "
        f"{err.max():.1e}, support mismatches {int(mism.sum())}"
    )


FACTORED_L2 = Claim(
    "sparsity.factored-l2",
    statement="Gradient descent with weight decay λ on a diagonal linear network β = u⊙v reaches "
    "the lasso solution with penalty λ‖β‖₁ (min over u⊙v = β of (λ/2)(‖u‖² + ‖v‖²) = λ‖β‖₁): "
    "same support, same coefficients.",
    source="Woodworth et al. (2020); Hoff (2017); Tibshirani (2021) 'Equivalences between sparse "
    "models and neural networks'",
    configs=Scales(
        smoke=FactoredL2Config(40, 60, 4, (0.2, 0.35, 0.5, 0.7, 0.9), 3000, 2),
        quick=FactoredL2Config(80, 150, 8, tuple(np.linspace(0.1, 0.9, 9).tolist()), 3000, 4),
        paper=FactoredL2Config(
            200, 1000, 20, tuple(np.linspace(0.05, 0.95, 19).tolist()), 20000, 10
        ),
    ),
    measure=measure_factored_l2,
    predict=predict_factored_l2,
    compare=compare_factored_l2,
    decorate=decorate_factored_l2,
    summarize=summarize_factored_l2,
    panels=3,
    x="lam_ratio",
    xlabel="λ / λ_max",
    ylabel="relative coefficient error",
    yscale="log",
)

CLAIMS = (FACTORED_L2, PHASE_TRANSITION, PROX, RIDGE_FAILS)

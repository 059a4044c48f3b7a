"""grokking.transformer: Nanda et al.'s one-layer transformer groks a + b mod p too.

Every config pairs λ = 1 with a λ = 0 control from the same initialisation: delay and accuracy
checks are on the λ > 0 members, and the Fourier check compares them with the control (training
alone moves the spectrum away from a random embedding's, so that comparison cannot tell a grokked
network from a memorising one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kernelcap import compare
from kernelcap.cache import shared_run
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.claims.grokking import N_RANDOM, random_top_k, trig_solution_top_k
from kernelcap.empirics.grokking_transformer import (
    TransformerGrokkingRun,
    train_grokking_transformer,
    value_at_step,
)
from kernelcap.runtime import Runtime
from kernelcap.theory import grokking as th

SOURCE = (
    "Nanda, Chan, Lieberum, Smith & Steinhardt (2023) 'Progress measures for grokking via "
    "mechanistic interpretability', arXiv 2301.05217; Power et al. (2022) arXiv 2201.02177"
)


@dataclass(frozen=True, kw_only=True)
class TransformerConfig:
    """One batched run (:func:`~kernelcap.empirics.grokking_transformer.train_grokking_transformer`)
    and the claim's ``level`` (test accuracy that counts as grokked) and ``top_k``."""

    p: int
    train_fraction: float
    d_model: int
    n_heads: int
    d_mlp: int
    lr: float
    weight_decay: tuple[float, ...]
    n_seeds: int
    n_steps: int
    every: int
    level: float
    top_k: int = 4

    def train_kwargs(self) -> dict:
        names = ("p", "train_fraction", "d_model", "n_heads", "d_mlp", "lr", "weight_decay")
        return {k: getattr(self, k) for k in names + ("n_seeds", "n_steps", "every")}


# smoke: p=23, 80% train, d_model 64, d_mlp 128, lr 1e-2 (10x published, so lr·λ is 10x larger and
# grokking takes ~10^2 steps instead of ~10^4), 90% test level; quick: p=31, 60% train, Nanda's
# widths, lr 1e-2 (t_gen 150–825 over seeds 0–5, so 1500 steps leave a margin); paper: Nanda et al.
# exactly: p=113, 30% of the ordered pairs, full batch, AdamW lr 1e-3, λ=1, β=(0.9, 0.98), 40k
# steps; 5 key frequencies in their main run.
_NANDA = dict(d_model=128, n_heads=4, d_mlp=512, weight_decay=(0.0, 1.0))
TRANSFORMER_CONFIGS = Scales(
    smoke=TransformerConfig(
        p=23,
        train_fraction=0.8,
        d_model=64,
        n_heads=4,
        d_mlp=128,
        lr=1e-2,
        weight_decay=(0.0, 1.0),
        n_seeds=1,
        n_steps=400,
        every=20,
        level=0.9,
    ),
    quick=TransformerConfig(
        p=31, train_fraction=0.6, lr=1e-2, n_seeds=1, n_steps=1500, every=25, level=0.95, **_NANDA
    ),
    paper=TransformerConfig(
        p=113,
        train_fraction=0.3,
        lr=1e-3,
        n_seeds=3,
        n_steps=40_000,
        every=500,
        level=0.95,
        top_k=5,
        **_NANDA,
    ),
)


@shared_run
def transformer_run(cfg: TransformerConfig, rt: Runtime) -> TransformerGrokkingRun:
    return train_grokking_transformer(
        **cfg.train_kwargs(), seed=rt.seed, device=rt.torch_device, progress=rt.progress
    )


def _members(run: TransformerGrokkingRun) -> tuple[np.ndarray, np.ndarray]:
    """λ > 0 members and, for each, the λ = 0 control with the same initialisation."""
    decayed, control = np.flatnonzero(run.weight_decay > 0), run.members(0.0)
    if not decayed.size or not control.size:
        raise ValueError(
            "grokking.transformer needs weight_decay with 0 (the control) and at least one λ > 0"
        )
    return decayed, np.array([control[run.seed[control] == run.seed[j]][0] for j in decayed])


def measure_transformer(cfg: TransformerConfig, rt: Runtime) -> Measurement:
    run = transformer_run(cfg, rt)
    decayed, paired = _members(run)
    t_mem, t_gen = run.t_memorize(), run.t_generalize(cfg.level)
    novel_at_mem = value_at_step(run.steps, run.novel_test_acc, t_mem)
    frac = th.top_k_energy_fraction(run.fourier_energy, cfg.top_k)  # (B, S)
    _, sd = random_top_k(run.p, run.weights[0].shape[-1], cfg.top_k)
    label = f"top-{cfg.top_k} Fourier fraction of W_E"

    def grid(j):
        return {"seed": run.seed[j], "weight_decay": run.weight_decay[j]}

    times = {"t_memorize": t_mem[decayed], "t_generalize": t_gen[decayed]}
    ratio = t_gen[decayed] / t_mem[decayed]
    n_test = int(round(run.n_novel / run.novel_fraction))
    return Measurement(
        {
            "t_gen/t_mem": Points({**grid(decayed), **times}, ratio, label="t_gen / t_mem"),
            "top-k fraction": Points(grid(decayed), frac[decayed, -1], sd, label=label),
            "top-k fraction, λ=0 control": Points(grid(paired), frac[paired, -1], sd, label=label),
        },
        extras=dict(
            weight_decay=run.weight_decay.tolist(),
            t_memorize=t_mem.tolist(),
            t_generalize=t_gen.tolist(),
            final_test_acc=run.test_acc[:, -1].tolist(),
            novel_test_acc_at_memorization=novel_at_mem.tolist(),
            top_k_fraction_final=frac[:, -1].tolist(),
            random_top_k_mean=random_top_k(run.p, run.weights[0].shape[-1], cfg.top_k)[0],
            random_top_k_sd=sd,
            n_novel=run.n_novel,
            n_test=n_test,
            novel_fraction=run.novel_fraction,
        ),
        timings=dict(train_s=run.wall_s),
        run=dict(run=run, frac=frac, novel_at_mem=novel_at_mem),
    )


def predict_transformer(cfg: TransformerConfig, m: Measurement) -> dict:
    return {"top-k fraction": trig_solution_top_k(cfg.p, cfg.top_k)}


def compare_transformer(cfg: TransformerConfig, m: Measurement, predicted) -> list:
    run, novel_at_mem = m.run["run"], m.run["novel_at_mem"]
    decayed, _ = _members(run)
    k, level = cfg.top_k, cfg.level
    mean, sd = m.extras["random_top_k_mean"], m.extras["random_top_k_sd"]
    grokked, control = m["top-k fraction"].measured, m["top-k fraction, λ=0 control"].measured
    return [
        compare.at_least(
            "t_gen / t_mem (worst λ>0 member)",
            float(np.min(m["t_gen/t_mem"].measured)),
            3.0,
            reason="'many steps later': at least 3× the memorisation time on the step grid",
        ),
        compare.at_least(
            "final train accuracy (worst λ>0 member)",
            float(run.train_acc[decayed, -1].min()),
            1.0,
            reason="full-batch training must fit the training set",
        ),
        compare.at_least(
            f"final test accuracy (worst λ>0 member; ≥{level:.0%} is grokked)",
            float(run.test_acc[decayed, -1].min()),
            level,
            reason="the generalisation level of Power et al. (95%; 90% at smoke size p=23, 400 "
            "steps)",
        ),
        compare.at_most(
            "accuracy on novel test pairs when train first hits 100% (worst λ>0 member)",
            float(np.max(novel_at_mem[decayed])),
            0.5,
            reason=f"memorisation precedes generalisation: at t_mem most of the {run.n_novel} (of "
            f"{m.extras['n_test']}) test pairs whose commuted copy is not in the training set "
            "either are still wrong",
        ),
        compare.at_least(
            f"(final − random) top-{k} Fourier fraction of W_E / s.d.(random) (worst λ>0 member)",
            float(np.min((grokked - mean) / sd)),
            5.0,
            reason=f"5 standard deviations of the top-{k} fraction over {N_RANDOM} random "
            "Gaussian embeddings of the same shape",
        ),
        compare.at_least(
            f"top-{k} Fourier fraction of W_E, λ>0 − λ=0 control from the same init (worst pair)",
            float(np.min(grokked - control)),
            3 * math.sqrt(2) * sd,
            reason="3 s.d. of a difference of two networks' fractions (√2 × random-embedding "
            "s.d.): the generalising circuit, not training per se, concentrates the spectrum",
        ),
    ]


def decorate_transformer(fig, axes, cfg: TransformerConfig, m: Measurement, predicted) -> None:
    """Accuracy curves of the first λ>0 member (and its λ=0 control), every member's top-k
    fraction."""
    from kernelcap.plotting import plot_measured, plot_theory

    run, frac = m.run["run"], m.run["frac"]
    decayed, paired = _members(run)
    j, c, k = decayed[0], paired[0], cfg.top_k
    t_mem, t_gen = run.t_memorize(), run.t_generalize(cfg.level)
    fig.suptitle(
        f"grokking.transformer\none-layer transformer, a+b mod {run.p}, "
        f"λ={run.weight_decay[j]:g} vs 0, lr={run.lr:g}",
        fontsize=10,
    )
    ax0, ax1 = axes
    ax0.plot(run.steps, run.train_acc[j], "--", color="C0", label="train")
    ax0.plot(run.steps, run.test_acc[j], "-", color="C1", label="test")
    novel = f"{run.n_novel} novel test pairs"
    ax0.plot(run.steps, run.novel_test_acc[j], ":", color="C3", label=novel)
    ax0.plot(run.steps, run.test_acc[c], "-", color="0.5", lw=0.8, label="test, λ=0 control")
    others = [i for i in decayed if i != j]
    for i in others:
        other = "test, other λ>0 members" if i == others[0] else None
        ax0.plot(run.steps, run.test_acc[i], "-", color="C1", alpha=0.35, lw=0.8, label=other)
    for t, name, ls in ((t_mem[j], "t_mem", "--"), (t_gen[j], "t_gen", "-")):
        if np.isfinite(t):
            ax0.axvline(t, color="0.5", lw=0.8, ls=ls)
            ax0.annotate(name, (t, 0.5), rotation=90, fontsize=7, ha="right", va="center")
    ylabel = f"accuracy (seed {run.seed[j]}, λ={run.weight_decay[j]:g}; t_mem, t_gen marked)"
    ax0.set(xscale="log", xlabel="step t", ylabel=ylabel)
    ax0.legend(fontsize=7)
    ends = run.steps[[0, -1]]
    ideal = predicted["top-k fraction"][0]
    mean, sd = m.extras["random_top_k_mean"], m.extras["random_top_k_sd"]
    plot_theory(ax1, ends, [ideal] * 2, label="trigonometric solution", color="C2")
    random = f"random embedding (±{sd:.3f})"
    plot_theory(ax1, ends, [mean] * 2, label=random, color="0.5", ls="--")
    for i in range(run.seed.size):
        name = f"λ={run.weight_decay[i]:g}, seed {run.seed[i]}"
        plot_measured(ax1, run.steps, frac[i], None, label=name, color=f"C{3 + i}", ms=2.5)
    ax1.set(xscale="log", xlabel="step t", ylabel=f"top-{k} energy fraction of W_E")
    ax1.legend(fontsize=7)


def summarize_transformer(cfg: TransformerConfig, m: Measurement, predicted) -> str:
    run, novel_at_mem, frac = m.run["run"], m.run["novel_at_mem"], m.run["frac"]
    decayed, _ = _members(run)
    control = run.members(0.0)
    t_mem, t_gen = run.t_memorize(), run.t_generalize(cfg.level)
    mean, sd = m.extras["random_top_k_mean"], m.extras["random_top_k_sd"]
    return (
        f"λ={run.weight_decay[decayed[0]]:g}: t_mem={t_mem[decayed].tolist()}, "
        f"t_gen={t_gen[decayed].tolist()} (ratio ≥ {np.min(m['t_gen/t_mem'].measured):.1f}); "
        f"final test acc {run.test_acc[decayed, -1].round(3).tolist()} (λ=0: "
        f"{run.test_acc[control, -1].round(3).tolist()}); acc on {run.n_novel} novel pairs at "
        f"t_mem {novel_at_mem[decayed].round(2).tolist()}; top-{cfg.top_k} fraction "
        f"{frac[decayed, -1].round(2).tolist()} vs λ=0 {frac[control, -1].round(2).tolist()} vs "
        f"random {mean:.2f}±{sd:.3f}; train {run.wall_s:.1f}s"
    )


TRANSFORMER = Claim(
    "grokking.transformer",
    statement="The one-layer transformer of Nanda et al. (2023), trained with weight decay, also "
    "groks a + b mod p: it reaches 100% train accuracy first, while test pairs it cannot answer by "
    "memory or commutativity are still mostly wrong, and ≥95% test accuracy at least 3× as many "
    "steps later; its token embedding then concentrates on a few Fourier frequencies (top-k "
    "energy fraction many s.d. above a random embedding's and above that of the same network "
    "trained without weight decay).",
    source=SOURCE,
    configs=TRANSFORMER_CONFIGS,
    measure=measure_transformer,
    predict=predict_transformer,
    compare=compare_transformer,
    decorate=decorate_transformer,
    summarize=summarize_transformer,
    panels=2,
)

CLAIMS = (TRANSFORMER,)

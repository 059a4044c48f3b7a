"""Clean examples are fitted first, mislabeled ones later (`memorization.clean-first`).

An MLP trains (full-batch Adam, cross-entropy) on long-tailed data with a fraction of labels
flipped; the figure shows the fraction of clean and of mislabeled examples fitted at each step and
the distribution of the per-example first-fit step.

Run: python examples/memorization_clean_first.py [out_dir] [--quick]
     (writes memorization_clean_first.png)
"""

from pathlib import Path

import numpy as np
import torch

from kernelcap.claims._memorization_noisy import CLEAN_FIRST, model_factory, noisy_data
from kernelcap.empirics._batched_models import Stack, build_member, train_members
from kernelcap.empirics.memorization import TrainConfig
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, plot_measured, save_figure
from kernelcap.theory.memorization import auroc, first_fit_step


def main(out_dir=".", quick=False):
    cfg = CLEAN_FIRST.config("smoke" if quick else "quick")
    data = noisy_data(cfg, seed=0)  # the claim's data and model
    make = model_factory(cfg)

    seeds = 4
    run = train_members(
        Stack([build_member(make, s) for s in range(seeds)], "cpu"),
        data.x,
        data.y,
        torch.ones(seeds, cfg.n, dtype=torch.bool),
        TrainConfig(steps=cfg.steps, lr=cfg.lr, loss="ce", optimizer="adam"),
        log_steps=range(0, cfg.steps + 1, cfg.log_every),
    )
    fitted = (run.logged.argmax(-1) == data.y).numpy()  # (seeds, steps, n)
    first = np.median(first_fit_step(fitted, run.log_steps), axis=0)
    flipped = data.flipped.numpy()
    fig, axes = claim_figure(
        "clean examples are fitted first",
        f"n = {cfg.n}, {flipped.sum()} flipped labels, {seeds} networks",
        ncols=2,
    )
    for name, group, color in (("clean", ~flipped, "C0"), ("mislabeled", flipped, "C3")):
        f = fitted[:, :, group].mean(2)
        se = f.std(0, ddof=1) / np.sqrt(seeds)
        plot_measured(axes[0], run.log_steps, f.mean(0), se, label=name, color=color, ms=2.5)
        t = first[group]
        axes[1].hist(np.log2(1 + t[np.isfinite(t)]), 25, alpha=0.6, color=color, label=name)
    axes[0].set(xscale="symlog", xlabel="Adam step", ylabel="fraction fitted")
    axes[0].legend(fontsize=7)
    axes[1].set(
        xlabel="log2(1 + first-fit step)",
        ylabel="examples",
        title=f"AUROC (mislabeled later) = {auroc(first, flipped):.3f}",
    )
    axes[1].legend(fontsize=7)
    out = Path(out_dir) / "memorization_clean_first.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

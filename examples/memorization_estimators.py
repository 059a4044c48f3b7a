"""Three memorization estimators on long-tailed data with flipped labels: score histograms with the
mislabeled examples marked, and how the estimators agree (the `memorization.mislabeled` setup).

Run: python examples/memorization_estimators.py [out_dir] [--quick]
     (writes memorization_estimators.png)
"""

from pathlib import Path

import numpy as np
import torch

from kernelcap.claims._memorization_noisy import MISLABELED, model_factory, noisy_data
from kernelcap.empirics._batched_models import Stack, build_member, train_members
from kernelcap.empirics.memorization import (
    TrainConfig,
    compare_estimators,
    memorization_scores,
    ntk_loo_scores,
    self_influence,
)
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, save_figure


def main(out_dir=".", quick=False):
    cfg = MISLABELED.config("smoke" if quick else "quick")
    data = noisy_data(cfg, seed=0)  # the claim's data and model
    make = model_factory(cfg)

    train = TrainConfig(steps=cfg.steps, lr=cfg.lr, loss="ce", optimizer="adam")
    # 1. Feldman–Zhang: K models on random halves, one batched program
    fz = memorization_scores(make, data.x, data.y, n_models=cfg.n_models, train=train, seed=0)
    # 2. TracIn self-influence from checkpoints of one model trained on all the data
    model = build_member(make, 1)
    every = cfg.steps // cfg.n_checkpoints
    run = train_members(
        Stack([build_member(make, 1)], "cpu"),
        data.x,
        data.y,
        torch.ones(1, cfg.n, dtype=torch.bool),
        train,
        checkpoint_steps=range(0, cfg.steps, every),
    )
    ckpts = [{k: v[0] for k, v in p.items()} for _, p in run.checkpoints]
    si = self_influence(model, ckpts, data.x, data.y, lrs=cfg.lr * every)
    # 3. closed form from the NTK at initialisation
    loo = ntk_loo_scores(model, data.x, data.y, cfg.ridge, relative=True)
    scores = {"feldman-zhang": fz.mem, "self-influence": si.scores, "ntk-loo": loo.scores}
    agree = compare_estimators(scores, positives=data.flipped)

    flipped = data.flipped.numpy()
    fig, axes = claim_figure(
        "memorization scores, mislabeled examples marked",
        f"n = {cfg.n}, {flipped.sum()} flipped labels, {cfg.n_models} subset models",
        ncols=3,
    )
    for ax, (name, s) in zip(axes, scores.items()):
        s = np.asarray(s)
        bins = np.linspace(s.min(), s.max(), 30)
        ax.hist(s[~flipped], bins, alpha=0.6, label="clean")
        ax.hist(s[flipped], bins, alpha=0.8, color="C3", label="flipped label")
        ax.set(xlabel=name, ylabel="examples", title=f"AUROC {agree.auroc[name]:.3f}")
        ax.legend(fontsize=7)
    pairs = "; ".join(
        f"{a}/{b}: ρ={agree.pair(a, b)[0]:.2f}, top-k {agree.pair(a, b)[1]:.2f}"
        for i, a in enumerate(agree.names)
        for b in agree.names[i + 1 :]
    )
    fig.supxlabel(f"agreement (k = {agree.k}): {pairs}", fontsize=7)
    out = Path(out_dir) / "memorization_estimators.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

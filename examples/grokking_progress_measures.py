"""Grokking on a + b mod p: accuracy curves, progress measures, and the role of weight decay.

One batched AdamW run (the `grokking.delay` config) trains the one-layer MLP for several
weight-decay values λ at once:

  (a) train/test accuracy on a log step axis (memorise at t_mem, generalise at t_gen ≫ t_mem);
  (b) progress measures: total weight norm and the top-4 Fourier energy fraction of W_E, with the
      flat-spectrum value k/⌊(p−1)/2⌋ of a random embedding as the theory line;
  (c) final test accuracy vs λ (λ = 0 memorises only).

Run:  python examples/grokking_progress_measures.py [out_dir] [--quick]
      (writes grokking_progress_measures.png)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from kernelcap.claims.grokking import DELAY
from kernelcap.empirics import grokking as sim
from kernelcap.examples import run_example
from kernelcap.plotting import plot_measured, plot_theory, save_figure
from kernelcap.theory import grokking as theory


def main(out_dir: str | Path = ".", quick: bool = False, seed: int = 0) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = DELAY.config("smoke" if quick else "quick")  # the run grokking.delay/.fourier read
    run = sim.train_grokking(**cfg.train_kwargs(), seed=seed, device="cpu")
    k = cfg.top_k
    frac = theory.top_k_energy_fraction(run.fourier_energy, k)
    # the λ > 0 member that ends best generalised (λ = 0.5 groks, then loses it again by t = 2000)
    i = int(np.argmax(np.where(run.weight_decay > 0, run.test_acc[:, -1], -1.0)))
    lam_show = run.weight_decay[i]
    i0 = int(run.members(0.0)[0])

    fig = Figure(figsize=(15, 4.3), layout="constrained")
    ax = fig.subplots(1, 3)
    fig.suptitle(
        f"Grokking a + b mod {run.p} (train fraction {cfg.train_fraction}, AdamW lr {run.lr})",
        fontsize=11,
    )
    for j, style in ((i, "-"), (i0, ":")):
        ax[0].plot(
            run.steps,
            run.train_acc[j],
            style,
            color="C0",
            label=f"train, λ={run.weight_decay[j]:g}",
        )
        ax[0].plot(
            run.steps, run.test_acc[j], style, color="C3", label=f"test, λ={run.weight_decay[j]:g}"
        )
    ax[0].set_xscale("log")
    ax[0].set_xlabel("step t")
    ax[0].set_ylabel("accuracy")
    ax[0].legend(fontsize=7)

    ax[1].plot(
        run.steps,
        run.weight_norm[i] / run.weight_norm[i].max(),
        color="C0",
        label=f"‖w‖/max‖w‖, λ={lam_show:g}",
    )
    ax[1].plot(
        run.steps, frac[i], color="C1", label=f"top-{k} Fourier fraction of W_E, λ={lam_show:g}"
    )
    ax[1].plot(run.steps, frac[i0], ":", color="C1", label="top-k fraction, λ=0")
    plot_theory(
        ax[1],
        run.steps[[0, -1]],
        [theory.uniform_top_k_fraction(run.p, k)] * 2,
        label="flat spectrum k/⌊(p−1)/2⌋",
        color="0.5",
    )
    ax[1].set_xscale("log")
    ax[1].set_xlabel("step t")
    ax[1].set_ylabel("progress measure")
    ax[1].legend(fontsize=7)

    plot_measured(ax[2], run.weight_decay, run.test_acc[:, -1], None, label="test")
    plot_measured(
        ax[2], run.weight_decay, run.train_acc[:, -1], None, label="train", color="C2", fmt="s"
    )
    ax[2].set_xlabel("weight decay λ")
    ax[2].set_ylabel(f"accuracy at t={run.steps[-1]}")
    ax[2].legend(fontsize=8)

    path = out_dir / "grokking_progress_measures.png"
    save_figure(fig, path)
    return path


if __name__ == "__main__":
    run_example(main, __doc__)

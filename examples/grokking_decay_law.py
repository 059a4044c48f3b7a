"""Grokking as weight-norm decay (Lyu et al. 2024 regime): norm, grokking time and the kernel over training.

One batched run of the `grokking.decay-law` setup (init ×10, heavy-ball GD with decoupled decay λ):

  (a) ‖w_t‖ on a log axis with the decay law ‖w_mem‖(1 − ηλ)^t from memorisation on (lines);
  (b) t_grok (test accuracy crossing 50%) vs λ with the 1/(ηλ) law anchored at the mean t·λ;
  (c) the empirical NTK's centred cosine distance from initialisation with t_mem and t_grok marked —
      the kernel view: how much of its movement happens at memorisation, in the decay phase and at grokking.

Run:  python examples/grokking_decay_law.py [out_dir]   (writes grokking_decay_law.png)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from kernelcap.empirics import grokking as sim
from kernelcap.plotting import plot_measured, plot_theory, save_figure
from kernelcap.theory import grokking as theory


def main(out_dir: str | Path = ".", quick: bool = False, seed: int = 0) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if quick:
        kw = dict(p=23, train_fraction=0.9, n_steps=2500, n_seeds=1)
    else:
        kw = dict(p=31, train_fraction=0.7, n_steps=3500, n_seeds=2)
    run = sim.train_grokking(
        **kw,
        lr=0.1,
        weight_decay=(0.02, 0.04, 0.08),
        init_scale=10.0,
        optimizer="sgdw",
        every=50,
        seed=seed,
        device="cpu",
    )
    t_mem, t_grok = run.t_memorize(), run.t_generalize(0.5)
    lams = np.unique(run.weight_decay)

    fig = Figure(figsize=(15, 4.3), layout="constrained")
    ax = fig.subplots(1, 3)
    fig.suptitle(
        f"Grokking a + b mod {run.p} by weight-norm decay (init ×10, GD, η = {run.lr})", fontsize=11
    )
    for c, lam in enumerate(lams):
        j = int(run.members(lam)[0])
        ax[0].plot(
            run.steps, run.weight_norm[j], ".", ms=3, color=f"C{c}", label=f"‖w_t‖, λ={lam:g}"
        )
        if np.isfinite(t_mem[j]):
            s0 = int(np.searchsorted(run.steps, t_mem[j]))
            t = run.steps[s0:]
            ax[0].plot(
                t,
                theory.weight_norm_decay(run.weight_norm[j, s0], run.lr, lam, t - t[0]),
                "-",
                lw=1,
                color=f"C{c}",
            )
    ax[0].set_yscale("log")
    ax[0].set_ylim(run.weight_norm.min() / 3, run.weight_norm.max() * 1.5)
    ax[0].set_xlabel("step t")
    ax[0].set_ylabel("‖w‖ (lines: ‖w_mem‖(1−ηλ)^t)")
    ax[0].legend(fontsize=7)

    ok = np.isfinite(t_grok)
    if ok.any():
        anchor = np.exp(np.mean(np.log(t_grok[ok] * run.weight_decay[ok])))
        line = np.geomspace(lams.min(), lams.max(), 50)
        plot_theory(ax[1], line, anchor / line, label="t_grok = C/(ηλ), C fitted")
        plot_measured(
            ax[1], run.weight_decay[ok], t_grok[ok], None, label="measured t_grok (50% test)"
        )
    ax[1].set_xscale("log")
    ax[1].set_yscale("log")
    ax[1].set_xlabel("weight decay λ")
    ax[1].set_ylabel("t_grok (steps)")
    ax[1].legend(fontsize=7)

    for c, lam in enumerate(lams):
        j = int(run.members(lam)[0])
        drift = sim.ntk_drift_from_init(
            run, j, n_points=32 if quick else 64, max_snapshots=6 if quick else 16
        )
        ax[2].plot(
            drift.steps, drift.kernel_distance, "o-", ms=3, color=f"C{c}", label=f"λ={lam:g}"
        )
        for t, style in ((t_mem[j], "--"), (t_grok[j], ":")):
            if np.isfinite(t):
                ax[2].axvline(t, color=f"C{c}", lw=0.7, ls=style)
    ax[2].set_xscale("log")
    ax[2].set_xlabel("step t (dashed: t_mem, dotted: t_grok)")
    ax[2].set_ylabel("centred NTK distance from init")
    ax[2].legend(fontsize=7)

    path = out_dir / "grokking_decay_law.png"
    save_figure(fig, path)
    return path


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))

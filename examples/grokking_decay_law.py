"""Grokking as weight-norm decay (Lyu et al. 2024 regime): norm, grokking time and the kernel.

One batched run of the `grokking.decay-law` setup (its config; init ×10, heavy-ball GD with
decoupled decay λ):

  (a) ‖w_t‖ on a log axis with the decay law ‖w_mem‖(1 − ηλ)^t from memorisation on (lines);
  (b) t_grok (test accuracy crossing 50%) vs λ with a fitted C/λ curve (slope −1 imposed, C fitted)
      and the unfitted law ln(‖w_mem‖/‖w_end‖)/(ηλ), which times the norm's decay only;
  (c) the empirical NTK's centred cosine distance from initialisation with t_mem and t_grok marked —
      the kernel view: how much of its movement happens at memorisation, in the decay phase and
      at grokking.

Run:  python examples/grokking_decay_law.py [out_dir] [--quick]   (writes grokking_decay_law.png)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from kernelcap.claims.grokking_decay_law import DECAY_LAW
from kernelcap.empirics import grokking as sim
from kernelcap.examples import run_example
from kernelcap.plotting import plot_measured, plot_theory, save_figure
from kernelcap.theory import grokking as theory


def main(out_dir: str | Path = ".", quick: bool = False, seed: int = 0) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = DECAY_LAW.config("smoke" if quick else "quick")
    run = sim.train_grokking(**cfg.train_kwargs(), seed=seed, device="cpu")
    t_mem, t_grok = run.t_memorize(), run.t_generalize(cfg.level)
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

    ok = np.isfinite(t_grok) & np.isfinite(t_mem)
    if ok.any():
        anchor = np.exp(np.mean(np.log(t_grok[ok] * run.weight_decay[ok])))
        line = np.geomspace(lams.min(), lams.max(), 50)
        ax[1].plot(line, anchor / line, "--", color="0.4", label="fit C/λ (C fitted, not theory)")
        # the unfitted law ln(‖w_mem‖/‖w_end‖)/(ηλ), at the members' geometric-mean norm ratio
        lam_ok, s_mem = run.weight_decay[ok], np.searchsorted(run.steps, t_mem[ok])
        log_ratio = np.log(run.weight_norm[np.flatnonzero(ok), s_mem] / run.weight_norm[ok, -1])
        lam_u = np.unique(lam_ok)
        law = [
            theory.grokking_time(np.exp(log_ratio[lam_ok == x].mean()), 1.0, run.lr, x)
            for x in lam_u
        ]
        plot_theory(ax[1], lam_u, law, label="unfitted law ln(‖w_mem‖/‖w_end‖)/(ηλ)")
        plot_measured(
            ax[1],
            run.weight_decay[ok],
            t_grok[ok],
            None,
            label=f"measured t_grok ({cfg.level:.0%} test)",
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
    run_example(main, __doc__)

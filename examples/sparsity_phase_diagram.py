"""Donoho–Tanner phase diagram of basis pursuit with the statistical-dimension curve on top.

The grid is sparsity.phase-transition's (its quick config; smoke with ``quick=True``).
Run: python examples/sparsity_phase_diagram.py [out_dir] [--quick]
"""

from pathlib import Path

import numpy as np

from kernelcap.claims.sparsity import PHASE_TRANSITION
from kernelcap.empirics import sparsity as es
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, plot_measured, plot_theory, save_figure
from kernelcap.theory import sparsity as th


def main(out_dir=".", quick=False):
    cfg = PHASE_TRANSITION.config("smoke" if quick else "quick")
    pd = es.phase_diagram(
        cfg.n_features,
        cfg.undersampling,
        cfg.sparsity_ratio,
        n_trials=cfg.n_trials,
        n_iter=cfg.n_iter,
        seed=0,
    )
    rho50, err = pd.boundary()
    fig, ax = claim_figure(
        PHASE_TRANSITION.id, f"basis pursuit, d = {pd.n_features}, {pd.n_trials} trials per cell"
    )
    grid_delta = np.broadcast_to(pd.undersampling[:, None], pd.success.shape)
    im = ax.scatter(
        grid_delta,
        pd.sparsity_ratio,
        c=pd.success,
        cmap="viridis",
        marker="s",
        s=40 if quick else 60,
        vmin=0,
        vmax=1,
        zorder=1,
    )
    fig.colorbar(im, ax=ax, label="P(exact recovery)")
    dl = np.linspace(0.01, 1, 200)
    plot_theory(ax, dl, th.l1_phase_transition(dl), label="ψ(ρδ) = δ", color="w")
    plot_measured(ax, pd.undersampling, rho50, err, label="50% boundary")
    ax.set_xlabel("δ = n/d")
    ax.set_ylabel("ρ = k/n")
    ax.legend(fontsize=8)
    out = Path(out_dir) / "sparsity_phase_diagram.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

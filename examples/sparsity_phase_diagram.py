"""Donoho–Tanner phase diagram of basis pursuit with the statistical-dimension curve on top.

Run: python examples/sparsity_phase_diagram.py [out_dir]
"""

import sys
from pathlib import Path

import numpy as np

from kernelcap.empirics import sparsity as es
from kernelcap.plotting import claim_figure, plot_measured, plot_theory, save_figure
from kernelcap.theory import sparsity as th


def main(out_dir=".", quick=False):
    d, trials = (40, 6) if quick else (100, 20)
    deltas = np.linspace(0.1, 0.9, 5 if quick else 9)
    rhos = np.linspace(0.04, 0.96, 10 if quick else 24)
    pd = es.phase_diagram(d, deltas, rhos, n_trials=trials, n_iter=300 if quick else 500, seed=0)
    rho50, err = pd.boundary()
    fig, ax = claim_figure(
        "sparsity.phase-transition", f"basis pursuit, d = {d}, {trials} trials per cell"
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
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))

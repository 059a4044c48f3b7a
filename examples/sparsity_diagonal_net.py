"""Lasso path (FISTA) vs a diagonal linear network β = u⊙v trained with weight decay at each λ.

Run: python examples/sparsity_diagonal_net.py [out_dir]
"""

import sys
from pathlib import Path

import numpy as np

from kernelcap.empirics import sparsity as es
from kernelcap.plotting import claim_figure, plot_measured, plot_theory, save_figure


def main(out_dir=".", quick=False):
    ratios = np.linspace(0.15, 0.95, 6 if quick else 17)
    fit = es.train_diagonal_network(
        30 if quick else 100,
        40 if quick else 200,
        4 if quick else 10,
        ratios,
        n_steps=800 if quick else 8000,
        seed=0,
    )
    fig, ax = claim_figure(
        "sparsity.factored-l2", "weight decay on u⊙v (points) = lasso path (lines)"
    )
    lasso_path, diag = fit.beta_lasso[0], fit.beta_diag[0]  # (L, d)
    for j in np.nonzero(np.abs(lasso_path).max(0) > 0)[0]:
        plot_theory(ax, ratios, lasso_path[:, j], label=None, lw=1.2, color=f"C{j % 10}")
        plot_measured(ax, ratios, diag[:, j], None, label=None, color=f"C{j % 10}", ms=3.5)
    ax.set_xlabel("λ / λ_max")
    ax.set_ylabel("coefficient βⱼ")
    out = Path(out_dir) / "sparsity_diagonal_net.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))

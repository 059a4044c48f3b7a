"""Lasso path (FISTA) vs a diagonal linear network β = u⊙v trained with weight decay at each λ.

The problems are sparsity.factored-l2's (its quick config; smoke with ``quick=True``); the figure
shows the first one.
Run: python examples/sparsity_diagonal_net.py [out_dir] [--quick]
"""

from pathlib import Path

import numpy as np

from kernelcap.claims.sparsity import FACTORED_L2
from kernelcap.empirics import sparsity as es
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, plot_measured, plot_theory, save_figure


def main(out_dir=".", quick=False):
    cfg = FACTORED_L2.config("smoke" if quick else "quick")
    fit = es.train_diagonal_network(**cfg.fit_kwargs(), seed=0)
    ratios = np.asarray(cfg.lam_ratio)
    fig, ax = claim_figure(FACTORED_L2.id, "weight decay on u⊙v (points) = lasso path (lines)")
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
    run_example(main, __doc__)

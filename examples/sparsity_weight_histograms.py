"""Weights of MLPs trained with L1 (proximal), L2 (weight decay) and no penalty: exact zeros vs
shrinkage. The MLPs are sparsity.prox's (its quick config; smoke with ``quick=True``).

Run: python examples/sparsity_weight_histograms.py [out_dir] [--quick]
"""

from pathlib import Path

import numpy as np

from kernelcap.claims.sparsity import PROX
from kernelcap.empirics import sparsity as es
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, save_figure


def main(out_dir=".", quick=False):
    cfg = PROX.config("smoke" if quick else "quick")
    mlp = es.train_penalized_mlps(**cfg.mlp_kwargs(), seed=0)
    fig, axes = claim_figure(PROX.id, "MLP weights: L1 gives exact zeros, L2 only shrinks", ncols=3)
    bins = np.linspace(-0.6, 0.6, 61)
    for ax, name, w, z, h, acc in zip(
        axes, mlp.penalties, mlp.weights, mlp.zero_fraction, mlp.hoyer, mlp.test_accuracy
    ):
        ax.hist(w.ravel(), bins=bins, color="C3" if name == "l1" else "C0")
        ax.set_yscale("log")
        ax.set_title(
            f"{name}: exact zeros {z.mean():.0%}, Hoyer {h.mean():.2f}, test acc {acc.mean():.2f}",
            fontsize=8,
        )
        ax.set_xlabel("weight w")
        ax.set_ylabel("count")
    out = Path(out_dir) / "sparsity_weight_histograms.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

"""Model-wise and epoch-wise double descent of two-layer ReLU MLPs with label noise.

All widths train at once as one block-structured network (kernelcap.empirics.double_descent).
Run: python examples/double_descent_mlp_width.py [out_dir] [--quick]
     (writes double_descent_mlp_width.png)
"""

from pathlib import Path

import numpy as np

from kernelcap.claims.double_descent import MLP_WIDTH
from kernelcap.empirics.double_descent import mlp_width_sweep
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, plot_measured, plot_theory, save_figure


def main(out_dir=".", quick=False):
    cfg = MLP_WIDTH.config("smoke" if quick else "quick")
    sw = mlp_width_sweep(**cfg.sweep_kwargs(), seed=0)
    n = sw.n
    fig, axes = claim_figure(
        "MLP width sweep (label noise σ = 1)",
        f"n = {n}, d = {sw.dim}, {cfg.steps} full-batch Adam steps",
        ncols=2,
    )
    top = float(np.max(sw.test_risk + sw.test_se)) * 1.1
    plot_theory(axes[0], [1, 1], [0, top], label="threshold P = n")
    plot_measured(axes[0], sw.params / n, sw.test_risk, sw.test_se, label="test MSE")
    axes[0].plot(sw.params / n, sw.train_risk, "s--", color="0.5", ms=3, label="train MSE")
    axes[0].set(xscale="log", ylim=(0, top), xlabel="P/n = H(d+2)+1 over n", ylabel="MSE")
    axes[0].legend(fontsize=7)
    k = int(np.argmax(sw.test_risk))
    for j in (0, k, len(sw.widths) - 1):
        axes[1].plot(
            sw.steps,
            sw.test_history[:, j],
            label=f"H = {sw.widths[j]} (P/n = {sw.params[j] / n:.2f})",
        )
    axes[1].set(
        xscale="log", yscale="log", xlabel="Adam step", ylabel="test MSE", title="epoch-wise"
    )
    axes[1].legend(fontsize=7)
    out = Path(out_dir) / "double_descent_mlp_width.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

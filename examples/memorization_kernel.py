"""Feldman–Zhang scores of wide networks against the kernel prediction (`memorization.kernel`).

K NTK-parameterized ReLU nets (init output removed) train on random halves of long-tailed data by
full-batch gradient descent; the prediction runs kernel regression on the infinite-width NTK under
the same gradient-descent filter and the same halves.

Run: python examples/memorization_kernel.py [out_dir] [--quick]  (writes memorization_kernel.png)
"""

from pathlib import Path

import numpy as np
import torch

from kernelcap.claims.memorization import KERNEL
from kernelcap.empirics.kernels import ntk_mlp
from kernelcap.empirics.memorization import TrainConfig, long_tailed_mixture, memorization_scores
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, plot_theory, save_figure
from kernelcap.theory import kernels as tk
from kernelcap.theory import memorization as theory


def main(out_dir=".", quick=False):
    cfg = KERNEL.config("smoke" if quick else "quick")
    data = long_tailed_mixture(cfg.n, cfg.dim, 2, label_noise=cfg.label_noise, seed=0)
    x, y = data.x.double().numpy(), data.signed_targets().numpy()
    ntk = tk.ntk_kernel(x, depth=1, b_std=cfg.b_std)
    m = int(round(cfg.subset_fraction * cfg.n))
    lr = m / np.linalg.eigvalsh(ntk)[-1]  # stable on every subset: λ_max(Θ_SS) ≤ λ_max(Θ)

    def factory(seed):
        return ntk_mlp(cfg.dim, cfg.width, 1, b_std=cfg.b_std, seed=seed, dtype=torch.float32)

    nets = memorization_scores(
        factory,
        data.x,
        data.y,
        n_models=cfg.n_models,
        train=TrainConfig(steps=cfg.steps, lr=lr, loss="mse"),
        subtract_init=True,
        device="cpu",
    )
    fig, axes = claim_figure(
        "measured memorization vs the kernel prediction",
        f"{cfg.n_models} width-{cfg.width} nets, {cfg.steps} GD steps, n = {cfg.n}",
        ncols=2,
    )
    flipped = data.flipped.numpy()
    for ax, kind in zip(axes, ("loss", "accuracy")):
        meas = nets.estimate(kind)
        pred = theory.kernel_memorization_scores(
            ntk, y, nets.masks, kind=kind, lr=lr, steps=cfg.steps
        )
        lo, hi = min(pred.mem.min(), meas.mem.min()), max(pred.mem.max(), meas.mem.max())
        plot_theory(ax, [lo, hi], [lo, hi], label="measured = predicted")
        ax.errorbar(pred.mem, meas.mem, meas.stderr, fmt="o", ms=3.5, color="C3", label="examples")
        ax.plot(pred.mem[flipped], meas.mem[flipped], "kx", ms=7, label="flipped label")
        r = np.corrcoef(pred.mem, meas.mem)[0, 1]
        ax.set(
            xlabel=f"kernel prediction ({kind})", ylabel=f"networks ({kind})", title=f"r = {r:.3f}"
        )
        ax.legend(fontsize=7)
    out = Path(out_dir) / "memorization_kernel.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

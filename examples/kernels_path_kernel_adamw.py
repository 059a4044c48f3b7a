"""Figure: the exact path-kernel decomposition of a training loop you write yourself (AdamW).

A tanh MLP is fitted to noisy sin(x) by an ordinary torch loop: minibatches, AdamW with weight
decay, a cosine learning-rate schedule. ``PathKernelRecorder.step`` replaces ``optimizer.step()``;
afterwards the net at every test input is f_0(x) + Σ_i c_i(x) + c_w(x) (+ float rounding),
exactly. Panels: the net and its reconstruction; c_i(x) for every training example i (columns)
at every test input (rows); the contributions to one test output.

Run:  python examples/kernels_path_kernel_adamw.py [out_dir] [--quick]
      (writes kernels_path_kernel_adamw.png)
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from kernelcap.empirics.path_kernel import PathKernelRecorder
from kernelcap.examples import run_example
from kernelcap.runtime import single_cpu_thread


def per_example_loss(out, y):
    return 0.5 * (out - y).square().sum(1)


def main(out_dir=".", quick: bool = False) -> Path:
    n, n_test, steps, batch = (16, 15, 20, 8) if quick else (40, 61, 400, 10)
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(-3, 3, n, dtype=torch.float64)[:, None]
    y = torch.sin(x) + 0.2 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    x_test = torch.linspace(-4, 4, n_test, dtype=torch.float64)[:, None]
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1)
    )
    model = model.double()

    # --- the user's loop; only rec.step differs from a plain one
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    rec = PathKernelRecorder(
        model, optimizer, x_test, loss_fn=per_example_loss, n_train=n, quad_nodes=4
    )
    with single_cpu_thread():  # small tensors: one intra-op thread is faster on a CPU
        for _ in range(steps):
            idx = torch.randperm(n, generator=g)[:batch]
            optimizer.zero_grad()
            per_example_loss(model(x[idx]), y[idx]).mean().backward()
            rec.step(x[idx], y[idx], idx)
            schedule.step()
    km = rec.kernel_machine()

    xt, xs = x_test[:, 0].numpy(), x[:, 0].numpy()
    c = km.contributions[:, :, 0]  # (n_test, n)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.plot(xt, km.f_trained[:, 0], color="C0", lw=2.5, label="trained net $f_T(x)$")
    ax.plot(xt, km.reconstruction[:, 0], "--", color="C1", label=r"$f_0+\sum_i c_i+c_w$")
    ax.plot(xt, km.f0[:, 0], ":", color="gray", label="$f_0(x)$")
    ax.plot(xt, km.weight_decay[:, 0], color="C2", lw=1, label="weight-decay term $c_w(x)$")
    ax.plot(xs, y[:, 0].numpy(), "k.", label="training data")
    ax.set_xlabel("x")
    ax.set_title(f"AdamW run rebuilt: relative error {km.relative_error:.1e}")
    ax.legend(fontsize=7)
    ax = axes[1]
    lim = np.abs(c).max()
    im = ax.imshow(
        c, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, origin="lower",
        extent=[xs[0], xs[-1], xt[0], xt[-1]],
    )  # fmt: skip
    fig.colorbar(im, ax=ax, label="$c_i(x)$")
    ax.set_xlabel("training input $x_i$")
    ax.set_ylabel("test input $x$")
    ax.set_title("per-example contributions $c_i(x)$")
    ax = axes[2]
    k = int(np.argmin(np.abs(xt - 1.0)))
    ax.bar(xs, c[k], width=0.8 * (xs[1] - xs[0]), color="C0", label="$c_i(x)$")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("training input $x_i$")
    ax.set_title(
        f"x = {xt[k]:.2f}: $f_T-f_0$ = {km.f_trained[k, 0] - km.f0[k, 0]:.3f} = "
        f"Σ$c_i$ {c[k].sum():.3f} + $c_w$ {km.weight_decay[k, 0]:.3f}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out_dir) / "kernels_path_kernel_adamw.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(km)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

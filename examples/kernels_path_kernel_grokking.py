"""Figure: per-example contributions on a grokking run (modular addition, AdamW, recorded).

``record_grokking`` trains the grokking MLP on a + b mod 31 with an ordinary torch.optim.AdamW loop
and a PathKernelRecorder, and splits every test logit into f_0 + Σ_i c_i + c_w (training examples,
weight decay). Panels: accuracies; the correct-class margin of the recorded test pairs and its parts
(same-label training pairs, other labels, weight decay); the decay term's share and the
participation ratio of the per-example contributions; each training pair's margin contribution
m_i(x) when the net has memorised and at the end (pairs sorted by label).

Run:  python examples/kernels_path_kernel_grokking.py [out_dir] [--quick]
      (writes kernels_path_kernel_grokking.png; 2000 steps, about 3 minutes on a CPU; --quick
      records a tiny run)
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from kernelcap.empirics.grokking_path_kernel import record_grokking
from kernelcap.examples import run_example


def main(out_dir=".", quick: bool = False) -> Path:
    if quick:
        run = record_grokking(7, embed=8, hidden=16, n_steps=12, n_test=4, n_log=4, every=4)
    else:
        run = record_grokking(progress_bar=True)
    print(run)
    return plot(run, Path(out_dir) / "kernels_path_kernel_grokking.png")


def plot(run, out: Path) -> Path:
    """The figure of a :class:`GrokkingPathKernel`, written to ``out``."""
    s = run.steps
    mem = int(np.argmax(run.train_acc >= 0.99)) if (run.train_acc >= 0.99).any() else len(s) - 1
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    ax = axes[0, 0]
    ax.plot(s, run.train_acc, "--", label="train")
    ax.plot(s, run.test_acc, "-", label="test")
    ax.axvline(s[mem], color="gray", lw=0.8, ls=":")
    ax.set(xscale="log", xlabel="step t", ylabel="accuracy", title="AdamW, a + b mod p")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    other = run.margin_examples - run.margin_same_label
    ax.plot(s, run.margin, "k", lw=2, label="margin $m(x)$ (net)")
    ax.plot(s, run.margin_same_label, label="same-label training pairs")
    ax.plot(s, other, label="other training pairs")
    ax.plot(s, run.margin_decay, label="weight decay $c_w$")
    ax.axvline(s[mem], color="gray", lw=0.8, ls=":")
    ax.set(xscale="log", yscale="symlog", xlabel="step t", title="correct-class margin, test pairs")
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    ax.plot(s, run.decay_share, label=r"$\|c_w\| / (\|\sum_i c_i\| + \|c_w\|)$")
    ax.plot(s, run.participation, label="participation ratio / n")
    ax.plot(s, run.relative_error, ":", label="relative error (ReLU kinks)")
    ax.set(xscale="log", yscale="log", xlabel="step t", title="decay share, concentration")
    ax.legend(fontsize=7)
    order_tr, order_te = (
        np.argsort(run.y_train, kind="stable"),
        np.argsort(run.y_test, kind="stable"),
    )
    for ax, k, name in [(axes[1, 0], mem, "memorised"), (axes[1, 1], -1, "end")]:
        m = run.margin_by_example[k][order_te][:, order_tr]
        lim = np.abs(m).max() or 1.0
        im = ax.imshow(m, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="none")
        fig.colorbar(im, ax=ax)
        ax.set(xlabel="training pair (sorted by label)", ylabel="test pair (sorted by label)")
        ax.set_title(f"$m_i(x)$ at t = {s[k]} ({name}), test acc {run.test_acc[k]:.2f}", fontsize=9)
    ax = axes[1, 2]
    for k in (mem, -1):
        m = run.margin_by_example[k]
        same = run.y_train[None, :] == run.y_test[:, None]
        ax.hist(m[same].ravel(), bins=40, histtype="step", label=f"same label, t={s[k]}")
        ax.hist(m[~same].ravel(), bins=40, histtype="step", ls="--", label=f"other, t={s[k]}")
    ax.set(yscale="log", xlabel="$m_i(x)$", title="per-example margin contributions")
    ax.legend(fontsize=7)
    fig.suptitle(
        f"path kernel of a recorded grokking run: p={run.machine.f0.shape[1]}, "
        f"n_train={len(run.y_train)}, {len(run.y_test)} test pairs, {run.seconds:.0f} s"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

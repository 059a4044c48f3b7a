"""The capacity of a Hopfield network: theory lines over batched simulations.

Three panels, each a prediction from kernelcap.theory.hopfield drawn over measurements from
kernelcap.empirics.hopfield:

  (a) one-step bit-error rate of the Hebbian rule vs load α = P/N (crosstalk, ½ erfc(√(N/2P)));
  (b) overlap of the state reached by asynchronous dynamics vs α (AGS m(α), α_c ≈ 0.138);
  (c) capacity vs N: McEliece N/(4 ln N) and N/(2 ln N), Storkey N/√(2 ln N), pseudo-inverse N,
      with the measured largest P at which all patterns are stable in half of the draws.

Run:  python examples/hopfield_capacity.py [out_dir]   (writes hopfield_capacity.png)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from kernelcap.empirics import hopfield as sim
from kernelcap.plotting import plot_measured, plot_theory, save_figure
from kernelcap.theory import hopfield as theory


def _p50(sizes, n_trials, seed):
    grid_n, grid_p = [], []
    for n in sizes:
        ps = np.unique(
            np.round(np.linspace(0.5, 1.6, 8) * theory.mceliece_capacity(n) * 1.7).astype(int)
        )
        grid_n += [n] * len(ps)
        grid_p += ps.tolist()
    res = sim.one_step_errors(np.array(grid_n), np.array(grid_p), n_trials, seed=seed)
    out = []
    for n in sizes:
        sel = np.array(grid_n) == n
        f, p = res.all_stable[sel], np.array(grid_p)[sel]
        k = int(np.argmax(f < 0.5))
        out.append(
            p[k - 1] + (f[k - 1] - 0.5) * (p[k] - p[k - 1]) / (f[k - 1] - f[k]) if k else np.nan
        )
    return np.array(out)


def main(out_dir: str | Path = ".", quick: bool = False, seed: int = 0) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_cross, trials = (128, 16) if quick else (500, 64)
    n_async, async_trials = (128, 12) if quick else (800, 48)
    sizes = [50, 100, 200] if quick else [64, 128, 256, 512, 1024]

    fig = Figure(figsize=(15, 4.3), layout="constrained")
    ax = fig.subplots(1, 3)
    fig.suptitle("Hopfield capacity: theory (lines) vs simulation (points)", fontsize=11)

    alphas = np.linspace(0.06, 0.5, 12)
    p = np.unique(np.round(alphas * n_cross).astype(int))
    res = sim.one_step_errors(n_cross, p, trials, seed=seed)
    grid = np.linspace(0.06, 0.5, 200)
    plot_theory(
        ax[0], grid, theory.bit_error_probability(n_cross, grid * n_cross), label="½erfc(√(N/2P))"
    )
    plot_theory(
        ax[0],
        p / n_cross,
        theory.bit_error_probability(n_cross, p, method="exact"),
        label=f"exact binomial, N={n_cross}",
        color="C2",
        lw=1.2,
        ls="--",
    )
    plot_measured(
        ax[0], p / n_cross, res.error_rate, res.error_stderr, label=f"simulated, N={n_cross}"
    )
    ax[0].set(
        yscale="log", xlabel="load α = P/N", ylabel="one-step bit-error rate", title="(a) crosstalk"
    )

    loads = np.array([0.02, 0.05, 0.08, 0.1, 0.12, 0.14, 0.16, 0.2, 0.25, 0.3])
    ret = sim.async_retrieval(
        n_async,
        np.round(loads * n_async).astype(int),
        async_trials,
        max_sweeps=12 if quick else 25,
        seed=seed,
    )
    grid = np.linspace(0, 0.3, 400)
    plot_theory(ax[1], grid, theory.ags_overlap(grid), label="AGS m(α), N→∞")
    plot_measured(
        ax[1],
        ret.alpha,
        ret.overlap.mean(1),
        ret.overlap.std(1) / np.sqrt(ret.overlap.shape[1]),
        label=f"asynchronous, N={n_async}",
    )
    ax[1].axvline(theory.ags_critical_load(), color="0.5", ls=":", lw=1)
    ax[1].set(xlabel="load α = P/N", ylabel="final overlap m", title="(b) retrieval (AGS)")

    nn = np.geomspace(50, 2000, 100)
    plot_theory(ax[2], nn, theory.pseudo_inverse_capacity(nn), label="pseudo-inverse N", color="C2")
    plot_theory(ax[2], nn, theory.storkey_capacity(nn), label="Storkey N/√(2 ln N)", color="C4")
    plot_theory(
        ax[2], nn, theory.ags_critical_load() * nn, label="AGS 0.138 N", color="C1", ls="--"
    )
    plot_theory(
        ax[2],
        nn,
        theory.mceliece_capacity(nn, all_patterns=False),
        label="N/(2 ln N)",
        color="C5",
        lw=1.2,
    )
    plot_theory(ax[2], nn, theory.mceliece_capacity(nn), label="McEliece N/(4 ln N)")
    finite = []
    for n in nn.round():
        ps = np.arange(1, int(n) // 4)
        finite.append(ps[np.argmax(theory.all_stable_probability(n, ps) < 0.5)])
    plot_theory(
        ax[2], nn.round(), finite, label="finite N: e^{−NP·P_err} = ½", color="C0", lw=1, ls=":"
    )
    plot_measured(
        ax[2], sizes, _p50(sizes, 24 if quick else 128, seed), label="Hebbian, all P stable (50%)"
    )
    ax[2].set(
        xscale="log", yscale="log", xlabel="N", ylabel="capacity P_max", title="(c) capacity vs N"
    )
    for a in ax:
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    path = out_dir / "hopfield_capacity.png"
    save_figure(fig, path)
    return path


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))

"""The capacity of a Hopfield network: theory lines over batched simulations.

Three panels, each a prediction from kernelcap.theory.hopfield drawn over measurements from
kernelcap.empirics.hopfield:

  (a) one-step bit-error rate of the Hebbian rule vs load α = P/N (crosstalk, ½ erfc(√(N/2P)));
  (b) overlap of the state reached by asynchronous dynamics vs α (AGS m(α), α_c ≈ 0.138);
  (c) capacity vs N: McEliece N/(4 ln N) and N/(2 ln N), Storkey N/√(2 ln N), pseudo-inverse N,
      with the measured largest P at which all patterns are stable in half of the draws.

Run:  python examples/hopfield_capacity.py [out_dir] [--quick]   (writes hopfield_capacity.png)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from kernelcap import compare
from kernelcap.claims.hopfield import AGS_OVERLAP, CROSSTALK, MCELIECE
from kernelcap.empirics import hopfield as sim
from kernelcap.examples import run_example
from kernelcap.plotting import plot_measured, plot_theory, save_figure
from kernelcap.theory import hopfield as theory


def _p50(cfg, seed):
    """P_50 per N on the hopfield.mceliece grid: where all patterns are stable in half the draws."""
    grid_n, grid_p = cfg.grid()
    res = sim.one_step_errors(grid_n, grid_p, cfg.n_trials, seed=seed)
    out = []
    for n in cfg.sizes:
        sel = grid_n == n
        out.append(compare.crossing(grid_p[sel], res.all_stable[sel], 0.5).value)
    return np.array(out)


def main(out_dir: str | Path = ".", quick: bool = False, seed: int = 0) -> Path:
    """The three panels with the setups of the hopfield.crosstalk, hopfield.ags-overlap (its
    largest N) and hopfield.mceliece claims at quick scale (smoke scale with ``quick=True``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scale = "smoke" if quick else "quick"
    cross, ags, mce = CROSSTALK.config(scale), AGS_OVERLAP.config(scale), MCELIECE.config(scale)
    n_cross, n_async = cross.n_neurons, ags.sizes[-1]

    fig = Figure(figsize=(15, 4.3), layout="constrained")
    ax = fig.subplots(1, 3)
    fig.suptitle("Hopfield capacity: theory (lines) vs simulation (points)", fontsize=11)

    p = cross.n_patterns
    res = sim.one_step_errors(n_cross, p, cross.n_trials, seed=seed)
    grid = np.linspace(p.min(), p.max(), 200) / n_cross
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

    loads = np.array(ags.low_alphas + ags.high_alphas)
    ret = sim.async_retrieval(
        n_async,
        np.round(loads * n_async).astype(int),
        ags.n_trials,
        max_sweeps=ags.max_sweeps,
        seed=seed,
    )
    grid = np.linspace(0, loads.max(), 400)
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
    finite_n = np.unique(nn.round())
    plot_theory(
        ax[2],
        finite_n,
        theory.all_stable_capacity(finite_n),
        label="finite N: e^{−NP·P_err} = ½",
        color="C0",
        lw=1,
        ls=":",
    )
    plot_measured(ax[2], mce.sizes, _p50(mce, seed), label="Hebbian, all P stable (50%)")
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
    run_example(main, __doc__)

"""The classic double-descent curve of min-norm least squares: exact theory line + Monte Carlo.

Run: python examples/double_descent_min_norm.py [out_dir] [--quick]
     (writes double_descent_min_norm.png)
"""

from pathlib import Path

import numpy as np

from kernelcap.empirics.double_descent import min_norm_risk_curve
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, plot_measured, plot_theory, save_figure
from kernelcap.theory.double_descent import min_norm_risk_finite, ridgeless_risk


def main(out_dir=".", quick=False):
    n, r2, sigma2 = (40, 1.0, 0.5) if quick else (100, 1.0, 0.5)
    trials = 100 if quick else 2000
    ps = np.array(
        [
            p
            for p in np.unique(
                np.round(np.geomspace(2, (4 if quick else 6) * n, 16 if quick else 24)).astype(int)
            )
            if abs(p - n) >= 3
        ]
    )
    curve = min_norm_risk_curve(n, ps, r2=r2, sigma2=sigma2, trials=trials, seed=0)
    fig, ax = claim_figure(
        "double descent of min-norm least squares",
        f"Gaussian design, n = {n}, r² = {r2}, σ² = {sigma2}",
    )
    fine = np.arange(1, 6 * n + 1)
    exact = min_norm_risk_finite(n, fine, r2, sigma2)
    g = np.concatenate([np.linspace(0.01, 0.98, 200), np.linspace(1.02, 6, 300)])
    asym = ridgeless_risk(g, r2, sigma2)
    for k, part in enumerate((fine < n - 1, fine > n + 1)):
        plot_theory(ax, fine[part] / n, exact[part], label=None if k else f"exact, n = {n}")
    for k, part in enumerate((g < 1, g > 1)):
        plot_theory(
            ax,
            g[part],
            asym[part],
            color="0.4",
            ls="--",
            lw=1.2,
            label=None if k else "n → ∞ (HMRT)",
        )
    plot_measured(ax, ps / n, curve.risk, curve.se, label=f"Monte Carlo ({trials} designs)")
    ax.axhline(r2, color="C2", lw=1, ls=":", label="null risk r² (β̂ = 0)")
    ax.set(
        xscale="log",
        yscale="log",
        ylim=(0.01, 30),
        xlabel="γ = p/n",
        ylabel="excess risk E‖β̂ − β‖²",
    )
    ax.legend(fontsize=7)
    out = Path(out_dir) / "double_descent_min_norm.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

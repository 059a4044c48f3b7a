"""Ridge regularisation tames the peak: risk curves for a family of λ, and λ* = σ²γ/r² removes it.

Run: python examples/double_descent_ridge_family.py [out_dir] [--quick]
     (writes double_descent_ridge_family.png)
"""

from pathlib import Path

import numpy as np

from kernelcap.empirics.double_descent import ridge_risk_curve
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, plot_measured, plot_theory, save_figure
from kernelcap.theory.double_descent import optimal_ridge, ridge_risk, ridgeless_risk


def main(out_dir=".", quick=False):
    n, r2, sigma2 = (60, 1.0, 0.5) if quick else (200, 1.0, 0.5)
    trials = 60 if quick else 500
    gam = np.linspace(0.1, 3.0, 59)
    fig, ax = claim_figure(
        "ridge family (isotropic Gaussian design)",
        f"per-sample scaling (XᵀX/n + λI)⁻¹Xᵀy/n; r² = {r2}, σ² = {sigma2}",
    )
    plot_theory(
        ax, gam[gam < 1], ridgeless_risk(gam[gam < 1], r2, sigma2), color="0.3", lw=1, label="λ → 0"
    )
    plot_theory(
        ax, gam[gam > 1], ridgeless_risk(gam[gam > 1], r2, sigma2), color="0.3", lw=1, label=None
    )
    ps = np.round(np.array([0.2, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0]) * n).astype(int)
    for k, (lam, col) in enumerate(((0.01, "C1"), (0.1, "C2"), (1.0, "C4"))):
        plot_theory(
            ax, gam, ridge_risk(gam, lam, r2, sigma2), color=col, lw=1.2, label=f"λ = {lam:g}"
        )
        c = ridge_risk_curve(n, ps, lam, r2=r2, sigma2=sigma2, trials=trials, seed=k)
        plot_measured(ax, ps / n, c.risk, c.se, color=col, label=None)
    lam_star, r_star = optimal_ridge(gam, r2, sigma2)
    plot_theory(ax, gam, r_star, label="λ* = σ²γ/r²")
    c = ridge_risk_curve(
        n, ps, optimal_ridge(ps / n, r2, sigma2)[0], r2=r2, sigma2=sigma2, trials=trials, seed=9
    )
    plot_measured(ax, ps / n, c.risk, c.se, label=f"measured (n = {n})")
    ax.set(ylim=(0, 3), xlabel="γ = p/n", ylabel="excess risk E‖β̂ − β‖²")
    ax.legend(fontsize=7)
    out = Path(out_dir) / "double_descent_ridge_family.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

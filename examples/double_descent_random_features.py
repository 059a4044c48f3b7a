"""Random ReLU and Fourier features: the Mei–Montanari curve peaks at N = n features.

Run: python examples/double_descent_random_features.py [out_dir] [--quick]
(writes double_descent_random_features.png)
"""

from pathlib import Path

import numpy as np

from kernelcap.empirics.double_descent import random_features_risk_curve
from kernelcap.examples import run_example
from kernelcap.plotting import claim_figure, plot_measured, plot_theory, save_figure
from kernelcap.theory.double_descent import hermite_coefficients, random_features_risk

ACTIVATIONS = {
    "relu": lambda u: np.maximum(u, 0) - 1 / np.sqrt(2 * np.pi),
    "fourier": lambda u: np.sqrt(2) * np.sin(u),
}


def main(out_dir=".", quick=False):
    d, n, lam, tau2 = (20, 60, 1e-3, 0.25) if quick else (100, 300, 1e-3, 0.25)
    trials = 8 if quick else 40
    ns = np.unique(
        np.round(np.geomspace(0.1, 4 if quick else 8, 12 if quick else 24) * n).astype(int)
    )
    fig, axes = claim_figure(
        "random-features regression", f"d = {d}, n = {n}, λ = {lam:g}, τ² = {tau2}", ncols=2
    )
    fine = np.geomspace(ns.min(), ns.max(), 200)
    for ax, (name, act) in zip(axes, ACTIVATIONS.items()):
        _, mu1, mus = hermite_coefficients(act)
        theory = random_features_risk(fine / d, n / d, lam, 1.0, tau2, mu1=mu1, mu_star=mus)
        c = random_features_risk_curve(
            n,
            d,
            ns,
            lam=lam,
            tau2=tau2,
            features=name,
            trials=trials,
            n_test=300 if quick else 2000,
            seed=0,
        )
        plot_theory(ax, fine / n, theory, label=f"Mei–Montanari, ζ = μ1/μ* = {mu1 / mus:.2f}")
        plot_measured(ax, ns / n, c.risk, c.se)
        ax.axvline(1, color="0.6", ls=":")
        ax.set(xscale="log", title=f"{name} features", xlabel="N/n", ylabel="test risk E(f − f̂)²")
        ax.legend(fontsize=7)
    out = Path(out_dir) / "double_descent_random_features.png"
    save_figure(fig, out)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

"""What the kernels.* width-scaling claims share: inputs on the sphere with a smooth target,
full-batch GD in the convention of :func:`kernelcap.theory.kernels.linearized_prediction`, and
per-width statistics, log-log slopes and fitted lines (used by :mod:`kernelcap.claims.kernels`,
which re-exports :func:`sphere_data` and :func:`train_gd`, and by ``._kernels_path``).
"""

from __future__ import annotations

import numpy as np
import torch

from kernelcap import compare
from kernelcap.claim import Points


def sphere_data(n: int, d: int, seed: int, device="cpu", dtype=torch.float64):
    """n inputs on the sphere of radius √d (so x·x/d = 1) and the smooth target sin x₁ + x₂/2."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype)
    x = x / x.norm(dim=1, keepdim=True) * d**0.5
    x = x.to(device)
    return x, torch.sin(x[:, 0]) + 0.5 * x[:, 1]


def train_gd(model, x, y, lr: float, steps: int):
    """Full-batch GD on L = (1/2n) Σ (f(x_i) − y_i)² (the convention of linearized_prediction)."""
    params = [p for p in model.parameters() if p.requires_grad]
    for _ in range(steps):
        loss = 0.5 * ((model(x).reshape(-1) - y) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    return model


def by_width(widths, values) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over seeds of a (widths × seeds) table."""
    v = np.asarray(values, float)
    return v.mean(1), v.std(1, ddof=1) / np.sqrt(v.shape[1])


def slope_series(widths, mean, stderr) -> Points:
    est = compare.loglog_slope(widths, mean, stderr)
    span = f"{int(widths[0])}–{int(widths[-1])}"
    return Points({"widths": span}, est.value, est.stderr, label="log-log slope")


def fit_line(ax, widths, mean, exponent: float, label: str, **style) -> None:
    """c·n^exponent through the geometric mean of the points: a fit, drawn as one."""
    x, y = np.asarray(widths, float), np.asarray(mean, float)
    c = np.exp(np.mean(np.log(y) - exponent * np.log(x)))
    ax.plot(x, c * x**exponent, "--", label=label, **style)


def log_axes(ax) -> None:
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8)


def bracket(slope: Points, n_seeds: int, floor: float = 0.15) -> list:
    """Slope between the tight asymptote −1 (Dyer & Gur-Ari 2019) and the bound −1/2 (Lee et al)."""
    s, se = float(slope.measured[0]), float(slope.stderr[0])
    band = max(floor, 4 * se)
    why = f"4 standard errors of the fitted slope from {n_seeds} seeds per width (floor {floor})"
    return [
        compare.at_most(
            "slope − (−1/2)", s + 0.5, band, reason=f"Lee et al.'s O(n^-1/2) bound; {why}"
        ),
        compare.at_least(
            "slope − (−1)", s + 1.0, -band, reason=f"Dyer & Gur-Ari's O(1/n) asymptote; {why}"
        ),
    ]

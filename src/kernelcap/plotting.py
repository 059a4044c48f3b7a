"""One figure style for every claim: theory as a line, measurements as points with error bars.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state, no GUI backend),
so claims can run in threads or worker processes and tests never open windows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

THEORY_STYLE = dict(color="C0", lw=2.0, zorder=2)
MEASURED_STYLE = dict(color="C3", fmt="o", ms=4.5, capsize=2.5, elinewidth=1.0, zorder=3)


def claim_figure(
    claim_id: str,
    subtitle: str = "",
    *,
    ncols: int = 1,
    nrows: int = 1,
    size: tuple[float, float] = (5.2, 3.9),
):
    """A new ``Figure`` titled with the claim id and its axes (an array when more than one)."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    title = claim_id if not subtitle else f"{claim_id}\n{subtitle}"
    fig.suptitle(title, fontsize=10)
    for ax in np.atleast_1d(axes).ravel():
        ax.grid(alpha=0.3)
    return fig, axes


def plot_theory(ax, x: Sequence[float], y: Sequence[float], label: str = "theory", **style):
    """Draw a theory curve as a line."""
    kw = {**THEORY_STYLE, **style}
    return ax.plot(np.asarray(x, float), np.asarray(y, float), label=label, **kw)


def plot_measured(
    ax,
    x: Sequence[float],
    y: Sequence[float],
    yerr: Sequence[float] | None = None,
    label: str = "measured",
    **style,
):
    """Draw measurements as points with error bars (``yerr``: ± spread, NaN drawn as none)."""
    kw = {**MEASURED_STYLE, **style}
    err = None
    if yerr is not None:
        err = np.nan_to_num(np.asarray(yerr, float), nan=0.0)
    return ax.errorbar(np.asarray(x, float), np.asarray(y, float), yerr=err, label=label, **kw)


def save_figure(fig: Figure, path) -> None:
    """Write ``fig`` as PNG (150 dpi)."""
    fig.savefig(path, dpi=150)

"""hopfield.* claims: Hebbian crosstalk and McEliece capacity (this module); AGS retrieval
(:mod:`._hopfield_ags`), dense memories (:mod:`._hopfield_dense`), Cover's separability and modern
memories (:mod:`._hopfield_cover_modern`).

Simulations from :mod:`kernelcap.empirics.hopfield`, predictions from
:mod:`kernelcap.theory.hopfield`; ``CLAIMS`` lists all six.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernelcap import compare
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.claims._hopfield_ags import AGS_OVERLAP
from kernelcap.claims._hopfield_cover_modern import COVER, MODERN
from kernelcap.claims._hopfield_dense import DENSE, binomial_floor
from kernelcap.empirics.hopfield import one_step_errors
from kernelcap.theory import hopfield as theory

__all__ = ["AGS_OVERLAP", "CLAIMS", "COVER", "CROSSTALK", "DENSE", "MCELIECE", "MODERN"]


# ------------------------------------------------------------------------------ crosstalk


@dataclass(frozen=True)
class CrosstalkConfig:
    n_neurons: int
    alphas: tuple[float, ...]
    n_trials: int

    @property
    def n_patterns(self) -> np.ndarray:
        """P = round(α N) (at least 1, duplicates dropped)."""
        p = np.round(np.asarray(self.alphas) * self.n_neurons).astype(int)
        return np.unique(np.maximum(1, p))


def measure_crosstalk(cfg: CrosstalkConfig, rt) -> Measurement:
    p = cfg.n_patterns
    res = one_step_errors(
        cfg.n_neurons, p, cfg.n_trials, device=rt.torch_device, generator=rt.generator(0)
    )
    grid = {"n_neurons": cfg.n_neurons, "n_patterns": p, "alpha": p / cfg.n_neurons}
    return Measurement(Points(grid, res.error_rate, res.error_stderr, label="bit-error rate"))


def predict_crosstalk(cfg: CrosstalkConfig, m: Measurement) -> dict:
    p = m.main.grid["n_patterns"]
    return {"main": theory.bit_error_probability(cfg.n_neurons, p, method="exact")}


def _crosstalk_z(cfg: CrosstalkConfig, m: Measurement, predicted) -> np.ndarray:
    p, pred = m.main, predicted["main"]
    se = binomial_floor(p.stderr, pred, cfg.n_neurons * p.grid["n_patterns"] * cfg.n_trials)
    return compare.z_values(p.measured, pred, se)


def compare_crosstalk(cfg: CrosstalkConfig, m: Measurement, predicted) -> list:
    return [
        compare.at_most(
            "max |z| vs exact binomial tail",
            float(np.max(_crosstalk_z(cfg, m, predicted))),
            4.0,
            reason="4 Monte-Carlo standard errors (across-trial, floored by the binomial error "
            "of N·P·trials independent bits at the predicted rate)",
        )
    ]


def curve_crosstalk(cfg: CrosstalkConfig, m: Measurement) -> dict:
    p = m.main.grid["n_patterns"]
    n = cfg.n_neurons
    fine = np.linspace(p.min(), p.max(), 200)
    ints = np.arange(p.min(), p.max() + 1)
    exact = theory.bit_error_probability(n, ints, method="exact")
    return {
        "½erfc(√(N/2P))": (fine / n, theory.bit_error_probability(n, fine)),
        f"exact binomial, N={n}": (ints / n, exact),
    }


def summarize_crosstalk(cfg: CrosstalkConfig, m: Measurement, predicted) -> str:
    p, pred, n = m.main, predicted["main"], cfg.n_neurons
    asym = theory.bit_error_probability(n, p.grid["n_patterns"][-1])
    return (
        f"N={n}: max |z|={np.max(_crosstalk_z(cfg, m, predicted)):.2f} over {len(p)} loads; at "
        f"α={p.grid['alpha'][-1]:.2f} measured {p.measured[-1]:.4f} vs exact {pred[-1]:.4f} "
        f"(asymptotic {asym:.4f})"
    )


CROSSTALK = Claim(
    "hopfield.crosstalk",
    statement="Started at a stored pattern, one synchronous Hebbian update flips a fraction "
    "½·erfc(√(N/2P)) of the bits (exactly: the binomial crosstalk tail at finite N).",
    source="Hopfield (1982); Amit, Gutfreund & Sompolinsky (1985); Hertz, Krogh & Palmer (1991) "
    "§2.2",
    configs=Scales(
        smoke=CrosstalkConfig(100, (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5), 16),
        quick=CrosstalkConfig(
            256, (0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5), 48
        ),
        paper=CrosstalkConfig(2000, tuple(0.02 * k for k in range(1, 26)), 64),
    ),
    measure=measure_crosstalk,
    predict=predict_crosstalk,
    compare=compare_crosstalk,
    curve=curve_crosstalk,
    summarize=summarize_crosstalk,
    x="alpha",
    xlabel="load α = P/N",
    ylabel="bit-error rate P_err",
    yscale="log",
)


# ------------------------------------------------------------------------------ McEliece


@dataclass(frozen=True)
class McElieceConfig:
    """For each N in ``sizes``, loads P = ``rel_grid`` × the predicted finite-N P_50 (the design is
    centred on the prediction so that the 50% crossing falls inside the grid)."""

    sizes: tuple[int, ...]
    n_trials: int
    rel_grid: tuple[float, ...]

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, P) of every simulated point, N-major, P ascending."""
        grid_n, grid_p = [], []
        for n, p50 in zip(self.sizes, np.atleast_1d(theory.all_stable_capacity(self.sizes))):
            ps = np.unique(np.maximum(1, np.round(np.asarray(self.rel_grid) * p50).astype(int)))
            grid_n += [int(n)] * len(ps)
            grid_p += ps.tolist()
        return np.array(grid_n), np.array(grid_p)


def measure_mceliece(cfg: McElieceConfig, rt) -> Measurement:
    grid_n, grid_p = cfg.grid()
    res = one_step_errors(
        grid_n, grid_p, cfg.n_trials, device=rt.torch_device, generator=rt.generator(0)
    )
    p50, p50_se = [], []
    for n in cfg.sizes:
        sel = grid_n == n
        cross = compare.crossing(grid_p[sel], res.all_stable[sel], 0.5, n_trials=cfg.n_trials)
        p50.append(cross.value)
        p50_se.append(cross.stderr + 0.5)  # + ½: interpolation on a coarser integer grid
    sizes = np.array(cfg.sizes)
    return Measurement(
        {
            "p50": Points({"n_neurons": sizes}, p50, p50_se, label="P_50: all stable in 50%"),
            "all_stable": Points(
                {"N": grid_n, "P": grid_p, "alpha": grid_p / grid_n},
                res.all_stable,
                res.all_stable_stderr,
                label="P(all patterns stable)",
            ),
        }
    )


def predict_mceliece(cfg: McElieceConfig, m: Measurement) -> dict:
    grid = m["all_stable"].grid
    return {
        "p50": theory.all_stable_capacity(m["p50"].grid["n_neurons"]),
        "all_stable": theory.all_stable_probability(grid["N"], grid["P"]),
    }


def _mceliece_ratio(m: Measurement) -> np.ndarray:
    p = m["p50"]
    return p.measured / theory.mceliece_capacity(p.grid["n_neurons"])


def compare_mceliece(cfg: McElieceConfig, m: Measurement, predicted) -> list:
    p, ratio = m["p50"], _mceliece_ratio(m)
    return [
        compare.max_abs_z(
            p.measured,
            predicted["p50"],
            p.stderr,
            bound=3.0,
            name="max |P_50 − finite-N prediction| / se",
            reason="3 standard errors of P_50 (delta-method binomial error of the 50% crossing, "
            "+ ½ for interpolating on the coarser integer grid)",
        ),
        compare.at_most(
            "P_50/(N/4lnN) at largest N − at smallest N",
            float(ratio[-1] - ratio[0]),
            0.0,
            reason="McEliece is the N→∞ limit: the excess ratio must shrink as N grows",
        ),
    ]


def curve_mceliece(cfg: McElieceConfig, m: Measurement) -> dict:
    sizes = np.asarray(cfg.sizes, float)
    fine = np.geomspace(sizes.min() * 0.8, sizes.max() * 1.25, 100)
    ints = np.unique(np.round(np.geomspace(sizes.min() * 0.8, sizes.max() * 1.25, 40)))
    return {
        "finite N: e^{−NP·P_err}=½": (ints, theory.all_stable_capacity(ints)),
        "N/(4 ln N), N→∞": (fine, theory.mceliece_capacity(fine)),
    }


def decorate_mceliece(fig, axes, cfg: McElieceConfig, m: Measurement, predicted) -> None:
    from kernelcap.plotting import plot_measured, plot_theory

    st = m["all_stable"]
    for k, n in enumerate(cfg.sizes):
        sel = st.grid["N"] == n
        a = st.grid["alpha"][sel]
        plot_theory(axes[1], a, predicted["all_stable"][sel], label=None, color=f"C{k}", lw=1)
        plot_measured(
            axes[1], a, st.measured[sel], st.stderr[sel], label=f"N={n}", color=f"C{k}", ms=3
        )
    axes[1].set(xlabel="α = P/N", ylabel="P(all patterns stable)")
    axes[1].legend(fontsize=7, title="lines: Poisson e^{−NP·P_err}", title_fontsize=7)


def summarize_mceliece(cfg: McElieceConfig, m: Measurement, predicted) -> str:
    p, pred, ratio = m["p50"], predicted["p50"], _mceliece_ratio(m)
    st = m["all_stable"]
    z = compare.z_values(st.measured, predicted["all_stable"], st.stderr)
    return (
        "P_50 measured "
        + ", ".join(f"{v:.1f}" for v in p.measured)
        + " vs finite-N "
        + ", ".join(f"{v:.1f}" for v in pred)
        + f" for N={list(cfg.sizes)}; ratio to N/(4 ln N) {ratio[0]:.2f} → {ratio[-1]:.2f}; "
        f"P(all stable) vs Poisson max |z| {np.nanmax(z):.1f} (not checked: errors cluster on a "
        "few patterns away from P_50)"
    )


MCELIECE = Claim(
    "hopfield.mceliece",
    statement="The largest number of patterns that are all one-step stable (in half of the draws) "
    "follows the finite-N McEliece law exp(−NP·P_err) = ½ and approaches N/(4 ln N) from above.",
    source="McEliece, Posner, Rodemich & Venkatesh, IEEE Trans. Inf. Theory 33, 461 (1987)",
    configs=Scales(
        smoke=McElieceConfig((50, 100, 200), 48, (0.6, 0.8, 1.0, 1.2, 1.4, 1.7)),
        quick=McElieceConfig(
            (64, 128, 256, 512), 96, (0.5, 0.65, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.7)
        ),
        paper=McElieceConfig(
            (128, 256, 512, 1024, 2048, 4096), 512, tuple(0.5 + 0.1 * k for k in range(13))
        ),
    ),
    measure=measure_mceliece,
    predict=predict_mceliece,
    compare=compare_mceliece,
    curve=curve_mceliece,
    decorate=decorate_mceliece,
    summarize=summarize_mceliece,
    panels=2,
    x="n_neurons",
    xlabel="N",
    ylabel="capacity P_50",
    xscale="log",
    yscale="log",
)

CLAIMS = (AGS_OVERLAP, COVER, CROSSTALK, DENSE, MCELIECE, MODERN)

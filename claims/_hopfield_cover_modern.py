"""hopfield.cover and hopfield.modern: perceptron separability (Cover 1965) and one-step
retrieval of modern softmax memories (Ramsauer et al. 2021).

Registered through :mod:`kernelcap.claims.hopfield`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kernelcap import compare
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.empirics.hopfield import modern_one_step_retrieval, separable_fraction
from kernelcap.theory import hopfield as theory

# ------------------------------------------------------------------------------ Cover


@dataclass(frozen=True)
class CoverConfig:
    n_inputs: int
    alphas: tuple[float, ...]
    n_trials: int

    @property
    def n_patterns(self) -> np.ndarray:
        return np.unique(np.round(np.asarray(self.alphas) * self.n_inputs).astype(int))


def measure_cover(cfg: CoverConfig, rt) -> Measurement:
    n, p, t = cfg.n_inputs, cfg.n_patterns, cfg.n_trials
    res = separable_fraction(
        n, p, t, device=rt.torch_device, generator=rt.generator(0), progress=rt.progress
    )
    f = res.fraction
    grid = {"n_inputs": n, "n_patterns": p, "alpha": p / n}
    return Measurement(Points(grid, f, np.sqrt(f * (1 - f) / t), label="fraction separable"))


def predict_cover(cfg: CoverConfig, m: Measurement) -> dict:
    return {"main": theory.separable_probability(m.main.grid["n_patterns"], cfg.n_inputs)}


def _cover_null_se(cfg: CoverConfig, predicted) -> np.ndarray:
    """Binomial standard error under the prediction q, √(max(q(1−q), ¼/T)/T): at q = 0 or 1 a
    single miss must still count as at most a 2-standard-error event."""
    q, t = predicted["main"], cfg.n_trials
    return np.sqrt(np.maximum(q * (1 - q), 0.25 / t) / t)


def compare_cover(cfg: CoverConfig, m: Measurement, predicted) -> list:
    p, se = m.main, _cover_null_se(cfg, predicted)
    checks = [
        compare.max_abs_z(
            p.measured,
            predicted["main"],
            se,
            bound=4.0,
            name="max |z| vs C(P,N)/2^P",
            reason="4 binomial standard errors of the separable fraction (under the prediction)",
        )
    ]
    at2 = np.nonzero(p.grid["n_patterns"] == 2 * cfg.n_inputs)[0]
    if at2.size:
        k = int(at2[0])
        checks.append(
            compare.z_score(
                "|fraction(P=2N) − ½| / se",
                compare.Estimate(p.measured[k], se[k]),
                0.5,
                bound=4.0,
                reason="4 binomial standard errors; Cover gives exactly ½ at P = 2N",
            )
        )
    return checks


def curve_cover(cfg: CoverConfig, m: Measurement) -> dict:
    n = cfg.n_inputs
    ints = np.arange(n, int(m.main.grid["n_patterns"].max()) + 1)
    return {"C(P,N)/2^P": (ints / n, theory.separable_probability(ints, n))}


def summarize_cover(cfg: CoverConfig, m: Measurement, predicted) -> str:
    p, n = m.main, cfg.n_inputs
    z = compare.z_values(p.measured, predicted["main"], _cover_null_se(cfg, predicted))
    at2 = np.nonzero(p.grid["n_patterns"] == 2 * n)[0]
    half = f"{p.measured[at2[0]]:.3f} (theory 0.5)" if at2.size else "not on grid"
    return f"N={n}: max |z|={z.max():.2f}; fraction at P=2N {half}"


COVER = Claim(
    "hopfield.cover",
    statement="The fraction of random dichotomies of P points in R^N that a perceptron separates "
    "is C(P,N)/2^P, with the transition (exactly ½) at P = 2N.",
    source="Cover, IEEE Trans. Electron. Comput. EC-14, 326 (1965)",
    configs=Scales(
        smoke=CoverConfig(8, (1.0, 1.5, 2.0, 2.5, 3.0), 80),
        quick=CoverConfig(16, (1.0, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0), 150),
        paper=CoverConfig(100, tuple(0.1 * k for k in range(10, 41)), 1000),
    ),
    measure=measure_cover,
    predict=predict_cover,
    compare=compare_cover,
    curve=curve_cover,
    summarize=summarize_cover,
    decorate=lambda fig, ax, cfg, m, pred: ax.axvline(2.0, color="0.5", ls=":", lw=1),
    x="alpha",
    xlabel="α = P/N",
    ylabel="fraction linearly separable",
)


# ------------------------------------------------------------------------------ modern


@dataclass(frozen=True)
class ModernConfig:
    dim: int
    load_factors: tuple[int, ...]
    n_trials: int
    beta: float
    distance: float
    n_probes: int


def _median_stderr(x: np.ndarray) -> np.ndarray:
    """Distribution-free standard error of the median of each row: half the spread between the
    quantiles ½ ± 1/(2√n) (the median's rank has binomial standard deviation √n/2)."""
    h = 0.5 / math.sqrt(x.shape[1])
    return (np.quantile(x, 0.5 + h, axis=1) - np.quantile(x, 0.5 - h, axis=1)) / 2


def measure_modern(cfg: ModernConfig, rt) -> Measurement:
    p = np.asarray(cfg.load_factors) * cfg.dim
    res = modern_one_step_retrieval(
        cfg.dim,
        p,
        cfg.n_trials,
        beta=cfg.beta,
        distance=cfg.distance,
        n_probes=cfg.n_probes,
        device=rt.torch_device,
        generator=rt.generator(0),
    )
    err = res.error.reshape(len(p), -1)
    exact = res.exact.reshape(len(p), -1).mean(1)
    count = err.shape[1]
    return Measurement(
        {
            "error": Points(
                {"n_patterns": p, "load": p / cfg.dim},
                np.median(err, 1),
                _median_stderr(err),
                label="median ‖ξ_new − x_i‖",
            ),
            "exact": Points(
                {"n_patterns": p},
                exact,
                np.sqrt(exact * (1 - exact) / count),
                label="exact retrieval fraction",
            ),
        },
        run=res,
    )


def _bounds(cfg: ModernConfig, m: Measurement) -> np.ndarray:
    """(L, T, Q) Ramsauer et al.'s bound for each query, at its pattern's measured separation."""
    p = m["error"].grid["n_patterns"]
    sep = m.run.separation
    return np.asarray(
        theory.modern_retrieval_error_bound(
            p[:, None, None], cfg.beta, sep, math.sqrt(cfg.dim), cfg.distance
        )
    ).reshape(len(p), -1)


def predict_modern(cfg: ModernConfig, m: Measurement) -> dict:
    """The bound per query (median over queries) and the fraction of queries it guarantees
    (bound < 1 on ±1 coordinates forces every sign): both are upper/lower bounds, not equalities."""
    b = _bounds(cfg, m)
    return {"error": np.median(b, 1), "exact": (b < 1).mean(1)}


def compare_modern(cfg: ModernConfig, m: Measurement, predicted) -> list:
    err = m.run.error.reshape(len(cfg.load_factors), -1)
    violations = int((err > _bounds(cfg, m) * (1 + 1e-9)).sum())
    exact, guaranteed = m["exact"].measured, predicted["exact"]
    top, count = int(m["exact"].grid["n_patterns"][-1]), err.shape[1]
    return [
        compare.at_most(
            "queries whose error exceeds the bound",
            violations,
            0,
            reason="the bound is a theorem: no query may exceed it (1e-9 relative float slack)",
        ),
        compare.at_least(
            f"exact retrieval fraction at P={top}={top // cfg.dim}N minus guaranteed fraction",
            float(exact[-1] - guaranteed[-1]),
            0.0,
            reason="a bound below 1 forces every sign to be right, so measured ≥ guaranteed",
        ),
        compare.at_least(
            f"exact retrieval fraction at P={top // cfg.dim}N",
            float(exact[-1]),
            1 - 3 / count,
            reason=f"at most 3 of {count} queries may fail (Hebbian memory retrieves nothing at "
            "α ≫ 0.14)",
        ),
    ]


def curve_modern(cfg: ModernConfig, m: Measurement) -> dict:
    b = _bounds(cfg, m)
    return {"bound 2M(P−1)e^{−β(Δ−2dM)} (median)": (m["error"].grid["load"], np.median(b, 1))}


def decorate_modern(fig, axes, cfg: ModernConfig, m: Measurement, predicted) -> None:
    from kernelcap.plotting import plot_measured, plot_theory

    load = m["error"].grid["load"]
    q90 = np.quantile(m.run.error.reshape(len(load), -1), 0.9, axis=1)
    axes[0].plot(load, q90, "v", color="0.5", ms=4, label="measured 90% quantile")
    axes[0].legend(fontsize=7)
    ex = m["exact"]
    plot_theory(axes[1], load, predicted["exact"], label="guaranteed by the bound (bound < 1)")
    plot_measured(axes[1], load, ex.measured, ex.stderr, label="measured exact retrieval")
    axes[1].set(xscale="log", xlabel="load P/N", ylabel="fraction of queries", ylim=(-0.05, 1.05))
    axes[1].legend(fontsize=7)


def summarize_modern(cfg: ModernConfig, m: Measurement, predicted) -> str:
    top = int(m["exact"].grid["n_patterns"][-1])
    err = m.run.error.reshape(len(cfg.load_factors), -1)
    violations = int((err > _bounds(cfg, m) * (1 + 1e-9)).sum())
    return (
        f"N={cfg.dim}: exact one-step retrieval {m['exact'].measured[-1]:.3f} at P={top} "
        f"({top // cfg.dim}N); bound violations {violations}; guaranteed by bound "
        f"{predicted['exact'][-1]:.3f}"
    )


MODERN = Claim(
    "hopfield.modern",
    statement="One softmax update ξ ← X softmax(βXᵀξ) retrieves stored ±1 patterns from perturbed "
    "queries for P up to 32N, with error below the bound 2M(P−1)exp(−β(Δ_i − 2dM)).",
    source="Ramsauer et al., Hopfield Networks is All You Need, ICLR 2021 (arXiv:2008.02217), "
    "Thm 5",
    configs=Scales(
        smoke=ModernConfig(32, (1, 4, 16, 32), 2, 1.0, 0.5, 16),
        quick=ModernConfig(64, (1, 2, 4, 8, 16, 32), 8, 1.0, 0.5, 32),
        paper=ModernConfig(256, (1, 4, 16, 64, 256), 16, 0.5, 1.0, 64),
    ),
    measure=measure_modern,
    predict=predict_modern,
    compare=compare_modern,
    curve=curve_modern,
    decorate=decorate_modern,
    summarize=summarize_modern,
    panels=2,
    x="load",
    xlabel="load P/N",
    ylabel="one-step retrieval error",
    xscale="log",
    yscale="log",
)

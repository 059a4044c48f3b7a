"""hopfield.dense: dense associative memories F(x) = x^n against Krotov & Hopfield (2016).

Registered through :mod:`kernelcap.claims.hopfield`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from kernelcap import compare
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.empirics.hopfield import dense_one_step_errors
from kernelcap.theory import hopfield as theory


def binomial_floor(stderr, p, n_bits):
    """``stderr`` floored by the binomial error √(p(1−p)/n_bits) of independent bits at rate p.

    An across-trial error is 0 where no bit flipped in any trial; bits flipping (nearly)
    independently at rate p cannot be counted more precisely than binomially.
    """
    return np.maximum(stderr, np.sqrt(p * (1 - p) / n_bits))


# ------------------------------------------------------------------------------ dense


@dataclass(frozen=True)
class DenseConfig:
    """Per degree n, sizes N; at each N the loads c give K = c · N^(n−1)/(2n−3)!! patterns (at
    least ``n_probes``), i.e. a signal-to-noise ratio S = 1/c in the N → ∞ limit."""

    degrees: tuple[tuple[int, tuple[int, ...]], ...]
    loads: tuple[float, ...]
    n_trials: int
    n_probes: int

    def grid(self, degree: int, sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) of every simulated point of one degree, N-major."""
        nn = np.repeat(sizes, len(self.loads))
        const = np.asarray(theory.dense_capacity_constant(nn, degree))
        kk = np.maximum(self.n_probes, np.round(np.tile(self.loads, len(sizes)) * const))
        return nn, kk.astype(int)


def _probit(err):
    return stats.norm.isf(np.clip(err, 1e-12, 0.5 - 1e-12))


def _capacity_weights(cfg: DenseConfig, err: Points) -> np.ndarray:
    """Inverse-variance weights of the per-point capacity constants z²K (delta method), from the
    measured rate's standard error (across trials, floored by the binomial error at that rate)."""
    e, k = err.measured, err.grid["n_patterns"]
    n_bits = err.grid["n_neurons"] * cfg.n_probes * cfg.n_trials
    se = binomial_floor(err.stderr, e, n_bits)
    z = _probit(e)
    return 1 / (2 * z * k / stats.norm.pdf(z) * se) ** 2


def _per_size(cfg: DenseConfig, err: Points, values: np.ndarray, sizes) -> np.ndarray:
    """Weighted mean over the loads of each N."""
    w = _capacity_weights(cfg, err)
    nn = err.grid["n_neurons"]
    return np.array([(values[nn == n] * w[nn == n]).sum() / w[nn == n].sum() for n in sizes])


def measure_dense(cfg: DenseConfig, rt) -> Measurement:
    errors, constants, exponents = {}, {}, {}
    for k, (deg, sizes) in enumerate(cfg.degrees):
        nn, kk = cfg.grid(deg, sizes)
        res = dense_one_step_errors(
            nn,
            kk,
            deg,
            cfg.n_trials,
            n_probes=cfg.n_probes,
            device=rt.torch_device,
            generator=rt.generator(k),
        )
        snr = theory.dense_signal_to_noise(nn, kk, deg)  # the x axis: S = N^(n−1)/((2n−3)!! K)
        grid = {"degree": deg, "n_neurons": nn, "n_patterns": kk, "snr": snr}
        err = Points(grid, res.error_rate, res.error_stderr, label="bit-error rate")
        w = _capacity_weights(cfg, err)
        a = _per_size(cfg, err, _probit(err.measured) ** 2 * kk, sizes)
        a_se = np.array([1 / math.sqrt(w[nn == n].sum()) for n in sizes])
        slope = compare.loglog_slope(sizes, a, a_se, weighted=True)
        errors[f"error n={deg}"] = err
        constants[f"A n={deg}"] = Points(
            {"degree": deg, "n_neurons": np.array(sizes)}, a, a_se, label="z²K"
        )
        exponents[f"exponent n={deg}"] = Points(
            {"degree": deg}, slope.value, slope.stderr, label="capacity exponent"
        )
    return Measurement({**constants, **exponents, **errors})


def predict_dense(cfg: DenseConfig, m: Measurement) -> dict:
    """Bit-error rates from the finite-N theory; the capacity constant z²K of the finite-N theory,
    averaged over the loads with the measurement's weights; its exponent from the same weighted
    log-log fit (N^(n−1) has exponent n−1 exactly; finite N adds O(n²/N))."""
    out = {}
    for deg, sizes in cfg.degrees:
        err = m[f"error n={deg}"]
        nn, kk = err.grid["n_neurons"], err.grid["n_patterns"]
        out[f"error n={deg}"] = theory.dense_bit_error_probability(nn, kk, deg, method="finite")
        snr = theory.dense_signal_to_noise(nn, kk, deg, method="finite")
        a_fin = _per_size(cfg, err, snr * kk, sizes)
        const = m[f"A n={deg}"]
        rel = const.stderr / const.measured
        out[f"A n={deg}"] = a_fin
        out[f"exponent n={deg}"] = compare.loglog_slope(
            sizes, a_fin, a_fin * rel, weighted=True
        ).value
    return out


def compare_dense(cfg: DenseConfig, m: Measurement, predicted) -> list:
    checks = []
    for deg, _ in cfg.degrees:
        err, pred = m[f"error n={deg}"], predicted[f"error n={deg}"]
        n_bits = err.grid["n_neurons"] * cfg.n_probes * cfg.n_trials
        z = compare.z_values(err.measured, pred, binomial_floor(err.stderr, pred, n_bits))
        exp = m[f"exponent n={deg}"]
        checks += [
            compare.at_most(
                f"n={deg}: max |z| of bit-error rate vs finite-N theory",
                float(np.max(z)),
                4.0,
                reason="4 Monte-Carlo standard errors (across trials, binomial floor)",
            ),
            compare.z_score(
                f"n={deg}: |exponent − finite-N theory exponent| / se",
                compare.Estimate(exp.measured[0], exp.stderr[0]),
                float(predicted[f"exponent n={deg}"][0]),
                bound=4.0,
                reason="4 standard errors of the weighted log-log fit of z²K vs N (the theory's "
                "exponent is n−1 plus the O(n²/N) finite-size correction on the same grid)",
            ),
        ]
    return checks


def curve_dense(cfg: DenseConfig, m: Measurement) -> dict:
    snr = np.concatenate([m[f"error n={d}"].grid["snr"] for d, _ in cfg.degrees])
    fine = np.linspace(snr.min() * 0.9, snr.max() * 1.1, 100)
    return {"½erfc(√(S/2)), N→∞": (fine, theory.gaussian_crosstalk_error(fine))}


def decorate_dense(fig, axes, cfg: DenseConfig, m: Measurement, predicted) -> None:
    from kernelcap.plotting import plot_measured, plot_theory

    for k, (deg, sizes) in enumerate(cfg.degrees):
        err = m[f"error n={deg}"]
        axes[0].plot(
            err.grid["snr"],
            predicted[f"error n={deg}"],
            "x",
            color=f"C{k + 1}",
            label=f"finite-N theory n={deg}",
        )
        a = m[f"A n={deg}"]
        x = np.geomspace(min(sizes) * 0.9, max(sizes) * 1.1, 50)
        const = theory.dense_capacity_constant(x, deg)
        plot_theory(axes[1], x, const, label=f"N^{deg - 1}/(2n−3)!!, n={deg}", color=f"C{k}")
        n = a.grid["n_neurons"]
        plot_theory(axes[1], n, predicted[f"A n={deg}"], label=None, color=f"C{k}", lw=1, ls="--")
        plot_measured(axes[1], n, a.measured, a.stderr, label=f"n={deg} measured", color=f"C{k}")
    axes[0].legend(fontsize=7)
    axes[1].set(xscale="log", yscale="log", xlabel="N", ylabel="capacity constant A = z²K")
    axes[1].legend(fontsize=7, title="dashed: finite-N theory", title_fontsize=7)


def summarize_dense(cfg: DenseConfig, m: Measurement, predicted) -> str:
    parts = []
    for deg, _ in cfg.degrees:
        e, th = m[f"exponent n={deg}"], float(predicted[f"exponent n={deg}"][0])
        parts.append(
            f"n={deg}: {e.measured[0]:.2f}±{e.stderr[0]:.2f} (finite-N theory {th:.2f}; "
            f"N→∞ {deg - 1})"
        )
    return "capacity exponent " + ", ".join(parts)


DENSE = Claim(
    "hopfield.dense",
    statement="A dense associative memory with F(x)=x^n has one-step bit-error rate "
    "½erfc(√(N^(n−1)/(2(2n−3)!!K))), so its capacity at fixed error grows like N^(n−1).",
    source="Krotov & Hopfield, NeurIPS 2016 (Dense associative memory for pattern recognition)",
    configs=Scales(
        smoke=DenseConfig(((2, (32, 64, 128)), (3, (24, 32, 48))), (0.25, 0.4), 16, 4),
        quick=DenseConfig(
            ((2, (50, 100, 200, 400)), (3, (24, 32, 48, 64)), (4, (12, 16, 20, 28))),
            (0.2, 0.3, 0.45),
            32,
            4,
        ),
        paper=DenseConfig(
            (
                (2, (100, 200, 400, 800, 1600)),
                (3, (32, 64, 128, 256)),
                (4, (16, 24, 32, 48, 64)),
            ),
            (0.15, 0.2, 0.3, 0.45),
            256,
            16,
        ),
    ),
    measure=measure_dense,
    predict=predict_dense,
    compare=compare_dense,
    curve=curve_dense,
    decorate=decorate_dense,
    summarize=summarize_dense,
    panels=2,
    x="snr",
    xlabel="S = N^(n−1)/((2n−3)!! K)",
    ylabel="bit-error rate",
    yscale="log",
)

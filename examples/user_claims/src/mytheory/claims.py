"""The measurement and the claims: random ReLU networks at initialization, batched in torch.

``CLAIMS`` is what kernelcap loads, through the entry point in pyproject.toml or with
``kernelcap check --module mytheory.claims``. Both claims read one forward pass, computed once
(``kernelcap.cache.shared_run``).
"""

import math
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap import compare
from kernelcap.cache import shared_run
from kernelcap.claim import Claim, Measurement, Points, Scales
from kernelcap.runtime import Runtime
from mytheory.theory import output_kurtosis, output_second_moment


@dataclass(frozen=True)
class InitConfig:
    width: int  # units per layer (and the input dimension)
    depths: tuple[int, ...]  # weight layers at which the output is measured
    n_nets: int  # independent networks (the Monte-Carlo trials)
    w_var: float = 2.0  # weight variance times fan-in (2: He initialization)


@shared_run
def forward(cfg: InitConfig, rt: Runtime) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per network, the mean over units of h_L² and h_L⁴ at each depth: {L: (m2, m4)}."""
    g, dev = rt.generator(), rt.torch_device
    n, t = cfg.width, cfg.n_nets
    x = torch.randn(n, generator=g, device=dev)
    h = (x * math.sqrt(n) / x.norm()).expand(t, n)  # ||x||²/d = 1
    out = {}
    for layer in range(1, max(cfg.depths) + 1):  # float32 nets, float64 statistics
        w = torch.randn(t, n, n, generator=g, device=dev)
        inputs = h if layer == 1 else torch.relu(h)
        h = torch.einsum("tij,tj->ti", w, inputs) * math.sqrt(cfg.w_var / n)
        if layer in cfg.depths:
            sq = h.double() ** 2
            out[layer] = (sq.mean(1).cpu().numpy(), (sq**2).mean(1).cpu().numpy())
    return out


def measure_second_moment(cfg: InitConfig, rt: Runtime) -> Measurement:
    m2 = np.stack([forward(cfg, rt)[d][0] for d in cfg.depths])  # (depths, nets)
    se = m2.std(axis=1, ddof=1) / math.sqrt(cfg.n_nets)
    return Measurement(Points({"depth": np.array(cfg.depths)}, m2.mean(1), se, label="E[h_L²]"))


def measure_kurtosis(cfg: InitConfig, rt: Runtime) -> Measurement:
    """E[h⁴] / E[h²]² from the per-network means, its standard error by the delta method."""
    runs = forward(cfg, rt)
    kurt, se = [], []
    for d in cfg.depths:
        m2, m4 = runs[d]
        a, b = m4.mean(), m2.mean()
        grad = np.array([1 / b**2, -2 * a / b**3])
        cov = np.cov(np.stack([m4, m2])) / cfg.n_nets
        kurt.append(a / b**2)
        se.append(math.sqrt(grad @ cov @ grad))
    return Measurement(Points({"depth": np.array(cfg.depths)}, kurt, se, label="kurtosis of h_L"))


def within_4_se(cfg: InitConfig, m: Measurement, predicted: dict) -> list:
    p = m.main
    return [
        compare.max_abs_z(
            p.measured,
            predicted["main"],
            p.stderr,
            bound=4.0,
            reason="4 Monte-Carlo standard errors over independent networks",
        )
    ]


def kurtosis_curves(cfg: InitConfig, m: Measurement) -> dict:
    """Theory on a fine grid of depths, with the infinite-width (Gaussian) value for contrast."""
    depth = np.geomspace(1, max(cfg.depths), 200)
    return {
        f"theory 3(1 + 5/n)^(L-1), n = {cfg.width}": (depth, output_kurtosis(depth, cfg.width)),
        "infinite width: 3": (depth, np.full_like(depth, 3.0)),
    }


CONFIGS = Scales(
    smoke=InitConfig(width=64, depths=(1, 2, 4, 8), n_nets=4000),
    quick=InitConfig(width=128, depths=(1, 2, 4, 8, 16), n_nets=8000),
    paper=InitConfig(width=256, depths=(1, 2, 4, 8, 16, 32), n_nets=8000),
)

HE_INIT = Claim(
    "mytheory.he-init",
    statement="With weights of variance 2/fan_in, the second moment of a random ReLU network's "
    "output stays 2·||x||²/d at every depth, at any width.",
    source="He, Zhang, Ren & Sun (2015), Delving deep into rectifiers, §2.2",
    configs=CONFIGS,
    measure=measure_second_moment,
    predict=lambda cfg, m: {"main": output_second_moment(m.main.grid["depth"], cfg.w_var)},
    compare=within_4_se,
    x="depth",
    xlabel="depth L (weight layers)",
    ylabel="E[h_L²]",
)
KURTOSIS = Claim(
    "mytheory.kurtosis",
    statement="At width n the kurtosis of a random ReLU network's output is 3·(1 + 5/n)^(L-1): "
    "Gaussian only at infinite width, heavier-tailed with every layer.",
    source="Hanin & Nica (2019), Products of many large random matrices and gradients in deep "
    "neural networks",
    configs=CONFIGS,
    measure=measure_kurtosis,
    predict=lambda cfg, m: {"main": output_kurtosis(m.main.grid["depth"], cfg.width)},
    compare=within_4_se,
    curve=kurtosis_curves,
    x="depth",
    xlabel="depth L (weight layers)",
    ylabel="E[h⁴] / E[h²]²",
)

CLAIMS = (HE_INIT, KURTOSIS)

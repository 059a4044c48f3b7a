"""A toy registry (one claim that holds, one that does not) for engine tests."""

import math

import numpy as np
import pytest

from kernelcap import claims as claims_mod
from kernelcap.claims import Check, Claim, Evidence
from kernelcap.plotting import claim_figure, plot_measured, plot_theory

CONFIGS = {"smoke": {"n": 10}, "quick": {"n": 100}, "paper": {"n": 1000}}


def _mean_experiment(config, rt):
    """Toy claim: the mean of n uniform draws is 1/2 within 4 standard errors."""
    gen = np.random.default_rng(rt.seed)
    x = gen.random(config["n"])
    se = x.std(ddof=1) / math.sqrt(len(x))
    z = abs(x.mean() - 0.5) / se
    fig, ax = claim_figure("engine.toy")
    plot_theory(ax, [0, 1], [0.5, 0.5])
    plot_measured(ax, [0.5], [x.mean()], [se])
    return Evidence(
        rows=[{"n": config["n"], "predicted": 0.5, "measured": x.mean(), "spread": se}],
        checks=[Check("|z|", z, 4.0, "<=", "4 standard errors")],
        figure=fig,
        summary=f"mean {x.mean():.3f}",
    )


def _wrong_experiment(config, rt):
    """Toy claim whose prediction is wrong: the mean of uniforms is not 0.9."""
    x = np.random.default_rng(rt.seed).random(config["n"])
    return Evidence(
        rows=[{"predicted": 0.9, "measured": x.mean()}],
        checks=[Check("|mean-0.9|", abs(x.mean() - 0.9), 0.05, "<=", "toy")],
    )


@pytest.fixture
def toy_claims(monkeypatch):
    good = Claim(
        "engine.toy", "The mean of uniforms is 1/2.", "Folklore", _mean_experiment, CONFIGS
    )
    bad = Claim(
        "engine.wrong", "The mean of uniforms is 0.9.", "Nobody", _wrong_experiment, CONFIGS
    )
    registry = {"engine.toy": good, "engine.wrong": bad}
    monkeypatch.setattr(claims_mod, "_REGISTRY", registry)
    monkeypatch.setattr(claims_mod, "load_all", lambda: None)
    return good, bad

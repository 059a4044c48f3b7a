"""A toy registry (one claim that holds, one that does not) for engine tests."""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pytest

from kernelcap import compare, registry
from kernelcap.claim import Claim, Measurement, Points, Scales


@dataclass(frozen=True)
class ToyConfig:
    n: int


CONFIGS = Scales(smoke=ToyConfig(10), quick=ToyConfig(100), paper=ToyConfig(1000))


def measure_mean(cfg, rt):
    """Toy experiment: the mean of n uniform draws, with its standard error."""
    x = np.random.default_rng(rt.seed).random(cfg.n)
    return Measurement(
        Points(grid={"n": cfg.n}, measured=x.mean(), stderr=x.std(ddof=1) / math.sqrt(cfg.n))
    )


def predict_half(cfg, m):
    return {"main": 0.5}


def within_4_se(cfg, m, predicted):
    p = m.main
    return [
        compare.max_abs_z(
            p.measured,
            predicted["main"],
            p.stderr,
            bound=4.0,
            reason="4 standard errors",
            name="|z|",
        )
    ]


def predict_wrong(cfg, m):
    return {"main": 2.0}


def toy(cid="engine.toy", predict=predict_half, measure=measure_mean, **kw):
    return Claim(
        cid,
        kw.pop("statement", "The mean of uniforms is 1/2."),
        kw.pop("source", "Folklore"),
        CONFIGS,
        measure=measure,
        predict=predict,
        compare=within_4_se,
        x="n",
        **kw,
    )


@pytest.fixture
def toy_claims(monkeypatch):
    good = toy()
    bad = toy(
        "engine.wrong",
        predict=predict_wrong,
        statement="The mean of uniforms is 2.",
        source="Nobody",
    )
    monkeypatch.setattr(registry, "_REGISTRY", {"engine.toy": good, "engine.wrong": bad})
    monkeypatch.setattr(registry, "_LOADED", True)
    return good, bad


@pytest.fixture
def measured(toy_claims, monkeypatch):
    """The toy claims, counting their experiments: a list of (claim id, seed) as they run."""
    calls = []

    def counting(cid):
        def measure(cfg, rt):
            calls.append((cid, rt.seed))
            return measure_mean(cfg, rt)

        return measure

    reg = {
        cid: dataclasses.replace(c, measure=counting(cid)) for cid, c in registry._REGISTRY.items()
    }
    monkeypatch.setattr(registry, "_REGISTRY", reg)
    return calls

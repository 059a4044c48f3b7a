"""Toy claims in a module of their own, as a user's would be: the executor tests load them with
``--module tests.engine._parallel_claims`` (so workers load them by reference), and the
``claim_tests`` tests make pytest tests of them.

One passes, one fails, one raises, one waits for another's record, one sleeps, one kills its
worker process. The environment variables are set by the tests before the workers start.
"""

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kernelcap import compare
from kernelcap.claim import Claim, Measurement, Points, Scales

WAIT_FOR = "KERNELCAP_TEST_WAIT_FOR"  # par.waits: a file that must appear while it runs
ALLOW_CRASH = "KERNELCAP_TEST_ALLOW_CRASH"  # par.crash: "1" lets it kill its process


@dataclass(frozen=True)
class Cfg:
    n: int


def measure_mean(cfg, rt):
    x = np.random.default_rng(rt.seed).random(cfg.n)
    return Measurement(Points({"n": cfg.n}, x.mean(), x.std(ddof=1) / math.sqrt(cfg.n)))


def measure_raises(cfg, rt):
    raise ValueError("boom from par.raises")


def measure_waits(cfg, rt):
    """Waits for a file; keeps the torch threads and OMP_NUM_THREADS of the process it ran in."""
    import torch

    path = Path(os.environ[WAIT_FOR])
    deadline = time.monotonic() + 30
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} was not written while par.waits ran")
        time.sleep(0.05)
    m = measure_mean(cfg, rt)
    threads = {"torch_threads": torch.get_num_threads(), "omp": os.environ.get("OMP_NUM_THREADS")}
    return Measurement(m.points, extras=threads)


def measure_sleeps(cfg, rt):
    time.sleep(120)
    return measure_mean(cfg, rt)


def measure_crash(cfg, rt):
    if os.environ.get(ALLOW_CRASH) == "1":
        os._exit(17)  # as a segfault or the OOM killer would: no exception, no cleanup
    raise RuntimeError(f"par.crash only crashes with {ALLOW_CRASH}=1")


def half(cfg, m):
    return {"main": 0.5}


def two(cfg, m):
    return {"main": 2.0}


def within_4_se(cfg, m, predicted):
    p = m.main
    return [
        compare.max_abs_z(
            p.measured, predicted["main"], p.stderr, bound=4.0, reason="4 standard errors"
        )
    ]


def _claim(name, measure=measure_mean, predict=half):
    return Claim(
        f"par.{name}",
        f"Toy claim {name}.",
        "Tests",
        Scales(smoke=Cfg(10), quick=Cfg(100), paper=Cfg(1000)),
        measure=measure,
        predict=predict,
        compare=within_4_se,
        x="n",
    )


CLAIMS = (
    _claim("fast"),
    _claim("wrong", predict=two),
    _claim("raises", measure_raises),
    _claim("waits", measure_waits),
    _claim("sleeps", measure_sleeps),
    _claim("crash", measure_crash),
)

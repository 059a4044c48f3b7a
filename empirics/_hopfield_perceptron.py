"""Perceptron separability of random dichotomies (Cover's counting theorem), decided exactly.

Public through :mod:`kernelcap.empirics.hopfield`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize

from kernelcap.empirics._hopfield_patterns import _sizes
from kernelcap.progress import progress as progress_bar
from kernelcap.runtime import make_generator, resolve_device, single_cpu_thread
from kernelcap.theory._validation import as_int

__all__ = ["SeparabilityResult", "separable_fraction"]


@dataclass(frozen=True)
class SeparabilityResult:
    """Fraction of random dichotomies that a perceptron (through the origin) can separate.

    Attributes:
        n_inputs: N; n_patterns: ``(L,)``; separable: ``(L, T)`` booleans.
    """

    n_inputs: int
    n_patterns: np.ndarray
    separable: np.ndarray

    @property
    def fraction(self) -> np.ndarray:
        return self.separable.mean(1)


def separable_fraction(
    n_inputs: int,
    n_patterns: Sequence[int],
    n_trials: int,
    *,
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
    progress: bool | None = None,
) -> SeparabilityResult:
    """Draw P Gaussian points in R^N with random ±1 labels; decide exactly whether some w has
    ``y_p w·x_p > 0`` for all p.

    Data for the whole grid is drawn as one tensor; a batched perceptron (1,000 full-batch
    steps) certifies most separable sets, and each remaining set is decided exactly by the
    linear program ``find w: y_p w·x_p ≥ 1`` (HiGHS). A positive answer from either is a
    certificate, the LP's infeasibility is a proof of non-separability.
    """
    n = as_int(n_inputs, "n_inputs", ge=1)
    p = np.array(_sizes(n_patterns, "n_patterns"))
    t = as_int(n_trials, "n_trials", ge=1)
    gen = generator or make_generator(seed, resolve_device(device))
    dev = gen.device
    x = torch.randn(len(p), t, max(p), n, generator=gen, device=dev, dtype=torch.float64)
    y = torch.randint(0, 2, (len(p), t, max(p)), generator=gen, device=dev).to(x.dtype) * 2 - 1
    real = (
        torch.arange(max(p), device=dev)[None, None, :] < torch.tensor(p, device=dev)[:, None, None]
    )
    z = (y * real)[..., None] * x  # rows y_p x_p, zero for padding
    w = torch.zeros(len(p), t, n, dtype=x.dtype, device=dev)
    with single_cpu_thread(dev):
        for _ in range(1000):
            margins = (z @ w[..., None])[..., 0]
            bad = ((margins <= 0) & real).to(x.dtype)
            if not bool(bad.any()):
                break
            w = w + (bad[..., None] * z).sum(-2)
    margins = (z @ w[..., None])[..., 0]
    certified = (((margins > 0) | ~real).all(-1)).cpu().numpy()
    sep = certified.copy()
    todo = np.argwhere(~certified)
    z_np = z.cpu().numpy()
    for j, trial in progress_bar(todo, total=len(todo), desc="separability LPs", enabled=progress):
        rows = z_np[j, trial, : p[j]]
        res = optimize.linprog(
            np.zeros(n), A_ub=-rows, b_ub=-np.ones(p[j]), bounds=(None, None), method="highs"
        )
        sep[j, trial] = res.status == 0
    return SeparabilityResult(n_inputs=n, n_patterns=p, separable=sep)

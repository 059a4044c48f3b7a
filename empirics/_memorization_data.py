"""Synthetic long-tailed data and random training subsets for memorization experiments."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.runtime import make_generator
from kernelcap.theory._validation import as_array, as_int


@dataclass(frozen=True)
class LongTailedData:
    """A labelled Gaussian mixture with a long tail of rare subpopulations.

    Attributes (n examples, d features):
        x: (n, d) float32 inputs (each row scaled to norm √d when ``normalize``).
        y: (n,) int64 labels used for training (with the flipped ones).
        y_clean: (n,) int64 labels of each example's subpopulation.
        cluster: (n,) int64 subpopulation index; cluster_size: (n,) its size in this sample.
        flipped: (n,) bool, True where ``y != y_clean``.
    """

    x: torch.Tensor
    y: torch.Tensor
    y_clean: torch.Tensor
    cluster: torch.Tensor
    cluster_size: torch.Tensor
    flipped: torch.Tensor

    @property
    def n_classes(self) -> int:
        return int(self.y_clean.max()) + 1

    def signed_targets(self) -> torch.Tensor:
        """(n,) ±1 float targets of a two-class problem (class 1 → +1)."""
        if self.n_classes != 2:
            raise ValueError(f"signed targets need two classes, got {self.n_classes}")
        return self.y.to(torch.float64) * 2 - 1


def long_tailed_mixture(
    n: int,
    dim: int = 8,
    n_classes: int = 2,
    *,
    n_clusters: int | None = None,
    zipf: float = 1.2,
    cluster_std: float = 0.5,
    label_noise: float = 0.0,
    normalize: bool = True,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> LongTailedData:
    """Draw n points from a mixture of C Gaussian clusters with Zipf-like frequencies p_c ∝ c^(−s).

    Cluster means are N(0, I_d); a point is its cluster's mean plus N(0, σ² I_d) noise. Each cluster
    carries one class (classes dealt to clusters at random, as evenly as possible). With C ≳ n/4
    the frequent clusters hold most points while the tail holds clusters seen once or twice —
    the "rare subpopulations" that Feldman (2020) shows must be memorized to be learned. A fraction
    ``label_noise`` of the examples (chosen uniformly) get a different class, uniformly at random.

    Args:
        n: examples (≥ 2). dim: d. n_classes: ≥ 2. n_clusters: C (default max(n_classes, n // 3)).
        zipf: exponent s ≥ 0 (0: equal frequencies). cluster_std: σ > 0.
        label_noise: fraction of flipped labels in [0, 1). normalize: scale rows to norm √d.

    Returns:
        :class:`LongTailedData` (CPU tensors). Pass your own (x, y) to the estimators instead to
        use real data.

    References: Feldman, "Does learning require memorization? A short tale about a long tail",
    STOC 2020; Zhang et al., ICLR 2017 (label noise).
    """
    n = as_int(n, "n", ge=2)
    d = as_int(dim, "dim", ge=1)
    n_classes = as_int(n_classes, "n_classes", ge=2)
    c = as_int(n_clusters if n_clusters is not None else max(n_classes, n // 3), "n_clusters", ge=2)
    if c < n_classes:
        raise ValueError(f"n_clusters ({c}) must be >= n_classes ({n_classes})")
    zipf = float(as_array(zipf, "zipf", ge=0))
    std = float(as_array(cluster_std, "cluster_std", gt=0))
    noise = float(as_array(label_noise, "label_noise", ge=0, lt=1))
    gen = generator if generator is not None else make_generator(seed, "cpu")
    probs = torch.arange(1, c + 1, dtype=torch.float64) ** (-zipf)
    cluster = torch.multinomial(probs / probs.sum(), n, replacement=True, generator=gen)
    means = torch.randn(c, d, generator=gen, dtype=torch.float64)
    x = means[cluster] + std * torch.randn(n, d, generator=gen, dtype=torch.float64)
    if normalize:
        x = x / x.norm(dim=1, keepdim=True) * math.sqrt(d)
    cls_of = torch.randperm(c, generator=gen) % n_classes
    y_clean = cls_of[cluster]
    n_flip = int(round(noise * n))
    flipped = torch.zeros(n, dtype=torch.bool)
    flipped[torch.randperm(n, generator=gen)[:n_flip]] = True
    shift = torch.randint(1, n_classes, (n,), generator=gen)
    y = torch.where(flipped, (y_clean + shift) % n_classes, y_clean)
    size = torch.bincount(cluster, minlength=c)[cluster]
    return LongTailedData(x.float(), y, y_clean, cluster, size, flipped)


def random_masks(n_models: int, n: int, subset_fraction: float, seed: int = 0) -> np.ndarray:
    """(n_models, n) booleans: row b is a uniformly random subset of exactly m = round(f·n)
    examples.

    Drawn from NumPy's SeedSequence(seed), so the masks of a run do not depend on chunking.
    """
    n_models = as_int(n_models, "n_models", ge=2)
    n = as_int(n, "n", ge=2)
    f = float(as_array(subset_fraction, "subset_fraction", gt=0, lt=1))
    m = int(round(f * n))
    if not 1 <= m <= n - 1:
        raise ValueError(
            f"subset_fraction={f} keeps {m} of n={n} examples; it must keep between 1 and n − 1"
        )
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7_919]))
    keys = rng.random((n_models, n))
    order = np.argsort(keys, axis=1)[:, :m]
    masks = np.zeros((n_models, n), dtype=bool)
    np.put_along_axis(masks, order, True, axis=1)
    return masks

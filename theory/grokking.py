"""Grokking theory: weight-norm decay under decoupled weight decay, the grokking-time law, and the
Fourier (trigonometric) solution of modular addition with its spectrum.

All functions are pure NumPy, vectorised by broadcasting, float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernelcap.theory._validation import as_array, as_int, finite_result, scalar_or_array

__all__ = [
    "weight_norm_decay",
    "grokking_time",
    "grokking_time_exponent",
    "fourier_energy",
    "top_k_energy_fraction",
    "uniform_top_k_fraction",
    "effective_frequency_count",
    "fourier_solution_embedding",
    "fourier_solution_logits",
]


def weight_norm_decay(w0, lr, weight_decay, t):
    """Weight norm after ``t`` steps of decoupled weight decay with a negligible data gradient.

    ‖w_t‖ = ‖w_0‖·(1 − η·λ)^t ≈ ‖w_0‖·exp(−η·λ·t), with ‖w_0‖ the norm at the start of the decay
    phase, η the learning rate, λ the decoupled (AdamW) weight decay and t the number of steps.
    The exact product form is returned; it equals the exponential to O(t·(ηλ)²).

    Valid while the loss gradient is negligible next to the decay (after memorisation, before the
    generalising circuit takes over) and for 0 ≤ η·λ < 1.

    Args: w0 (≥ 0), lr (> 0), weight_decay (≥ 0), t (≥ 0): scalars or broadcastable arrays.
    Returns: float or array of the broadcast shape.

    Loshchilov & Hutter (2019), decoupled weight decay; Nanda et al. (2023), Sec. 5; Liu et al.
    (2023), "Omnigrok".
    """
    w0_ = as_array(w0, "w0", ge=0)
    lr_ = as_array(lr, "lr", gt=0)
    wd_ = as_array(weight_decay, "weight_decay", ge=0)
    t_ = as_array(t, "t", ge=0)
    if np.any(lr_ * wd_ >= 1):
        raise ValueError("lr·weight_decay must be < 1 for the decay to shrink the weights")
    return scalar_or_array(w0_ * np.exp(t_ * np.log1p(-lr_ * wd_)), w0, lr, weight_decay, t)


def grokking_time(norm_memorizing, norm_generalizing, lr, weight_decay):
    """Steps of weight decay that shrink the memorising solution to the generalising one's norm.

    t_grok = ln(‖w_mem‖/‖w_gen‖) / (η·λ), from ‖w_mem‖·e^(−ηλt) = ‖w_gen‖, with ‖w_mem‖ the weight
    norm at memorisation, ‖w_gen‖ the (smaller) norm of the generalising solution, η the learning
    rate and λ the decoupled weight decay. Hence t_grok ∝ 1/(ηλ) at fixed norms.

    Valid when the decay phase dominates the delay (‖w_mem‖ > ‖w_gen‖, data gradient negligible).

    Args: norm_memorizing > 0, norm_generalizing > 0, lr > 0, weight_decay > 0, broadcastable.
    Returns: float or array; negative values mean the memorising norm is already below ‖w_gen‖.
    Raises ``OverflowError`` where the number of steps itself exceeds float64.

    Nanda et al. (2023); Liu, Michaud & Tegmark (2023) "Omnigrok"; Varma et al. (2023).
    """
    wm = as_array(norm_memorizing, "norm_memorizing", gt=0)
    wg = as_array(norm_generalizing, "norm_generalizing", gt=0)
    lr_ = as_array(lr, "lr", gt=0)
    wd_ = as_array(weight_decay, "weight_decay", gt=0)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        ratio = wm / wg
        # ln(w_mem/w_gen) as a difference of logs where the ratio over- or underflows (it gave
        # ±inf and, with ηλ underflowing too, NaN); η and λ divided one at a time (ηλ underflowed).
        # Near w_mem = w_gen, ln of the rounded ratio keeps only ~1e-16/|ln ratio| relative
        # accuracy; log1p of the exact difference (Sterbenz: exact within a factor 2) keeps it all.
        log_ratio = np.where(
            np.isfinite(ratio) & (ratio >= np.finfo(np.float64).tiny),  # normal: full precision
            np.where((ratio >= 0.5) & (ratio <= 2.0), np.log1p((wm - wg) / wg), np.log(ratio)),
            np.log(wm) - np.log(wg),
        )
        out = (log_ratio / lr_) / wd_
    out = finite_result(out, "grokking_time")
    return scalar_or_array(out, norm_memorizing, norm_generalizing, lr, weight_decay)


def grokking_time_exponent() -> float:
    """Exponent b in t_grok ∝ λ^b predicted by :func:`grokking_time`: d ln t_grok / d ln λ (= −1).

    Computed by differentiating the law numerically rather than typed in.
    """
    lam = np.array([0.5, 2.0])
    t = grokking_time(np.e, 1.0, 1e-3, lam)
    return float(np.diff(np.log(t))[0] / np.diff(np.log(lam))[0])


def fourier_energy(embedding) -> np.ndarray:
    """Energy of a token embedding per Fourier frequency of the residue axis.

    For W_E ∈ ℝ^{p×d} (row a embeds residue a), Ŵ_k = Σ_a W_E[a]·e^(−2πika/p); the energy at
    frequency k ∈ {1, …, ⌊(p−1)/2⌋} is e_k = ‖Ŵ_k‖² + ‖Ŵ_{p−k}‖² (cos and sin parts together). The
    constant (k = 0) component carries no information about the residue and is excluded.

    Args: embedding, shape (..., p, d) with p ≥ 3.
    Returns: array of shape (..., ⌊(p−1)/2⌋). Raises ``OverflowError`` where an energy exceeds
    float64 (entries ~1e154 and beyond).

    Nanda et al. (2023), Fig. 3 (Fourier norms of W_E).
    """
    w = as_array(embedding, "embedding")
    if w.ndim < 2 or w.shape[-2] < 3:
        raise ValueError("embedding must have shape (..., p, d) with p ≥ 3")
    p = w.shape[-2]
    f = np.fft.fft(w, axis=-2)
    with np.errstate(over="ignore", invalid="ignore"):
        power = (np.abs(f) ** 2).sum(-1)
        k = np.arange(1, (p - 1) // 2 + 1)
        out = power[..., k] + power[..., p - k]
    return finite_result(out, "fourier_energy")


def top_k_energy_fraction(energy, k) -> np.ndarray:
    """Fraction of the total energy in the ``k`` largest entries of the last axis.

    Args: energy, shape (..., M), non-negative; k integer 1 ≤ k ≤ M.
    Returns: float or array of shape (...); NaN where the spectrum is all zero (no fraction).
    """
    e = as_array(energy, "energy", ge=0)
    k = as_int(k, "k", ge=1)
    if k > e.shape[-1]:
        raise ValueError(f"k={k} exceeds the number of frequencies {e.shape[-1]}")
    # Scale-free: bring each spectrum to max ∈ [1/2, 1) by a power of two first (exact), or the
    # total of entries ~1e308 overflows (inf/inf = NaN).
    e = np.ldexp(e, -np.frexp(np.max(e, axis=-1, keepdims=True, initial=0.0))[1])
    top = -np.sort(-e, axis=-1)[..., :k].sum(-1)
    total = e.sum(-1)
    out = np.divide(top, total, out=np.full_like(total, np.nan), where=total > 0)
    return out if out.ndim else float(out)


def effective_frequency_count(energy) -> np.ndarray:
    """Number of key frequencies as the participation ratio of the spectrum.

    K_eff = (Σ_k e_k)² / Σ_k e_k². Equals K when the energy is spread equally over K frequencies and
    0 elsewhere (the trigonometric solution with K key frequencies), ⌊(p−1)/2⌋ for a flat spectrum,
    and lies in [1, M] for any non-zero spectrum of M frequencies; invariant to the overall scale
    of the embedding.

    Args: energy, shape (..., M), non-negative (e.g. from :func:`fourier_energy`).
    Returns: float or array of shape (...); NaN where the spectrum is all zero.

    The participation ratio is the inverse of the IPR of Doshi, He & Gromov (2023) applied to the
    energy distribution; Nanda et al. (2023) count key frequencies by thresholding the same
    spectrum.
    """
    e = as_array(energy, "energy", ge=0)
    if e.ndim < 1 or e.shape[-1] < 1:
        raise ValueError("energy must have a non-empty last axis")
    peak = e.max(-1, keepdims=True)
    r = np.divide(
        e, peak, out=np.zeros_like(e), where=peak > 0
    )  # scale out first: e² underflows for tiny spectra
    total, sq = r.sum(-1), np.square(r).sum(-1)
    out = np.divide(total**2, sq, out=np.full_like(total, np.nan), where=sq > 0)
    return out if out.ndim else float(out)


def uniform_top_k_fraction(p, k):
    """Top-k energy fraction of a flat spectrum over the ⌊(p−1)/2⌋ non-zero frequencies.

    k/⌊(p−1)/2⌋.

    The large-d limit for an isotropic random (e.g. freshly initialised) embedding.
    Args: p odd modulus ≥ 3, k ≥ 1. Returns float or array.
    """
    p_ = as_array(p, "p", integer=True, ge=3)
    k_ = as_array(k, "k", integer=True, ge=1)
    m = np.floor((p_ - 1) / 2)
    if np.any(k_ > m):
        raise ValueError("k exceeds the number of non-zero frequencies ⌊(p−1)/2⌋")
    return scalar_or_array(k_ / m, p, k)


def fourier_solution_embedding(p, frequencies) -> np.ndarray:
    """Embedding of the trigonometric (“clock”) solution of a + b mod p.

    W_E[a] = (cos(ω_1 a), sin(ω_1 a), …, cos(ω_K a), sin(ω_K a)), ω_j = 2π k_j/p, for the K key
    frequencies k_j. With it, logits(a, b, c) = Σ_j cos(ω_j(a + b − c)) (see
    :func:`fourier_solution_logits`) are maximal exactly at c = (a + b) mod p, and all of W_E's
    energy sits on the K key frequencies (top-K energy fraction = 1).

    Args: p integer ≥ 3; frequencies, ints in 1..⌊(p−1)/2⌋, shape (K,).
    Returns: array (p, 2K).

    Nanda et al. (2023), Sec. 4; Gromov (2023), "Grokking modular arithmetic" (analytic solution).
    """
    p = as_int(p, "p", ge=3)
    k = as_array(frequencies, "frequencies", integer=True, ge=1, le=(p - 1) // 2).ravel()
    w = 2 * np.pi * np.outer(np.arange(p), k) / p
    return np.stack([np.cos(w), np.sin(w)], axis=-1).reshape(p, -1)


def fourier_solution_logits(p, frequencies) -> np.ndarray:
    """Logits of the trigonometric solution: L[a, b, c] = Σ_j cos(2π k_j (a + b − c)/p).

    Uses cos(ω(a+b−c)) = cos(ω(a+b))cos(ωc) + sin(ω(a+b))sin(ωc), i.e. a product of embedding
    features; argmax_c L[a, b, c] = (a + b) mod p for any non-empty set of distinct key frequencies
    (p prime).

    Args: p integer ≥ 3; frequencies, shape (K,). Returns: array (p, p, p).
    """
    p = as_int(p, "p", ge=3)
    k = as_array(frequencies, "frequencies", integer=True, ge=1, le=(p - 1) // 2).ravel()
    r = np.arange(p)
    diff = r[:, None, None] + r[None, :, None] - r[None, None, :]
    return np.cos(2 * np.pi * diff[..., None] * k / p).sum(-1)


# ---------------------------------------------------------------------------------------- null laws
# Appended (not interleaved) so that edits to the functions above merge cleanly.
__all__ += [
    "random_top_k_energy_fraction",
    "RandomLayerFraction",
    "random_layer_fraction",
    "sparse_parity_solution_mass",
]


def random_top_k_energy_fraction(p, d, k, n_draws: int = 1000, seed: int = 0) -> np.ndarray:
    """Draws of the top-k energy fraction of an i.i.d. Gaussian embedding (the measure's null law).

    For W_E ∈ ℝ^{p×d} with i.i.d. N(0, σ²) entries and p odd, the Fourier coefficients Ŵ_k of the
    ⌊(p−1)/2⌋ non-zero frequency pairs are independent, and e_k = ‖Ŵ_k‖² + ‖Ŵ_{p−k}‖² = pσ²·χ²_{2d}.
    The normalised spectrum e/Σe is therefore Dirichlet(d, …, d) for any σ, and the top-k fraction
    of a freshly initialised embedding follows the law of the sum of its k largest components. Its
    mean exceeds the flat-spectrum value k/⌊(p−1)/2⌋ (:func:`uniform_top_k_fraction`, the d → ∞
    limit) at finite d. Sampled here exactly as a random embedding would be measured: ``n_draws``
    Gaussian embeddings from ``numpy.random.default_rng(seed)``, through :func:`fourier_energy` and
    :func:`top_k_energy_fraction` (same seed, same draws).

    Args: p odd modulus ≥ 3; d embedding width ≥ 1; k in 1..⌊(p−1)/2⌋; n_draws ≥ 2; seed ≥ 0.
    Returns: (n_draws,) float64 draws.

    Nanda et al. (2023), Sec. 5 (random-embedding baseline of the Fourier progress measures).
    """
    p = as_int(p, "p", ge=3)
    d = as_int(d, "d", ge=1)
    k = as_int(k, "k", ge=1)
    n_draws = as_int(n_draws, "n_draws", ge=2)
    if p % 2 == 0:
        raise ValueError(f"p must be odd (the frequencies pair up as k, p − k), got {p}")
    if k > (p - 1) // 2:
        raise ValueError(f"k={k} exceeds the number of non-zero frequencies {(p - 1) // 2}")
    w = np.random.default_rng(as_int(seed, "seed", ge=0)).standard_normal((n_draws, p, d))
    return top_k_energy_fraction(fourier_energy(w), k)


@dataclass(frozen=True)
class RandomLayerFraction:
    """Law of the relevant-bit mass fraction of an i.i.d. Gaussian (n, H) first layer:
    Beta(kH/2, (n−k)H/2), with ``mean`` = k/n, ``sd`` and the participation ratio's expectation
    ``active_bits``."""

    mean: float
    sd: float
    active_bits: float


def random_layer_fraction(n_bits, k, hidden) -> RandomLayerFraction:
    """Null law of the sparse-parity progress measures for W_in with i.i.d. N(0, σ²) entries.

    Per-bit mass m_j = Σ_h W_jh² is σ²·χ²_H, so f = Σ_{j∈S} m_j / Σ_j m_j ~ Beta(kH/2, (n−k)H/2)
    for any σ (mean k/n). The participation ratio (Σ m_j)²/Σ m_j² has expectation ≈ n/(1 + 2/H)
    (delta method, E m² = σ⁴H(H+2)), i.e. close to n.

    Args: n_bits n ≥ k, k relevant bits, hidden H: positive integers.
    Returns: :class:`RandomLayerFraction`.

    Barak et al. (2022) (sparse parity); the PAIR explorable's first-layer weight pictures.
    """
    from scipy import stats

    n_bits, k, hidden = (
        int(as_array(v, name, integer=True, ge=1))
        for name, v in (("n_bits", n_bits), ("k", k), ("hidden", hidden))
    )
    if k > n_bits:
        raise ValueError(f"k must be ≤ n_bits={n_bits}, got {k}")
    if k == n_bits:
        return RandomLayerFraction(1.0, 0.0, n_bits / (1 + 2 / hidden))
    law = stats.beta(k * hidden / 2, (n_bits - k) * hidden / 2)
    return RandomLayerFraction(float(law.mean()), float(law.std()), n_bits / (1 + 2 / hidden))


def sparse_parity_solution_mass(n_bits, relevant) -> np.ndarray:
    """Per-bit share of first-layer mass, m_j / Σ_i m_i, of the k-sparse parity solution.

    The parity ∏_{j∈S} x_j depends on the k bits in S only and symmetrically, so the sparse
    generalising network puts equal mass 1/k on each relevant bit and none elsewhere: its
    relevant-mass fraction Σ_{j∈S} m_j/Σ_j m_j is 1 and its participation ratio (number of active
    bits) is k, against k/n and ≈ n for a random layer (:func:`random_layer_fraction`).

    Args: n_bits n ≥ 1; relevant: the k distinct bit indices S in [0, n).
    Returns: (n,) float64, summing to 1.

    Barak et al. (2022) "Hidden progress in deep learning: SGD learns parities near the
    computational limit"; Merrill, Tsilivis & Shukla (2023).
    """
    n = int(as_array(n_bits, "n_bits", integer=True, ge=1))
    s = as_array(relevant, "relevant", integer=True, ge=0, le=n - 1).astype(int).ravel()
    if s.size == 0 or np.unique(s).size != s.size:
        raise ValueError(f"relevant must hold distinct bit indices, got {relevant!r}")
    mass = np.zeros(n)
    mass[s] = 1.0 / s.size
    return mass

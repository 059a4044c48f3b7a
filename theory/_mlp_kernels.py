r"""The NNGP/NTK recursion of :mod:`kernelcap.theory.kernels`, evaluated stably (NumPy only).

Three things the textbook evaluation gets wrong, and how they are avoided here:

* **Overflow of x·x'.** Rows with an entry beyond 2^100 are divided by s_i = 2^{e_i} (exact;
  for ReLU without bias every row is brought to ~1, tiny ones too) and every kernel is carried
  divided by s_i s_j; ReLU and identity kernels are positively
  homogeneous, so the recursion runs unchanged on the scaled values, and the erf layer, which is
  not, is written in scaled quantities (a_i = (1 + 2q_i)/s_i²). The result is multiplied back at
  the end, and an ``OverflowError`` is raised only when the kernel itself exceeds float64
  (|x| = 1e150 gave inf before, though the kernel is ~1e300).
* **Angles of near-parallel inputs.** θ = arccos(q₁₂/√(q₁q₂)) loses half the digits near
  θ = 0 (a point with itself got θ ~ 1e-8, the ReLU NTK's diagonal was off by ~1e-8). Here
  θ = 2 asin(√((1 − cos θ)/2)) with 1 − cos θ = Δ/(n(n + q₁₂)) from the Gram determinant
  Δ = q₁q₂ − q₁₂², n = √(q₁q₂). In the first layer Δ is recomputed pairwise from the inputs
  wherever rounding in q₁q₂ − q₁₂² could exceed 1e-13 of it (Kahan's |u − v||u + v| for unit
  vectors, no cancellation); for deeper ReLU layers θ is propagated through 1 − J(θ) evaluated
  with a series, J(θ) = (sin θ + (π − θ) cos θ)/π being the next cosine for σ_b = 0.
* **The erf determinant.** (1+2q₁)(1+2q₂) − 4q₁₂² = 1 + 2q₁ + 2q₂ + 4Δ cancelled to garbage,
  zero or negative (NaN) for q ≳ 1e7; it is formed from the same accurate Δ, and the arcsine
  near ±1 in its complementary form.
"""

from __future__ import annotations

import numpy as np

_EPS = np.finfo(np.float64).eps
_SCALE_EXPONENT = 100  # rows with an entry beyond 2^100 are divided by a power of two


def _bias(b2, scaled):
    """σ_b² times a scale factor; exactly 0 without bias (the factor may then be inf)."""
    return b2 * scaled if b2 else 0.0


def _row_exponents(x, up):
    """e_i with max_k |x_ik| / 2^e_i ≤ 2^100: rows beyond it are scaled down, and with ``up``
    (ReLU without bias: homogeneous, no σ_b² term to overflow) every row is brought to ~1, so
    tiny inputs keep their Gram determinants out of the subnormal range too."""
    if x.shape[0] == 0:
        return np.zeros(0, dtype=int)
    _, e = np.frexp(np.max(np.abs(x), axis=1))
    return np.where(up, e, np.maximum(e - _SCALE_EXPONENT, 0))


def _pairwise_gram_det(x1s, x2s, c1, c2, a, b2, idx):
    """Δ = q₁q₂ − q₁₂² of the first layer for the pairs ``idx``, from the inputs:

    a² G(x̃, x̃') + a b² |x̃ c' − x̃' c|²  (a = σ_w²/d, c = 1/s), G the Gram determinant. G is
    unchanged when a multiple of x̃ is added to x̃', so it is taken with the shortest of x̃',
    x̃' − r x̃, x̃' + r x̃ (r = s/s', a power of two; the difference of near-duplicates is exact),
    as |x̃|²|w|² sin²∠(x̃, w) with sin² = |û − ŵ|²|û + ŵ|²/4 (Kahan): sums of squares, no
    cancellation — accurate to rounding unless x̃' is nearly a multiple of x̃ other than ±1,
    where Δ is ill-conditioned in the inputs themselves.
    """
    i, j = idx
    out = np.empty(len(i))
    step = max(1, 2**20 // x1s.shape[1])
    for start in range(0, len(i), step):
        ii, jj = i[start : start + step], j[start : start + step]
        u, v = x1s[ii], x2s[jj]
        ru = u * (c2[jj] / c1[ii])[:, None]
        minus, plus = v - ru, v + ru
        cands = np.stack([v, minus, plus])
        norms = np.linalg.norm(cands, axis=2)
        pick = np.argmin(norms, axis=0)
        w = np.take_along_axis(cands, pick[None, :, None], 0)[0]
        nw = np.take_along_axis(norms, pick[None, :], 0)[0]
        nu = np.linalg.norm(u, axis=1)
        su, sw = u / np.where(nu > 0, nu, 1.0)[:, None], w / np.where(nw > 0, nw, 1.0)[:, None]
        sin2 = np.sum((su - sw) ** 2, 1) * np.sum((su + sw) ** 2, 1) / 4
        out[start : start + step] = (a * nu * nw) ** 2 * sin2
        if b2:  # |x̃ c' − x̃' c|² = c² |x̃' − r x̃|²
            out[start : start + step] += a * b2 * c1[ii] ** 2 * norms[1] ** 2
    return out


def _angle(n, q12, delta):
    """θ ∈ [0, π] with cos θ = q₁₂/n, from Δ = n² − q₁₂² (accurate near 0 and π):
    1 ∓ cos θ = Δ/(n(n ± q₁₂)) for ±q₁₂ ≥ 0, θ = 2 asin √((1 − cos θ)/2) or π minus that."""
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.minimum(delta / (2 * n * (n + np.abs(q12))), 1.0)
    base = 2 * np.arcsin(np.sqrt(half))
    theta = np.where(q12 >= 0, base, np.pi - base)
    return np.where(n > 0, theta, np.pi / 2)


def _one_minus_j(theta, sin, cos):
    """1 − J(θ) = [π(1 − cos θ) − (sin θ − θ cos θ)]/π, J(θ) = (sin θ + (π − θ) cos θ)/π, with
    1 − cos θ = sin²θ/(1 + cos θ) and, for θ < 0.5, sin θ − θ cos θ (~θ³/3, a difference of
    nearly equal terms) from its series."""
    g = sin - theta * cos
    small = theta < 0.5
    if small.any():
        t = theta[small]
        t2 = t * t
        term = t * t2 / 3.0
        series = term.copy()
        for k in range(2, 10):  # Σ (−1)^{k+1} 2k θ^{2k+1}/(2k+1)!, to θ^19 (< 1e-20 at θ = 0.5)
            term *= -t2 / ((2 * k - 2) * (2 * k + 1))
            series += term
        g[small] = series
    with np.errstate(divide="ignore", invalid="ignore"):
        one_minus_cos = np.where(cos >= 0, sin * sin / (1 + cos), 1 - cos)
    return one_minus_cos - g / np.pi


def _relu_layers(q1, q2, sigma, theta_k, delta, depth, w2, b2, c1, c2):
    """``depth`` ReLU layers on kernels stored divided by s_i s_j, carrying the angle θ."""
    with np.errstate(over="ignore"):
        cc = np.outer(c1, c2)  # inf only without bias, where it is not used
    n = _norm(q1[:, None], q2[None, :])
    angle = _angle(n, sigma, delta)
    for layer in range(depth):
        # arc-cosine kernels of degree 1 and 0 (Cho & Saul 2009)
        sin, cos = np.sin(angle), np.cos(angle)
        pi_minus = np.pi - angle
        new_sigma = (w2 / (2 * np.pi)) * n * (sin + pi_minus * cos)
        new_sigma += _bias(b2, cc)
        theta_k = (w2 / (2 * np.pi)) * pi_minus * theta_k + new_sigma
        nq1, nq2 = w2 * q1 / 2 + _bias(b2, c1 * c1), w2 * q2 / 2 + _bias(b2, c2 * c2)
        if layer + 1 < depth:
            # Δ'/n² = σ_w⁴(1−J)(1+J)/4 + σ_w²σ_b²[((√e11 c2 − √e22 c1)/n)² + c1c2(1−J)/n]
            # (e_ii = q_i/2), then 1 − cos' = Δ'/(n'(n' + q12')): no cancellation anywhere.
            omj = _one_minus_j(angle, sin, cos)
            n_new = _norm(nq1[:, None], nq2[None, :])
            with np.errstate(divide="ignore", invalid="ignore"):
                r = (w2 * w2 / 4) * omj * (2 - omj)
                if b2:
                    skew = np.sqrt(q1 / 2)[:, None] * c2 - np.sqrt(q2 / 2)[None, :] * c1[:, None]
                    r += w2 * b2 * ((skew / n) ** 2 + cc * omj / n)
                half = np.minimum(r / (2 * (n_new / n) * ((n_new + new_sigma) / n)), 1.0)
            angle = 2 * np.arcsin(np.sqrt(half))
            fresh = ~((n > 0) & (n_new > 0))  # a zero norm: no angle to carry over
            if fresh.any():
                nn, ss = n_new[fresh], new_sigma[fresh]
                angle[fresh] = _angle(nn, ss, np.maximum(nn * nn - ss * ss, 0.0))
            n = n_new
        sigma, q1, q2 = new_sigma, nq1, nq2
    return sigma, theta_k


def _erf_first_layer(q1, q2, q12, delta, c1, c2):
    """E[φφ] and E[φ'φ']·Θ¹ of the first erf layer from kernels stored divided by s_i s_j.

    Everything is divided by n = √(q1q2) first, since with s ~ 2^900 the terms of
    D = (1+2q1)(1+2q2) − 4q12² = 1 + 2q1 + 2q2 + 4Δ span more than the float64 range:
    √D/n = ‖(1/n, √(2/q2), √(2/q1), 2 sin θ)‖ (hypot, each term representable; sin θ = √Δ/n),
    E[φ'φ']Θ¹ = (4/π)(Θ¹/n)/(√D/n), ρ = 2q12/√((1+2q1)(1+2q2)), and near |ρ| = 1 the arcsine is
    taken from 1 − |ρ| = (D/n²)/((√a/n)(√a/n + 2|q12|/n)), a = (1+2q1)(1+2q2) (no cancellation).
    """
    n = _norm(q1[:, None], q2[None, :])
    pos = n > 0  # n = 0: a zero input with σ_b = 0, where Σ¹ = Θ¹ = 0 and so are both results
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        nn = np.where(pos, n, 1.0)
        cos_like = q12 / nn  # Θ¹/n = Σ¹/n at the first layer
        sin = np.sqrt(delta) / nn
        t2 = np.sqrt(2.0) * c2 / np.sqrt(q2)  # √(2/q2) in unscaled terms
        t1 = np.sqrt(2.0) * c1 / np.sqrt(q1)
        root_d = np.hypot(
            np.hypot(np.outer(c1, c2) / nn, t2[None, :]), np.hypot(t1[:, None], 2 * sin)
        )
        root_a = _norm((c1 * c1 / q1 + 2)[:, None], (c2 * c2 / q2 + 2)[None, :])
        rho = 2 * cos_like / root_a
        half = np.minimum(root_d**2 / (2 * root_a * (root_a + 2 * np.abs(cos_like))), 1.0)
        near_one = np.sign(rho) * (1 - (4 / np.pi) * np.arcsin(np.sqrt(half)))
        e_phi = np.where(np.abs(rho) < 0.5, (2 / np.pi) * np.arcsin(np.clip(rho, -1, 1)), near_one)
        e_dphi_theta = (4 / np.pi) * cos_like / root_d
    return np.where(pos, e_phi, 0.0), np.where(pos, e_dphi_theta, 0.0)


def _erf_diagonal(q, c2):
    """(2/π) arcsin(2q/(c² + 2q)); near 1 (large q) as 1 − (4/π) asin(√(c²/(2(c² + 2q))))."""
    a = c2 + 2 * q
    near_one = 1 - (4 / np.pi) * np.arcsin(np.sqrt(c2 / (2 * a)))
    return np.where(2 * q >= c2, near_one, (2 / np.pi) * np.arcsin(2 * q / a))


def _norm(q1, q2):
    """√q1·√q2 broadcast: no overflow or underflow of the product q1q2."""
    return np.sqrt(q1) * np.sqrt(q2)


def mlp_kernels(x1, x2, same, depth, activation, w2, b2):
    """(Σ, Θ) of the readout, (N1, N2) each; see :func:`kernelcap.theory.kernels.ntk_kernel`.

    ``x1``/``x2`` are validated 2-d float arrays (``same``: x2 is x1), ``w2``/``b2`` are σ_w²,
    σ_b². Raises ``OverflowError`` when a kernel exceeds the float64 range.
    """
    d = x1.shape[1]
    a = w2 / d
    up = activation == "relu" and b2 == 0
    e1 = _row_exponents(x1, up)
    e2 = e1 if same else _row_exponents(x2, up)
    x1s = np.ldexp(x1, -e1[:, None])
    x2s = x1s if same else np.ldexp(x2, -e2[:, None])
    c1, c2 = np.ldexp(1.0, -e1), np.ldexp(1.0, -e2)  # 1/s_i, 1/s_j
    with np.errstate(over="ignore"):
        cc = np.outer(c1, c2)  # inf only without bias, where it is not used
    gram = x1s @ x2s.T
    with np.errstate(under="ignore", over="ignore"):
        # For x2 = None the diagonal comes from the same Gram matrix: a point paired with itself
        # then has Δ = 0 exactly (einsum and matmul round differently).
        q1 = w2 * (np.diagonal(gram).copy() if same else np.einsum("nd,nd->n", x1s, x1s)) / d
        q1 = q1 + _bias(b2, c1 * c1)
        q2 = q1 if same else w2 * np.einsum("nd,nd->n", x2s, x2s) / d + _bias(b2, c2 * c2)
        sigma = w2 * gram / d + _bias(b2, cc)
    theta_k = sigma.copy()
    scaled = True
    if depth and activation != "identity":
        p = np.outer(q1, q2)
        delta = p - sigma * sigma
        doubtful = 8 * (4 + d**0.5) * _EPS * p > 1e-13 * delta
        if doubtful.any():
            idx = np.nonzero(doubtful)
            delta[idx] = _pairwise_gram_det(x1s, x2s, c1, c2, a, b2, idx)
        delta = np.maximum(delta, 0.0)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        if activation == "identity":
            for _ in range(depth):
                sigma = w2 * sigma + _bias(b2, cc)
                theta_k = w2 * theta_k + sigma
        elif activation == "erf" and depth:
            e_phi, e_dphi_theta = _erf_first_layer(q1, q2, sigma, delta, c1, c2)
            d1, d2 = _erf_diagonal(q1, c1 * c1), _erf_diagonal(q2, c2 * c2)
            sigma = w2 * e_phi + b2
            theta_k = w2 * e_dphi_theta + sigma
            q1, q2 = w2 * d1 + b2, w2 * d2 + b2
            scaled = False
            for _ in range(depth - 1):  # bounded q ≤ σ_w² + σ_b²: the plain formulas are accurate
                a1, a2 = (1 + 2 * q1)[:, None], (1 + 2 * q2)[None, :]
                prod = a1 * a2
                det = np.maximum(prod - 4 * sigma**2, a1 + a2 - 1)  # ≥ 1 + 2q1 + 2q2
                e_phi = (2 / np.pi) * np.arcsin(np.clip(2 * sigma / _norm(a1, a2), -1.0, 1.0))
                d1 = (2 / np.pi) * np.arcsin(2 * q1 / (1 + 2 * q1))
                d2 = (2 / np.pi) * np.arcsin(2 * q2 / (1 + 2 * q2))
                sigma = w2 * e_phi + b2
                theta_k = w2 * ((4 / np.pi) / np.sqrt(det)) * theta_k + sigma
                q1, q2 = w2 * d1 + b2, w2 * d2 + b2
        elif activation == "relu" and depth:
            sigma, theta_k = _relu_layers(q1, q2, sigma, theta_k, delta, depth, w2, b2, c1, c2)
        if scaled and (e1.any() or e2.any()):
            shift = e1[:, None] + e2[None, :]
            sigma, theta_k = np.ldexp(sigma, shift), np.ldexp(theta_k, shift)
    if not (np.all(np.isfinite(sigma)) and np.all(np.isfinite(theta_k))):
        raise OverflowError(
            "the kernel exceeds the float64 range for these inputs (|x|, w_std or depth too large)"
        )
    return sigma, theta_k

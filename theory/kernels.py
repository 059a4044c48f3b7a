r"""Infinite-width kernels of fully connected networks, kernel regression and linearized training.

Conventions follow neural-tangents' ``stax.Dense(..., W_std, b_std, parameterization="ntk")``:
a network with ``depth`` hidden layers computes

    z¹ = (σ_w/√d) W¹ x + σ_b b¹,   z^{l+1} = (σ_w/√n_l) W^{l+1} φ(z^l) + σ_b b^{l+1},

with all W, b ~ N(0, 1); the readout z^{depth+1} is the output. Its NNGP kernel Σ and neural tangent
kernel Θ obey (Jacot et al. 2018; Lee et al. 2019)

    Σ¹(x,x') = σ_w² x·x'/d + σ_b²,   Θ¹ = Σ¹,
    Σ^{l+1} = σ_w² E[φ(u)φ(v)] + σ_b²,   Θ^{l+1} = σ_w² E[φ'(u)φ'(v)] Θ^l + Σ^{l+1},

where (u, v) ~ N(0, [[Σ^l(x,x), Σ^l(x,x')], [Σ^l(x,x'), Σ^l(x',x')]]). Imports NumPy only.

The recursion is evaluated in ``kernelcap.theory._mlp_kernels`` to full precision for any finite
input (|x| from 1e-300 to 1e300, near-duplicate and antiparallel pairs); a kernel that itself
exceeds the float64 range raises ``OverflowError``.
"""

from __future__ import annotations

import numpy as np

from kernelcap.theory._mlp_kernels import mlp_kernels
from kernelcap.theory._validation import as_array, as_choice, as_int

__all__ = [
    "nngp_kernel",
    "ntk_kernel",
    "linearized_prediction",
    "kernel_regression",
    "centered_alignment",
    "ACTIVATIONS",
]

ACTIVATIONS = ("relu", "erf", "identity")


_MAX_DEPTH = 10_000


def _kernels(x1, x2, depth, activation, w_std, b_std):
    activation = as_choice(activation, "activation", ACTIVATIONS)
    depth = as_int(depth, "depth", ge=0, le=_MAX_DEPTH)
    w_std = float(as_array(w_std, "w_std", gt=0))
    b_std = float(as_array(b_std, "b_std", ge=0))
    same = x2 is None
    x1 = as_array(x1, "x1")
    x2 = x1 if same else as_array(x2, "x2")
    if x1.ndim != 2 or x2.ndim != 2:
        raise ValueError(f"x1 and x2 must be 2-d (N, D), got shapes {x1.shape} and {x2.shape}")
    if x1.shape[1] != x2.shape[1]:
        raise ValueError(
            f"x1 and x2 must have the same feature dimension, got {x1.shape[1]} and {x2.shape[1]}"
        )
    if x1.shape[1] == 0:
        raise ValueError("x1 and x2 must have at least one feature (D ≥ 1)")
    with np.errstate(over="ignore", under="ignore"):
        w2, b2 = w_std**2, b_std**2
    if not (np.isfinite(w2) and np.isfinite(b2)):
        raise OverflowError("w_std² or b_std² exceeds the float64 range")
    return mlp_kernels(x1, x2, same, depth, activation, w2, b2)


def nngp_kernel(
    x1, x2=None, depth: int = 1, activation: str = "relu", w_std: float = 1.0, b_std: float = 0.0
):
    r"""NNGP kernel Σ^{depth+1}(x1, x2) of a fully connected net's readout at infinite width.

    Σ¹ = σ_w² x·x'/d + σ_b², Σ^{l+1} = σ_w² E[φ(u)φ(v)] + σ_b² (see the module docstring), with the
    Gaussian expectations in closed form: ``relu`` by the degree-1 arc-cosine kernel
    √(q q')/(2π)·(sin θ + (π−θ) cos θ), θ = arccos(q₁₂/√(q q')) (Cho & Saul 2009); ``erf`` by
    (2/π) arcsin(2q₁₂/√((1+2q)(1+2q'))) (Williams 1997); ``identity`` by q₁₂.

    Valid as every hidden width → ∞ at fixed depth (Neal 1996; Lee et al. 2018; Matthews et al.
    2018). Evaluated without overflow of x·x' (rows beyond 2^100 are rescaled by powers of two,
    exactly) and with angles and the erf determinant taken from the Gram determinant, accurate for
    near-parallel inputs (see ``kernelcap.theory._mlp_kernels``).

    Args:
        x1: (N1, D) finite inputs, D ≥ 1. x2: (N2, D) inputs, or None for x1.
        depth: number of hidden layers 0 ≤ L ≤ 10000 (0: a linear model).
        activation: ``"relu"``, ``"erf"`` or ``"identity"``.
        w_std: σ_w > 0 as in neural-tangents' ``stax.Dense``.
        b_std: σ_b ≥ 0 as in neural-tangents' ``stax.Dense``.

    Returns:
        (N1, N2) float64 array.

    Raises:
        OverflowError: when the kernel itself exceeds the float64 range (e.g. |x|² ≳ 1e308).

    References: Lee et al., "Deep neural networks as Gaussian processes", ICLR 2018.
    """
    return _kernels(x1, x2, depth, activation, w_std, b_std)[0]


def ntk_kernel(
    x1, x2=None, depth: int = 1, activation: str = "relu", w_std: float = 1.0, b_std: float = 0.0
):
    r"""Neural tangent kernel Θ^{depth+1}(x1, x2) of a fully connected net in NTK parameterization.

    Θ¹ = Σ¹, Θ^{l+1} = σ_w² E[φ'(u)φ'(v)] Θ^l + Σ^{l+1}, where E[φ'φ'] is (π−θ)/(2π) for ``relu``
    (degree-0 arc-cosine kernel), (4/π)/√((1+2q)(1+2q') − 4q₁₂²) for ``erf`` and 1 for
    ``identity``. Equal to Σ_params ∂f(x1)/∂w · ∂f(x2)/∂w of a network with weights N(0, 1) at
    initialization, in the limit of infinite width, and constant during training in that limit.

    Args: as :func:`nngp_kernel`. Returns: (N1, N2) float64 array.

    References: Jacot, Gabriel & Hongler, "Neural tangent kernel", NeurIPS 2018;
    Arora et al., "On exact computation with an infinitely wide neural net", NeurIPS 2019.
    """
    return _kernels(x1, x2, depth, activation, w_std, b_std)[1]


def _as_kernel(k, name, shape=None):
    k = as_array(k, name)
    if k.ndim != 2:
        raise ValueError(f"{name} must be a 2-d kernel matrix, got shape {k.shape}")
    if shape is not None and k.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {k.shape}")
    return k


def _as_targets(y, name, n):
    y = as_array(y, name)
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) or ({n}, O), got {y.shape}")
    return y


def _train_test_kernels(k_train, k_test_train, train_name, test_name):
    """Check a square train kernel (n, n) and a test-train kernel (m, n); return both and n."""
    k = _as_kernel(k_train, train_name)
    n = k.shape[0]
    if k.shape != (n, n):
        raise ValueError(f"{train_name} must be square, got {k.shape}")
    kt = _as_kernel(k_test_train, test_name)
    if kt.shape[1] != n:
        raise ValueError(f"{test_name} must have {n} columns, got shape {kt.shape}")
    return k, kt, n


def linearized_prediction(ntk_train, ntk_test_train, y_train, f0_train, f0_test, lr, steps):
    r"""Outputs of the linearized network after ``steps`` of full-batch gradient descent on MSE.

    For the loss L = (1/2n) Σ_i ‖f(x_i) − y_i‖² and the model linearized around its initialization,
    f_lin(x; w) = f(x; w₀) + J(x)(w − w₀), gradient descent with step η gives exactly

        r_t = (I − ηΘ/n)^t r_0,   r = f(X) − Y,
        f_t(x) = f_0(x) − (η/n) Θ(x, X) Σ_{s<t} (I − ηΘ/n)^s r_0,

    evaluated through the eigendecomposition Θ = V Λ Vᵀ
    (Σ_{s<t} (1−ηλ/n)^s = (1 − (1−ηλ/n)^t)·n/(ηλ), = t at λ = 0). Exact for discrete steps;
    describes the real network when it stays lazy (wide, small η).

    Args:
        ntk_train: (n, n) Θ(X, X). ntk_test_train: (m, n) Θ(x, X).
        y_train: (n,) or (n, O) targets.
        f0_train: (n,) or (n, O) outputs at initialization. f0_test: (m,) or (m, O).
        lr: η > 0. steps: int or 1-d array of step counts t ≥ 0.

    Returns:
        ``(f_train, f_test)``-shaped arrays stacked as a dict ``{"train": ..., "test": ...}``, each
        with a leading axis over ``steps`` when ``steps`` is an array.

    References: Lee et al., "Wide neural networks of any depth evolve as linear models under
    gradient descent", NeurIPS 2019, eq. (9)-(11) (discrete-time form).
    """
    k, kt, n = _train_test_kernels(ntk_train, ntk_test_train, "ntk_train", "ntk_test_train")
    y = _as_targets(y_train, "y_train", n)
    f0 = _as_targets(f0_train, "f0_train", n)
    if f0.shape != y.shape:
        raise ValueError(f"f0_train shape {f0.shape} differs from y_train shape {y.shape}")
    f0t = _as_targets(f0_test, "f0_test", kt.shape[0])
    if f0t.shape[1:] != y.shape[1:]:
        raise ValueError(
            f"f0_test shape {f0t.shape} does not match y_train's output shape {y.shape}"
        )
    lr = float(as_array(lr, "lr", gt=0))
    t = as_array(steps, "steps", integer=True, ge=0)
    scalar_steps = t.ndim == 0
    t = np.atleast_1d(t)
    lam, v = np.linalg.eigh((k + k.T) / 2)
    lam = np.clip(lam, 0.0, None)
    r0 = v.T @ (f0 - y).reshape(n, -1)  # (n, O) in eigenbasis
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        x = lr * lam / n  # 1 − a, a = 1 − ηλ/n
        tt = t[:, None]
        # a^t = exp(t log1p(−x)) and Σ_{s<t} a^s = −expm1(t log1p(−x))/x while a > 0: a = 1 − x
        # itself drops x below 1e-16 (tiny η or λ: the sum came out 0 instead of ≈ t).
        log_a = np.log1p(-np.where(x < 1, x, 0.0))
        powers = np.where(x < 1, np.exp(tt * log_a), (1.0 - x) ** tt)  # (T, n)
        geo = np.where(x < 1, -np.expm1(tt * log_a) / np.where(x > 0, x, 1.0), (1.0 - powers) / x)
        geo = np.where(x > 0, geo, tt * 1.0)
        f_train = (y.reshape(n, -1))[None] + np.einsum("ij,tj,jo->tio", v, powers, r0)
        f_test = f0t.reshape(kt.shape[0], -1)[None] - (lr / n) * np.einsum(
            "mn,nj,tj,jo->tmo", kt, v, geo, r0
        )
    if not (np.all(np.isfinite(f_train)) and np.all(np.isfinite(f_test))):
        raise OverflowError(
            "linearized_prediction: the outputs exceed the float64 range (gradient descent "
            f"diverges when lr·λ_max/n > 2; here lr·λ_max/n = {float(x.max(initial=0.0)):.3g})"
        )
    f_train = f_train.reshape((len(t),) + y.shape)
    f_test = f_test.reshape((len(t),) + f0t.shape)
    if scalar_steps:
        f_train, f_test = f_train[0], f_test[0]
    return {"train": f_train, "test": f_test}


def kernel_regression(k_train, k_test_train, y_train, ridge: float = 0.0):
    r"""Kernel (ridge) regression mean f(x) = K(x, X)(K(X, X) + λI)⁺ Y.

    With λ = 0 this is the t → ∞ limit of :func:`linearized_prediction` from f₀ = 0 (the
    minimum-norm interpolant in the kernel's RKHS; pseudo-inverse for singular K).

    Args: k_train (n, n); k_test_train (m, n); y_train (n,) or (n, O); ridge λ ≥ 0.
    Returns: (m,) or (m, O).

    References: Schölkopf & Smola, "Learning with kernels" (2002), §4.
    """
    k, kt, n = _train_test_kernels(k_train, k_test_train, "k_train", "k_test_train")
    y = _as_targets(y_train, "y_train", n)
    ridge = float(as_array(ridge, "ridge", ge=0))
    alpha = np.linalg.lstsq(k + ridge * np.eye(n), y, rcond=None)[0]
    return kt @ alpha


def centered_alignment(k1, k2):
    r"""Centered kernel alignment A(K₁, K₂) = ⟨HK₁H, HK₂H⟩_F / (‖HK₁H‖_F ‖HK₂H‖_F), H = I − 11ᵀ/m.

    In [−1, 1]; 1 when the centred kernels are proportional. With K₂ = YYᵀ it measures how well
    a kernel is aligned with the labels.

    Args: k1, k2: (m, m) kernel matrices. Returns: float.

    References: Cortes, Mohri & Rostamizadeh, "Algorithms for learning kernels based on centered
    alignment", JMLR 2012.
    """
    a = _as_kernel(k1, "k1")
    b = _as_kernel(k2, "k2", shape=a.shape)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"k1 must be square, got {a.shape}")
    # A is scale-free: bring each kernel to max |K| ∈ [1/2, 1) by a power of two (exact) first,
    # or sums of squares over- or underflow (1e300·K gave NaN, 1e-300·K "a zero kernel").
    a = np.ldexp(a, -np.frexp(np.max(np.abs(a), initial=0.0))[1])
    b = np.ldexp(b, -np.frexp(np.max(np.abs(b), initial=0.0))[1])
    a = a - a.mean(0, keepdims=True) - a.mean(1, keepdims=True) + a.mean()
    b = b - b.mean(0, keepdims=True) - b.mean(1, keepdims=True) + b.mean()
    den = np.linalg.norm(a) * np.linalg.norm(b)
    if den == 0:
        raise ValueError("centered_alignment is undefined when a centred kernel is zero")
    return float(np.sum(a * b) / den)


# ------------------------------------------------------------------------------ path kernel


def kernel_machine_prediction(f0, contributions, decay=0.0, rounding=0.0):
    r"""The path-kernel machine's output f(x) = f_0(x) + Σ_i c_i(x) + c_w(x) [+ c_r(x)].

    Domingos (2020) writes a model trained by gradient descent as a kernel machine
    y(x) = Σ_i a_i K^p(x, x_i) + b, with b = f_0(x) and the path kernel
    K^p(x, x') = ∫ ∇f(x; θ(t))·∇f(x'; θ(t)) dt. For discrete steps the sum over steps s and
    training examples i is exact when the test gradient is averaged over each step's segment,
    φ_s(x) = ∫_0^1 ∇f(x; θ_s + tΔθ_s) dt (Bell et al. 2023): the update Δθ_s = Σ_i u_{i,s} + w_s
    splits into per-example parts (for SGD u_{i,s} = −η_s J(x_i; θ_s)ᵀ ℓ′_{i,s}, so
    c_i(x) = Σ_s φ_s(x)·u_{i,s} = Σ_s a_{i,s} K_s(x, x_i) with K_s(x, x_i) = φ_s(x)J(x_i; θ_s)ᵀ) and
    a weight-decay part w_s, whose sum c_w(x) = Σ_s φ_s(x)·w_s is the machine's extra term under
    weight decay (Eichin et al. 2025 for Adam/AdamW). c_r is the float rounding of the stored
    parameters, which no update rule produces; it is not part of the machine and is 0 by default.

    This evaluates the machine on a *measured* path kernel, as :func:`linearized_prediction` does
    on the NTK at initialization: the contributions recorded along a run, e.g. the fields ``f0``,
    ``contributions`` and ``weight_decay`` of :class:`kernelcap.empirics.path_kernel.KernelMachine`.

    Args:
        f0: (M, *out) the network at the start of the path, at M test inputs.
        contributions: (M, n, *out) c_i(x), what training example i moved the output at x.
        decay: c_w(x), broadcastable to (M, *out) (0: no weight decay).
        rounding: c_r(x), broadcastable to (M, *out) (0: leave the rounding out).

    Returns:
        (M, *out) float64: f_0 + Σ_i c_i + c_w + c_r.

    References: Domingos, "Every model learned by gradient descent is approximately a kernel
    machine", arXiv 2012.00152 (2020); Bell et al., "Exact discrete path kernels", arXiv
    2308.00824 (2023); Eichin et al., "ExPLAIND", arXiv 2505.20076 (2025).
    """
    f = as_array(f0, "f0")
    c = as_array(contributions, "contributions")
    if f.ndim < 1:
        raise ValueError(f"f0 must have shape (M, *out), got a scalar {f0!r}")
    if c.ndim != f.ndim + 1 or c.shape[0] != f.shape[0] or c.shape[2:] != f.shape[1:]:
        raise ValueError(
            f"contributions must have shape (M, n, *out) = ({f.shape[0]}, n, "
            f"{', '.join(map(str, f.shape[1:]))}) for f0 of shape {f.shape}, got {c.shape}"
        )
    out = f + c.sum(axis=1)
    for name, value in (("decay", decay), ("rounding", rounding)):
        term = as_array(value, name)
        try:
            out = out + np.broadcast_to(term, out.shape)
        except ValueError:
            raise ValueError(
                f"{name} must broadcast to the output shape {out.shape}, got {term.shape}"
            ) from None
    return out


def decoupled_decay_term(outputs, lr, weight_decay, degree):
    r"""The weight-decay term c_w of the exact path-kernel decomposition of a homogeneous network
    trained with decoupled weight decay, from the network's outputs along the path.

    Decoupled decay (AdamW, Loshchilov & Hutter 2019) moves the parameters at step s by
    Δθ_s = u_s − η_s λ θ_s, and in the exact decomposition (Bell et al. 2023; Eichin et al. 2025)
    the decay part moves the output by c_{w,s}(x) = −η_s λ φ_s(x)·θ_s, with
    φ_s(x) = ∫_0^1 ∇f(x; θ_s + tΔθ_s) dt. If the network is homogeneous of degree L in its
    parameters, f(x; cθ) = c^L f(x; θ) (a bias-free ReLU MLP with L weight matrices), Euler's
    theorem ∇f(x; θ)·θ = L f(x; θ) (Lyu & Li 2020) and an integration by parts along the segment
    give exactly φ_s(x)·θ_s = (L+1) f̄_s(x) − f_{s+1}(x), f̄_s = ∫_0^1 f(x; θ_s + tΔθ_s) dt. With the
    trapezoid rule for f̄_s (error f″/12 along the segment, O(‖Δθ_s‖²)):

        c_w(x; t) = −λ Σ_{s<t} η_s [(L+1) f_s(x) + (L−1) f_{s+1}(x)] / 2,   f_s = f(x; θ_s).

    The decay term is the shrinkage θ → (1 − ηλ)θ seen through the output, f → (1 − ηλ)^L f: it
    moves every output towards zero at the rate Lηλ|f|, raising negative margins and lowering
    positive ones. It holds for any update u_s (SGD, Adam) as long as the decay is decoupled.

    Args:
        outputs: (T+1, ...) f(x; θ_s) for s = 0..T, any trailing shape (test points, classes, or a
            margin, which is linear in the outputs).
        lr: η_s, a scalar or (T,) per-step learning rates, ≥ 0.
        weight_decay: λ ≥ 0 (torch's ``weight_decay`` of AdamW).
        degree: L > 0, the degree of homogeneity.

    Returns:
        (T+1, ...) float64: c_w after t = 0, 1, ..., T steps (0 at t = 0).

    References: Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019; Lyu & Li,
    "Gradient descent maximizes the margin of homogeneous neural networks", ICLR 2020 (Euler's
    theorem for homogeneous networks); Bell et al., arXiv 2308.00824 (2023).
    """
    f = as_array(outputs, "outputs")
    if f.ndim < 1 or f.shape[0] < 1:
        raise ValueError(f"outputs must have shape (T+1, ...) with T ≥ 0, got {f.shape}")
    steps = f.shape[0] - 1
    eta = as_array(lr, "lr", ge=0)
    if eta.ndim > 1 or (eta.ndim == 1 and eta.shape[0] != steps):
        raise ValueError(f"lr must be a scalar or have shape ({steps},), got {eta.shape}")
    lam = float(as_array(weight_decay, "weight_decay", ge=0))
    big_l = float(as_array(degree, "degree", gt=0))
    eta = np.broadcast_to(eta, (steps,)).reshape((steps,) + (1,) * (f.ndim - 1))
    per_step = -lam * eta * ((big_l + 1) * f[:-1] + (big_l - 1) * f[1:]) / 2
    return np.concatenate([np.zeros_like(f[:1]), np.cumsum(per_step, axis=0)])


__all__ += ["kernel_machine_prediction", "decoupled_decay_term"]

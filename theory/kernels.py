r"""Infinite-width kernels of fully connected networks, kernel regression and linearized training.

Conventions follow neural-tangents' ``stax.Dense(..., W_std, b_std, parameterization="ntk")``:
a network with ``depth`` hidden layers computes

    z¹ = (σ_w/√d) W¹ x + σ_b b¹,   z^{l+1} = (σ_w/√n_l) W^{l+1} φ(z^l) + σ_b b^{l+1},

with all W, b ~ N(0, 1); the readout z^{depth+1} is the output. Its NNGP kernel Σ and neural tangent
kernel Θ obey (Jacot et al. 2018; Lee et al. 2019)

    Σ¹(x,x') = σ_w² x·x'/d + σ_b²,   Θ¹ = Σ¹,
    Σ^{l+1} = σ_w² E[φ(u)φ(v)] + σ_b²,   Θ^{l+1} = σ_w² E[φ'(u)φ'(v)] Θ^l + Σ^{l+1},

where (u, v) ~ N(0, [[Σ^l(x,x), Σ^l(x,x')], [Σ^l(x,x'), Σ^l(x',x')]]). Imports NumPy only.
"""

from __future__ import annotations

import numpy as np

from kernelcap.theory._validation import as_array, as_int

__all__ = [
    "nngp_kernel",
    "ntk_kernel",
    "linearized_prediction",
    "kernel_regression",
    "centered_alignment",
    "ACTIVATIONS",
]

ACTIVATIONS = ("relu", "erf", "identity")


def _gauss_expectations(q1, q2, q12, activation):
    """E[φ(u)φ(v)] and E[φ'(u)φ'(v)] for (u, v) centred Gaussian with variances q1, q2, cov q12."""
    if activation == "identity":
        return q12, np.ones_like(q12)
    if activation == "relu":
        # arc-cosine kernels of degree 1 and 0 (Cho & Saul 2009)
        norm = np.sqrt(q1 * q2)
        cos = np.clip(np.divide(q12, norm, out=np.zeros_like(q12), where=norm > 0), -1.0, 1.0)
        theta = np.arccos(cos)
        e_phi = norm / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * cos)
        e_dphi = (np.pi - theta) / (2 * np.pi)
        return e_phi, e_dphi
    # erf (Williams 1997)
    a = (1 + 2 * q1) * (1 + 2 * q2)
    e_phi = (2 / np.pi) * np.arcsin(np.clip(2 * q12 / np.sqrt(a), -1.0, 1.0))
    e_dphi = (4 / np.pi) / np.sqrt(a - 4 * q12**2)
    return e_phi, e_dphi


def _kernels(x1, x2, depth, activation, w_std, b_std):
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    depth = as_int(depth, "depth", ge=0)
    w_std = float(as_array(w_std, "w_std", gt=0))
    b_std = float(as_array(b_std, "b_std", ge=0))
    x1 = as_array(x1, "x1")
    x2 = x1 if x2 is None else as_array(x2, "x2")
    if x1.ndim != 2 or x2.ndim != 2:
        raise ValueError(f"x1 and x2 must be 2-d (N, D), got shapes {x1.shape} and {x2.shape}")
    if x1.shape[1] != x2.shape[1]:
        raise ValueError(
            f"x1 and x2 must have the same feature dimension, got {x1.shape[1]} and {x2.shape[1]}"
        )
    d = x1.shape[1]
    w2, b2 = w_std**2, b_std**2
    q1 = w2 * np.einsum("nd,nd->n", x1, x1) / d + b2
    q2 = w2 * np.einsum("nd,nd->n", x2, x2) / d + b2
    sigma = w2 * (x1 @ x2.T) / d + b2
    theta = sigma.copy()
    for _ in range(depth):
        e_phi, e_dphi = _gauss_expectations(q1[:, None], q2[None, :], sigma, activation)
        d1, _ = _gauss_expectations(q1, q1, q1, activation)
        d2, _ = _gauss_expectations(q2, q2, q2, activation)
        new_sigma = w2 * e_phi + b2
        theta = w2 * e_dphi * theta + new_sigma
        sigma, q1, q2 = new_sigma, w2 * d1 + b2, w2 * d2 + b2
    return sigma, theta


def nngp_kernel(
    x1, x2=None, depth: int = 1, activation: str = "relu", w_std: float = 1.0, b_std: float = 0.0
):
    r"""NNGP kernel Σ^{depth+1}(x1, x2) of a fully connected net's readout at infinite width.

    Σ¹ = σ_w² x·x'/d + σ_b², Σ^{l+1} = σ_w² E[φ(u)φ(v)] + σ_b² (see the module docstring), with the
    Gaussian expectations in closed form: ``relu`` by the degree-1 arc-cosine kernel
    √(q q')/(2π)·(sin θ + (π−θ) cos θ), θ = arccos(q₁₂/√(q q')) (Cho & Saul 2009); ``erf`` by
    (2/π) arcsin(2q₁₂/√((1+2q)(1+2q'))) (Williams 1997); ``identity`` by q₁₂.

    Valid as every hidden width → ∞ at fixed depth (Neal 1996; Lee et al. 2018; Matthews et al. 2018).

    Args:
        x1: (N1, D) inputs. x2: (N2, D) inputs, or None for x1.
        depth: number of hidden layers L ≥ 0 (0: a linear model).
        activation: ``"relu"``, ``"erf"`` or ``"identity"``.
        w_std, b_std: σ_w > 0 and σ_b ≥ 0 as in neural-tangents' ``stax.Dense``.

    Returns:
        (N1, N2) float64 array.

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

    evaluated through the eigendecomposition Θ = V Λ Vᵀ (Σ_{s<t} (1−ηλ/n)^s = (1 − (1−ηλ/n)^t)·n/(ηλ),
    = t at λ = 0). Exact for discrete steps; describes the real network when it stays lazy
    (wide, small η).

    Args:
        ntk_train: (n, n) Θ(X, X). ntk_test_train: (m, n) Θ(x, X).
        y_train, f0_train: (n,) or (n, O). f0_test: (m,) or (m, O).
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
    a = 1.0 - lr * lam / n
    r0 = v.T @ (f0 - y).reshape(n, -1)  # (n, O) in eigenbasis
    powers = a[None, :] ** t[:, None]  # (T, n)
    safe = np.where(lam > 0, lam, 1.0)
    geo = np.where(lam > 0, (1.0 - powers) * n / (lr * safe), t[:, None] * 1.0)  # Σ_{s<t} a^s
    f_train = (y.reshape(n, -1))[None] + np.einsum("ij,tj,jo->tio", v, powers, r0)
    f_test = f0t.reshape(kt.shape[0], -1)[None] - (lr / n) * np.einsum(
        "mn,nj,tj,jo->tmo", kt, v, geo, r0
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
    a = a - a.mean(0, keepdims=True) - a.mean(1, keepdims=True) + a.mean()
    b = b - b.mean(0, keepdims=True) - b.mean(1, keepdims=True) + b.mean()
    den = np.linalg.norm(a) * np.linalg.norm(b)
    if den == 0:
        raise ValueError("centered_alignment is undefined when a centred kernel is zero")
    return float(np.sum(a * b) / den)

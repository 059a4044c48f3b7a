"""Path kernel recorded along a training run, and the kernel machine that rebuilds the trained net.

Each step of (S)GD on L = (1/|B|) Σ_{i∈B} ℓ(f(x_i), y_i) moves θ_{s+1} = θ_s − η Σ_i (1/|B|) ℓ'_i ∇f(x_i; θ_s),
so f(x; θ_{s+1}) − f(x; θ_s) = φ_s(x)·(θ_{s+1} − θ_s) exactly, with φ_s(x) = ∫_0^1 ∇f(x; θ_s + t(θ_{s+1}−θ_s)) dt
(Bell et al. 2023). Summing over steps, f_T(x) = f_0(x) + Σ_s Σ_i a_{s,i} K_s(x, x_i) with
K_s(x, x_i) = φ_s(x)·∇f(x_i; θ_s) and a_{s,i} = −(η/|B|) ℓ'_i: a kernel machine (Domingos 2020). The
first-order form replaces φ_s(x) by ∇f(x; θ_s) and is off by O(η) in total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

LOSSES = ("mse", "ce")


@dataclass(frozen=True)
class PathKernelRun:
    """A training run with its path-kernel terms for the test inputs.

    Attributes (S steps, n train, M test, O outputs):
        f0_test, f_test: (M, O) outputs of the net at init and after training.
        weights: (S, n, O) a_{s,i,o} = −(η/|B|) ∂ℓ_i/∂f_o at step s (0 outside the minibatch).
        k_exact: (S, M, n, O, O) K_s(x, x_i)_{o o'} with the segment-averaged test gradient.
        k_first: (S, M, n, O, O) the same with the test gradient at θ_s (Domingos' first order).
        losses: (S,) training loss before each step.
    """

    f0_test: np.ndarray
    f_test: np.ndarray
    weights: np.ndarray
    k_exact: np.ndarray
    k_first: np.ndarray
    losses: np.ndarray

    def path_kernel(self, form: str = "exact") -> np.ndarray:
        """K^p(x, x_i) = Σ_s K_s(x, x_i), traced over outputs: (M, n)."""
        k = self.k_exact if form == "exact" else self.k_first
        return np.einsum("smnoo->mn", k)


def _jacobian(model, params, x):
    def f(p, xi):
        return functional_call(model, p, (xi[None],)).reshape(-1)

    j = vmap(jacrev(f), in_dims=(None, 0))(params, x)
    return torch.cat(
        [v.reshape(x.shape[0], v.shape[1], -1) for v in j.values()], dim=-1
    )  # (N, O, P)


def train_with_path_kernel(
    model: nn.Module,
    x_train,
    y_train,
    x_test,
    *,
    lr: float,
    steps: int,
    loss: str = "mse",
    batch_size: int | None = None,
    quad_nodes: int = 4,
    seed: int = 0,
) -> PathKernelRun:
    """Train ``model`` in place by full-batch GD (``batch_size=None``) or minibatch SGD and record
    the path-kernel terms for ``x_test``.

    ``loss="mse"``: ℓ = ½‖f − y‖² (y: (n,) or (n, O) floats); ``loss="ce"``: cross-entropy with integer
    labels y (n,). ``quad_nodes`` Gauss–Legendre nodes average the test gradient over each step's
    segment (exact for smooth nets as the node count grows; 4 reaches float64 precision for small steps);
    ``quad_nodes=0`` records only the first-order terms (``k_exact`` is None).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not (lr > 0) or steps < 1:
        raise ValueError(f"need lr > 0 and steps >= 1, got lr={lr!r}, steps={steps!r}")
    n = x_train.shape[0]
    gen = torch.Generator().manual_seed(seed)
    nodes, qw = np.polynomial.legendre.leggauss(max(quad_nodes, 1))
    nodes, qw = (nodes + 1) / 2, qw / 2
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    out = lambda p, x: functional_call(model, p, (x,)).reshape(x.shape[0], -1)  # noqa: E731
    f0 = out(params, x_test)
    weights, k_ex, k_fo, losses = [], [], [], []
    for _ in range(steps):
        idx = (
            torch.arange(n) if batch_size is None else torch.randperm(n, generator=gen)[:batch_size]
        )
        f_tr = out(params, x_train)
        if loss == "mse":
            y = y_train.reshape(n, -1)
            dl = f_tr - y
            losses.append(float(0.5 * (dl[idx] ** 2).sum(1).mean()))
        else:
            p = torch.softmax(f_tr, dim=1)
            dl = p - nn.functional.one_hot(y_train.long(), f_tr.shape[1]).to(p.dtype)
            losses.append(float(nn.functional.cross_entropy(f_tr[idx], y_train[idx].long())))
        a = torch.zeros_like(dl)
        a[idx] = -lr / len(idx) * dl[idx]
        j_tr = _jacobian(model, params, x_train)  # (n, O, P)
        delta_flat = torch.einsum("no,nop->p", a, j_tr)
        delta, off = {}, 0
        for k, v in params.items():
            delta[k] = delta_flat[off : off + v.numel()].reshape(v.shape)
            off += v.numel()
        j_te0 = _jacobian(model, params, x_test)
        if quad_nodes > 0:
            j_avg = sum(
                w * _jacobian(model, {k: params[k] + t * delta[k] for k in params}, x_test)
                for t, w in zip(nodes, qw)
            )
            k_ex.append(torch.einsum("mop,nqp->mnoq", j_avg, j_tr))
        k_fo.append(torch.einsum("mop,nqp->mnoq", j_te0, j_tr))
        weights.append(a)
        params = {k: params[k] + delta[k] for k in params}
    with torch.no_grad():
        for k, v in model.named_parameters():
            v.copy_(params[k])
    f_t = out(params, x_test)
    cpu = lambda t: t.detach().cpu().numpy()  # noqa: E731
    return PathKernelRun(
        cpu(f0),
        cpu(f_t),
        cpu(torch.stack(weights)),
        cpu(torch.stack(k_ex)) if k_ex else None,
        cpu(torch.stack(k_fo)),
        np.asarray(losses),
    )


@dataclass(frozen=True)
class KernelMachine:
    """f̂(x) = f_0(x) + Σ_i a_i(x) K^p(x, x_i) and its error against the trained net.

    Attributes: outputs (M, O); relative_error = ‖f̂ − f_T‖ / ‖f_T − f_0‖ (error relative to what
    training changed); max_abs_error.
    """

    outputs: np.ndarray
    relative_error: float
    max_abs_error: float


def kernel_machine(run: PathKernelRun, form: str = "exact") -> KernelMachine:
    """Rebuild the trained net's test outputs from the recorded path kernel (``form``: ``"exact"`` or
    ``"first_order"``). Domingos' per-example coefficient a_i(x) = Σ_s a_{s,i}K_s / Σ_s K_s is implicit:
    the sum Σ_s a_{s,i} K_s(x, x_i) is what is evaluated."""
    if form not in ("exact", "first_order"):
        raise ValueError(f"form must be 'exact' or 'first_order', got {form!r}")
    k = run.k_exact if form == "exact" else run.k_first
    f_hat = run.f0_test + np.einsum("smnoq,snq->mo", k, run.weights)
    err = f_hat - run.f_test
    rel = float(np.linalg.norm(err) / np.linalg.norm(run.f_test - run.f0_test))
    return KernelMachine(f_hat, rel, float(np.abs(err).max()))

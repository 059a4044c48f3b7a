"""Batched L1 and L2 solvers for many problems at once (``A: (B, n, d)``), CPU or GPU.

Part of :mod:`kernelcap.empirics.sparsity` (import from there). Problems with fewer measurements
than ``n`` are padded with zero rows and a ``row_mask``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from kernelcap.progress import progress as _progress
from kernelcap.runtime import make_generator
from kernelcap.theory._validation import as_array, as_int

DTYPE = torch.float32


@dataclass(frozen=True)
class SolverResult:
    """Solutions of a batch of problems.

    Attributes:
        x: solutions, ``(B, d)``.
        gap: per-problem convergence measure, ``(B,)`` (ADMM: ``‖x − z‖/‖x‖``; FISTA: KKT
            violation ``max_j dist(−∇f_j, λ∂|x_j|)``).
        n_iter: iterations run.
    """

    x: torch.Tensor
    gap: torch.Tensor
    n_iter: int


def _soft(x: torch.Tensor, t) -> torch.Tensor:
    return torch.sign(x) * torch.clamp(x.abs() - t, min=0.0)


def _generator(generator: torch.Generator | None, seed: int, device: torch.device):
    """``generator`` when given (it must live on ``device``), else one seeded with ``seed``."""
    if generator is None:
        return make_generator(as_int(seed, "seed", ge=0), device)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != device.type:
        raise ValueError(
            f"generator is on {generator.device.type}, the experiment runs on {device.type}"
        )
    return generator


def _check_batch(A: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(A, torch.Tensor) or A.ndim != 3:
        raise ValueError(f"A must be a (B, n, d) tensor, got {getattr(A, 'shape', type(A))}")
    if not isinstance(y, torch.Tensor) or y.shape != A.shape[:2]:
        raise ValueError(
            f"y must have shape {tuple(A.shape[:2])}, got {getattr(y, 'shape', type(y))}"
        )
    if not (torch.isfinite(A).all() and torch.isfinite(y).all()):
        raise ValueError("A and y must be finite")


def min_norm_solution(
    A: torch.Tensor, y: torch.Tensor, row_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Min-L2 interpolant ``Aᵀ(AAᵀ)⁻¹y`` of each problem, ``(B, d)``; padded rows are ignored."""
    _check_batch(A, y)
    if row_mask is not None:
        y = y * row_mask
    return (_projector(A, row_mask) @ y.unsqueeze(-1)).squeeze(-1)


def _projector(A: torch.Tensor, row_mask: torch.Tensor | None) -> torch.Tensor:
    """``P = Aᵀ M⁻¹`` with ``M = AAᵀ`` plus 1 on padded diagonal entries: ``(B, d, n)``."""
    if row_mask is not None:
        A = A * row_mask.unsqueeze(-1)
        pad = torch.diag_embed((~row_mask).to(A.dtype))
    else:
        pad = 0.0
    M = A @ A.transpose(1, 2) + pad
    chol = torch.linalg.cholesky(M)
    return torch.cholesky_solve(A, chol).transpose(1, 2)


def basis_pursuit(
    A: torch.Tensor,
    y: torch.Tensor,
    *,
    row_mask: torch.Tensor | None = None,
    n_iter: int = 500,
    penalty: float = 10.0,
    progress: bool | None = None,
) -> SolverResult:
    """Basis pursuit ``min ‖x‖₁ s.t. Ax = y`` for a batch of problems by ADMM.

    Splitting ``x = z``: ``x ← Π(z − u)`` (projection onto ``{Ax = y}``), ``z ← S_{1/ρ}(x + u)``,
    ``u ← u + x − z`` (Boyd et al. 2011, §6.2). Returns the feasible iterate ``x``.

    Args:
        A: ``(B, n, d)`` with full row rank on the unpadded rows; y: ``(B, n)``.
        row_mask: ``(B, n)`` bool, ``False`` marks padding rows (must be zero in ``y``).
        n_iter: ADMM iterations; penalty: ADMM parameter ``ρ > 0``.
        progress: tqdm bar over iterations (None: only on a terminal).
    """
    _check_batch(A, y)
    n_iter = as_int(n_iter, "n_iter", ge=1)
    if not penalty > 0:
        raise ValueError(f"penalty must be > 0, got {penalty!r}")
    if row_mask is not None:
        y = y * row_mask
    P = _projector(A, row_mask)
    if row_mask is not None:
        A = A * row_mask.unsqueeze(-1)
    x_ls = (P @ y.unsqueeze(-1)).squeeze(-1)
    PA = P @ A  # projection onto row space
    z = x_ls.clone()
    u = torch.zeros_like(z)
    for _ in _progress(range(n_iter), total=n_iter, desc="basis pursuit", enabled=progress):
        v = z - u
        x = v - (PA @ v.unsqueeze(-1)).squeeze(-1) + x_ls
        z = _soft(x + u, 1.0 / penalty)
        u = u + x - z
    gap = (x - z).norm(dim=-1) / x.norm(dim=-1).clamp_min(1e-300)
    return SolverResult(x=x, gap=gap, n_iter=n_iter)


def lasso(
    A: torch.Tensor,
    y: torch.Tensor,
    lam,
    *,
    n_iter: int = 2000,
    progress: bool | None = None,
) -> SolverResult:
    """Lasso ``min_x ½‖y − Ax‖² + λ‖x‖₁`` for a batch of problems by FISTA.

    Step ``1/L`` with ``L = ‖A‖₂²`` per problem (Beck & Teboulle 2009). ``gap`` is the KKT
    violation, zero exactly at the solution.

    Args:
        A: ``(B, n, d)``; y: ``(B, n)``; lam: ``λ ≥ 0``, a float or ``(B,)``.
        n_iter: FISTA iterations. progress: tqdm bar over iterations (None: only on a terminal).
    """
    _check_batch(A, y)
    n_iter = as_int(n_iter, "n_iter", ge=1)
    lam_t = torch.as_tensor(as_array(lam, "lam", ge=0), dtype=A.dtype, device=A.device)
    lam_t = lam_t.expand(A.shape[0]).unsqueeze(-1)
    step = 1.0 / torch.linalg.matrix_norm(A, ord=2).square().unsqueeze(-1)
    AtA, Aty = A.transpose(1, 2) @ A, (A.transpose(1, 2) @ y.unsqueeze(-1)).squeeze(-1)
    x = torch.zeros_like(Aty)
    w, t = x.clone(), 1.0
    for _ in _progress(range(n_iter), total=n_iter, desc="lasso (FISTA)", enabled=progress):
        grad = (AtA @ w.unsqueeze(-1)).squeeze(-1) - Aty
        x_new = _soft(w - step * grad, step * lam_t)
        t_new = 0.5 * (1 + math.sqrt(1 + 4 * t * t))
        w = x_new + ((t - 1) / t_new) * (x_new - x)
        x, t = x_new, t_new
    return SolverResult(x=x, gap=lasso_kkt_violation(A, y, lam_t.squeeze(-1), x), n_iter=n_iter)


def lasso_kkt_violation(A: torch.Tensor, y: torch.Tensor, lam, x: torch.Tensor) -> torch.Tensor:
    """``max_j dist(Aⱼᵀ(y − Ax), λ∂|x_j|)`` per problem, ``(B,)``: zero iff ``x`` is the lasso
    solution."""
    lam_t = torch.as_tensor(lam, dtype=A.dtype, device=A.device).expand(A.shape[0]).unsqueeze(-1)
    corr = (A.transpose(1, 2) @ (y - (A @ x.unsqueeze(-1)).squeeze(-1)).unsqueeze(-1)).squeeze(-1)
    active = x != 0
    viol = torch.where(
        active, (corr - lam_t * torch.sign(x)).abs(), (corr.abs() - lam_t).clamp_min(0)
    )
    return viol.amax(dim=-1)

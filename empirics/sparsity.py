"""L1 vs L2 in practice: batched L1 solvers, the recovery phase diagram, penalised training.

Every experiment here is one tensor program over all its problems (grid points × trials): the
batched solvers take ``A: (B, n, d)``; problems with fewer measurements than ``n`` are padded with
zero rows and a ``row_mask``. Experiments take ``device=``, ``seed=`` or ``generator=`` and
``progress=`` (a tqdm bar; ``None`` shows it only on a terminal).

* :func:`basis_pursuit` (ADMM) and :func:`lasso` (FISTA): many problems at once, CPU or GPU.
* :func:`phase_diagram`: success probability of basis pursuit over a (n/d, k/n) grid.
* :func:`recovery_errors`: min-L2 interpolant vs basis pursuit on the same sparse problems.
* :func:`orthonormal_zero_fractions`: linear models trained by proximal gradient (L1) vs weight
  decay (L2): exact zeros vs shrinkage.
* :func:`train_penalized_mlps`: small MLPs trained with L1 (proximal), L2 and no penalty.
* :func:`train_diagonal_network`: ``β = u⊙v`` trained with weight decay vs the lasso.

The claims that pair these with :mod:`kernelcap.theory.sparsity` are in
:mod:`kernelcap.claims.sparsity`.
"""

from kernelcap.empirics._sparsity_diagonal import DiagonalNetworkFit, train_diagonal_network
from kernelcap.empirics._sparsity_recovery import (
    SUCCESS_TOL,
    PhaseDiagram,
    RecoveryErrors,
    phase_diagram,
    recovery_errors,
)
from kernelcap.empirics._sparsity_solvers import (
    DTYPE,
    SolverResult,
    basis_pursuit,
    lasso,
    lasso_kkt_violation,
    min_norm_solution,
)
from kernelcap.empirics._sparsity_training import (
    PenalizedMLPs,
    ZeroFractions,
    orthonormal_zero_fractions,
    train_penalized_mlps,
)

__all__ = [
    "DTYPE",
    "SUCCESS_TOL",
    "DiagonalNetworkFit",
    "PenalizedMLPs",
    "PhaseDiagram",
    "RecoveryErrors",
    "SolverResult",
    "ZeroFractions",
    "basis_pursuit",
    "lasso",
    "lasso_kkt_violation",
    "min_norm_solution",
    "orthonormal_zero_fractions",
    "phase_diagram",
    "recovery_errors",
    "train_diagonal_network",
    "train_penalized_mlps",
]

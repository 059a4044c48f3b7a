"""Kernel views of a torch model: empirical NTK and kernel drift (lazy vs rich).

``empirical_ntk(model, x1, x2)`` works for any ``torch.nn.Module``. The kernel is over the
parameters with ``requires_grad=True`` (or a ``params=`` subset of them) in every method; vector
outputs are summed over by default (``outputs="trace"``, O times neural-tangents'
``trace_axes=(-1,)``, which averages) or kept (``outputs="full"``). The structured path lives in
:mod:`._ntk_hooks` (layer hooks and rules, checked on a probe), the torch.func methods in
:mod:`._ntk_func`; docs/kernels.md says what each supports and how memory scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from kernelcap.empirics._ntk_blocks import assemble
from kernelcap.empirics._ntk_features import Dense, Features, Part, cross_kernel
from kernelcap.empirics._ntk_func import func_context, jacobian_features, model_fn, ntvp_block
from kernelcap.empirics._ntk_hooks import batch_features, make_plan
from kernelcap.empirics._ntk_input import (
    METHODS,
    as_batch,
    check_model,
    check_options,
    check_pair,
    output_picker,
    select_parameters,
)
from kernelcap.empirics._ntk_layers import NTKLinear
from kernelcap.runtime import resolve_device
from kernelcap.theory.kernels import centered_alignment

__all__ = [
    "empirical_ntk",
    "kernel_drift",
    "KernelDrift",
    "NTKLinear",
    "ntk_mlp",
    "ntk_paths",
    "METHODS",
]


def ntk_mlp(
    d_in: int,
    width: int,
    depth: int,
    d_out: int = 1,
    *,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
    readout_scale: float = 1.0,
    seed: int = 0,
    device="auto",
    dtype=torch.float64,
) -> nn.Sequential:
    """A ``depth``-hidden-layer MLP in NTK parameterization (the network of ``theory.kernels``).

    ``readout_scale`` multiplies the readout's weight factor: 1 is NTK scaling, ``1/√width`` is
    mean-field scaling. ``activation``: ``"relu"``, ``"erf"`` (as ``torch.erf``) or ``"identity"``.
    """
    acts = {"relu": nn.ReLU, "erf": _Erf, "identity": nn.Identity}
    if activation not in acts:
        raise ValueError(f"activation must be one of {tuple(acts)}, got {activation!r}")
    gen = torch.Generator().manual_seed(seed)
    layers, d = [], d_in
    for _ in range(depth):
        layers += [
            NTKLinear(d, width, w_std, b_std, generator=gen, dtype=dtype),
            acts[activation](),
        ]
        d = width
    layers.append(
        NTKLinear(d, d_out, w_std, b_std, scale=readout_scale, generator=gen, dtype=dtype)
    )
    return nn.Sequential(*layers).to(resolve_device(device))


class _Erf(nn.Module):
    def forward(self, x):
        return torch.erf(x)


def _batches(model, x1, x2, params):
    selected = select_parameters(model, params)
    p0 = next(iter(selected.values()))
    x1 = as_batch(x1, "x1", p0.dtype, p0.device)
    x2 = None if x2 is None else as_batch(x2, "x2", p0.dtype, p0.device)
    check_pair(x1, x2)
    return selected, x1, x2


def empirical_ntk(
    model: nn.Module,
    x1,
    x2=None,
    *,
    method: str = "auto",
    outputs: str = "trace",
    params=None,
    select_output=None,
    chunk_size: int | None = None,
    out=None,
    progress: bool | None = None,
) -> torch.Tensor:
    r"""Empirical neural tangent kernel Θ(x1, x2) = Σ_θ ∂f(x1)/∂θ · ∂f(x2)/∂θ of ``model``.

    The sum runs over the parameters θ with ``requires_grad=True`` (or the ``params`` subset),
    at the model's current weights, which are not changed. For O outputs,
    Θ(x, x') = Σ_o Σ_θ ∂f_o(x)/∂θ ∂f_o(x')/∂θ with ``outputs="trace"`` (Jacot et al. 2018), and
    Θ_{oo'}(x, x') = Σ_θ ∂f_o(x)/∂θ ∂f_{o'}(x')/∂θ with ``outputs="full"``.

    Methods (all exact; tested against ``vmap(jacrev)`` on a zoo of architectures):

    * ``"auto"`` (default): ``"jacobian"`` for tiny problems (rows × parameters ≤ 2¹⁹, where
      its cost is below the structured path's fixed cost), else ``"structured"`` with
      per-parameter fallbacks: layer hooks record
      each parametrized layer's input and output gradient in one batched forward and O backward
      passes; rules for Linear (over any token axes), Conv1d/2d, Embedding, MultiheadAttention,
      LayerNorm/RMSNorm/GroupNorm/BatchNorm give each layer's contribution by the Gram identity
      Σ_{t,s} (g_t·g'_s)(a_t·a'_s) or from materialized per-example gradients, whichever is
      cheaper (Novak et al. 2022). A layer without a rule gets torch.func on that layer alone; a
      parameter whose rule fails a one-time probe against autograd (used outside its layer,
      shared in an unsupported way) gets torch.func on the whole model. See :func:`ntk_paths`.
    * ``"structured"``: the same, but refuses (ValueError) when a parameter needs the
      whole-model fallback.
    * ``"jacobian"``: per-example Jacobians by ``vmap(jacrev)``, then contracted.
    * ``"ntvp"``: NTK-vector products J(x1)[J(x2)ᵀe] by ``vjp`` and ``jvp`` (no Jacobian stored).

    Args:
        model: a ``torch.nn.Module`` in eval mode (train-mode BatchNorm or Dropout are refused),
            mapping (N, ...) to (N,) or (N, ...) — one output row per example.
        x1: (N1, ...) inputs; floating inputs are cast to the parameters' dtype, integer inputs
            (token ids) pass through uncast. x2: (N2, ...) inputs, or None for x1 (symmetric).
        method: ``"auto"``, ``"structured"``, ``"jacobian"`` or ``"ntvp"``.
        outputs: ``"trace"`` → (N1, N2); ``"full"`` → (N1, N2, O, O).
        params: which trainable parameters count: None (all), a name, module prefix or glob, a
            list of them (``params="fc3"``: the last layer only, the conjugate / after-kernel),
            or a predicate ``(name, parameter) -> bool``.
        select_output: for a model returning a tuple, list or dict: the index or key of the
            output to use, or a callable applied to the model's output.
        chunk_size: rows of x1 and x2 per block (None: one block). Memory is that of two
            chunks' layer activations and output gradients plus one (chunk × chunk) block —
            materialized per-example gradients are formed one layer at a time — instead of
            O(N × all parameters).
        out: path of an ``.npy`` file to write the kernel to (memory-mapped, so kernels larger
            than RAM work with ``chunk_size``); the result is then backed by that file.
        progress: progress bar over blocks (None: only on a terminal, when there are several).

    Returns:
        A tensor (N1, N2) or (N1, N2, O, O) in the parameters' dtype, on their device (on the
        CPU and backed by ``out`` when given).

    References: Jacot, Gabriel & Hongler, "Neural tangent kernel", NeurIPS 2018; Novak, Sohl-
    Dickstein & Schoenholz, "Fast finite width neural tangent kernel", ICML 2022.
    """
    check_options(method, outputs, chunk_size, out, progress)
    check_model(model)
    selected, x1, x2 = _batches(model, x1, x2, params)
    if method == "auto" and _jacobian_is_cheaper(selected, x1, x2):
        try:
            return _kernel(
                model,
                selected,
                x1,
                x2,
                "jacobian",
                outputs,
                params,
                select_output,
                chunk_size,
                out,
                progress,
            )
        except RuntimeError:
            pass  # torch.func cannot differentiate this model; the layer rules can
    return _kernel(
        model, selected, x1, x2, method, outputs, params, select_output, chunk_size, out, progress
    )


def _kernel(
    model, selected, x1, x2, method, outputs, params, select_output, chunk_size, out, progress
):
    full = outputs == "full"
    pick = output_picker(select_output)
    names = tuple(selected)
    if method in ("auto", "structured"):
        probe = x1 if x2 is None or len(x1) >= 2 else torch.cat([x1, x2[:1]])
        plan = make_plan(model, probe, params, select_output)
        if method == "structured" and plan.fallback:
            raise ValueError(
                f"method='structured' cannot express parameters {list(plan.fallback)} with layer "
                "rules (they are used outside a supported layer's forward, or the model mixes "
                "examples); method='auto' computes them with torch.func"
            )

        def features(xc):
            return batch_features(plan, xc)

        def contract(fa, fb):
            return cross_kernel(fa, fb, full)

    elif method == "jacobian":
        f = model_fn(model, pick)
        vals = {k: p.detach() for k, p in model.named_parameters()}
        shapes = {k: tuple(p.shape) for k, p in selected.items()}

        def features(xc):
            with func_context():
                jac = _guard("jacobian", jacobian_features, f, vals, names, xc)
            uses = [Dense(Part(k, shapes[k]), jac[k].detach()) for k in names]
            k_out = uses[0].d.shape[1]
            return Features(xc.shape[0], k_out, uses, shapes, uses[0].d.dtype, uses[0].d.device)

        def contract(fa, fb):
            return cross_kernel(fa, fb, full)

    else:
        f = model_fn(model, pick)
        vals = {k: p.detach() for k, p in model.named_parameters()}

        def features(xc):
            return xc

        def contract(a, b):
            with func_context():
                return _guard("ntvp", ntvp_block, f, vals, names, a, None if b is a else b, full)

    return assemble(
        features, contract, x1, x2, chunk=chunk_size, full=full, out=out, progress=progress
    )


SMALL_PROBLEM = 2**19  # rows × parameters below which the structured path's fixed cost dominates


def _jacobian_is_cheaper(selected, x1, x2) -> bool:
    """Tiny problems: all per-example Jacobians (rows × parameters numbers per output) cost less
    than the structured path's one-time probe and hooks (measured on the test zoo at 1 thread:
    1–4 ms of fixed cost against 1–8 ms for the whole torch.func kernel at N ≤ 256)."""
    rows = len(x1) + (0 if x2 is None else len(x2))
    return rows * sum(p.numel() for p in selected.values()) <= SMALL_PROBLEM


def _guard(method, fn, *args):
    try:
        return fn(*args)
    except (RuntimeError, NotImplementedError) as err:
        raise RuntimeError(
            f"method={method!r} cannot differentiate this model with torch.func ({err}); "
            "method='auto' may handle it"
        ) from err


def ntk_paths(model: nn.Module, x, *, params=None, select_output=None) -> dict[str, str]:
    """How ``empirical_ntk(..., method="auto")`` computes each parameter's contribution.

    Returns {name: path} for the parameters that count, with path ``"layer rule"`` (hooks and a
    per-layer rule: the fast path), ``"module torch.func"`` (a layer without a rule: torch.func
    on that layer alone) or ``"model torch.func"`` (the parameter failed the probe against
    autograd: ``vmap(jacrev)`` through the whole model). ``x``: (N, ...) example inputs.
    """
    return dict(make_plan(model, x, params, select_output).paths)


@dataclass(frozen=True)
class KernelDrift:
    """How much the empirical NTK moved between two weight settings of the same architecture.

    Attributes:
        relative_change: ‖Θ_b − Θ_a‖_F / ‖Θ_a‖_F.
        kernel_distance: 1 − ⟨Θ_a, Θ_b⟩_F / (‖Θ_a‖_F ‖Θ_b‖_F) (Fort et al. 2020).
        alignment_a, alignment_b: centered alignment of Θ_a, Θ_b with YYᵀ (NaN without labels).
    """

    relative_change: float
    kernel_distance: float
    alignment_a: float
    alignment_b: float


def kernel_drift(
    model_a: nn.Module,
    model_b: nn.Module,
    x,
    y=None,
    *,
    method: str = "auto",
    params=None,
    select_output=None,
    chunk_size: int | None = None,
) -> KernelDrift:
    """Relative Frobenius change of the empirical NTK from ``model_a`` to ``model_b`` on ``x``.

    Both kernels are over the same parameters: those with ``requires_grad=True`` (or the
    ``params`` subset, chosen by name in each model), as in :func:`empirical_ntk`.

    Args:
        model_a: the network at one point of training (e.g. init).
        model_b: the same network at another point (e.g. the end).
        x: (N, ...) inputs. y: optional (N,) or (N, O) labels (class indices of shape (N,) with
            integer dtype are one-hot encoded) for the kernel-label alignment.
        method: as in :func:`empirical_ntk`.
        params: as in :func:`empirical_ntk`.
        select_output: as in :func:`empirical_ntk`.
        chunk_size: as in :func:`empirical_ntk`.
    """
    for name, m in (("model_a", model_a), ("model_b", model_b)):
        if not isinstance(m, nn.Module):
            raise TypeError(f"{name} must be a torch.nn.Module, got {type(m).__name__}")
    names_a = list(select_parameters(model_a, params))
    names_b = list(select_parameters(model_b, params))
    if names_a != names_b:
        raise ValueError(
            "model_a and model_b must have the same trainable parameters (names), got "
            f"{len(names_a)} and {len(names_b)}: {sorted(set(names_a) ^ set(names_b))[:6]}"
        )
    kw = dict(method=method, params=params, select_output=select_output, chunk_size=chunk_size)
    ka = empirical_ntk(model_a, x, **kw).double().cpu()
    kb = empirical_ntk(model_b, x, **kw).double().cpu()
    for name, k in (("model_a", ka), ("model_b", kb)):
        if not torch.isfinite(k).all():
            raise ValueError(f"{name}'s NTK is not finite (did its training diverge?)")
    if ka.shape != kb.shape:
        raise ValueError(
            f"model_a and model_b give kernels of different shapes {ka.shape} and {kb.shape}"
        )
    na, nb = torch.linalg.norm(ka), torch.linalg.norm(kb)
    rel = float(torch.linalg.norm(kb - ka) / na)
    dist = float(1 - (ka * kb).sum() / (na * nb))
    al_a = al_b = float("nan")
    if y is not None:
        yt = torch.as_tensor(y)
        if yt.shape[0] != ka.shape[0]:
            raise ValueError(f"y must have {ka.shape[0]} rows, got shape {tuple(yt.shape)}")
        if yt.ndim == 1 and not yt.is_floating_point():
            yt = torch.nn.functional.one_hot(yt.long())
        ym = yt.reshape(len(yt), -1).double().cpu()
        yy = (ym @ ym.T).numpy()
        al_a, al_b = centered_alignment(ka.numpy(), yy), centered_alignment(kb.numpy(), yy)
    return KernelDrift(rel, dist, al_a, al_b)

"""Kernel views of a torch model: empirical NTK, kernel drift (lazy vs rich), path kernel; claims.

``empirical_ntk(model, x1, x2)`` works for any ``torch.nn.Module``. The kernel is over the
parameters with ``requires_grad=True`` (or a ``params=`` subset of them) in every method; vector
outputs are summed over by default (``outputs="trace"``, O times neural-tangents'
``trace_axes=(-1,)``, which averages) or kept (``outputs="full"``). The structured path lives in
:mod:`._ntk_hooks` (layer hooks and rules, checked on a probe), the torch.func methods in
:mod:`._ntk_func`; docs/kernels.md says what each supports and how memory scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


# ----------------------------------------------------------------------------- experiments


def _data(n, d, seed, dtype=torch.float64):
    """Inputs on the sphere of radius √d (so x·x/d = 1) and a smooth target."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype)
    x = x / x.norm(dim=1, keepdim=True) * d**0.5
    return x, torch.sin(x[:, 0]) + 0.5 * x[:, 1]


def _loglog_slope(xs, ys, sems):
    """OLS slope of log y on log x and its standard error from the per-point relative errors."""
    lx, ly = np.log(xs), np.log(ys)
    c = lx - lx.mean()
    slope = float((c * (ly - ly.mean())).sum() / (c**2).sum())
    se = float(np.sqrt(((c * np.asarray(sems) / np.asarray(ys)) ** 2).sum()) / (c**2).sum())
    return slope, se


def _train_gd(model, x, y, lr, steps):
    """Full-batch GD on L = (1/2n) Σ (f(x_i) − y_i)² (the convention of ``linearized_prediction``)."""
    params = [p for p in model.parameters() if p.requires_grad]
    for _ in range(steps):
        loss = 0.5 * ((model(x).reshape(-1) - y) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    return model


def _slope_figure(cid, subtitle, x, theory, measured, spread, xlabel, ylabel):
    from kernelcap.plotting import claim_figure, plot_measured, plot_theory

    fig, ax = claim_figure(cid, subtitle)
    plot_theory(ax, x, theory, label="theory power law through the data")
    plot_measured(ax, x, measured, spread)
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return fig


def plot_bound(ax, x, y):
    """The n^-1/2 bound through the data, dashed, next to the n^-1 theory line."""
    ax.plot(x, _power_line(x, y, -0.5), "--", color="C0", alpha=0.6, label=r"$n^{-1/2}$ bound")
    ax.legend(fontsize=8)


def _power_line(x, y, exponent):
    """The line c·x^exponent through the geometric mean of the measurements (for plots and rows)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    c = np.exp(np.mean(np.log(y) - exponent * np.log(x)))
    return c * x**exponent


# ----------------------------------------------------------------------------- claims

from kernelcap._legacy import Check, Evidence, claim  # noqa: E402
from kernelcap.empirics.path_kernel import train_with_path_kernel  # noqa: E402
from kernelcap.theory.kernels import linearized_prediction, ntk_kernel  # noqa: E402


def _path_setup(config, seed):
    x, y = _data(config["n"], config["d"], seed)
    xt, _ = _data(config["n_test"], config["d"], seed + 7919)
    m = ntk_mlp(config["d"], config["width"], 1, activation="erf", b_std=0.1, seed=seed + 1)
    return m, x, y, xt


@claim(
    "kernels.path-exact",
    statement="The exact discrete path-kernel machine f_0(x) + Σ_s Σ_i a_{s,i} K_s(x, x_i) reproduces a trained "
    "net's test outputs to ≤ 1e-6 relative error in float64.",
    source="Domingos (2020), arXiv 2012.00152; Bell et al. (2023), arXiv 2308.00824",
    configs={
        "smoke": {
            "n": 16,
            "n_test": 8,
            "d": 4,
            "width": 64,
            "lr": 0.5,
            "steps": 20,
            "quad_nodes": 4,
        },
        "quick": {
            "n": 32,
            "n_test": 16,
            "d": 6,
            "width": 128,
            "lr": 0.5,
            "steps": 100,
            "quad_nodes": 4,
        },
        "paper": {
            "n": 256,
            "n_test": 64,
            "d": 16,
            "width": 512,
            "lr": 0.5,
            "steps": 1000,
            "quad_nodes": 6,
        },
    },
)
def path_exact(config, rt):
    m, x, y, xt = _path_setup(config, rt.seed)
    run = train_with_path_kernel(
        m, x, y, xt, lr=config["lr"], steps=config["steps"], quad_nodes=config["quad_nodes"]
    )
    km = run.kernel_machine("exact")
    from kernelcap.plotting import claim_figure, plot_measured, plot_theory

    fig, ax = claim_figure("kernels.path-exact", f"relative error {km.relative_error:.2e}")
    lim = [float(km.f_trained.min()), float(km.f_trained.max())]
    plot_theory(ax, lim, lim, label="kernel machine = net")
    plot_measured(ax, km.reconstruction[:, 0], km.f_trained[:, 0], label="test points")
    ax.set_xlabel(r"kernel machine $f_0(x)+\sum_{s,i} a_{s,i}K_s(x,x_i)$")
    ax.set_ylabel(r"trained net $f_T(x)$")
    ax.legend(fontsize=8)
    rows = [
        {"test_index": i, "predicted": float(p), "measured": float(f), "spread": float("nan")}
        for i, (p, f) in enumerate(zip(km.reconstruction[:, 0], km.f_trained[:, 0]))
    ]
    return Evidence(
        rows=rows,
        checks=(
            Check(
                "relative reconstruction error",
                km.relative_error,
                1e-6,
                "<=",
                "float64 round-off over the run is ~1e-13; 1e-6 is the issue's stated bound",
            ),
        ),
        figure=fig,
        summary=f"exact path-kernel machine vs net on {len(rows)} test points: relative error {km.relative_error:.2e}, "
        f"max abs {km.max_abs_error:.2e}",
        extras={
            "relative_error": km.relative_error,
            "max_abs_error": km.max_abs_error,
            "first_order_relative_error": run.kernel_machine("first_order").relative_error,
        },
    )


@claim(
    "kernels.path-first-order",
    statement="Domingos' first-order path-kernel machine (test gradient at the start of each step) misses the "
    "trained net by an error proportional to the learning rate at fixed training time.",
    source="Domingos (2020), arXiv 2012.00152",
    configs={
        "smoke": {"n": 12, "n_test": 6, "d": 4, "width": 32, "lrs": [0.8, 0.4, 0.2], "time": 6.4},
        "quick": {
            "n": 32,
            "n_test": 16,
            "d": 6,
            "width": 128,
            "lrs": [0.8, 0.4, 0.2, 0.1, 0.05],
            "time": 12.8,
        },
        "paper": {
            "n": 256,
            "n_test": 64,
            "d": 16,
            "width": 512,
            "lrs": [0.8, 0.4, 0.2, 0.1, 0.05, 0.025],
            "time": 51.2,
        },
    },
)
def path_first_order(config, rt):
    lrs = np.array(config["lrs"], float)
    errs = []
    for lr in lrs:
        m, x, y, xt = _path_setup(config, rt.seed)
        run = train_with_path_kernel(
            m, x, y, xt, lr=float(lr), steps=int(round(config["time"] / lr)), quad_nodes=0
        )
        errs.append(run.kernel_machine("first_order").relative_error)
    errs = np.array(errs)
    slope, _ = _loglog_slope(lrs, errs, np.zeros_like(errs))
    line = _power_line(lrs, errs, 1.0)
    rows = [
        {"lr": float(a), "predicted": float(p), "measured": float(e), "spread": float("nan")}
        for a, p, e in zip(lrs, line, errs)
    ]
    fig = _slope_figure(
        "kernels.path-first-order",
        f"slope {slope:.3f} (theory 1)",
        lrs,
        line,
        errs,
        None,
        r"learning rate $\eta$ (fixed time $\eta T$)",
        "relative error of first-order machine",
    )
    return Evidence(
        rows=rows,
        checks=(
            Check(
                "|slope − 1|",
                abs(slope - 1),
                0.15,
                "<=",
                "the O(η²) next-order term bends the slope by ≲ ηmax·(curvature) ≈ 0.1 at ηmax=0.8; deterministic run",
            ),
        ),
        figure=fig,
        summary=f"first-order error {errs[0]:.3g} at η={lrs[0]} → {errs[-1]:.3g} at η={lrs[-1]}; slope {slope:.3f} (theory 1)",
        extras={"slope": slope},
    )

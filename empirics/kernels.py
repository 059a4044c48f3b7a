"""Kernel views of a torch model: empirical NTK, kernel drift (lazy vs rich), path kernel; claims.

``empirical_ntk(model, x1, x2)`` works for any ``torch.nn.Module``; see :mod:`._ntk_methods` for the
vector-output convention (trace over outputs by default, like neural-tangents' ``trace_axes=(-1,)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from kernelcap.empirics._ntk_methods import (
    NTKLinear,
    jacobian_block,
    ntvp_block,
    structured_block,
    structured_layers,
)
from kernelcap.runtime import resolve_device
from kernelcap.theory.kernels import centered_alignment

__all__ = ["empirical_ntk", "kernel_drift", "KernelDrift", "NTKLinear", "ntk_mlp", "METHODS"]

METHODS = ("auto", "structured", "jacobian", "ntvp")


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


def _check_inputs(model, x1, x2):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    p = next((p for p in model.parameters() if p.requires_grad), None)
    if p is None:
        raise ValueError("model has no trainable parameters, its NTK is zero")
    xs = []
    for name, x in (("x1", x1), ("x2", x2)):
        if x is None:
            xs.append(None)
            continue
        if not isinstance(x, torch.Tensor):
            try:
                x = torch.as_tensor(np.asarray(x, dtype=np.float64))
            except (TypeError, ValueError) as err:
                raise TypeError(
                    f"{name} must be a tensor or array, got {type(x).__name__}"
                ) from err
        if x.ndim < 2:
            raise ValueError(f"{name} must have a leading batch axis, got shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        xs.append(x.to(dtype=p.dtype, device=p.device))
    if xs[1] is not None and xs[1].shape[1:] != xs[0].shape[1:]:
        raise ValueError(
            f"x1 and x2 must have the same feature shape, got {tuple(xs[0].shape[1:])} "
            f"and {tuple(xs[1].shape[1:])}"
        )
    return xs


def empirical_ntk(
    model: nn.Module,
    x1,
    x2=None,
    *,
    method: str = "auto",
    chunk_size: int | None = None,
    outputs: str = "trace",
) -> torch.Tensor:
    r"""Empirical neural tangent kernel Θ(x1, x2) = Σ_params J(x1) J(x2)ᵀ of ``model`` at its weights.

    Methods (all agree to float tolerance):

    * ``"structured"``: for ``nn.Sequential`` stacks of ``nn.Linear``/``NTKLinear`` and elementwise
      activations, Θ = Σ_l (Δ_l Δ_lᵀ) ⊙ (c_w² A_{l−1}A_{l−1}ᵀ + c_b²), with A_{l−1} the layer's input,
      Δ_l = ∂f/∂z_l and c_w, c_b the weight and bias factors — no per-example gradient is formed.
    * ``"jacobian"``: per-example Jacobians through ``torch.func.jacrev`` and contraction (any module).
    * ``"ntvp"``: NTK-vector products J(x1)[J(x2)ᵀe] through ``torch.func.vjp``/``jvp`` (any module).
    * ``"auto"``: structured when every parametrized layer supports it, else jacobian.

    Args:
        model: any ``torch.nn.Module`` mapping (N, ...) to (N,) or (N, O); its weights are not changed.
        x1: (N1, ...) inputs. x2: (N2, ...) inputs, or None for x1 (the kernel is then symmetric).
        chunk_size: rows of x1 and x2 per block (None: whole); memory is O(chunk·width) for
            structured and O(chunk·params) for the torch.func methods.
        outputs: ``"trace"`` → (N1, N2) summed over outputs (O × neural-tangents' ``trace_axes=(-1,)``,
            which averages);
            ``"full"`` → (N1, N2, O, O).

    Returns:
        A tensor on the model's device and in its dtype.

    References: Jacot et al. 2018; Novak et al., "Fast finite width neural tangent kernel", ICML 2022.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if outputs not in ("trace", "full"):
        raise ValueError(f"outputs must be 'trace' or 'full', got {outputs!r}")
    x1, x2 = _check_inputs(model, x1, x2)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    layers = structured_layers(model)
    if method == "structured" and layers is None:
        raise ValueError(
            "method='structured' needs an nn.Sequential of Linear layers and elementwise "
            "activations; use method='jacobian' or 'ntvp' for this model"
        )
    if method == "auto":
        method = "structured" if layers is not None else "jacobian"
    full = outputs == "full"
    if method == "structured":
        block = lambda a, b: structured_block(layers, a, b, full)  # noqa: E731
    else:
        fn = jacobian_block if method == "jacobian" else ntvp_block
        block = lambda a, b: fn(model, a, b, full)  # noqa: E731
    symmetric = x2 is None
    xb = x1 if symmetric else x2
    c = chunk_size or max(len(x1), len(xb))
    if c >= len(x1) and c >= len(xb):
        return block(x1, None if symmetric else x2).detach()
    rows = []
    for i in range(0, len(x1), c):
        cols = []
        for j in range(0, len(xb), c):
            if symmetric and j < i:
                cols.append(None)  # filled from the transpose below
                continue
            cols.append(
                block(x1[i : i + c], None if (symmetric and i == j) else xb[j : j + c]).detach()
            )
        rows.append(cols)
    if symmetric:
        for bi, cols in enumerate(rows):
            for bj in range(bi):
                t = rows[bj][bi]
                cols[bj] = t.transpose(0, 1) if not full else t.permute(1, 0, 3, 2)
    return torch.cat([torch.cat(cols, dim=1) for cols in rows], dim=0)


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
    chunk_size: int | None = None,
) -> KernelDrift:
    """Relative Frobenius change of the empirical NTK from ``model_a`` to ``model_b`` on inputs ``x``.

    Args:
        model_a, model_b: the same network at two points of training (e.g. init and end).
        x: (N, ...) inputs. y: optional (N,) or (N, O) labels (class indices of shape (N,) with integer
            dtype are one-hot encoded) for the kernel-label alignment.
    """
    ka = empirical_ntk(model_a, x, method=method, chunk_size=chunk_size).double().cpu()
    kb = empirical_ntk(model_b, x, method=method, chunk_size=chunk_size).double().cpu()
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

from kernelcap.claims import Check, Evidence, claim  # noqa: E402
from kernelcap.empirics.path_kernel import train_with_path_kernel  # noqa: E402
from kernelcap.theory.kernels import linearized_prediction, ntk_kernel  # noqa: E402


@claim(
    "kernels.infinite-width",
    statement="The empirical NTK of a ReLU MLP at initialization converges to the analytic NTK, with "
    "relative Frobenius error falling like width^(-1/2).",
    source="Jacot, Gabriel & Hongler (2018); Arora et al. (2019)",
    configs={
        "smoke": {"widths": [64, 256, 1024], "seeds": 4, "n": 12, "d": 6, "depth": 2},
        "quick": {
            "widths": [64, 128, 256, 512, 1024, 2048],
            "seeds": 8,
            "n": 24,
            "d": 8,
            "depth": 2,
        },
        "paper": {
            "widths": [128, 256, 512, 1024, 2048, 4096, 8192],
            "seeds": 32,
            "n": 64,
            "d": 16,
            "depth": 3,
        },
    },
)
def infinite_width(config, rt):
    x, _ = _data(config["n"], config["d"], rt.seed)
    theta = ntk_kernel(x.numpy(), depth=config["depth"], activation="relu", w_std=2**0.5, b_std=0.1)
    widths = np.array(config["widths"], float)
    mean, sem = [], []
    for w in config["widths"]:
        errs = []
        for s in range(config["seeds"]):
            m = ntk_mlp(
                config["d"],
                w,
                config["depth"],
                w_std=2**0.5,
                b_std=0.1,
                seed=rt.seed * 1000 + s + 1,
            )
            k = empirical_ntk(m, x).numpy()
            errs.append(np.linalg.norm(k - theta) / np.linalg.norm(theta))
        mean.append(np.mean(errs))
        sem.append(np.std(errs, ddof=1) / np.sqrt(len(errs)))
    slope, se = _loglog_slope(widths, mean, sem)
    band = max(0.1, 4 * se)
    line = _power_line(widths, mean, -0.5)
    rows = [
        {"width": int(w), "predicted": p, "measured": m, "spread": s}
        for w, p, m, s in zip(widths, line, mean, sem)
    ]
    fig = _slope_figure(
        "kernels.infinite-width",
        f"fitted slope {slope:.3f} (theory −0.5)",
        widths,
        line,
        mean,
        sem,
        "width n",
        r"$\|\hat\Theta-\Theta\|_F/\|\Theta\|_F$",
    )
    return Evidence(
        rows=rows,
        checks=(
            Check(
                "|slope + 0.5|",
                abs(slope + 0.5),
                band,
                "<=",
                f"4 standard errors of the fitted log-log slope from {config['seeds']} seeds per width (floor 0.1)",
            ),
        ),
        figure=fig,
        summary=f"relative NTK error {mean[0]:.3g} at n={int(widths[0])} → {mean[-1]:.3g} at n={int(widths[-1])}; "
        f"slope {slope:.3f} ± {se:.3f} (theory −0.5)",
        extras={"slope": slope, "slope_se": se},
    )


def _bracket_checks(slope, se, seeds, floor=0.15):
    """Slope between the tight asymptote −1 (Dyer & Gur-Ari 2019) and the bound −1/2 (Lee et al. 2019)."""
    band = max(floor, 4 * se)
    why = f"4 standard errors of the fitted slope from {seeds} seeds per width (floor {floor})"
    return (
        Check("slope − (−1/2)", slope + 0.5, band, "<=", f"Lee et al.'s O(n^-1/2) bound; {why}"),
        Check(
            "slope − (−1)", slope + 1.0, -band, ">=", f"Dyer & Gur-Ari's O(1/n) asymptote; {why}"
        ),
    )


def _linearized_gap(width, config, seed):
    d, depth = config["d"], config["depth"]
    x, y = _data(config["n"], d, seed)
    xt, _ = _data(config["n_test"], d, seed + 7919)
    m = ntk_mlp(d, width, depth, w_std=2**0.5, b_std=0.1, seed=seed * 1000 + width)
    k, kt = empirical_ntk(m, x).numpy(), empirical_ntk(m, xt, x).numpy()
    with torch.no_grad():
        f0, f0t = m(x).reshape(-1).numpy(), m(xt).reshape(-1).numpy()
    lin = linearized_prediction(k, kt, y.numpy(), f0, f0t, config["lr"], config["steps"])["test"]
    _train_gd(m, x, y, config["lr"], config["steps"])
    with torch.no_grad():
        ft = m(xt).reshape(-1).numpy()
    return np.linalg.norm(ft - lin) / np.linalg.norm(lin - f0t), lin, ft


@claim(
    "kernels.linearized",
    statement="A wide MLP trained by full-batch GD on MSE tracks its linearization's prediction on test "
    "points; the relative gap falls with width n with a log-log slope between -1 (the O(1/n) "
    "asymptote) and -1/2 (the O(n^-1/2) bound).",
    source="Lee et al. (2019), 'Wide neural networks of any depth evolve as linear models under gradient descent'; "
    "Dyer & Gur-Ari (2019), 'Asymptotics of wide networks from Feynman diagrams'",
    configs={
        "smoke": {
            "widths": [128, 512, 2048],
            "seeds": 2,
            "n": 16,
            "n_test": 8,
            "d": 4,
            "depth": 1,
            "lr": 0.5,
            "steps": 60,
        },
        "quick": {
            "widths": [128, 256, 512, 1024, 2048, 4096],
            "seeds": 4,
            "n": 32,
            "n_test": 16,
            "d": 6,
            "depth": 1,
            "lr": 0.5,
            "steps": 200,
        },
        "paper": {
            "widths": [256, 512, 1024, 2048, 4096, 8192],
            "seeds": 16,
            "n": 256,
            "n_test": 128,
            "d": 16,
            "depth": 3,
            "lr": 0.5,
            "steps": 2000,
        },
    },
)
def linearized(config, rt):
    widths = np.array(config["widths"], float)
    mean, sem = [], []
    for w in config["widths"]:
        gaps = [_linearized_gap(w, config, rt.seed * 100 + s)[0] for s in range(config["seeds"])]
        mean.append(np.mean(gaps))
        sem.append(np.std(gaps, ddof=1) / np.sqrt(len(gaps)))
    slope, se = _loglog_slope(widths, mean, sem)
    line = _power_line(widths, mean, -1.0)
    rows = [
        {"width": int(w), "predicted": p, "measured": m, "spread": s}
        for w, p, m, s in zip(widths, line, mean, sem)
    ]
    fig = _slope_figure(
        "kernels.linearized",
        f"gap slope {slope:.3f} (theory in [−1, −1/2])",
        widths,
        line,
        mean,
        sem,
        "width n",
        r"$\|f_{net}-f_{lin}\|/\|f_{lin}-f_0\|$ (test)",
    )
    plot_bound(fig.axes[0], widths, mean)
    return Evidence(
        rows=rows,
        checks=_bracket_checks(slope, se, config["seeds"]),
        figure=fig,
        summary=f"test gap net vs linearized {mean[0]:.3g} at n={int(widths[0])} → {mean[-1]:.3g} at n={int(widths[-1])}; "
        f"slope {slope:.3f} ± {se:.3f} (theory between −1 and −1/2)",
        extras={"slope": slope, "slope_se": se},
    )


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


def _drift(width, config, seed, mean_field):
    x, y = _data(config["n"], config["d"], seed)
    scale = width**-0.5 if mean_field else 1.0
    m0 = ntk_mlp(
        config["d"],
        width,
        config["depth"],
        w_std=2**0.5,
        b_std=0.1,
        readout_scale=scale,
        seed=seed * 1000 + width,
    )
    m = ntk_mlp(
        config["d"],
        width,
        config["depth"],
        w_std=2**0.5,
        b_std=0.1,
        readout_scale=scale,
        seed=seed * 1000 + width,
    )
    # mean-field needs η ∝ n to move the output at O(1) speed; its rich dynamics need a smaller constant
    lr = config["mf_lr"] * width if mean_field else config["lr"]
    _train_gd(m, x, y, lr, config["steps"])
    return kernel_drift(m0, m, x, y).relative_change


@claim(
    "kernels.lazy-rich",
    statement="After training, the relative change of the empirical NTK falls with width n in NTK "
    "parameterization (lazy) with a log-log slope between -1 and -1/2, and is much larger under "
    "mean-field scaling (rich).",
    source="Lee et al. (2019); Dyer & Gur-Ari (2019); Chizat, Oyallon & Bach (2019); Fort et al. (2020)",
    configs={
        "smoke": {
            "widths": [128, 512, 2048],
            "seeds": 2,
            "n": 16,
            "d": 4,
            "depth": 1,
            "lr": 0.5,
            "mf_lr": 0.05,
            "steps": 50,
        },
        "quick": {
            "widths": [128, 256, 512, 1024, 2048, 4096],
            "seeds": 4,
            "n": 32,
            "d": 6,
            "depth": 1,
            "lr": 0.5,
            "mf_lr": 0.05,
            "steps": 200,
        },
        "paper": {
            "widths": [256, 512, 1024, 2048, 4096, 8192],
            "seeds": 16,
            "n": 256,
            "d": 16,
            "depth": 1,
            "lr": 0.5,
            "mf_lr": 0.05,
            "steps": 2000,
        },
    },
)
def lazy_rich(config, rt):
    widths = np.array(config["widths"], float)
    mean, sem = [], []
    for w in config["widths"]:
        dr = [_drift(w, config, rt.seed * 100 + s, False) for s in range(config["seeds"])]
        mean.append(np.mean(dr))
        sem.append(np.std(dr, ddof=1) / np.sqrt(len(dr)))
    mf = float(
        np.mean(
            [
                _drift(config["widths"][-1], config, rt.seed * 100 + s, True)
                for s in range(config["seeds"])
            ]
        )
    )
    slope, se = _loglog_slope(widths, mean, sem)
    line = _power_line(widths, mean, -1.0)
    rows = [
        {"width": int(w), "scaling": "ntk", "predicted": p, "measured": m, "spread": s}
        for w, p, m, s in zip(widths, line, mean, sem)
    ]
    rows.append(
        {
            "width": int(widths[-1]),
            "scaling": "mean-field",
            "predicted": float("nan"),
            "measured": mf,
            "spread": float("nan"),
        }
    )
    fig = _slope_figure(
        "kernels.lazy-rich",
        f"NTK slope {slope:.3f} (theory in [−1, −1/2]); mean-field drift {mf:.3g}",
        widths,
        line,
        mean,
        sem,
        "width n",
        r"$\|\Theta_T-\Theta_0\|_F/\|\Theta_0\|_F$",
    )
    ax = fig.axes[0]
    plot_bound(ax, widths, mean)
    ax.plot([widths[-1]], [mf], "s", color="C2", label="mean-field (rich)")
    ax.legend(fontsize=8)
    ratio = mf / mean[-1]
    return Evidence(
        rows=rows,
        checks=(
            *_bracket_checks(slope, se, config["seeds"]),
            Check(
                "mean-field / NTK drift at widest",
                ratio,
                0.125 * widths[-1] ** 0.5,
                ">=",
                "mean-field drift is O(1) and NTK drift O(n^-1/2) or smaller, so the ratio grows at least like √n; "
                "√n/8 allows an O(1) constant",
            ),
        ),
        figure=fig,
        summary=f"NTK-param kernel drift {mean[0]:.3g} at n={int(widths[0])} → {mean[-1]:.3g} at n={int(widths[-1])} "
        f"(slope {slope:.3f} ± {se:.3f}, theory in [−1, −1/2]); mean-field drift {mf:.3g} ({ratio:.1f}×)",
        extras={"slope": slope, "slope_se": se, "mean_field_drift": mf},
    )

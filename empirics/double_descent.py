"""Double descent, measured: batched least-squares, ridge, random-features and MLP width sweeps.

Every sweep runs all trials and all model sizes of one sample size in a few tensor programs:
feature sizes are padded to the largest one and masked (a zero column gets zero weight in the
min-norm / ridge solution, so a masked design *is* the smaller design), and MLPs of every width are
trained at once as one block-structured network (see :func:`mlp_width_sweep`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.progress import progress as _progress
from kernelcap.runtime import make_generator, resolve_device, single_cpu_thread
from kernelcap.theory._validation import as_array, as_int

__all__ = [
    "RiskCurve",
    "WidthSweep",
    "min_norm_risk_curve",
    "ridge_risk_curve",
    "random_features_risk_curve",
    "mlp_width_sweep",
]

DTYPE = torch.float64


@dataclass(frozen=True)
class RiskCurve:
    """Measured excess test risk over a grid of model sizes at one sample size.

    Attributes:
        n: training samples. sizes: (G,) model sizes (features p or random features N).
        risk: (G,) mean excess risk over trials. se: (G,) its standard error. trials: T.
    """

    n: int
    sizes: np.ndarray
    risk: np.ndarray
    se: np.ndarray
    trials: int


@dataclass(frozen=True)
class WidthSweep:
    """A two-layer MLP width sweep trained with label noise.

    Attributes:
        n: training samples; dim: input dimension; widths: (G,) hidden widths;
        params: (G,) trainable parameter counts H(d+2)+1.
        test_risk, test_se: (G,) mean test MSE against the clean target and its standard error.
        train_risk: (G,) mean final training MSE (against noisy labels).
        steps: (L,) logged optimisation steps; test_history: (L, G) mean test MSE during training.
        test_by_trial: (T, G) final test MSE per trial (trial = data set and initialisation),
            for paired comparisons between widths.
    """

    n: int
    dim: int
    widths: np.ndarray
    params: np.ndarray
    test_risk: np.ndarray
    test_se: np.ndarray
    train_risk: np.ndarray
    steps: np.ndarray
    test_history: np.ndarray
    test_by_trial: np.ndarray

    def paired_z(self, i: int, j: int) -> float:
        """z of log(risk_i / risk_j) over trials (paired: same data sets; logs tame the spikes)."""
        diff = np.log(self.test_by_trial[:, i]) - np.log(self.test_by_trial[:, j])
        return float(diff.mean() / (diff.std(ddof=1) / math.sqrt(len(diff))))


def _sizes(sizes, name: str) -> np.ndarray:
    arr = as_array(sizes, name, integer=True, ge=1).astype(int).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    return arr


MAX_DESIGN_ELEMENTS = 2**24  # per batched design tensor (128 MiB in float64); trials are chunked


def _trial_chunks(trials: int, elements_per_trial: int) -> list[int]:
    """Split ``trials`` into chunks whose design tensors stay under MAX_DESIGN_ELEMENTS."""
    size = max(1, min(trials, MAX_DESIGN_ELEMENTS // max(1, elements_per_trial)))
    return [min(size, trials - start) for start in range(0, trials, size)]


def _gen(generator, seed, device) -> torch.Generator:
    return (
        generator if generator is not None else make_generator(as_int(seed, "seed", ge=0), device)
    )


def _summarise(n, sizes, losses: torch.Tensor) -> RiskCurve:
    """losses: (G, T) per-trial risks -> RiskCurve (mean and standard error over T)."""
    t = losses.shape[1]
    risk = losses.mean(1).cpu().numpy()
    se = (losses.std(1) / math.sqrt(t)).cpu().numpy() if t > 1 else np.full(len(sizes), np.nan)
    return RiskCurve(n=n, sizes=np.asarray(sizes), risk=risk, se=se, trials=t)


def _masked_design(n, sizes, trials, gen, device):
    """X: (G, T, n, P) Gaussian with columns ≥ sizes[g] zeroed; mask: (G, 1, P)."""
    p_max = int(max(sizes))
    mask = torch.arange(p_max, device=device) < torch.as_tensor(sizes, device=device)[:, None]
    mask = mask.to(DTYPE)[:, None, :]
    x = torch.randn(len(sizes), trials, n, p_max, generator=gen, device=device, dtype=DTYPE)
    return x * mask[:, :, None, :], mask


def _planted(sizes, trials, r2, sigma2, x, mask, gen):
    """β uniform on the sphere of radius r in the active coordinates; y = Xβ + σ ε."""
    g, t, n, p = x.shape
    beta = torch.randn(g, t, p, generator=gen, device=x.device, dtype=DTYPE) * mask
    beta = beta * math.sqrt(r2) / beta.norm(dim=-1, keepdim=True)
    noise = torch.randn(g, t, n, generator=gen, device=x.device, dtype=DTYPE)
    y = torch.einsum("gtnp,gtp->gtn", x, beta) + math.sqrt(sigma2) * noise
    return beta, y


def _dual_solve(x, y, ridge):
    """β̂ = Xᵀ(XXᵀ + ridge·I)⁻¹y, batched; ridge: scalar or (G, 1, 1, 1)-broadcastable."""
    n = x.shape[-2]
    k = x @ x.transpose(-1, -2) + ridge * torch.eye(n, dtype=x.dtype, device=x.device)
    alpha = torch.linalg.solve(k, y.unsqueeze(-1))
    return (x.transpose(-1, -2) @ alpha).squeeze(-1)


def min_norm_risk_curve(
    n: int,
    sizes: Sequence[int],
    *,
    r2: float = 1.0,
    sigma2: float = 1.0,
    trials: int = 200,
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> RiskCurve:
    """Monte-Carlo excess risk ‖X⁺y − β‖² of min-norm least squares, Gaussian design.

    Rows xᵢ ~ N(0, I_p), ‖β‖² = r² (uniform direction), y = Xβ + N(0, σ²). For each p in
    ``sizes`` (each with |p − n| ≥ 2, where the risk has a finite mean) and each trial the
    min-norm solution is computed: under-parameterised sizes (p < n) by the normal equations
    (XᵀX + diag(1 − mask))β = Xᵀy, over-parameterised ones by Xᵀ(XXᵀ)⁻¹y, each group in one
    batched solve over (sizes × trials) — trials are split into chunks only when the design
    tensor would exceed ``MAX_DESIGN_ELEMENTS``.

    Args:
        n: samples ≥ 2. sizes: (G,) feature counts p ≥ 1. trials: T ≥ 2.

    Returns:
        RiskCurve with risk (G,) and se (G,) over the T trials, in the order of ``sizes``.
    """
    n = as_int(n, "n", ge=2)
    ps = _sizes(sizes, "sizes")
    trials = as_int(trials, "trials", ge=2)
    if np.any(np.abs(ps - n) < 2):
        raise ValueError(
            f"sizes must satisfy |p - n| >= 2 (finite expected risk), got {ps.tolist()}"
        )
    r2 = float(as_array(r2, "r2", ge=0))
    sigma2 = float(as_array(sigma2, "sigma2", ge=0))
    dev = resolve_device(device)
    gen = _gen(generator, seed, dev)
    losses = torch.empty(len(ps), trials, dtype=DTYPE, device=dev)
    for group in (np.nonzero(ps < n)[0], np.nonzero(ps > n)[0]):  # two tensor programs
        if group.size == 0:
            continue
        rows, start = torch.as_tensor(group, device=dev), 0
        for t in _trial_chunks(trials, group.size * n * int(ps[group].max())):
            x, mask = _masked_design(n, ps[group], t, gen, dev)
            beta, y = _planted(ps[group], t, r2, sigma2, x, mask, gen)
            if ps[group[0]] < n:
                gram = x.transpose(-1, -2) @ x + torch.diag_embed((1.0 - mask).expand(-1, t, -1))
                rhs = (x.transpose(-1, -2) @ y.unsqueeze(-1)).squeeze(-1)
                beta_hat = torch.linalg.solve(gram, rhs)
            else:
                beta_hat = _dual_solve(x, y, 0.0)
            losses[rows, start : start + t] = ((beta_hat - beta) ** 2).sum(-1)
            start += t
    return _summarise(n, ps, losses)


def ridge_risk_curve(
    n: int,
    sizes: Sequence[int],
    lam,
    *,
    r2: float = 1.0,
    sigma2: float = 1.0,
    trials: int = 200,
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> RiskCurve:
    """Monte-Carlo excess risk of ridge β̂ = (XᵀX/n + λI)⁻¹Xᵀy/n on Gaussian design.

    Same data model as :func:`min_norm_risk_curve`; computed in the dual form
    β̂ = Xᵀ(XXᵀ + nλI)⁻¹y (n×n systems, one batched solve over sizes × trials; masked columns get
    zero weight).

    Args:
        n: samples. sizes: (G,) feature counts. lam: λ > 0, scalar or (G,) (e.g. λ* per size).
    """
    n = as_int(n, "n", ge=1)
    ps = _sizes(sizes, "sizes")
    trials = as_int(trials, "trials", ge=2)
    lam = np.broadcast_to(as_array(lam, "lam", gt=0), ps.shape)
    dev = resolve_device(device)
    gen = _gen(generator, seed, dev)
    ridge = torch.as_tensor(n * lam, dtype=DTYPE, device=dev)[:, None, None, None]
    losses = []
    for t in _trial_chunks(trials, len(ps) * n * int(ps.max())):
        x, mask = _masked_design(n, ps, t, gen, dev)
        beta, y = _planted(ps, t, float(r2), float(sigma2), x, mask, gen)
        losses.append(((_dual_solve(x, y, ridge) - beta) ** 2).sum(-1))
    return _summarise(n, ps, torch.cat(losses, dim=1))


def _sphere(shape, d, gen, device):
    z = torch.randn(*shape, d, generator=gen, device=device, dtype=DTYPE)
    return z * math.sqrt(d) / z.norm(dim=-1, keepdim=True)


def _activation(name: str):
    if name == "relu":
        mean = 1.0 / math.sqrt(2.0 * math.pi)
        return lambda u: torch.relu(u) - mean
    if name == "fourier":
        return lambda u: math.sqrt(2.0) * torch.sin(u)
    raise ValueError(f"features must be 'relu' or 'fourier', got {name!r}")


def random_features_risk_curve(
    n: int,
    dim: int,
    n_features: Sequence[int],
    *,
    lam: float = 1e-3,
    tau2: float = 0.25,
    features: str = "relu",
    trials: int = 20,
    n_test: int = 1000,
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> RiskCurve:
    """Monte-Carlo test risk of random-features ridge regression (Mei–Montanari setup).

    x, θ uniform on the sphere of radius √d; features σ(⟨θ_a, x⟩/√d) with σ = centered ReLU
    (``"relu"``) or √2·sin (``"fourier"``: random Fourier features with spherical frequencies);
    target y = ⟨β1, x⟩ + N(0, τ²) with ‖β1‖ = 1. Second-layer weights minimise
    (1/n)‖y − Za‖² + (Nλ/d)‖a‖², solved in the dual a = Zᵀ(ZZᵀ + n(Nλ/d)I)⁻¹y. Feature counts are
    nested (the first N of N_max features); each is one batched solve over all trials. Risk:
    E_x[(⟨β1,x⟩ − f̂(x))²] on ``n_test`` fresh points (noise-free target, as in the theory).

    Args:
        n: samples; dim: d; n_features: (G,) N values; lam: λ > 0 (Mei–Montanari scaling).
    """
    n = as_int(n, "n", ge=1)
    d = as_int(dim, "dim", ge=1)
    ns = _sizes(n_features, "n_features")
    trials = as_int(trials, "trials", ge=2)
    n_test = as_int(n_test, "n_test", ge=1)
    lam = float(as_array(lam, "lam", gt=0))
    tau2 = float(as_array(tau2, "tau2", ge=0))
    act = _activation(features)
    dev = resolve_device(device)
    gen = _gen(generator, seed, dev)
    n_max = int(ns.max())
    x = _sphere((trials, n + n_test), d, gen, dev)
    theta = _sphere((trials, n_max), d, gen, dev)
    beta = torch.randn(trials, d, generator=gen, device=dev, dtype=DTYPE)
    beta = beta / beta.norm(dim=-1, keepdim=True)
    f = torch.einsum("tmd,td->tm", x, beta)
    y = f[:, :n] + math.sqrt(tau2) * torch.randn(trials, n, generator=gen, device=dev, dtype=DTYPE)

    def features(rows: slice) -> torch.Tensor:  # (T, rows, N_max)
        return act(x[:, rows] @ theta.transpose(-1, -2) / math.sqrt(d))

    z_tr = features(slice(0, n))
    # Nested feature sets: the kernel of the first N features is a running sum over the blocks
    # between consecutive sizes, solved size by size (all trials in one batch). Forming every
    # size's masked kernel at once held (sizes × trials × n × N_max) numbers: 13 GB at d = 100,
    # n = 300, N ≤ 2400, 40 trials.
    a = torch.zeros(len(ns), trials, n_max, dtype=DTYPE, device=dev)
    kern = torch.zeros(trials, n, n, dtype=DTYPE, device=dev)
    eye = torch.eye(n, dtype=DTYPE, device=dev)
    done = 0
    for g in np.argsort(ns, kind="stable"):
        block = z_tr[:, :, done : ns[g]]
        kern += block @ block.transpose(-1, -2)
        done = int(ns[g])
        alpha = torch.linalg.solve(kern + (n * ns[g] * lam / d) * eye, y.unsqueeze(-1))
        a[g, :, :done] = (z_tr[:, :, :done].transpose(-1, -2) @ alpha).squeeze(-1)
    # Test risk over chunks of test points, so their features are never all held at once.
    chunk = max(1, MAX_DESIGN_ELEMENTS // (trials * n_max))
    losses = torch.zeros(len(ns), trials, dtype=DTYPE, device=dev)
    for start in range(n, n + n_test, chunk):
        rows = slice(start, min(start + chunk, n + n_test))
        pred = torch.einsum("tma,gta->gtm", features(rows), a)
        losses += ((pred - f[:, rows]) ** 2).sum(-1)
    return _summarise(n, ns, losses / n_test)


def mlp_width_sweep(
    widths: Sequence[int],
    *,
    n: int = 100,
    dim: int = 6,
    noise: float = 0.5,
    steps: int = 2000,
    lr: float = 0.01,
    trials: int = 8,
    n_test: int = 1000,
    log_every: int = 50,
    show_progress: bool | None = False,
    device: str = "auto",
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> WidthSweep:
    """Train two-layer ReLU MLPs of every width at once on a noisy linear teacher (model-wise DD).

    Data: x ~ N(0, I_d), clean target f(x) = ⟨w, x⟩ with w ~ N(0, I_d/d), labels y = f(x) + N(0,
    noise²) (label noise), one data set per trial. Model of width H: x ↦ Σ_j v_j relu(⟨u_j, x⟩ +
    b_j) + c, with H(d+2)+1 parameters, PyTorch-style init (u ~ N(0, 1/d), v ~ N(0, 1/H)).
    All widths (and trials) form one block-structured network: the hidden layers are concatenated
    into S = ΣH units and a fixed 0/1 segment matrix (S, G) sums each model's output, so the
    summed loss gives every model its own gradient and Adam (elementwise) trains each exactly as
    it would alone. Full-batch Adam on the MSE for ``steps`` steps; the test MSE against the clean
    target is logged every ``log_every`` steps (epoch-wise curve).

    Args:
        widths: (G,) hidden widths H ≥ 1. n: training samples. dim: d. noise: label-noise std.
        show_progress: tqdm bar over steps (None: only on a terminal).

    Returns:
        WidthSweep (final test/train risk per width, and the test history).
    """
    hs = _sizes(widths, "widths")
    n = as_int(n, "n", ge=1)
    d = as_int(dim, "dim", ge=1)
    noise = float(as_array(noise, "noise", ge=0))
    steps = as_int(steps, "steps", ge=1)
    trials = as_int(trials, "trials", ge=2)
    log_every = as_int(log_every, "log_every", ge=1)
    lr = float(as_array(lr, "lr", gt=0))
    dev = resolve_device(device)
    gen = _gen(generator, seed, dev)
    f32 = torch.float32
    g_count, s = len(hs), int(hs.sum())
    seg = torch.repeat_interleave(
        torch.arange(g_count, device=dev), torch.as_tensor(hs, device=dev)
    )
    segment = torch.nn.functional.one_hot(seg, g_count).to(f32)  # (S, G)

    teacher = torch.randn(trials, d, generator=gen, device=dev) / math.sqrt(d)
    x = torch.randn(trials, n + n_test, d, generator=gen, device=dev)
    clean = torch.einsum("tmd,td->tm", x, teacher)
    y = clean[:, :n] + noise * torch.randn(trials, n, generator=gen, device=dev)
    x_tr, x_te, f_te = x[:, :n], x[:, n:], clean[:, n:]

    w1 = (torch.randn(trials, d, s, generator=gen, device=dev) / math.sqrt(d)).requires_grad_()
    b1 = torch.zeros(trials, 1, s, device=dev, requires_grad=True)
    fan_in = torch.as_tensor(hs, device=dev, dtype=f32)[seg]
    w2 = (torch.randn(trials, 1, s, generator=gen, device=dev) / fan_in.sqrt()).requires_grad_()
    b2 = torch.zeros(trials, 1, g_count, device=dev, requires_grad=True)

    def forward(inputs):  # (T, m, d) -> (T, m, G)
        return (torch.relu(torch.baddbmm(b1, inputs, w1)) * w2) @ segment + b2

    with single_cpu_thread(dev):
        opt = torch.optim.Adam([w1, b1, w2, b2], lr=lr)
        logged, history = [], []
        for step in _progress(
            range(1, steps + 1), total=steps, desc="MLP widths", enabled=show_progress
        ):
            opt.zero_grad(set_to_none=True)
            loss = ((forward(x_tr) - y[..., None]) ** 2).mean(1).sum()
            loss.backward()
            opt.step()
            if step % log_every == 0 or step == steps:
                with torch.no_grad():
                    history.append(((forward(x_te) - f_te[..., None]) ** 2).mean((0, 1)))
                logged.append(step)
    with torch.no_grad():
        test = ((forward(x_te) - f_te[..., None]) ** 2).mean(1)  # (T, G)
        train = ((forward(x_tr) - y[..., None]) ** 2).mean(1)
    return WidthSweep(
        n=n,
        dim=d,
        widths=hs,
        params=hs * (d + 2) + 1,
        test_risk=test.mean(0).double().cpu().numpy(),
        test_se=(test.std(0) / math.sqrt(trials)).double().cpu().numpy(),
        train_risk=train.mean(0).double().cpu().numpy(),
        steps=np.asarray(logged),
        test_history=torch.stack(history).double().cpu().numpy(),
        test_by_trial=test.double().cpu().numpy(),
    )

"""Grokking a + b mod p with the one-layer transformer of Nanda et al. (2023), many members at once.

Data: :func:`kernelcap.empirics.grokking.modular_addition` (all p² ordered pairs, as Nanda et al.).
Model: input tokens (a, b, '=') over a vocabulary of p + 1, learned token and positional embeddings,
one attention layer, one ReLU MLP, no LayerNorm, logits read at the '=' position. Every weight has a
leading member axis B and the forward pass is written with einsum, so B = len(weight_decay)·n_seeds
members train as one tensor program through :func:`kernelcap.empirics._full_batch.train_full_batch`.
Progress measures are those of :class:`kernelcap.empirics.grokking.GrokkingRun`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap._legacy import Check, Evidence, claim
from kernelcap.empirics._full_batch import log_step_grid, member_seed, train_full_batch
from kernelcap.empirics.grokking import GrokkingRun, modular_addition
from kernelcap.plotting import claim_figure, plot_measured, plot_theory
from kernelcap.runtime import Runtime, make_generator, resolve_device
from kernelcap.theory import grokking as th

__all__ = [
    "PARAM_NAMES",
    "TransformerGrokkingRun",
    "init_transformer",
    "transformer_logits",
    "train_grokking_transformer",
    "value_at_step",
]

PARAM_NAMES = ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U")


@dataclass(frozen=True)
class TransformerGrokkingRun(GrokkingRun):
    """:class:`GrokkingRun` plus the accuracy on *novel* test pairs: (a, b) whose commuted copy (b, a) is not in
    the training set either, so neither memorisation nor commutativity answers them.

    ``novel_test_acc`` (B, S); ``n_novel`` the number of such pairs and ``novel_fraction`` their share of the
    test set; ``weights`` = (W_E,) with W_E (B, S, p, d_model) restricted to the p number tokens.
    """

    novel_test_acc: np.ndarray | None = None
    novel_fraction: float = float("nan")
    n_novel: int = 0


def value_at_step(steps: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """(B,) ``values[j]`` (B, S) at the logged step ``at[j]`` of ``steps`` (S,) for each member j; NaN where ``at[j]`` is
    NaN (e.g. a step from :func:`kernelcap.empirics.grokking.first_step_reaching` that was never reached)."""
    at = np.asarray(at, float)
    idx = np.searchsorted(steps, np.nan_to_num(at, nan=steps[0]))
    return np.where(
        np.isfinite(at),
        np.take_along_axis(np.asarray(values, float), idx[:, None], 1)[:, 0],
        np.nan,
    )


def init_transformer(
    p: int, d_model: int, n_heads: int, d_mlp: int, *, seeds: Sequence[int], device="cpu"
) -> list[torch.Tensor]:
    """Initial weights of len(seeds) one-layer transformers, member i drawn from its own ``seeds[i]``.

    Shapes (B = len(seeds), d = d_model, H = n_heads, e = d/H, m = d_mlp), in :data:`PARAM_NAMES` order:
    W_E (B, p+1, d), W_pos (B, 3, d), W_Q, W_K, W_V (B, H, d, e), W_O (B, H, e, d), W_in (B, d, m),
    W_out (B, m, d), W_U (B, d, p). Entries are N(0, σ²) with σ = 1/√d for all but W_U, whose σ is
    1/√(p+1), as in Nanda et al.'s code (mechanistic-interpretability-grokking/progress-measures-paper,
    transformers.py: ``randn(...)/np.sqrt(d_model)``; ``W_U = randn(d_model, d_vocab)/np.sqrt(d_vocab)``).
    A member's weights depend only on its seed, so it is the same network alone or inside a batch.
    """
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
    e, dev = d_model // n_heads, resolve_device(device)
    shapes = dict(
        W_E=(p + 1, d_model),
        W_pos=(3, d_model),
        W_Q=(n_heads, d_model, e),
        W_K=(n_heads, d_model, e),
        W_V=(n_heads, d_model, e),
        W_O=(n_heads, e, d_model),
        W_in=(d_model, d_mlp),
        W_out=(d_mlp, d_model),
        W_U=(d_model, p),
    )
    members = []
    for s in seeds:
        gen = make_generator(int(s), dev)
        members.append([torch.randn(shapes[n], generator=gen, device=dev) for n in PARAM_NAMES])
    params = [torch.stack(ws) for ws in zip(*members)]
    scale = [1 / math.sqrt(d_model)] * 8 + [1 / math.sqrt(p + 1)]
    return [(w * c).requires_grad_() for w, c in zip(params, scale)]


def transformer_logits(
    params: Sequence[torch.Tensor], a: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """Logits at the '=' position of every member for inputs (a, b, '='): (B, N, p).

    With x_i the residual stream at position i (token embedding + positional embedding; '=' is token p),
    one attention layer with causal mask, then a ReLU MLP, both added to the stream:
        r = x_2 + Σ_h softmax_i(q_h·k_{h,i}/√e) v_{h,i} W_O^h,   q_h = x_2 W_Q^h, k_{h,i} = x_i W_K^h, v_{h,i} = x_i W_V^h,
        logits = (r + ReLU(r W_in) W_out) W_U.
    Only the last position is read, so only its query is computed; its causal mask covers all three
    positions. Keys and values depend on one token each, so they are computed once per vocabulary entry
    and gathered, and scores use q·(x W_K) = x·(W_K q) (the same function as running the full sequence).

    Args: params in :data:`PARAM_NAMES` order (see :func:`init_transformer`); a, b: (N,) int64 in [0, p).
    """
    W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, W_out, W_U = params
    p, e = W_U.shape[-1], W_Q.shape[-1]
    x01 = (
        W_E[:, None, :p] + W_pos[:, :2, None]
    )  # (B, 2, p, d): every number token at positions 0 and 1
    x2 = W_E[:, p] + W_pos[:, 2]  # (B, d): '=' at position 2
    q = torch.einsum("bd,bhde->bhe", x2, W_Q) / math.sqrt(e)
    kq = torch.einsum("bhde,bhe->bhd", W_K, q)
    s01, s2 = torch.einsum("bsvd,bhd->bsvh", x01, kq), torch.einsum("bd,bhd->bh", x2, kq)
    v01, v2 = torch.einsum("bsvd,bhde->bsvhe", x01, W_V), torch.einsum("bd,bhde->bhe", x2, W_V)
    s0, s1 = s01[:, 0, a], s01[:, 1, b]  # (B, N, H)
    attn = torch.softmax(torch.stack([s0, s1, s2[:, None].expand_as(s0)], -1), -1)  # (B, N, H, 3)
    z = (
        attn[..., 0, None] * v01[:, 0, a]
        + attn[..., 1, None] * v01[:, 1, b]
        + attn[..., 2, None] * v2[:, None]
    )
    r = x2[:, None] + torch.einsum("bnhe,bhed->bnd", z, W_O)
    r = r + torch.relu(r @ W_in) @ W_out
    return r @ W_U


@functools.lru_cache(maxsize=8)
def _train_cached(*args):
    return _train(*args, show=_show_progress[0])


_show_progress = [False]  # read by a run that is not cached yet; not part of the cache key


def train_grokking_transformer(
    p: int,
    train_fraction: float,
    *,
    d_model: int = 128,
    n_heads: int = 4,
    d_mlp: int = 512,
    lr: float = 1e-3,
    weight_decay: Sequence[float] = (0.0, 1.0),
    n_seeds: int = 1,
    n_steps: int,
    ordered: bool = True,
    n_log: int = 40,
    every: int = 25,
    seed: int = 0,
    device="auto",
    progress_bar: bool = False,
) -> TransformerGrokkingRun:
    """Train len(weight_decay)·n_seeds one-layer transformers on a + b mod p as one full-batch AdamW program.

    Nanda et al. (2023) "Progress measures for grokking via mechanistic interpretability", arXiv 2301.05217,
    Sec. 3 and App. A: p = 113, 30% of the p² ordered pairs for training, d_model 128, 4 heads of 32,
    d_mlp 512, ReLU, no LayerNorm, full-batch AdamW lr 1e-3, λ = 1, β = (0.9, 0.98), loss at the '='
    position, cross-entropy in float64 (their ``cross_entropy_high_precision``). Differences from their
    code: no biases (theirs are MLP biases initialised to zero; the TransformerLens re-implementation,
    ``HookedTransformerConfig(..., d_vocab_out=p)``, freezes all biases at zero), the unembedding maps to
    the p answers only (as in TransformerLens), and no 10-step linear learning-rate warm-up (the shared AdamW loop has
    a constant rate).

    Every member sees the same split (drawn from ``seed``); member i has decay weight_decay[i // n_seeds]
    and initialisation seed index i % n_seeds (members with the same index start from the same weights,
    whatever their λ). Progress measures are logged on :func:`log_step_grid` (n_log, every):
    train/test loss and accuracy, total weight norm, Fourier energy of W_E on the p number tokens, whose
    snapshots are kept in ``weights`` as (W_E,) with shape (B, S, p, d_model), and the accuracy on test
    pairs whose commuted copy is not trained on either (``novel_test_acc``). Cached in-process by the
    arguments (not ``progress_bar``), with read-only arrays, so claims sharing a configuration share the run.

    Returns: :class:`TransformerGrokkingRun` with B = len(weight_decay)·n_seeds members and S logged steps.
    Raises: ValueError for p < 3, a train_fraction outside (0, 1), non-positive sizes, d_model not divisible
    by n_heads, negative or non-finite weight decay, lr ≤ 0 or lr·λ ≥ 1, or a split with no novel test pair
    (every test pair's commuted copy is in the training set).
    """
    wd = tuple(float(x) for x in np.atleast_1d(weight_decay))
    if not wd or any(x < 0 or not math.isfinite(x) for x in wd):
        raise ValueError(f"weight_decay must be finite and ≥ 0, got {weight_decay!r}")
    if not (math.isfinite(lr) and lr > 0) or any(lr * x >= 1 for x in wd):
        raise ValueError(f"lr must be finite and > 0 with lr·weight_decay < 1, got lr={lr!r}")
    for name, val in dict(
        p=p,
        d_model=d_model,
        n_heads=n_heads,
        d_mlp=d_mlp,
        n_seeds=n_seeds,
        n_steps=n_steps,
        n_log=n_log,
        every=every,
    ).items():
        if isinstance(val, bool) or int(val) != val or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    if p < 3:
        raise ValueError(f"p must be an integer ≥ 3, got {p!r}")
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    _show_progress[0] = bool(progress_bar)
    return _train_cached(
        int(p),
        float(train_fraction),
        int(d_model),
        int(n_heads),
        int(d_mlp),
        float(lr),
        wd,
        int(n_seeds),
        int(n_steps),
        bool(ordered),
        int(n_log),
        int(every),
        int(seed),
        str(resolve_device(device)),
    )


def _train(
    p,
    train_fraction,
    d_model,
    n_heads,
    d_mlp,
    lr,
    wd,
    n_seeds,
    n_steps,
    ordered,
    n_log,
    every,
    seed,
    device,
    *,
    show,
):
    dev = torch.device(device)
    data = modular_addition(p, train_fraction, seed=seed, ordered=ordered, device=dev)
    lam = np.repeat(np.asarray(wd), n_seeds)
    seed_index = np.tile(np.arange(n_seeds), len(wd))
    in_train = torch.zeros(p, p, dtype=torch.bool, device=dev)
    in_train[data.a[data.train], data.b[data.train]] = True
    novel = ~in_train[
        data.b[data.test], data.a[data.test]
    ]  # (N_test,) commuted copy not trained on either
    if not novel.any():
        raise ValueError(
            f"no novel test pair at p={p}, train_fraction={train_fraction}, seed={seed}: the commuted "
            f"copy of each of the {novel.numel()} test pairs is in the training set (lower train_fraction)"
        )
    params = init_transformer(
        p, d_model, n_heads, d_mlp, seeds=[member_seed(seed, j) for j in seed_index], device=dev
    )

    def loss_correct(w, idx):
        out = transformer_logits(
            w, data.a[idx], data.b[idx]
        ).double()  # float64 loss as Nanda et al.
        y = data.labels[idx].expand(out.shape[0], -1)
        loss = torch.nn.functional.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(-1)
        return loss, out.argmax(-1) == y

    embeddings = []

    def measure(w):
        (l_tr, c_tr), (l_te, c_te) = loss_correct(w, data.train), loss_correct(w, data.test)
        embeddings.append(w[0][:, :p].detach().clone())
        norm = sum(x.square().flatten(1).sum(1) for x in w).sqrt()
        return dict(
            train_loss=l_tr,
            train_acc=c_tr.double().mean(-1),
            test_loss=l_te,
            test_acc=c_te.double().mean(-1),
            novel_test_acc=c_te[:, novel].double().mean(-1),
            norm=norm,
        )

    log = train_full_batch(
        params,
        lambda w: loss_correct(w, data.train)[0],
        measure,
        lr=lr,
        weight_decay=torch.as_tensor(lam),
        n_steps=n_steps,
        grid=log_step_grid(n_steps, n_log, every),
        desc="grokking transformer",
        show=show,
    )
    w_e = torch.stack(embeddings, 1).cpu().numpy()  # (B, S, p, d)
    ms = log.measures
    run = TransformerGrokkingRun(
        p=p,
        lr=lr,
        steps=log.steps,
        weight_decay=lam,
        seed=seed_index,
        train_acc=ms["train_acc"],
        test_acc=ms["test_acc"],
        train_loss=ms["train_loss"],
        test_loss=ms["test_loss"],
        weight_norm=ms["norm"],
        fourier_energy=th.fourier_energy(w_e.astype(np.float64)),
        wall_s=log.wall_s,
        weights=(w_e,),
        novel_test_acc=ms["novel_test_acc"],
        novel_fraction=float(novel.double().mean()),
        n_novel=int(novel.sum()),
    )
    for arr in (run.steps, run.weight_decay, run.seed, run.fourier_energy, w_e, *ms.values()):
        arr.setflags(write=False)  # shared by every claim that reuses the cached run
    return run


# ---------------------------------------------------------------------------------------------- claim
_SRC = (
    "Nanda, Chan, Lieberum, Smith & Steinhardt (2023) 'Progress measures for grokking via mechanistic "
    "interpretability', arXiv 2301.05217; Power et al. (2022) arXiv 2201.02177"
)
_RUN_KEYS = (
    "p",
    "train_fraction",
    "d_model",
    "n_heads",
    "d_mlp",
    "lr",
    "weight_decay",
    "n_seeds",
    "n_steps",
    "every",
)
# Every config pairs λ = 1 with a λ = 0 control from the same initialisation: delay and accuracy checks are on the λ > 0
# members, and the Fourier check compares them with the control (training alone moves the spectrum away from a random
# embedding's, so that comparison cannot tell a grokked network from a memorising one).
# smoke: p=23, 80% train, d_model 64, d_mlp 128, lr 1e-2 (10x published, so lr·λ is 10x larger and grokking takes
# ~10^2 steps instead of ~10^4), 90% test level; quick: p=31, 60% train, Nanda's widths, lr 1e-2 (t_gen 150–825
# over seeds 0–5, so 1500 steps leave a margin).
_SMOKE = dict(
    p=23,
    train_fraction=0.8,
    d_model=64,
    n_heads=4,
    d_mlp=128,
    lr=1e-2,
    weight_decay=[0.0, 1.0],
    n_seeds=1,
    n_steps=400,
    every=20,
    level=0.9,
    top_k=4,
)
_QUICK = dict(
    p=31,
    train_fraction=0.6,
    d_model=128,
    n_heads=4,
    d_mlp=512,
    lr=1e-2,
    weight_decay=[0.0, 1.0],
    n_seeds=1,
    n_steps=1500,
    every=25,
    level=0.95,
    top_k=4,
)
# Nanda et al. exactly: p=113, 30% of the ordered pairs, full batch, AdamW lr 1e-3, λ=1, β=(0.9, 0.98), 40k steps;
# 5 key frequencies in their main run.
_PAPER = dict(
    p=113,
    train_fraction=0.3,
    d_model=128,
    n_heads=4,
    d_mlp=512,
    lr=1e-3,
    weight_decay=[0.0, 1.0],
    n_seeds=3,
    n_steps=40_000,
    every=500,
    level=0.95,
    top_k=5,
)
_N_RANDOM = 1000


def _run(config: Mapping, rt: Runtime) -> TransformerGrokkingRun:
    kw = {k: config[k] for k in _RUN_KEYS}
    kw["weight_decay"] = tuple(kw["weight_decay"])
    return train_grokking_transformer(
        **kw, seed=rt.seed, device=rt.device, progress_bar=rt.progress
    )


@claim(
    "grokking.transformer",
    statement="The one-layer transformer of Nanda et al. (2023), trained with weight decay, also groks a + b mod p: "
    "it reaches 100% train accuracy first, while test pairs it cannot answer by memory or commutativity are still "
    "mostly wrong, and ≥95% test accuracy at least 3× as many steps later; its token embedding then concentrates "
    "on a few Fourier frequencies (top-k energy fraction many s.d. above a random embedding's and above that of "
    "the same network trained without weight decay).",
    source=_SRC,
    configs=dict(smoke=_SMOKE, quick=_QUICK, paper=_PAPER),
)
def _claim_transformer(config: Mapping, rt: Runtime) -> Evidence:
    run = _run(config, rt)
    level, k = config["level"], config["top_k"]
    decayed, control = np.flatnonzero(run.weight_decay > 0), run.members(0.0)
    if not decayed.size or not control.size:
        raise ValueError(
            "grokking.transformer needs weight_decay with 0 (the control) and at least one λ > 0"
        )
    paired = np.array(
        [control[run.seed[control] == run.seed[j]][0] for j in decayed]
    )  # same initialisation, λ = 0
    t_mem, t_gen = run.t_memorize(), run.t_generalize(level)
    ratio = t_gen / t_mem
    novel_at_mem = value_at_step(run.steps, run.novel_test_acc, t_mem)
    frac = th.top_k_energy_fraction(run.fourier_energy, k)  # (B, S)
    rand = th.top_k_energy_fraction(
        th.fourier_energy(
            np.random.default_rng(rt.seed).standard_normal(
                (_N_RANDOM, run.p, run.weights[0].shape[-1])
            )
        ),
        k,
    )
    r_mean, r_sd = float(rand.mean()), float(rand.std())
    z = (frac[decayed, -1] - r_mean) / r_sd
    gain = frac[decayed, -1] - frac[paired, -1]
    ideal = th.top_k_energy_fraction(
        th.fourier_energy(th.fourier_solution_embedding(run.p, np.arange(1, k + 1))), k
    )
    n_test = int(round(run.n_novel / run.novel_fraction))
    checks = (
        Check(
            "t_gen / t_mem (worst λ>0 member)",
            float(np.min(ratio[decayed])),
            3.0,
            ">=",
            reason="'many steps later': at least 3× the memorisation time on the step grid",
        ),
        Check(
            "final train accuracy (worst λ>0 member)",
            float(run.train_acc[decayed, -1].min()),
            1.0,
            ">=",
            reason="full-batch training must fit the training set",
        ),
        Check(
            f"final test accuracy (worst λ>0 member; ≥{level:.0%} is grokked)",
            float(run.test_acc[decayed, -1].min()),
            level,
            ">=",
            reason="the generalisation level of Power et al. (95%; 90% at smoke size p=23, 400 steps)",
        ),
        Check(
            "accuracy on novel test pairs when train first hits 100% (worst λ>0 member)",
            float(np.max(novel_at_mem[decayed])),
            0.5,
            reason=f"memorisation precedes generalisation: at t_mem most of the {run.n_novel} (of {n_test}) test pairs "
            "whose commuted copy is not in the training set either are still wrong",
        ),
        Check(
            f"(final − random) top-{k} Fourier fraction of W_E / s.d.(random) (worst λ>0 member)",
            float(np.min(z)),
            5.0,
            ">=",
            reason=f"5 standard deviations of the top-{k} fraction over {_N_RANDOM} random Gaussian "
            "embeddings of the same shape",
        ),
        Check(
            f"top-{k} Fourier fraction of W_E, λ>0 − λ=0 control from the same init (worst pair)",
            float(np.min(gain)),
            3 * math.sqrt(2) * r_sd,
            ">=",
            reason="3 s.d. of a difference of two networks' fractions (√2 × random-"
            "embedding s.d.): the generalising circuit, not training per se, concentrates the spectrum",
        ),
    )
    rows = [
        dict(
            seed=int(run.seed[j]),
            weight_decay=float(run.weight_decay[j]),
            quantity=q,
            predicted=pr,
            measured=float(m),
            spread=sp,
            t_memorize=float(t_mem[j]),
            t_generalize=float(t_gen[j]),
            final_test_acc=float(run.test_acc[j, -1]),
            novel_test_acc_at_memorization=float(novel_at_mem[j]),
        )
        for j in range(run.seed.size)
        for q, pr, m, sp in (
            ("t_gen/t_mem", np.nan, ratio[j], np.nan),
            (
                f"top-{k} Fourier fraction of W_E",
                ideal if j in decayed else np.nan,
                frac[j, -1],
                r_sd,
            ),
        )
    ]
    fig = _figure(run, decayed[0], paired[0], frac, t_mem, t_gen, k, ideal, r_mean, r_sd)
    summary = (
        f"λ={run.weight_decay[decayed[0]]:g}: t_mem={t_mem[decayed].tolist()}, t_gen={t_gen[decayed].tolist()} "
        f"(ratio ≥ {np.min(ratio[decayed]):.1f}); final test acc {run.test_acc[decayed, -1].round(3).tolist()} "
        f"(λ=0: {run.test_acc[control, -1].round(3).tolist()}); acc on {run.n_novel} novel pairs at t_mem "
        f"{novel_at_mem[decayed].round(2).tolist()}; top-{k} fraction {frac[decayed, -1].round(2).tolist()} vs "
        f"λ=0 {frac[control, -1].round(2).tolist()} vs random {r_mean:.2f}±{r_sd:.3f}; train {run.wall_s:.1f}s"
    )
    extras = dict(
        weight_decay=run.weight_decay.tolist(),
        t_memorize=t_mem.tolist(),
        t_generalize=t_gen.tolist(),
        final_test_acc=run.test_acc[:, -1].tolist(),
        top_k_fraction_final=frac[:, -1].tolist(),
        random_top_k_mean=r_mean,
        random_top_k_sd=r_sd,
        n_novel=run.n_novel,
        n_test=n_test,
        novel_fraction=run.novel_fraction,
    )
    return Evidence(tuple(rows), checks, fig, summary, extras, dict(train_s=run.wall_s))


def _figure(
    run: TransformerGrokkingRun,
    j: int,
    c: int,
    frac,
    t_mem,
    t_gen,
    k: int,
    ideal: float,
    r_mean: float,
    r_sd: float,
):
    """Accuracy curves of λ>0 member ``j`` (its λ=0 control ``c``) and every member's top-k fraction."""
    fig, (ax0, ax1) = claim_figure(
        "grokking.transformer",
        f"one-layer transformer, a+b mod {run.p}, λ={run.weight_decay[j]:g} vs 0, lr={run.lr:g}",
        ncols=2,
    )
    ax0.plot(run.steps, run.train_acc[j], "--", color="C0", label="train")
    ax0.plot(run.steps, run.test_acc[j], "-", color="C1", label="test")
    ax0.plot(
        run.steps, run.novel_test_acc[j], ":", color="C3", label=f"{run.n_novel} novel test pairs"
    )
    ax0.plot(run.steps, run.test_acc[c], "-", color="0.5", lw=0.8, label="test, λ=0 control")
    others = np.flatnonzero((run.weight_decay > 0) & (np.arange(run.seed.size) != j))
    for i in others:
        ax0.plot(
            run.steps,
            run.test_acc[i],
            "-",
            color="C1",
            alpha=0.35,
            lw=0.8,
            label="test, other λ>0 members" if i == others[0] else None,
        )
    for t, name, ls in ((t_mem[j], "t_mem", "--"), (t_gen[j], "t_gen", "-")):
        if np.isfinite(t):
            ax0.axvline(t, color="0.5", lw=0.8, ls=ls)
            ax0.annotate(name, (t, 0.5), rotation=90, fontsize=7, ha="right", va="center")
    ax0.set_xscale("log")
    ax0.set_xlabel("step t")
    ax0.set_ylabel(f"accuracy (seed {run.seed[j]}, λ={run.weight_decay[j]:g}; t_mem, t_gen marked)")
    ax0.legend(fontsize=7)
    plot_theory(ax1, run.steps[[0, -1]], [ideal, ideal], label="trigonometric solution", color="C2")
    plot_theory(
        ax1,
        run.steps[[0, -1]],
        [r_mean, r_mean],
        label=f"random embedding (±{r_sd:.3f})",
        color="0.5",
        ls="--",
    )
    for i in range(run.seed.size):
        plot_measured(
            ax1,
            run.steps,
            frac[i],
            None,
            label=f"λ={run.weight_decay[i]:g}, seed {run.seed[i]}",
            color=f"C{3 + i}",
            ms=2.5,
        )
    ax1.set_xscale("log")
    ax1.set_xlabel("step t")
    ax1.set_ylabel(f"top-{k} energy fraction of W_E")
    ax1.legend(fontsize=7)
    return fig

"""Grokking a + b mod p with the one-layer transformer of Nanda et al. (2023), many members at once.

Data: :func:`kernelcap.empirics.grokking.modular_addition` (all p² ordered pairs, as Nanda et al.).
Model: input tokens (a, b, '=') over a vocabulary of p + 1, learned token and positional
embeddings, one attention layer, one ReLU MLP, no LayerNorm, logits read at the '=' position.
Every weight has a leading member axis B and the forward pass is written with einsum, so
B = len(weight_decay)·n_seeds members train as one tensor program through
:func:`kernelcap.empirics._full_batch.train_full_batch`. Progress measures are those of
:class:`kernelcap.empirics.grokking.GrokkingRun`. The claim is in
:mod:`kernelcap.claims.grokking_transformer`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kernelcap.empirics._full_batch import (
    log_step_grid,
    member_seed,
    read_only,
    train_full_batch,
    value_at_step,
)
from kernelcap.empirics.grokking import GrokkingRun, modular_addition
from kernelcap.runtime import make_generator, resolve_device
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
"""The transformer's weights, in the order of the list :func:`init_transformer` returns."""


@dataclass(frozen=True, kw_only=True)
class TransformerGrokkingRun(GrokkingRun):
    """:class:`GrokkingRun` plus the accuracy on *novel* test pairs: (a, b) whose commuted copy
    (b, a) is not in the training set either, so neither memorisation nor commutativity answers
    them.

    ``novel_test_acc`` (B, S); ``n_novel`` the number of such pairs and ``novel_fraction`` their
    share of the test set; ``weights`` = (W_E,) with W_E (B, S, p, d_model) restricted to the p
    number tokens.
    """

    novel_test_acc: np.ndarray | None = None
    novel_fraction: float = float("nan")
    n_novel: int = 0


def init_transformer(
    p: int, d_model: int, n_heads: int, d_mlp: int, *, seeds: Sequence[int], device="cpu"
) -> list[torch.Tensor]:
    """Initial weights of len(seeds) one-layer transformers, member i drawn from its own
    ``seeds[i]``.

    Shapes (B = len(seeds), d = d_model, H = n_heads, e = d/H, m = d_mlp), in :data:`PARAM_NAMES`
    order: W_E (B, p+1, d), W_pos (B, 3, d), W_Q, W_K, W_V (B, H, d, e), W_O (B, H, e, d),
    W_in (B, d, m), W_out (B, m, d), W_U (B, d, p). Entries are N(0, σ²) with σ = 1/√d for all but
    W_U, whose σ is 1/√(p+1), as in Nanda et al.'s code
    (mechanistic-interpretability-grokking/progress-measures-paper, transformers.py:
    ``randn(...)/np.sqrt(d_model)``; ``W_U = randn(d_model, d_vocab)/np.sqrt(d_vocab)``). A member's
    weights depend only on its seed, so it is the same network alone or inside a batch.
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

    With x_i the residual stream at position i (token embedding + positional embedding; '=' is
    token p), one attention layer with causal mask, then a ReLU MLP, both added to the stream:
        r = x_2 + Σ_h softmax_i(q_h·k_{h,i}/√e) v_{h,i} W_O^h,
        q_h = x_2 W_Q^h, k_{h,i} = x_i W_K^h, v_{h,i} = x_i W_V^h,
        logits = (r + ReLU(r W_in) W_out) W_U.
    Only the last position is read, so only its query is computed; its causal mask covers all three
    positions. Keys and values depend on one token each, so they are computed once per vocabulary
    entry and gathered, and scores use q·(x W_K) = x·(W_K q) (the same function as running the full
    sequence).

    Args: params in :data:`PARAM_NAMES` order (see :func:`init_transformer`); a, b: (N,) int64 in
    [0, p).
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
    progress: bool | None = False,
) -> TransformerGrokkingRun:
    """Train len(weight_decay)·n_seeds one-layer transformers on a + b mod p as one full-batch
    AdamW program.

    Nanda et al. (2023) "Progress measures for grokking via mechanistic interpretability", arXiv
    2301.05217, Sec. 3 and App. A: p = 113, 30% of the p² ordered pairs for training, d_model 128,
    4 heads of 32, d_mlp 512, ReLU, no LayerNorm, full-batch AdamW lr 1e-3, λ = 1,
    β = (0.9, 0.98), loss at the '=' position, cross-entropy in float64 (their
    ``cross_entropy_high_precision``). Differences from their code: no biases (theirs are MLP
    biases initialised to zero; the TransformerLens re-implementation,
    ``HookedTransformerConfig(..., d_vocab_out=p)``, freezes all biases at zero), the unembedding
    maps to the p answers only (as in TransformerLens), and no 10-step linear learning-rate warm-up
    (the shared AdamW loop has a constant rate).

    Every member sees the same split (drawn from ``seed``); member i has decay
    weight_decay[i // n_seeds] and initialisation seed index i % n_seeds (members with the same
    index start from the same weights, whatever their λ). Progress measures are logged on
    :func:`log_step_grid` (n_log, every): train/test loss and accuracy, total weight norm, Fourier
    energy of W_E on the p number tokens, whose snapshots are kept in ``weights`` as (W_E,) with
    shape (B, S, p, d_model), and the accuracy on test pairs whose commuted copy is not trained on
    either (``novel_test_acc``). The arrays of the result are read-only (claims share one run).
    ``progress`` shows a bar (``None``: only on a terminal).

    Returns: :class:`TransformerGrokkingRun` with B = len(weight_decay)·n_seeds members and S
    logged steps.
    Raises: ValueError for p < 3, a train_fraction outside (0, 1), non-positive sizes, d_model not
    divisible by n_heads, negative or non-finite weight decay, lr ≤ 0 or lr·λ ≥ 1, or a split with
    no novel test pair (every test pair's commuted copy is in the training set).
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
    return _train(
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
        resolve_device(device),
        progress=progress,
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
    dev,
    *,
    progress,
):
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
            f"no novel test pair at p={p}, train_fraction={train_fraction}, seed={seed}: the "
            f"commuted copy of each of the {novel.numel()} test pairs is in the training set "
            "(lower train_fraction)"
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
        progress=progress,
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
    read_only(run.steps, run.weight_decay, run.seed, run.fourier_energy, w_e, *ms.values())
    return run

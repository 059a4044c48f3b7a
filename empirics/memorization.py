"""Which examples a network memorizes, measured three ways, for any ``nn.Module`` factory and data.

* :func:`memorization_scores` — Feldman & Zhang's subsampling estimator: K models, each trained on
  a random subset, all K in one batched ``torch.func`` program (resumable over chunks of models);
  mem_i = P(correct | i ∈ S) − P(correct | i ∉ S) with standard errors.
* :func:`self_influence` — TracIn self-influence Σ_t η_t ‖∇_θ ℓ(θ_t, z_i)‖² from checkpoints, or
  :func:`self_influence_from_path` from per-step kernel terms (a path-kernel recorder's output).
* :func:`ntk_loo_scores` — the closed-form prediction from the model's empirical NTK: kernel
  regression's leave-one-out residuals and leverages.
* :func:`compare_estimators` — Spearman ρ, top-k overlap and AUROC between them, with null laws.

Data: :func:`long_tailed_mixture` (rare subpopulations, flipped labels) or your own tensors.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from kernelcap.empirics._batched_models import (
    Stack,
    TrainConfig,
    build_member,
    members_progress,
    train_members,
)
from kernelcap.empirics._full_batch import member_seed
from kernelcap.empirics._memorization_data import (
    LongTailedData,
    long_tailed_mixture,
    random_masks,
)
from kernelcap.empirics._memorization_influence import (
    EstimatorAgreement,
    NTKLOOScores,
    SelfInfluence,
    compare_estimators,
    ntk_loo_scores,
    self_influence,
    self_influence_from_path,
)
from kernelcap.empirics._memorization_inputs import check_data, targets_for
from kernelcap.runtime import resolve_device
from kernelcap.theory import memorization as theory

__all__ = [
    "EstimatorAgreement",
    "LongTailedData",
    "MemorizationScores",
    "NTKLOOScores",
    "SelfInfluence",
    "TrainConfig",
    "compare_estimators",
    "long_tailed_mixture",
    "memorization_scores",
    "ntk_loo_scores",
    "random_masks",
    "self_influence",
    "self_influence_from_path",
]


@dataclass(frozen=True)
class MemorizationScores:
    """Feldman–Zhang memorization scores and everything they were computed from.

    Attributes (K models, n examples, O outputs):
        mem, stderr: (n,) the score of ``kind`` and its standard error.
        kind: ``"accuracy"`` for class labels (P(correct | in) − P(correct | out)), ``"loss"`` for
            real targets (E[loss | out] − E[loss | in]).
        masks: (K, n) training subsets. outputs: (K, n, O) outputs after training.
        correct: (K, n) booleans for class labels (None for real targets).
        targets: the training targets (n, O) for ``"mse"``, labels (n,) for ``"ce"``.
        loss: the training loss (``"mse"`` or ``"ce"``). wall_s: training time of this call.
    """

    mem: np.ndarray
    stderr: np.ndarray
    kind: str
    masks: np.ndarray
    outputs: np.ndarray
    correct: np.ndarray | None
    targets: np.ndarray
    loss: str
    wall_s: float

    def estimate(self, kind: str | None = None) -> theory.MemorizationEstimate:
        """The Feldman–Zhang estimate for ``kind`` (``"accuracy"``, ``"loss"`` or ``"margin"``;
        default ``kind``) from the stored outputs."""
        kind = kind or self.kind
        if kind == "accuracy":
            if self.correct is None:
                raise ValueError("accuracy scores need class labels")
            return theory.feldman_zhang(self.correct.astype(float), self.masks, binary=True)
        return theory.feldman_zhang(_values(self, kind), self.masks, binary=False)

    def __repr__(self) -> str:
        k, n = self.masks.shape
        top = np.argsort(-self.mem, kind="stable")[:5].tolist()
        return (
            f"MemorizationScores(kind={self.kind!r}, K={k} models, n={n}, mean mem "
            f"{self.mem.mean():.3f}, median SE {np.median(self.stderr):.3f}, top examples {top})"
        )

    @property
    def in_accuracy(self) -> float:
        """Mean training accuracy (NaN for real targets)."""
        return float(self.correct[self.masks].mean()) if self.correct is not None else np.nan


def _values(r: MemorizationScores, kind: str) -> np.ndarray:
    if r.loss == "mse":
        return theory.score_values(r.outputs, r.targets, kind)
    out = torch.as_tensor(r.outputs)
    lab = torch.as_tensor(r.targets).long()
    if out.shape[-1] == 1:
        z = out[..., 0] * (2 * lab - 1)
        return (-torch.nn.functional.softplus(-z) if kind == "loss" else z).numpy()
    logp = torch.log_softmax(out, -1)
    own = out.gather(-1, lab.expand(out.shape[:2])[..., None])[..., 0]
    if kind == "loss":
        return logp.gather(-1, lab.expand(out.shape[:2])[..., None])[..., 0].numpy()
    if kind == "margin":
        other = out.scatter(-1, lab.expand(out.shape[:2])[..., None], -torch.inf).amax(-1)
        return (own - other).numpy()
    raise ValueError(f"kind must be one of {theory.KINDS}, got {kind!r}")


def memorization_scores(
    model_factory: Callable,
    x,
    y,
    *,
    n_models: int,
    subset_fraction: float = 0.5,
    train: TrainConfig,
    subtract_init: bool = False,
    masks=None,
    chunk_size: int | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    seed: int = 0,
    device: str = "auto",
    progress: bool | None = None,
) -> MemorizationScores:
    r"""Feldman & Zhang's memorization scores by retraining on random subsets.

    K = ``n_models`` networks are built by ``model_factory`` (member b under seed
    ``member_seed(seed, b)``), member b trains on a uniformly random subset S_b of m = round(f·n)
    examples, and for every example

        mem_i = P̂(correct | i ∈ S) − P̂(correct | i ∉ S)    (class labels)
        mem_i = Ê[loss | i ∉ S] − Ê[loss | i ∈ S]          (real targets)

    with the standard error of a difference of two means (:func:`kernelcap.theory.memorization.
    feldman_zhang`). All members of a chunk train as one vmapped program; finished chunks are
    saved to ``checkpoint_dir`` and skipped when the call is repeated (same arguments).

    Args:
        model_factory: ``() -> nn.Module`` (called under a seeded torch RNG) or
            ``(seed) -> nn.Module``; same architecture each call, output (N, O) or (N,).
        x: (n, ...) inputs. y: (n,) integer class labels, or (n,)/(n, O) real targets.
        n_models: K ≥ 2. subset_fraction: f ∈ (0, 1).
        train: :class:`TrainConfig` (steps, lr, loss ``"mse"``/``"ce"``, optimizer, batch size).
            With ``"mse"`` class labels become ±1 (one output) or one-hot targets.
        subtract_init: train f(x; θ) − f(x; θ₀) (the init's output removed: the lazy-regime model
            whose linearization is kernel regression from zero).
        masks: (K, n) booleans to use instead of random subsets.
        chunk_size: members per batched program (None: all K). checkpoint_dir: resume directory.
        seed: member b is seeded with ``member_seed(seed, b)``.
        device: where to train.
        progress: a tqdm bar (None: only on a terminal).

    Returns:
        :class:`MemorizationScores`.

    References: Feldman & Zhang, "What neural networks memorize and why", NeurIPS 2020.
    """
    if not callable(model_factory):
        raise TypeError(f"model_factory must be callable, got {type(model_factory).__name__}")
    if not isinstance(train, TrainConfig):
        raise TypeError(f"train must be a TrainConfig, got {type(train).__name__}")
    if isinstance(n_models, bool) or not isinstance(n_models, int) or n_models < 2:
        raise ValueError(f"n_models must be an int >= 2, got {n_models!r}")
    dev = resolve_device(device)
    xt, yt, classes = check_data(x, y, train.loss)
    n = xt.shape[0]
    probe = build_member(model_factory, member_seed(seed, 0))
    if masks is None:
        masks = random_masks(n_models, n, subset_fraction, seed)
    else:
        masks = np.asarray(masks, dtype=bool)
        if masks.shape != (n_models, n):
            raise ValueError(f"masks must have shape (n_models, n) = ({n_models}, {n})")
    counts_in, counts_out = masks.sum(0), (~masks).sum(0)
    if counts_in.min() < 2 or counts_out.min() < 2:
        raise ValueError(
            f"with n_models={n_models} some example is in (or out of) fewer than two subsets; "
            "use more models"
        )
    chunk = chunk_size or n_models
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    dtype = next(probe.parameters()).dtype
    with torch.no_grad():
        n_out = probe.to(dev)(xt[:1].to(dev, dtype)).reshape(1, -1).shape[1]
    target = targets_for(yt, classes, n_out, train.loss)
    ckpt = _Checkpoints(checkpoint_dir, _fingerprint(xt, target, masks, train, seed, probe, chunk))
    starts = list(range(0, n_models, chunk))
    todo = [s for s in starts if not ckpt.has(s)]
    outputs, wall = {}, 0.0
    xd, td = xt.to(dev, dtype), target.to(dev, dtype if train.loss == "mse" else torch.long)
    with members_progress(len(todo) * train.steps, "memorization models", progress) as bar:
        for s in starts:
            if s not in todo:
                outputs[s] = ckpt.load(s)
                continue
            stop = min(s + chunk, n_models)
            members = [build_member(model_factory, member_seed(seed, b)) for b in range(s, stop)]
            stack = Stack([m.to(dtype) for m in members], dev)
            run = train_members(
                stack,
                xd,
                td,
                torch.as_tensor(masks[s:stop]),
                train,
                subtract_init=subtract_init,
                seed=seed,
                first_member=s,
                total_members=n_models,
                bar=bar,
            )
            wall += run.wall_s
            outputs[s] = run.outputs.double().cpu()
            ckpt.save(s, outputs[s])
    out = torch.cat([outputs[s] for s in starts]).numpy()
    correct = None if classes is None else _correct(out, yt.numpy()).astype(bool)
    tnp = target.double().numpy() if train.loss == "mse" else yt.numpy()
    res = MemorizationScores(
        mem=np.zeros(n),
        stderr=np.zeros(n),
        kind="accuracy" if classes is not None else "loss",
        masks=masks,
        outputs=out,
        correct=correct,
        targets=tnp,
        loss=train.loss,
        wall_s=wall,
    )
    est = res.estimate()
    object.__setattr__(res, "mem", est.mem)
    object.__setattr__(res, "stderr", est.stderr)
    return res


def _correct(out: np.ndarray, labels: np.ndarray) -> np.ndarray:
    pred = (out[..., 0] > 0).astype(int) if out.shape[-1] == 1 else out.argmax(-1)
    return pred == labels[None]


def _fingerprint(x, target, masks, train, seed, probe, chunk) -> str:
    h = hashlib.sha256()
    for t in (x, target):
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    h.update(np.packbits(masks).tobytes())
    shapes = [(k, tuple(v.shape)) for k, v in probe.named_parameters()]
    h.update(json.dumps([asdict(train), seed, chunk, type(probe).__name__, shapes]).encode())
    return h.hexdigest()


class _Checkpoints:
    """Finished chunks of a run: ``chunk_<start>.pt`` files next to a ``run.json`` fingerprint."""

    def __init__(self, directory, fingerprint: str):
        self.dir = None if directory is None else Path(directory)
        if self.dir is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "run.json"
        if meta.exists():
            if json.loads(meta.read_text()).get("fingerprint") != fingerprint:
                raise ValueError(
                    f"checkpoint_dir {self.dir} holds a different run (data, masks, model, "
                    "training or chunk size differ); use an empty directory"
                )
        else:
            _atomic_write(meta, json.dumps({"fingerprint": fingerprint}).encode())

    def path(self, start: int) -> Path:
        return self.dir / f"chunk_{start:07d}.pt"

    def has(self, start: int) -> bool:
        return self.dir is not None and self.path(start).exists()

    def load(self, start: int) -> torch.Tensor:
        return torch.load(self.path(start), weights_only=True)

    def save(self, start: int, outputs: torch.Tensor) -> None:
        if self.dir is not None:
            tmp = self.path(start).with_suffix(".tmp")
            torch.save(outputs, tmp)
            os.replace(tmp, self.path(start))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

"""Memorization estimators: batched training equals a loop, resumable chunks, input errors,
TracIn against per-example gradients, NTK-LOO against the theory, estimator agreement."""

import numpy as np
import pytest
import torch
from torch import nn

from kernelcap.empirics._batched_models import Stack, TrainConfig, build_member, train_members
from kernelcap.empirics._memorization_capacity import fit_times, random_label_fits
from kernelcap.empirics.kernels import empirical_ntk
from kernelcap.empirics.memorization import (
    compare_estimators,
    long_tailed_mixture,
    memorization_scores,
    ntk_loo_scores,
    random_masks,
    self_influence,
    self_influence_from_path,
)
from kernelcap.theory import memorization as mz


def mlp(d=4, h=16, out=2):
    return lambda: nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, out)).double()


@pytest.fixture(scope="module")
def data():
    return long_tailed_mixture(24, 4, 2, label_noise=0.25, seed=3)


def test_long_tailed_mixture():
    a = long_tailed_mixture(60, 5, 3, label_noise=0.2, seed=1)
    b = long_tailed_mixture(60, 5, 3, label_noise=0.2, seed=1)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert a.x.shape == (60, 5) and int(a.flipped.sum()) == 12
    assert torch.equal(a.flipped, a.y != a.y_clean)
    assert torch.allclose(a.x.norm(dim=1), torch.full((60,), 5**0.5), rtol=1e-5)
    assert int(a.cluster_size.min()) >= 1 and a.n_classes == 3
    with pytest.raises(ValueError, match="label_noise"):
        long_tailed_mixture(10, label_noise=1.0)


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(steps=15, lr=0.05, loss="ce", optimizer="sgd", momentum=0.9),
        TrainConfig(steps=15, lr=0.01, loss="mse", optimizer="adam", weight_decay=1e-3),
    ],
)
def test_batched_members_follow_their_own_trajectories(data, cfg):
    masks = torch.as_tensor(random_masks(5, 24, 0.5, seed=0))
    members = [build_member(mlp(), s) for s in range(5)]
    target = data.y if cfg.loss == "ce" else nn.functional.one_hot(data.y, 2).double()
    x = data.x.double()
    run = train_members(Stack(members, "cpu"), x, target, masks, cfg)
    for b in range(5):  # the same model trained alone with torch.optim
        alone = build_member(mlp(), b)
        opt = (
            torch.optim.SGD(alone.parameters(), lr=cfg.lr, momentum=cfg.momentum)
            if cfg.optimizer == "sgd"
            else torch.optim.Adam(alone.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        )
        sel = masks[b]
        for _ in range(cfg.steps):
            opt.zero_grad()
            out = alone(x[sel])
            if cfg.loss == "ce":
                loss = nn.functional.cross_entropy(out, target[sel])
            else:
                loss = 0.5 * ((out - target[sel]) ** 2).sum(1).mean()
            loss.backward()
            opt.step()
        with torch.no_grad():
            assert torch.allclose(run.outputs[b], alone(x), atol=1e-10)


def test_scores_are_chunk_invariant_and_resume(data, tmp_path):
    cfg = TrainConfig(steps=10, lr=0.05, loss="ce", optimizer="sgd")
    kw = dict(n_models=10, train=cfg, seed=2, device="cpu")
    whole = memorization_scores(mlp(), data.x, data.y, **kw)
    chunked = memorization_scores(
        mlp(), data.x, data.y, chunk_size=4, checkpoint_dir=tmp_path, **kw
    )
    assert np.allclose(whole.outputs, chunked.outputs, atol=1e-10)
    assert np.array_equal(whole.mem, chunked.mem) or np.allclose(whole.mem, chunked.mem)
    assert sorted(p.name for p in tmp_path.glob("chunk_*.pt")) == [
        "chunk_0000000.pt",
        "chunk_0000004.pt",
        "chunk_0000008.pt",
    ]
    (tmp_path / "chunk_0000004.pt").unlink()  # an interrupted run: one chunk left to train
    again = memorization_scores(mlp(), data.x, data.y, chunk_size=4, checkpoint_dir=tmp_path, **kw)
    assert np.allclose(again.outputs, chunked.outputs, atol=1e-10)
    with pytest.raises(ValueError, match="different run"):
        memorization_scores(mlp(), data.x, data.y, chunk_size=3, checkpoint_dir=tmp_path, **kw)
    est = whole.estimate("loss")
    assert whole.kind == "accuracy" and est.mem.shape == (24,)
    assert len(repr(whole)) < 300 and len(repr(est)) < 300  # readable, not the arrays
    assert whole.masks.sum(1).tolist() == [12] * 10


def test_minibatches_come_from_each_members_subset(data):
    cfg = TrainConfig(steps=5, lr=0.05, loss="ce", batch_size=4)
    kw = dict(n_models=10, train=cfg, seed=2, device="cpu")
    a = memorization_scores(mlp(), data.x, data.y, **kw)
    b = memorization_scores(mlp(), data.x, data.y, chunk_size=3, **kw)
    assert np.allclose(a.outputs, b.outputs, atol=1e-10)


def test_memorization_scores_reject_bad_input(data):
    cfg = TrainConfig(steps=2, lr=0.1, loss="ce")
    x, y = data.x, data.y
    with pytest.raises(ValueError, match="n_models"):
        memorization_scores(mlp(), x, y, n_models=1, train=cfg)
    for f in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="subset_fraction"):
            memorization_scores(mlp(), x, y, n_models=4, subset_fraction=f, train=cfg)
    with pytest.raises(ValueError, match="single class"):
        memorization_scores(mlp(), x, torch.zeros(24, dtype=torch.long), n_models=4, train=cfg)
    with pytest.raises(ValueError, match="non-empty"):
        memorization_scores(mlp(), x[:0], y[:0], n_models=4, train=cfg)
    with pytest.raises(ValueError, match="one row per example"):
        memorization_scores(mlp(), x, y[:-1], n_models=4, train=cfg)
    with pytest.raises(ValueError, match="NaN"):
        memorization_scores(mlp(), x * np.nan, y, n_models=4, train=cfg)
    with pytest.raises(ValueError, match="integer class labels"):
        memorization_scores(mlp(), x, y.double(), n_models=4, train=cfg)
    with pytest.raises(TypeError, match="TrainConfig"):
        memorization_scores(mlp(), x, y, n_models=4, train={"steps": 2})
    with pytest.raises(TypeError, match="nn.Module"):
        memorization_scores(lambda: 3, x, y, n_models=10, train=cfg)
    with pytest.raises(ValueError, match="train.lr"):
        TrainConfig(steps=2, lr=-1.0)
    with pytest.raises(ValueError, match="more models"):
        memorization_scores(mlp(), x, y, n_models=3, train=cfg)


def test_self_influence_is_tracin(data):
    model = build_member(mlp(), 0)
    ckpts = [{k: v.detach() + 0.01 * t for k, v in model.named_parameters()} for t in range(3)]
    si = self_influence(model, ckpts, data.x, data.y, lrs=[0.1, 0.2, 0.3], loss="ce")
    ref = np.zeros(24)
    for ck, lr in zip(ckpts, [0.1, 0.2, 0.3]):
        m = build_member(mlp(), 0)
        m.load_state_dict(ck)
        for i in range(24):
            m.zero_grad()
            nn.functional.cross_entropy(m(data.x[i : i + 1].double()), data.y[i : i + 1]).backward()
            ref[i] += lr * sum(float(p.grad.pow(2).sum()) for p in m.parameters())
    assert np.allclose(si.scores, ref, rtol=1e-8)
    assert si.per_checkpoint.shape == (3, 24)


def test_self_influence_from_path_equals_checkpoint_tracin(data):
    model = nn.Linear(4, 1, bias=False).double()
    x = data.x.double()
    y = data.signed_targets()
    si = self_influence(model, [dict(model.named_parameters())], x, y, lrs=0.5, loss="mse")
    with torch.no_grad():
        g = (model(x)[:, 0] - y).numpy()  # ∂(½(f−y)²)/∂f
    ntk = (x * x).sum(1).numpy()  # Θ(x_i, x_i) of a linear model
    path = self_influence_from_path([0.5], g[None], ntk[None])
    assert np.allclose(si.scores, path.scores)
    with pytest.raises(ValueError, match="shapes"):
        self_influence_from_path([0.5, 0.1], g[None], ntk[None])


def test_ntk_loo_scores_match_the_theory(data):
    model = build_member(mlp(out=1), 0)
    y = data.signed_targets()
    res = ntk_loo_scores(model, data.x, data.y, 1e-2)
    k = empirical_ntk(model, data.x.double()).numpy()
    loo = mz.kernel_loo_residuals(k, y.numpy()[:, None], 1e-2)
    assert np.allclose(res.loo_residuals, loo.loo_residuals)
    assert np.allclose(res.scores, loo.loo_residuals[:, 0] ** 2 - loo.residuals[:, 0] ** 2)
    assert res.loo_correct.dtype == bool and res.leverages.shape == (24,)
    rel = ntk_loo_scores(model, data.x, data.y, 1e-2, relative=True, subtract_output=True)
    assert rel.scores.shape == (24,)


def test_compare_estimators(data):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(24)
    agree = compare_estimators({"a": a, "b": 2 * a + 1, "c": -a}, k=5, positives=data.flipped)
    assert agree.pair("a", "b") == pytest.approx((1.0, 1.0))
    assert agree.pair("a", "c")[0] == pytest.approx(-1.0)
    assert agree.overlap[0, 2] == 0 and agree.flagged_by_all.size == 0
    assert set(agree.auroc) == {"a", "b", "c"} and "flagged by all" in repr(agree)
    assert agree.spearman_null_sd == pytest.approx(1 / np.sqrt(23))
    with pytest.raises(ValueError, match="at least two"):
        compare_estimators({"a": a})
    with pytest.raises(ValueError, match="k must"):
        compare_estimators({"a": a, "b": a}, k=24)


def test_capacity_measurements_run_small():
    fits = random_label_fits([4, 8, 16], 6, dim=3, n_trials=5, seed=0)
    assert fits.fitted[0].all() and fits.train_error[0].max() < 1e-20
    assert fits.train_error.shape == (3, 5)
    d = long_tailed_mixture(16, 3, 2, seed=0)
    ft = fit_times(
        mlp(3, 32, 2),
        d.x.double(),
        d.y,
        [0.0, 1.0],
        n_trials=2,
        train=TrainConfig(steps=60, lr=0.05, loss="ce", optimizer="adam"),
        n_classes=2,
        device="cpu",
    )
    assert ft.steps.shape == (2, 2) and ft.accuracy.shape[:2] == (2, 2)

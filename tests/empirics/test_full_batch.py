import numpy as np
import pytest
import torch

from kernelcap.empirics._full_batch import log_step_grid, train_full_batch
from kernelcap.theory.grokking import weight_norm_decay


@pytest.mark.parametrize("optimizer", ["adamw", "sgdw"])
def test_zero_data_gradient_gives_the_pure_decay_law(optimizer):
    w = torch.randn(
        3, 4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    ).requires_grad_()
    w0 = w.detach().flatten(1).norm(dim=1).numpy()
    lam = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64)
    log = train_full_batch(
        [w],
        lambda p: 0 * p[0].sum((1, 2)),
        lambda p: dict(norm=p[0].flatten(1).norm(dim=1)),
        lr=0.01,
        weight_decay=lam,
        n_steps=200,
        grid=log_step_grid(200, 10, 50),
        optimizer=optimizer,
    )
    expected = weight_norm_decay(w0[:, None], 0.01, lam.numpy()[:, None], log.steps[None, :])
    assert np.allclose(log.measures["norm"], expected, rtol=1e-12)


def test_members_get_their_own_gradient_and_snapshots_are_kept():
    target = torch.tensor([[1.0], [-2.0]])
    w = torch.zeros(2, 1, requires_grad=True)
    log = train_full_batch(
        [w],
        lambda p: ((p[0] - target) ** 2).sum(1),
        lambda p: dict(w=p[0][:, 0]),
        lr=0.1,
        weight_decay=torch.zeros(2),
        n_steps=300,
        grid=np.array([300]),
        optimizer="sgdw",
        keep_snapshots=True,
    )
    assert np.allclose(log.measures["w"][:, -1], [1.0, -2.0], atol=1e-4)
    assert log.snapshots[0].shape == (2, 1, 1)


def test_step_grid_and_bad_input():
    g = log_step_grid(1000, 5, 250)
    assert (
        g[0] == 0
        and g[1] == 1
        and g[-1] == 1000
        and np.all(np.diff(g) > 0)
        and {250, 500, 750} <= set(g.tolist())
    )
    with pytest.raises(ValueError):
        log_step_grid(0)
    w = torch.zeros(1, 1, requires_grad=True)
    with pytest.raises(ValueError, match="optimizer"):
        train_full_batch(
            [w],
            lambda p: p[0].sum(1),
            lambda p: {},
            lr=0.1,
            weight_decay=torch.zeros(1),
            n_steps=1,
            grid=np.array([1]),
            optimizer="lbfgs",
        )


@pytest.mark.parametrize("grid", [[5, 3], [0, 0, 4], [1, 11], [-1, 2], [1.5, 3], []])
def test_bad_grid_is_rejected(grid):
    w = torch.zeros(1, 1, requires_grad=True)
    with pytest.raises(ValueError, match="grid"):
        train_full_batch(
            [w],
            lambda p: p[0].sum(1),
            lambda p: {},
            lr=0.1,
            weight_decay=torch.zeros(1),
            n_steps=10,
            grid=np.array(grid),
        )


def test_step_zero_is_the_initialisation_and_snapshots_follow_their_subgrid():
    w = torch.ones(2, 3, requires_grad=True)
    log = train_full_batch(
        [w],
        lambda p: p[0].sum(1),
        lambda p: dict(s=p[0].sum(1)),
        lr=0.1,
        weight_decay=torch.zeros(2),
        n_steps=10,
        grid=np.array([0, 5, 10]),
        optimizer="sgdw",
        keep_snapshots=True,
        snapshot_steps=[0, 10],
    )
    assert np.array_equal(log.steps, [0, 5, 10]) and np.allclose(log.measures["s"][:, 0], 3.0)
    assert np.array_equal(log.snapshot_steps, [0, 10]) and log.snapshots[0].shape == (2, 2, 3)
    assert np.allclose(log.snapshots[0][:, 0], 1.0) and log.snapshots[0].dtype == np.float32


def test_member_draws_do_not_depend_on_the_batch():
    from kernelcap.empirics._full_batch import member_randn, member_seed

    def gens(idx):
        return [torch.Generator().manual_seed(member_seed(7, i)) for i in idx]

    both = member_randn(gens([0, 1]), 4, 2)
    alone = member_randn(gens([1]), 4, 2)
    assert torch.equal(both[1], alone[0]) and not torch.equal(both[0], both[1])

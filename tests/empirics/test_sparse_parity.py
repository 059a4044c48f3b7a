import numpy as np
import pytest
import torch

from kernelcap.empirics import sparse_parity as sp


def _parity_by_hand(x: torch.Tensor, relevant) -> list[int]:
    """Label of each ±1 string: 1 when an odd number of the relevant bits are 1 (x_j = −1)."""
    return [sum(1 for j in relevant if row[j] == -1) % 2 for row in x.tolist()]


@pytest.mark.parametrize(
    "n,k,subset,seed",
    [(8, 3, "first", 0), (12, 5, "random", 4), (30, 3, "first", 1), (40, 2, "random", 2)],
)
def test_labels_are_the_parity_of_the_relevant_bits(n, k, subset, seed):
    d = sp.sparse_parity(n, k, 60, 40, subset=subset, seed=seed, device="cpu")
    assert (
        len(d.relevant) == k and len(set(d.relevant)) == k and all(0 <= j < n for j in d.relevant)
    )
    if subset == "first":
        assert d.relevant == tuple(range(k))
    for x, y in ((d.x_train, d.y_train), (d.x_test, d.y_test)):
        assert set(x.unique().tolist()) <= {-1.0, 1.0} and x.shape[1] == n
        assert y.tolist() == _parity_by_hand(x, d.relevant)
        assert torch.equal(
            torch.prod(x[:, list(d.relevant)], 1), 1 - 2 * y.float()
        )  # ∏ x_S = (−1)^label


@pytest.mark.parametrize("n,n_train,n_test", [(6, 40, 24), (30, 300, 200)])
def test_strings_are_distinct_and_split_disjoint(n, n_train, n_test):
    d = sp.sparse_parity(n, 2, n_train, n_test, seed=3, device="cpu")
    train = {tuple(r) for r in d.x_train.int().tolist()}
    test = {tuple(r) for r in d.x_test.int().tolist()}
    assert len(train) == n_train and len(test) == n_test and not train & test
    if n_train + n_test == 2**n:
        assert len(train | test) == 2**n


def test_same_seed_same_data_other_seed_other_data():
    a, b = (
        sp.sparse_parity(20, 3, 100, 50, subset="random", seed=7, device="cpu") for _ in range(2)
    )
    assert (
        a.relevant == b.relevant
        and torch.equal(a.x_train, b.x_train)
        and torch.equal(a.x_test, b.x_test)
    )
    c = sp.sparse_parity(20, 3, 100, 50, subset="random", seed=8, device="cpu")
    assert not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize(
    "kw",
    [
        dict(k=0),
        dict(k=9),
        dict(n_bits=0),
        dict(n_train=0),
        dict(n_test=-1),
        dict(n_train=200, n_test=100),
        dict(n_bits=2.5),
        dict(n_bits=63),
        dict(subset="last"),
        dict(k=True),
    ],
)
def test_bad_data_input(kw):
    base = dict(n_bits=8, k=3, n_train=10, n_test=10)
    with pytest.raises(ValueError):
        sp.sparse_parity(**{**base, **kw}, device="cpu")


@pytest.mark.parametrize(
    "kw",
    [
        dict(weight_decay=(0.0,), l1=(0.0, 1e-4)),
        dict(l1=(-1e-4, 0.0)),
        dict(weight_decay=(float("nan"), 0.0)),
        dict(lr=0.0),
        dict(hidden=0),
        dict(n_steps=1.5),
        dict(betas=(0.9, 1.0)),
        dict(n_train=300, n_bits=8),
    ],
)
def test_bad_training_input(kw):
    base = dict(n_bits=10, k=3, n_train=50, n_test=20, hidden=8, n_steps=5, device="cpu")
    with pytest.raises(ValueError):
        sp.train_sparse_parity(**{**base, **kw})


def test_training_is_reproducible_and_members_independent():
    kw = dict(
        n_bits=12,
        k=3,
        n_train=150,
        n_test=100,
        hidden=16,
        n_steps=80,
        n_seeds=2,
        device="cpu",
        seed=5,
    )
    a = sp.train_sparse_parity(weight_decay=(0.0, 0.0), l1=(0.0, 1e-3), **kw)
    b = sp.train_sparse_parity(weight_decay=(0.0, 0.0), l1=(0.0, 1e-3), progress=True, **kw)
    assert np.array_equal(a.test_acc, b.test_acc) and np.array_equal(a.bit_mass, b.bit_mass)
    assert a.train_acc.shape == (4, a.steps.size) and a.bit_mass.shape == (4, a.steps.size, 12)
    assert np.array_equal(a.l1, [0, 0, 1e-3, 1e-3]) and np.array_equal(a.seed, [0, 1, 0, 1])
    # a member's trajectory does not depend on which other members train beside it
    alone = sp.train_sparse_parity(weight_decay=(0.0,), l1=(0.0,), **kw)
    np.testing.assert_allclose(alone.bit_mass, a.bit_mass[:2], rtol=1e-5)
    m = a.bit_mass
    np.testing.assert_allclose(a.relevant_fraction, m[..., :3].sum(-1) / m.sum(-1))
    assert np.all((a.active_bits >= 1 - 1e-9) & (a.active_bits <= 12 + 1e-9))
    # ... nor on how many seeds train: seed index 1 gets the same initialisation at n_seeds 2 and 3
    three = sp.train_sparse_parity(weight_decay=(0.0,), l1=(0.0,), **{**kw, "n_seeds": 3})
    np.testing.assert_allclose(three.bit_mass[:2], a.bit_mass[:2], rtol=1e-5)


def test_run_arrays_are_read_only():
    kw = dict(n_bits=10, k=3, n_train=60, n_test=30, hidden=8, n_steps=20, device="cpu", seed=2)
    run = sp.train_sparse_parity(**kw)
    for arr in (run.test_acc, run.bit_mass, run.relevant_fraction, run.steps, run.seed):
        assert not arr.flags.writeable


def test_random_layer_fraction_is_the_theory_law():
    from kernelcap.theory import grokking as th

    assert sp.random_layer_fraction is th.random_layer_fraction  # moved to theory, re-exported


def test_claim_passes_at_smoke():
    from kernelcap.registry import get_claim
    from kernelcap.runtime import Runtime

    ev = get_claim("grokking.parity").run("smoke", Runtime(scale="smoke", seed=0))
    assert ev.passed, ev
    assert len(ev.rows) == 4 and ev.figure is not None
    # the sparse solution is the theory of the L1 network; the L2 network has none
    assert all(("predicted" in r) == (r["series"] == "L1") for r in ev.rows)

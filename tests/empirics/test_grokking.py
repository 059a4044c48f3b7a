import numpy as np
import pytest
import torch

from kernelcap.empirics import grokking as g


@pytest.mark.parametrize("p,frac,seed", [(7, 0.5, 0), (23, 0.8, 3), (31, 0.3, 1)])
def test_modular_addition_labels_split_and_seed(p, frac, seed):
    d = g.modular_addition(p, frac, seed=seed, device="cpu")
    assert d.a.numel() == p * (p + 1) // 2 and bool((d.a <= d.b).all())
    assert torch.equal(d.labels, (d.a + d.b) % p)
    tr, te = set(d.train.tolist()), set(d.test.tolist())
    assert not tr & te and len(tr | te) == d.a.numel()
    assert len(tr) == round(frac * d.a.numel())
    again = g.modular_addition(p, frac, seed=seed, device="cpu")
    assert torch.equal(again.train, d.train)
    assert not torch.equal(g.modular_addition(p, frac, seed=seed + 1, device="cpu").train, d.train)


def test_training_is_reproducible_and_batched_members_are_independent():
    kw = dict(p=11, train_fraction=0.6, embed=16, hidden=32, n_steps=60, device="cpu", seed=5)
    a = g.train_grokking(weight_decay=(0.0, 1.0), **kw)
    b = g.train_grokking(weight_decay=(0.0, 1.0), progress=True, **kw)  # a bar changes no number
    assert np.array_equal(a.test_acc, b.test_acc) and np.array_equal(a.weight_norm, b.weight_norm)
    assert a.train_acc.shape == (2, a.steps.size) and a.fourier_energy.shape == (2, a.steps.size, 5)
    assert a.weight_norm[1, -1] < a.weight_norm[0, -1]  # decay shrinks the decayed member only
    k = a.key_frequency_count()
    assert k.shape == a.train_acc.shape and np.all((k >= 1) & (k <= 5))


def test_first_step_reaching():
    steps = np.array([1, 10, 100])
    assert np.array_equal(
        g.first_step_reaching(steps, [[0.1, 1.0, 1.0], [0, 0, 0.5]], 1.0),
        [10.0, np.nan],
        equal_nan=True,
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(p=2),
        dict(train_fraction=1.0),
        dict(weight_decay=(-1.0,)),
        dict(lr=0.0),
        dict(embed=0),
        dict(n_steps=1.5),
        dict(optimizer="sgd"),
        dict(weight_decay=()),
        dict(lr=float("nan")),
        dict(init_scale=-1.0),
        dict(embed=True),
    ],
)
def test_bad_input(kw):
    base = dict(p=11, train_fraction=0.5, n_steps=5, device="cpu")
    with pytest.raises(ValueError):
        g.train_grokking(**{**base, **kw})


def test_ordered_pairs_cover_all_p_squared():
    d = g.modular_addition(7, 0.3, seed=2, ordered=True, device="cpu")
    assert d.a.numel() == 49 and len(set(zip(d.a.tolist(), d.b.tolist()))) == 49
    assert torch.equal(d.labels, (d.a + d.b) % 7)
    assert set(d.train.tolist()).isdisjoint(d.test.tolist()) and len(d.train) == round(0.3 * 49)


def test_ntk_drift_is_zero_at_init_and_scale_free_distance_ignores_pure_decay():
    run = g.train_grokking(
        p=11, train_fraction=0.6, embed=8, hidden=16, n_steps=40, weight_decay=(0.0,), device="cpu"
    )
    d = g.ntk_drift_from_init(run, 0, n_points=12, max_snapshots=5)
    assert (
        d.steps[0] == run.steps[0]
        and d.relative_change[0] == 0
        and abs(d.kernel_distance[0]) < 1e-12
    )
    assert np.all(d.kernel_distance[1:] > 0) and d.steps.shape == d.kernel_distance.shape
    # all weights scaled by c: Θ scales by c⁴, the centred cosine distance does not move
    scaled = g.GrokkingRun(
        **{
            **run.__dict__,
            "weights": tuple(np.stack([w[:, 0], 0.5 * w[:, 0]], 1) for w in run.weights),
            "steps": np.array([0, 1]),
            "snapshot_steps": np.array([0, 1]),
        }
    )
    ds = g.ntk_drift_from_init(scaled, 0, n_points=12, max_snapshots=2)
    assert abs(ds.kernel_distance[-1]) < 1e-9 and np.isclose(ds.relative_change[-1], 1 - 0.5**4)
    with pytest.raises(ValueError):
        g.ntk_drift_from_init(run, 3)


def test_member_alone_equals_member_in_batch_and_inits_are_paired_across_decay():
    kw = dict(
        p=11, train_fraction=0.6, embed=8, hidden=16, n_steps=30, device="cpu", seed=4, n_seeds=2
    )
    both = g.train_grokking(weight_decay=(0.0, 1.0), **kw)
    alone = g.train_grokking(weight_decay=(1.0,), **kw)
    assert np.allclose(both.test_loss[2:], alone.test_loss, rtol=1e-5, atol=1e-6)
    for w in both.weights:  # same seed index, same initial weights at both λ
        assert np.array_equal(w[0, 0], w[2, 0]) and not np.array_equal(w[0, 0], w[1, 0])
    assert not both.test_acc.flags.writeable


def test_logged_fourier_energy_matches_the_theory_function():
    from kernelcap.theory.grokking import fourier_energy

    run = g.train_grokking(
        p=13, train_fraction=0.6, embed=8, hidden=16, n_steps=10, device="cpu", n_log=3, every=5
    )
    last = int(np.searchsorted(run.steps, run.snapshot_steps[-1]))
    assert np.allclose(
        run.fourier_energy[:, last],
        fourier_energy(run.weights[0][:, -1].astype(np.float64)),
        rtol=1e-5,
    )


def test_adamw_claims_share_one_training_run_per_seed():
    from dataclasses import replace

    from kernelcap import cache
    from kernelcap.claims import grokking as cg
    from kernelcap.runtime import Runtime

    cfg = replace(cg.ADAMW.smoke, p=11, embed=8, hidden=16, n_steps=30)
    cache.clear()
    a = cg.measure_delay(cfg, Runtime(seed=1, device="cpu"))
    b = cg.measure_fourier(cfg, Runtime(seed=1, device="cpu", progress=True))
    c = cg.measure_needs_decay(cfg, Runtime(seed=2, device="cpu"))
    assert a.run is b.run["run"] and c.run is not a.run and cache.size() == 2


def test_decay_phase_and_lazy_memorizers_on_a_synthetic_run():
    steps = np.arange(0, 1001, 10)
    lr, lam = 0.1, 0.05
    law = 100 * (1 - lr * lam) ** steps
    norm = np.stack([np.maximum(law, 10.0), np.maximum(law, 10.0)])
    train = np.stack([steps >= 20, steps >= 600]).astype(float)  # member 1 memorises after decay
    test = np.stack([steps >= 700, steps >= 700]).astype(float)
    zeros = np.zeros_like(norm)
    run = g.GrokkingRun(
        lr=lr,
        steps=steps,
        weight_decay=np.array([lam, lam]),
        seed=np.array([0, 1]),
        train_acc=train,
        test_acc=test,
        train_loss=zeros,
        test_loss=zeros,
        weight_norm=norm,
        wall_s=0.0,
        p=7,
        fourier_energy=np.ones((2, steps.size, 3)),
    )
    s0, stop = g.decay_phase_window(run, 0, 20.0)
    assert steps[s0] == 20 and norm[0, stop - 1] > 20 >= norm[0, stop]
    assert g.decay_phase_deviation(run, 0, 20.0) < 1e-12  # the norm is the law itself there
    assert np.isnan(g.decay_phase_deviation(run, 1, 600.0))  # no decay phase left
    assert g.lazy_memorizers(run, 0.5).tolist() == [0]

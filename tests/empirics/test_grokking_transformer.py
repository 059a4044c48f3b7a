import math

import numpy as np
import pytest
import torch

from kernelcap.empirics import grokking_transformer as gt

SMALL = dict(
    p=11,
    train_fraction=0.6,
    d_model=16,
    n_heads=4,
    d_mlp=32,
    lr=1e-2,
    n_steps=30,
    n_log=10,
    every=10,
    device="cpu",
)


def _reference_logits(params, a, b, member):
    """Plain full-sequence transformer on tokens (a, b, '='), causal mask, read at the last
    position."""
    W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, W_out, W_U = (w[member] for w in params)
    p = W_U.shape[-1]
    x = W_E[torch.stack([a, b, torch.full_like(a, p)], 1)] + W_pos  # (N, 3, d)
    q, k, v = (torch.einsum("npd,hde->nhpe", x, w) for w in (W_Q, W_K, W_V))
    scores = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).masked_fill(
        ~torch.ones(3, 3, dtype=torch.bool).tril(), float("-inf")
    )
    x = x + torch.einsum("nhpe,hed->npd", torch.softmax(scores, -1) @ v, W_O)
    x = x + torch.relu(x @ W_in) @ W_out
    return (x @ W_U)[:, -1]


def test_logits_match_a_plain_full_sequence_transformer():
    params = gt.init_transformer(7, 16, 4, 32, seeds=[1, 2, 3])
    a, b = torch.cartesian_prod(torch.arange(7), torch.arange(7)).T
    with torch.no_grad():
        out = gt.transformer_logits(params, a, b)
        assert out.shape == (3, 49, 7)
        for m in range(3):
            torch.testing.assert_close(
                out[m], _reference_logits(params, a, b, m), rtol=1e-5, atol=1e-5
            )


def test_init_shapes_scales_and_members_depend_only_on_their_seed():
    params = gt.init_transformer(13, 32, 4, 64, seeds=[5, 6])
    shapes = [
        (14, 32),
        (3, 32),
        (4, 32, 8),
        (4, 32, 8),
        (4, 32, 8),
        (4, 8, 32),
        (32, 64),
        (64, 32),
        (32, 13),
    ]
    assert [tuple(w.shape[1:]) for w in params] == shapes and all(w.shape[0] == 2 for w in params)
    alone = gt.init_transformer(13, 32, 4, 64, seeds=[6])
    assert all(torch.equal(w[1], w1[0]) for w, w1 in zip(params, alone))
    assert (
        abs(params[6].std().item() * math.sqrt(32) - 1) < 0.1
        and abs(params[8].std().item() * math.sqrt(14) - 1) < 0.15
    )


def test_run_shapes_and_reproducibility():
    run = gt.train_grokking_transformer(weight_decay=(0.0, 1.0), n_seeds=2, seed=3, **SMALL)
    S = run.steps.size
    assert run.steps[-1] == 30 and run.train_acc.shape == run.novel_test_acc.shape == (4, S)
    assert run.fourier_energy.shape == (4, S, 5) and run.weights[0].shape == (4, S, 11, 16)
    assert np.array_equal(run.weight_decay, [0, 0, 1, 1]) and np.array_equal(run.seed, [0, 1, 0, 1])
    assert 0 < run.novel_fraction < 1 and run.n_novel >= 1
    again = gt.train_grokking_transformer(
        weight_decay=(0.0, 1.0), n_seeds=2, seed=3, progress=True, **SMALL
    )  # a progress bar changes no number
    for name in ("train_loss", "test_acc", "weight_norm", "fourier_energy"):
        assert np.array_equal(getattr(run, name), getattr(again, name)), name
    assert (
        run.weight_norm[2, -1] < run.weight_norm[0, -1]
    )  # same init, decay shrinks the decayed member


def test_a_member_trained_alone_matches_the_same_member_in_a_batch():
    batch = gt.train_grokking_transformer(weight_decay=(0.0, 1.0), n_seeds=2, seed=4, **SMALL)
    alone = gt.train_grokking_transformer(weight_decay=(1.0,), n_seeds=1, seed=4, **SMALL)
    i = 2  # λ = 1, seed index 0
    np.testing.assert_allclose(alone.train_loss[0], batch.train_loss[i], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(alone.weight_norm[0], batch.weight_norm[i], rtol=1e-5)
    np.testing.assert_allclose(alone.weights[0][0], batch.weights[0][i], rtol=1e-4, atol=1e-5)


def test_run_arrays_are_read_only():
    run = gt.train_grokking_transformer(weight_decay=(1.0,), seed=6, **SMALL)
    for arr in (run.test_acc, run.novel_test_acc, run.fourier_energy, run.weights[0], run.steps):
        assert not arr.flags.writeable


def test_no_novel_test_pair_is_an_error():
    # p=3, 80% of the 9 ordered pairs, seed 0: both test pairs have their commuted copy in the
    # training set
    with pytest.raises(ValueError, match="no novel test pair"):
        gt.train_grokking_transformer(
            **{**SMALL, "p": 3, "train_fraction": 0.8, "n_steps": 2}, seed=0
        )


def test_value_at_step():
    steps, values = np.array([0, 5, 10]), np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(
        gt.value_at_step(steps, values, np.array([5.0, np.nan])), [2.0, np.nan]
    )
    np.testing.assert_array_equal(
        gt.value_at_step(steps, values, np.array([0.0, 10.0])), [1.0, 6.0]
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(p=2),
        dict(train_fraction=1.0),
        dict(weight_decay=(-1.0,)),
        dict(weight_decay=()),
        dict(lr=0.0),
        dict(lr=float("nan")),
        dict(lr=0.5, weight_decay=(2.0,)),
        dict(d_model=0),
        dict(d_model=18),
        dict(n_steps=1.5),
        dict(n_seeds=0),
        dict(every=0),
    ],
)
def test_bad_input(kw):
    with pytest.raises(ValueError):
        gt.train_grokking_transformer(**{**SMALL, **kw})


def test_claim_passes_at_smoke():
    from kernelcap.registry import get_claim
    from kernelcap.runtime import Runtime

    ev = get_claim("grokking.transformer").run("smoke", Runtime(scale="smoke", seed=0))
    assert ev.passed, ev
    series = {r["series"]: r for r in ev.rows}
    assert set(series) == {"t_gen/t_mem", "top-k fraction", "top-k fraction, λ=0 control"}
    # the λ=0 control trains beside the grokking member; only the grokked network has a theory
    assert series["top-k fraction, λ=0 control"]["weight_decay"] == 0.0
    assert series["top-k fraction"]["predicted"] == pytest.approx(1.0)
    assert "predicted" not in series["t_gen/t_mem"] and ev.extras["n_novel"] >= 1

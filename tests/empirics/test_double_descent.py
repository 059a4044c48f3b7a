"""Double-descent experiments: batching equals the plain computation, seeds reproduce,
claims pass."""

import numpy as np
import pytest
import torch

from kernelcap.empirics import double_descent as dd
from kernelcap.registry import get_claim
from kernelcap.runtime import Runtime


def test_masked_batch_equals_pinv_on_the_unpadded_design():
    # Masking columns must give exactly the min-norm solution of the smaller design.
    gen = torch.Generator().manual_seed(0)
    x, mask = dd._masked_design(10, np.array([4, 25]), 3, gen, torch.device("cpu"))
    beta, y = dd._planted(None, 3, 1.0, 1.0, x, mask, gen)
    for g, p in enumerate([4, 25]):
        ref = torch.linalg.pinv(x[g, :, :, :p]) @ y[g].unsqueeze(-1)
        if p < 10:
            gram = x[g].transpose(-1, -2) @ x[g] + torch.diag_embed((1 - mask[g]).expand(3, -1))
            got = torch.linalg.solve(
                gram, (x[g].transpose(-1, -2) @ y[g].unsqueeze(-1)).squeeze(-1)
            )
        else:
            got = dd._dual_solve(x[g], y[g], 0.0)
        assert torch.allclose(got[:, :p], ref.squeeze(-1), atol=1e-8)
        assert torch.all(got[:, p:] == 0)


def test_same_seed_same_numbers_and_validation():
    a = dd.min_norm_risk_curve(20, [5, 40], trials=10, seed=3, device="cpu")
    b = dd.min_norm_risk_curve(20, [5, 40], trials=10, seed=3, device="cpu")
    assert np.array_equal(a.risk, b.risk) and a.risk.shape == (2,)
    with pytest.raises(ValueError, match="sizes"):
        dd.min_norm_risk_curve(20, [20], trials=10)
    with pytest.raises(ValueError, match="features"):
        dd.random_features_risk_curve(20, 5, [10], features="tanh", trials=2)
    with pytest.raises(ValueError, match="widths"):
        dd.mlp_width_sweep([0, 4], trials=2, steps=1)


def test_width_sweep_shapes_and_parameter_counts():
    sw = dd.mlp_width_sweep(
        [3, 50], n=20, dim=3, steps=5, trials=2, log_every=1, seed=0, device="cpu"
    )
    assert sw.test_history.shape == (5, 2) and sw.test_by_trial.shape == (2, 2)
    assert np.array_equal(sw.params, [3 * 5 + 1, 50 * 5 + 1])


def test_ridge_and_random_features_agree_with_theory_roughly():
    from kernelcap.theory import double_descent as th

    c = dd.ridge_risk_curve(60, [30, 120], 0.5, trials=100, seed=1, device="cpu")
    assert np.all(np.abs(c.risk - th.ridge_risk(c.sizes / 60, 0.5)) < 5 * c.se + 1 / 60)
    rf = dd.random_features_risk_curve(
        60, 20, [20, 240], features="fourier", trials=4, seed=1, device="cpu"
    )
    assert np.all(np.isfinite(rf.risk)) and rf.risk[1] < rf.risk[0] + 1


@pytest.mark.parametrize("cid", ["finite-sample", "asymptotic", "optimal-ridge", "random-features"])
@pytest.mark.parametrize("seed", [1, 2])
def test_linear_claims_pass_for_other_seeds(cid, seed):
    ev = get_claim(f"double_descent.{cid}").run("smoke", Runtime(device="cpu", seed=seed))
    assert ev.passed, ev


def test_mlp_claim_passes_for_another_seed():
    ev = get_claim("double_descent.mlp-width").run("smoke", Runtime(device="cpu", seed=1))
    assert ev.passed, ev

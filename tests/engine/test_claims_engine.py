import pytest

from kernelcap.claims import Check, Claim, Evidence, UnknownClaimError, select
from kernelcap.runtime import Runtime

from .conftest import CONFIGS, _mean_experiment


def test_check_comparisons_and_nan():
    assert Check("a", 1.0, 2.0).passed
    assert not Check("a", 3.0, 2.0).passed
    assert Check("a", 3.0, 2.0, ">=").passed
    assert not Check("a", float("nan"), 2.0).passed
    with pytest.raises(ValueError, match="op"):
        Check("a", 1.0, 2.0, "<")


def test_evidence_needs_a_check_and_verdict_follows_checks():
    with pytest.raises(ValueError, match="Check"):
        Evidence(rows=[], checks=[])
    ev = Evidence(rows=[], checks=[Check("a", 1, 2), Check("b", 1, 0)])
    assert ev.verdict == "fail" and not ev.passed
    assert "fail" in repr(ev)


def test_claim_validates_id_and_configs():
    with pytest.raises(ValueError, match="<module>.<name>"):
        Claim("nodot", "s", "src", _mean_experiment, CONFIGS)
    with pytest.raises(ValueError, match="paper"):
        Claim("a.b", "s", "src", _mean_experiment, {"smoke": {}, "quick": {}})


def test_claim_run_adds_timing_and_uses_scale_config(toy_claims):
    good, bad = toy_claims
    ev = good.run("smoke", Runtime(seed=3))
    assert ev.passed and ev.rows[0]["n"] == 10 and ev.timings["total_s"] >= 0
    assert not bad.run("quick").passed
    with pytest.raises(ValueError, match="scale"):
        good.run("huge")


def test_select_by_id_and_glob(toy_claims):
    assert [c.id for c in select(["engine.*"])] == ["engine.toy", "engine.wrong"]
    assert [c.id for c in select(["engine.toy"])] == ["engine.toy"]
    with pytest.raises(UnknownClaimError, match="'nope'"):
        select(["nope"])


def test_runtime_validation():
    with pytest.raises(ValueError, match="scale"):
        Runtime(scale="big")
    with pytest.raises(ValueError, match="seed"):
        Runtime(seed=-1)
    with pytest.raises(ValueError, match="device"):
        Runtime(device="tpu").torch_device
    a, b = Runtime(seed=5).generator(1), Runtime(seed=5).generator(1)
    import torch

    assert torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b))

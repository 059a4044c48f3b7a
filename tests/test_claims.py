"""One test per registered claim at smoke scale (select with ``-k <claim id>``)."""

import math

import pytest

from kernelcap.registry import all_claims
from kernelcap.runner import run_claim
from kernelcap.runtime import SCALES, Runtime

CLAIMS = all_claims()


def test_every_module_registers_claims():
    modules = {c.module for c in CLAIMS}
    assert {"hopfield", "kernels", "double_descent", "sparsity", "grokking"} <= modules


@pytest.mark.parametrize("c", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim_is_well_formed(c):
    assert c.statement.strip() and c.source.strip()
    for scale in SCALES:
        assert c.config(scale) is not None


@pytest.mark.claim
@pytest.mark.parametrize("c", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim_passes_at_smoke_scale(c, tmp_path):
    res = run_claim(c, "smoke", Runtime(device="auto", seed=0), tmp_path)
    rec = res.record
    detail = "\n".join(f"{k['name']}={k['value']} {k['op']} {k['bound']}" for k in rec["checks"])
    assert rec["verdict"] == "pass", f"{c.id}: {rec['summary']}\n{detail}\n{rec.get('error') or ''}"
    assert rec["figure"] and (tmp_path / rec["figure"]).stat().st_size > 1000
    assert rec["rows"] and all("measured" in r for r in rec["rows"])
    for k in rec["checks"]:
        assert k["reason"].strip(), (
            f"check {k['name']} of {c.id} does not say why its bound is what it is"
        )
        assert not math.isnan(float(k["value"]))

from dataclasses import dataclass

import numpy as np
import pytest

from kernelcap import cache, compare
from kernelcap.claim import Check, Claim, Evidence, Measurement, Points, Scales
from kernelcap.registry import UnknownClaimError, select
from kernelcap.runtime import Runtime

from .conftest import CONFIGS, measure_mean, predict_half, toy, within_4_se


def test_check_comparisons_and_nan():
    assert Check(name="a", value=1.0, op="<=", bound=2.0, reason="r").passed
    assert not Check(name="a", value=3.0, op="<=", bound=2.0, reason="r").passed
    assert Check(name="a", value=3.0, op=">=", bound=2.0, reason="r").passed
    assert not Check(name="a", value=float("nan"), op="<=", bound=2.0, reason="r").passed
    with pytest.raises(ValueError, match="op"):
        Check(name="a", value=1.0, op="<", bound=2.0, reason="r")
    with pytest.raises(TypeError):
        Check("a", 1.0, 2.0, "<=", "positional arguments are refused")  # type: ignore[misc]
    with pytest.raises(TypeError):
        Check(name="a", value=1.0, bound=2.0, reason="no default operator")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="reason"):
        Check(name="a", value=1.0, op="<=", bound=2.0, reason=" ")


def test_evidence_needs_a_check_and_verdict_follows_checks():
    with pytest.raises(ValueError, match="Check"):
        Evidence(rows=[], checks=[])
    ok = Check(name="a", value=1, op="<=", bound=2, reason="r")
    no = Check(name="b", value=1, op="<=", bound=0, reason="r")
    ev = Evidence(rows=[], checks=[ok, no])
    assert ev.verdict == "fail" and not ev.passed
    assert "fail" in repr(ev)


def test_claim_validates_id_configs_and_functions():
    with pytest.raises(ValueError, match="<module>.<name>"):
        toy("nodot")
    with pytest.raises(TypeError, match="Scales"):
        Claim("a.b", "s", "src", {"smoke": 1}, measure_mean, predict_half, within_4_se)

    @dataclass
    class Mutable:
        n: int

    with pytest.raises(TypeError, match="frozen"):
        Scales(smoke=Mutable(1), quick=Mutable(1), paper=Mutable(1))
    with pytest.raises(TypeError, match="dataclass"):
        Scales(smoke={"n": 1}, quick={"n": 1}, paper={"n": 1})
    with pytest.raises(TypeError, match="measure"):
        Claim("a.b", "s", "src", CONFIGS, None, predict_half, within_4_se)


def test_claim_run_builds_rows_checks_and_figure(toy_claims):
    good, bad = toy_claims
    ev = good.run("smoke", Runtime(seed=3))
    assert ev.passed and ev.timings["total_s"] >= 0
    (row,) = ev.rows
    assert (
        row["n"] == 10
        and row["predicted"] == 0.5
        and set(row) == {"n", "predicted", "measured", "stderr"}
    )
    assert (
        ev.figure is not None
        and ev.figure.axes[0].get_title() == ""
        and "engine.toy" in ev.figure._suptitle.get_text()
    )
    assert not bad.run("quick").passed
    with pytest.raises(ValueError, match="scale"):
        good.run("huge")


def test_rows_carry_predicted_only_for_series_with_theory():
    def measure(cfg, rt):
        return Measurement(
            {"a": Points({"x": [1, 2]}, [1.0, 2.0], [0.1, 0.1]), "b": Points({"x": [3]}, [5.0])}
        )

    c = Claim(
        "engine.two",
        "s",
        "src",
        CONFIGS,
        measure,
        lambda cfg, m: {"a": [1.0, 2.0]},
        lambda cfg, m, p: [compare.at_most("x", 0, 1, reason="r")],
        x="x",
    )
    rows = c.run("smoke", Runtime()).rows
    assert [r["series"] for r in rows] == ["a", "a", "b"]
    assert "predicted" in rows[0] and "predicted" not in rows[2] and np.isnan(rows[2]["stderr"])
    bad = Claim(
        "engine.bad",
        "s",
        "src",
        CONFIGS,
        measure,
        lambda cfg, m: {"zzz": [1.0]},
        lambda cfg, m, p: [],
        x="x",
    )
    with pytest.raises(ValueError, match="unknown series"):
        bad.run("smoke", Runtime())


def test_points_validate_shapes():
    with pytest.raises(ValueError, match="grid column"):
        Points({"x": [1, 2, 3]}, [1.0, 2.0])
    p = Points({"n": 5}, [1.0, 2.0])
    assert p.grid["n"].tolist() == [5, 5] and np.isnan(p.stderr).all()


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
    with pytest.raises(ValueError, match="seed"):
        Runtime(seed=10**30)
    with pytest.raises(TypeError, match="seed"):
        Runtime(seed=True)
    with pytest.raises(ValueError, match="device"):
        _ = Runtime(device="tpu").torch_device
    assert Runtime(progress=True) == Runtime(progress=False)
    a, b = Runtime(seed=5).generator(1), Runtime(seed=5).generator(1)
    import torch

    assert torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b))


def test_shared_run_cache_keys_on_function_config_and_runtime():
    calls = []

    @cache.shared_run
    def run(cfg, rt):
        calls.append((cfg, rt.seed))
        return len(calls)

    cache.clear()
    assert (
        run(CONFIGS.smoke, Runtime(seed=1))
        == run(CONFIGS.smoke, Runtime(seed=1, progress=True))
        == 1
    )
    assert run(CONFIGS.quick, Runtime(seed=1)) == 2 and run(CONFIGS.smoke, Runtime(seed=2)) == 3
    cache.clear()
    assert run(CONFIGS.smoke, Runtime(seed=1)) == 4
    with pytest.raises(TypeError, match="hashable"):
        run({"not": "hashable"}, Runtime())


def test_compare_helpers():
    c = compare.max_abs_z([1.0, 2.0], [1.1, 2.0], [0.05, 0.1], bound=4, reason="r")
    assert c.value == pytest.approx(2.0) and c.passed and c.op == "<="
    assert not compare.max_abs_z([1.0], [1.0], [0.0], bound=4, reason="r").passed  # zero stderr
    lo, hi = compare.between("s", 0.5, 0.0, 1.0, reason="r")
    assert lo.passed and hi.passed and not compare.between("s", 2, 0, 1, reason="r")[0].passed
    x = np.array([1.0, 2.0, 4.0, 8.0])
    est = compare.loglog_slope(x, 3 * x**-0.5, 0.01 * x**-0.5)
    assert est.value == pytest.approx(-0.5) and est.stderr > 0
    cr = compare.crossing([0, 1, 2, 3], [1.0, 0.8, 0.4, 0.1], 0.5, n_trials=100)
    assert cr.value == pytest.approx(1.75) and cr.stderr == pytest.approx(0.05 / 0.4)
    assert np.isnan(compare.crossing([0, 1], [1.0, 0.9]).value)


def test_single_cpu_thread_leaves_batched_lapack_correct():
    """After a single-thread block, a stack of solves still works: pytorch#142815 is triggered by
    torch.set_num_threads(k > 1), which the helper must not call. A subprocess: the bug is global.
    """
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from kernelcap.runtime import single_cpu_thread\n"
        "n = torch.get_num_threads()\n"
        "with single_cpu_thread('cpu'):\n"
        "    inside = torch.get_num_threads()\n"
        "eye = torch.eye(151).repeat(2, 1, 1).contiguous()\n"
        "x = torch.linalg.solve(eye, torch.ones(2, 151))\n"
        "assert torch.equal(x, torch.ones(2, 151)), 'batched solve wrong'\n"
        "assert torch.get_num_threads() == n, 'thread count not restored'\n"
        "print(inside)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "DLASWP" not in out.stderr and "SLASWP" not in out.stderr
    assert out.stdout.strip() == "1" or torch_threads_unreachable(out.stdout)


def torch_threads_unreachable(stdout: str) -> bool:
    """Where torch's OpenMP runtime cannot be reached the helper changes nothing (documented)."""
    from kernelcap.runtime import _openmp_runtime

    return _openmp_runtime() is None


def test_library_never_calls_torch_set_num_threads():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        f"{p.relative_to(root)}:{k}"
        for folder in ("src", "empirics", "claims", "theory")
        for p in (root / folder).rglob("*.py")
        for k, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "set_num_threads(" in line and "omp_set_num_threads" not in line
    ]
    assert not offenders, f"torch.set_num_threads breaks batched LAPACK afterwards: {offenders}"

"""sweep: every finished point is stored at once, whatever stops the sweep; keys are canonical."""

import functools
import json
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from kernelcap.sweep import SweepError, SweepWarning, function_id, point_key, sweep

POINTS = [{"n": n} for n in range(10)]


def stored(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".failed.json"))


def square(n):
    return {"n": n, "sq": n * n}


def test_sweep_orders_results_and_resumes_from_checkpoint(tmp_path):
    calls = []

    def sq(n):
        calls.append(n)
        return {"n": n, "sq": n * n}

    pts = [{"n": n} for n in (3, 1, 2)]
    assert [r["sq"] for r in sweep(sq, pts, checkpoint=tmp_path)] == [9, 1, 4]
    calls.clear()
    assert [r["sq"] for r in sweep(sq, pts + [{"n": 5}], checkpoint=tmp_path)] == [9, 1, 4, 25]
    assert calls == [5]


def test_sweep_runs_on_any_executor():
    with ThreadPoolExecutor(2) as ex:
        out = sweep(lambda n: n + 1, [{"n": i} for i in range(6)], executor=ex)
    assert out == [1, 2, 3, 4, 5, 6]


def test_in_process_sweep_stores_each_point_as_it_finishes(tmp_path):
    seen = []

    def count_stored(n):
        seen.append(len(stored(tmp_path)))
        return n

    sweep(count_stored, POINTS, checkpoint=tmp_path)
    assert seen == list(range(10))


KILL_SCRIPT = """
import json, os, signal, sys
from kernelcap.sweep import sweep

def measure(n):
    if n == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
    print(n, flush=True)
    return n * n

out = sweep(measure, [{"n": n} for n in range(10)], checkpoint=sys.argv[1])
print(json.dumps(out))
"""


def test_kill_9_keeps_every_finished_point(tmp_path):
    script = tmp_path / "run_sweep.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    ckpt = tmp_path / "ckpt"
    killed = subprocess.run(
        [sys.executable, script, ckpt, "6"], capture_output=True, text=True, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL
    assert killed.stdout.split() == [str(n) for n in range(6)]
    assert len(stored(ckpt)) == 6
    resumed = subprocess.run(
        [sys.executable, script, ckpt, "-1"], capture_output=True, text=True, timeout=60
    )
    lines = resumed.stdout.splitlines()
    assert lines[:-1] == [str(n) for n in range(6, 10)]  # only the rest is computed
    assert json.loads(lines[-1]) == [n * n for n in range(10)]


@pytest.mark.parametrize("workers", [None, 1])
def test_ctrl_c_keeps_finished_points(tmp_path, workers):
    calls = []

    def interrupted(n):
        if n == 4 and len(calls) < 20:
            calls.append("interrupt")
            raise KeyboardInterrupt
        calls.append(n)
        return n

    with pytest.raises(KeyboardInterrupt):
        if workers is None:
            sweep(interrupted, POINTS, checkpoint=tmp_path)
        else:
            with ThreadPoolExecutor(workers) as ex:
                sweep(interrupted, POINTS, checkpoint=tmp_path, executor=ex)
    kept = len(stored(tmp_path))
    assert kept >= 4
    calls.clear()
    calls.extend([None] * 20)  # no more interrupts
    assert sweep(interrupted, POINTS, checkpoint=tmp_path) == list(range(10))
    assert len(calls) - 20 == 10 - kept


@pytest.mark.parametrize("workers", [None, 2])
def test_failing_point_keeps_its_siblings_and_is_recorded(tmp_path, workers):
    def fragile(n):
        if n == 3:
            raise ValueError("bad point")
        return n

    with pytest.raises(SweepError, match="1 of 10 sweep points failed") as info:
        if workers is None:
            sweep(fragile, POINTS, checkpoint=tmp_path)
        else:
            with ThreadPoolExecutor(workers) as ex:
                sweep(fragile, POINTS, checkpoint=tmp_path, executor=ex)
    (fail,) = info.value.failures
    assert fail.index == 3 and fail.point == {"n": 3} and fail.error == "ValueError: bad point"
    assert "bad point" in fail.traceback
    assert info.value.results == [0, 1, 2, None, 4, 5, 6, 7, 8, 9]
    assert len(stored(tmp_path)) == 9
    (failed,) = tmp_path.glob("*.failed.json")
    assert json.loads(failed.read_text())["error"] == "ValueError: bad point"

    calls = []

    def fragile(n):  # noqa: F811 - the same function (same identity), fixed
        calls.append(n)
        return n

    assert sweep(fragile, POINTS, checkpoint=tmp_path) == list(range(10))
    assert calls == [3] and not list(tmp_path.glob("*.failed.json"))


@pytest.mark.parametrize(
    "damage",
    [b'{"result": 4', b"\xff\xfe not utf-8", b"[1, 2]", b'{"no": "result"}', b""],
    ids=["truncated", "not-utf8", "list", "no-result", "empty"],
)
def test_corrupt_checkpoint_is_skipped_with_a_warning(tmp_path, damage):
    sweep(square, POINTS[:3], checkpoint=tmp_path)
    victim = tmp_path / f"{point_key({'n': 1}, square)}.json"
    victim.write_bytes(damage)
    with pytest.warns(SweepWarning, match="skipping checkpoint"):
        out = sweep(square, POINTS[:3], checkpoint=tmp_path)
    assert [r["sq"] for r in out] == [0, 1, 4]
    assert json.loads(victim.read_text())["result"] == {"n": 1, "sq": 1}  # stored again


def test_key_is_canonical():
    k = functools.partial(point_key, fn="f")
    assert k({"x": float("nan")}) != k({"x": "nan"})
    assert k({"x": (1, 2)}) != k({"x": [1, 2]})
    assert k({"x": 1}) != k({"x": 1.0}) and k({"x": True}) != k({"x": 1})
    assert k({"a": 1, "b": {"c": 2, "d": 3}}) == k({"b": {"d": 3, "c": 2}, "a": 1})
    assert k({"x": np.float64(0.5)}) == k({"x": 0.5}) and k({"x": np.int64(3)}) == k({"x": 3})
    assert k({"x": np.float32(0.5)}) == k({"x": 0.5})
    assert k({"x": np.arange(3)}) != k({"x": [0, 1, 2]})
    assert k({"x": float("inf")}) != k({"x": float("-inf")}) != k({"x": "inf"})
    with pytest.raises(TypeError, match="sweep points"):
        k({"x": object()})


def cube(n):
    return n**3


def test_key_includes_function_identity_and_version(tmp_path):
    assert sweep(square, POINTS[:2], checkpoint=tmp_path)[1] == {"n": 1, "sq": 1}
    assert sweep(cube, POINTS[:3], checkpoint=tmp_path) == [0, 1, 8]  # not square's results
    assert point_key({"n": 1}, square) != point_key({"n": 1}, square, version="2")
    calls = []

    def traced(n):
        calls.append(n)
        return n

    sweep(traced, POINTS[:2], checkpoint=tmp_path, version="1")
    sweep(traced, POINTS[:2], checkpoint=tmp_path, version="1")
    sweep(traced, POINTS[:2], checkpoint=tmp_path, version="2")
    assert calls == [0, 1, 0, 1]
    assert function_id(square) == f"{__name__}.square"
    assert function_id(functools.partial(square)) != function_id(functools.partial(cube))
    part = function_id(functools.partial(cube, n=2))
    assert part != function_id(functools.partial(cube, n=3))


def test_equal_points_run_once():
    calls = []

    def f(n):
        calls.append(n)
        return n

    assert sweep(f, [{"n": 1}, {"n": 2}, {"n": 1}]) == [1, 2, 1]
    assert calls == [1, 2]

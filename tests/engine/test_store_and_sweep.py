import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from kernelcap.store import atomic_write_json, to_jsonable
from kernelcap.sweep import sweep


def test_to_jsonable_handles_numpy_and_nonfinite():
    obj = {"a": np.float32(1.5), "b": np.arange(3), "c": (1, float("nan")), "d": float("inf")}
    assert to_jsonable(obj) == {"a": 1.5, "b": [0, 1, 2], "c": [1, "nan"], "d": "inf"}


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_json(tmp_path / "x" / "r.json", {"v": np.int64(3)})
    assert json.loads((tmp_path / "x" / "r.json").read_text()) == {"v": 3}
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["r.json"]


def test_sweep_orders_results_and_resumes_from_checkpoint(tmp_path):
    calls = []

    def square(n):
        calls.append(n)
        return {"n": n, "sq": n * n}

    pts = [{"n": n} for n in (3, 1, 2)]
    assert [r["sq"] for r in sweep(square, pts, checkpoint=tmp_path)] == [9, 1, 4]
    calls.clear()
    assert [r["sq"] for r in sweep(square, pts + [{"n": 5}], checkpoint=tmp_path)] == [9, 1, 4, 25]
    assert calls == [5]


def test_sweep_runs_on_any_executor():
    with ThreadPoolExecutor(2) as ex:
        out = sweep(lambda n: n + 1, [{"n": i} for i in range(6)], executor=ex)
    assert out == [1, 2, 3, 4, 5, 6]

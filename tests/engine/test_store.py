"""The store: JSON conversion, atomic writes that honour the umask, temp-file cleanup."""

import json
import os
import stat

import numpy as np
import pytest

from kernelcap.store import (
    as_float,
    atomic_save_figure,
    atomic_write_json,
    remove_temp_files,
    to_jsonable,
)


def test_to_jsonable_handles_numpy_and_nonfinite():
    obj = {"a": np.float32(1.5), "b": np.arange(3), "c": (1, float("nan")), "d": float("inf")}
    assert to_jsonable(obj) == {"a": 1.5, "b": [0, 1, 2], "c": [1, "nan"], "d": "inf"}


def test_as_float_reads_back_nonfinite_strings():
    assert np.isnan(as_float("nan")) and as_float("-inf") == float("-inf") and as_float(2) == 2.0
    for bad in ("NaN", "1.0", True, None, [1]):
        with pytest.raises(ValueError):
            as_float(bad)


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_json(tmp_path / "x" / "r.json", {"v": np.int64(3)})
    assert json.loads((tmp_path / "x" / "r.json").read_text()) == {"v": 3}
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["r.json"]


@pytest.fixture
def umask():
    def set_mask(mask):
        return os.umask(mask)

    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o002, 0o022, 0o077])
def test_files_honour_the_umask(tmp_path, umask, mask):
    from matplotlib.figure import Figure

    umask(mask)
    atomic_write_json(tmp_path / "r.json", {"v": 1})
    fig = Figure()
    fig.subplots().plot([0, 1])
    atomic_save_figure(fig, tmp_path / "f.png")
    for name in ("r.json", "f.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask, name


def test_remove_temp_files_touches_only_writer_temporaries(tmp_path):
    (tmp_path / "records").mkdir()
    stale = [
        tmp_path / ".index.html.a1b2c3d4.tmp",
        tmp_path / "records" / ".x.y.json.0f0f0f0f.tmp",
        tmp_path / "records" / ".x.y.ab_cd123.png",  # tempfile.mkstemp name, older versions
    ]
    kept = [tmp_path / ".lock", tmp_path / "records" / "x.y.json", tmp_path / ".notes.tmp"]
    for p in stale + kept:
        p.write_text("x")
    assert sorted(remove_temp_files(tmp_path)) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)

"""Every example script runs (``main(out_dir, quick=True)``) and writes the figure it documents."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_writes_a_figure(path, tmp_path):
    mod = _load(path)
    assert callable(getattr(mod, "main", None)), f"{path.name} has no main(out_dir, quick=False)"
    mod.main(tmp_path, quick=True)
    pngs = list(tmp_path.rglob("*.png"))
    assert pngs, f"{path.name} wrote no PNG"
    assert all(p.stat().st_size > 1000 for p in pngs)

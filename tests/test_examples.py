"""Every example script runs (``main(out_dir, quick=True)``) and writes the figure it documents;
the command line ``python examples/<name>.py [out_dir] [--quick]`` prints the paths it wrote."""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from kernelcap.examples import run_example

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
# run through the command line too (the two quickest), covering argparse, the folder and the output
CLI_EXAMPLES = ["double_descent_random_features", "kernels_path_kernel"]


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


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_has_the_shared_command_line(path):
    """``if __name__ == "__main__": run_example(main, __doc__)``, and the docstring says so."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guard = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    assert guard and ast.unparse(guard[-1].body[0]) == "run_example(main, __doc__)", path.name
    assert "[out_dir] [--quick]" in ast.get_docstring(tree), f"{path.name}: document the usage"


@pytest.mark.parametrize("name", CLI_EXAMPLES)
def test_example_command_line_quick(name, tmp_path):
    out = tmp_path / "new" / "folder"  # created by the script
    script = EXAMPLES[[p.stem for p in EXAMPLES].index(name)]
    res = subprocess.run(
        [sys.executable, str(script), str(out), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    wrote = [
        line.removeprefix("wrote ") for line in res.stdout.splitlines() if line[:6] == "wrote "
    ]
    assert wrote, res.stdout
    for p in wrote:
        assert Path(p).is_file() and Path(p).parent == out, p


def test_run_example_parses_and_reports(tmp_path, capsys):
    calls = []

    def main(out_dir, quick=False):
        calls.append((out_dir, quick))
        paths = [Path(out_dir) / "a.png", Path(out_dir) / "b.png"]
        for p in paths:
            p.write_bytes(b"x")
        return paths

    got = run_example(main, "doc", [str(tmp_path / "d"), "--quick"])
    assert calls == [(str(tmp_path / "d"), True)]
    assert capsys.readouterr().out.splitlines() == [f"wrote {p}" for p in got]
    run_example(main, "doc", [str(tmp_path / "e")])
    assert calls[-1] == (str(tmp_path / "e"), False)


def test_run_example_refuses_a_path_not_written(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        run_example(lambda out_dir, quick: Path(out_dir) / "missing.png", None, [str(tmp_path)])

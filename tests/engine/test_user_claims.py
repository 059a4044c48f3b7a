"""Claims of one's own: ``--module``, the ``kernelcap.claims`` entry point, ``claim_tests``.

The worked example is the package in ``examples/user_claims`` (docs/user-claims.md).
"""

import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kernelcap import claims as own_claims
from kernelcap import parallel, registry
from kernelcap.cli import main
from kernelcap.registry import ClaimLoadError, Source
from kernelcap.store import load_records

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "user_claims"
IDS = ["mytheory.he-init", "mytheory.kurtosis"]


@pytest.fixture
def fresh_registry(monkeypatch):
    """An empty registry that loads only kernelcap's hopfield claims (fast) and entry points."""
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_SOURCES", {})
    monkeypatch.setattr(registry, "_LOADED", False)
    monkeypatch.setattr(own_claims, "MODULES", ("hopfield",))
    for name in [m for m in sys.modules if m == "mytheory" or m.startswith("mytheory.")]:
        monkeypatch.delitem(sys.modules, name)


def dist_info(site: Path, name: str, entry_points: str) -> None:
    """What ``pip install`` leaves for a package with entry points: a .dist-info folder."""
    info = site / f"{name}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_module_route_lists_checks_and_reports(fresh_registry, monkeypatch, tmp_path, capsys):
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    assert main(["list", "--module", "mytheory.claims", "mytheory.*"]) == 0
    out = capsys.readouterr().out
    assert all(cid in out for cid in IDS) and "Hanin & Nica (2019)" in out
    argv = ["check", "--module", "mytheory.claims", "mytheory.*", "--scale", "smoke"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    assert [r["claim"] for r in load_records(tmp_path)] == IDS
    assert (tmp_path / "figures" / "mytheory.kurtosis.png").stat().st_size > 1000
    assert main(["report", str(tmp_path), "--module", "mytheory.claims"]) == 0
    assert "2/2 claims pass" in capsys.readouterr().out
    c = registry.get_claim("mytheory.he-init")
    assert registry.source_of(c) == Source("module", "mytheory.claims")


def test_entry_point_route_needs_no_option(fresh_registry, monkeypatch, tmp_path, capsys):
    dist_info(tmp_path / "site", "mytheory", "[kernelcap.claims]\nmytheory = mytheory.claims\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(cid in out for cid in [*IDS, "hopfield.crosstalk"])
    c = registry.get_claim("mytheory.kurtosis")
    assert registry.source_of(c) == Source("entry_point", "mytheory.claims")
    # a worker is sent the claim by reference and loads it again from the entry point's module
    task = parallel.task_for(c, "smoke", 0, "cpu")
    assert task.claim is None and task.source == Source("entry_point", "mytheory.claims")
    rec, png = parallel.run_task(pickle.loads(pickle.dumps(task)))
    assert rec["claim"] == "mytheory.kurtosis" and rec["verdict"] == "pass"
    assert png.startswith(b"\x89PNG")


def test_entry_point_may_name_a_callable(fresh_registry, monkeypatch, tmp_path, capsys):
    (tmp_path / "made.py").write_text(
        "from mytheory.claims import KURTOSIS\n\ndef claims():\n    return [KURTOSIS]\n"
    )
    dist_info(tmp_path, "made", "[kernelcap.claims]\nmade = made:claims\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    assert main(["list", "mytheory.*"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "mytheory.kurtosis"


BAD_MODULES = {
    "kc_raises": "raise RuntimeError('cannot start')\n",
    "kc_no_claims": "X = 1\n",
    "kc_not_claims": "CLAIMS = ('mytheory.he-init',)\n",
    "kc_needs_dep": "import kc_not_installed_dep\nCLAIMS = ()\n",
    "kc_collides": textwrap.dedent(
        """\
        import dataclasses
        from kernelcap.claims.hopfield import CLAIMS as THEIRS
        mine = dataclasses.replace(THEIRS[0], statement="Mine.")
        CLAIMS = (mine,)
        """
    ),
}


@pytest.mark.parametrize(
    "module, needle",
    [
        ("kc_missing.claims", "cannot import claim module 'kc_missing.claims': no module named "),
        ("kc_raises", "importing claim module 'kc_raises' raised RuntimeError: cannot start"),
        ("kc_no_claims", "claim module 'kc_no_claims' has no CLAIMS tuple"),
        ("kc_not_claims", "claim module 'kc_not_claims': item 0 is a str, not a kernelcap Claim"),
        ("kc_needs_dep", "raised ModuleNotFoundError: No module named 'kc_not_installed_dep'"),
        (
            "kc_collides",
            "claim id 'hopfield.ags-overlap' from module 'kc_collides' is already registered by "
            "module 'kernelcap.claims.hopfield'",
        ),
    ],
)
def test_bad_module_exits_2_naming_it(
    fresh_registry, monkeypatch, tmp_path, capsys, module, needle
):
    for name, text in BAD_MODULES.items():
        (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    for cmd in (["list"], ["check", "--out", str(tmp_path / "run")]):
        with pytest.raises(SystemExit) as info:
            raise SystemExit(main([*cmd, "--module", module]))
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "entry, needle",
    [
        ("broken = kc_missing_mod", "entry point 'broken' = 'kc_missing_mod' (group"),
        ("broken = kc_made:nothing", "'kc_made' has no 'nothing'"),
        ("broken = kc_made:explode", "raised ZeroDivisionError: division by zero"),
    ],
)
def test_bad_entry_point_exits_2_naming_it(
    fresh_registry, monkeypatch, tmp_path, capsys, entry, needle
):
    (tmp_path / "kc_made.py").write_text("def explode():\n    return 1 / 0\n")
    dist_info(tmp_path, "brokenpkg", f"[kernelcap.claims]\n{entry}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert needle in err and "distribution 'brokenpkg'" in err and len(err.splitlines()) == 1
    with pytest.raises(ClaimLoadError):  # the library says the same
        registry.all_claims()


def test_claim_tests_fail_with_every_check_and_the_traceback(fresh_registry, tmp_path):
    from kernelcap.testing import claim_tests
    from tests.engine import _parallel_claims as pc

    fn = claim_tests("tests.engine._parallel_claims")
    (params,) = [m for m in fn.pytestmark if m.name == "parametrize"]
    assert [c.id for c in params.args[1]] == [c.id for c in sorted(pc.CLAIMS, key=lambda c: c.id)]

    class Request:
        class config:  # noqa: N801 - stands in for pytest's config
            @staticmethod
            def getoption(name, default=None):
                return default

    claims = {c.id: c for c in pc.CLAIMS}
    fn(claims["par.fast"], tmp_path / "a", Request)
    with pytest.raises(pytest.fail.Exception) as info:
        fn(claims["par.wrong"], tmp_path / "b", Request)
    msg = str(info.value)
    assert "par.wrong FAIL at scale=smoke, seed=0, device=cpu" in msg
    assert "[FAIL] max |z| = 13.65" in msg and "(need <= 4): 4 standard errors" in msg
    with pytest.raises(pytest.fail.Exception) as info:
        fn(claims["par.raises"], tmp_path / "c", Request)
    assert "the experiment raised:" in str(info.value)
    assert "ValueError: boom from par.raises" in str(info.value)


def test_the_example_installs_and_its_pytest_runs_its_claims(tmp_path):
    """The worked example as a user has it: pip-installed (entry point), tested with pytest."""
    src = tmp_path / "user_claims"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("*.egg-info", "build"))
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    pip += ["--no-build-isolation", "--target", str(site), str(src)]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (site / "mytheory-0.1.0.dist-info" / "entry_points.txt").exists()
    env = {**os.environ, "PYTHONPATH": str(site)}
    shutil.rmtree(src / "src")  # what runs now is the installed copy
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "kurtosis"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed, 1 deselected" in ran.stdout
    from kernelcap.registry import ENTRY_POINTS

    code = (
        "import importlib.metadata as md; "
        f"print([e.value for e in md.entry_points(group={ENTRY_POINTS!r})])"
    )
    found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert found.stdout.strip() == "['mytheory.claims']"


def test_the_docs_blocks_run_and_show_the_example_claim(fresh_registry, monkeypatch):
    """docs/user-claims.md: every python block runs alone, and its claim is the example's."""
    import dataclasses
    import re

    from kernelcap.runtime import Runtime

    text = (ROOT / "docs" / "user-claims.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", text, re.S | re.M)
    spaces = []
    for code in blocks:
        spaces.append({"__name__": "__doc_snippet__"})
        exec(compile(code, "<user-claims.md>", "exec"), spaces[-1])
    (doc,) = [ns["HE_INIT"] for ns in spaces if "HE_INIT" in ns]
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    from mytheory.claims import HE_INIT

    assert (doc.id, doc.statement, doc.source) == (HE_INIT.id, HE_INIT.statement, HE_INIT.source)
    for scale in ("smoke", "quick", "paper"):
        assert dataclasses.asdict(doc.config(scale)) == dataclasses.asdict(HE_INIT.config(scale))
    rt = Runtime(device="cpu", seed=0)
    assert doc.run("smoke", rt).checks == HE_INIT.run("smoke", rt).checks  # the same numbers

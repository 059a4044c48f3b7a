import json

import pytest

import kernelcap
from kernelcap.cli import main
from kernelcap.store import load_records


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"kernelcap {kernelcap.__version__}\n"


def test_importing_kernelcap_and_its_cli_loads_no_numpy():
    import subprocess
    import sys

    code = "import sys, kernelcap.cli; print(sorted({'numpy', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_list_prints_ids_statements_sources(toy_claims, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "engine.toy" in out and "Folklore" in out and "mean of uniforms" in out


def test_check_writes_records_figures_and_report(toy_claims, tmp_path, capsys):
    assert main(["check", "engine.toy", "--scale", "smoke", "--out", str(tmp_path)]) == 0
    rec = json.loads((tmp_path / "records" / "engine.toy.json").read_text())
    assert rec["verdict"] == "pass" and rec["scale"] == "smoke" and rec["config"] == {"n": 10}
    assert rec["checks"][0]["reason"] == "4 standard errors"
    assert {"python", "numpy", "torch"} <= set(rec["versions"])
    assert (tmp_path / "figures" / "engine.toy.png").stat().st_size > 1000
    html = (tmp_path / "index.html").read_text()
    assert "engine.toy" in html and "figures/engine.toy.png" in html
    assert "1/1 claims pass" in (tmp_path / "summary.md").read_text()
    assert "engine.toy" in capsys.readouterr().out


def test_failing_claim_exits_1_and_is_reported(toy_claims, tmp_path):
    assert main(["check", "engine.*", "--scale", "smoke", "--out", str(tmp_path)]) == 1
    verdicts = {r["claim"]: r["verdict"] for r in load_records(tmp_path)}
    assert verdicts == {"engine.toy": "pass", "engine.wrong": "fail"}


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["check", "nope.claim"], "unknown claim 'nope.claim'"),
        (["check", "--scale", "huge"], "invalid choice: 'huge'"),
        (["check", "--seed", "-3"], "seed must be an int in [0, 4294967295], got -3"),
        (["check", "--device", "tpu"], "device"),
        (["frobnicate"], "invalid choice"),
        (["report", "/nonexistent/dir"], "no run found under /nonexistent/dir"),
    ],
)
def test_usage_errors_exit_2_with_one_line(toy_claims, capsys, argv, needle):
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_report_rebuilds_from_records(toy_claims, tmp_path):
    main(["check", "engine.toy", "--scale", "smoke", "--out", str(tmp_path), "--no-report"])
    assert not (tmp_path / "index.html").exists()
    assert main(["report", str(tmp_path)]) == 0
    assert "engine.toy" in (tmp_path / "index.html").read_text()


def test_resume_skips_finished_claims(toy_claims, tmp_path, capsys):
    main(["check", "engine.toy", "--scale", "smoke", "--out", str(tmp_path)])
    capsys.readouterr()
    main(["check", "engine.toy", "--scale", "smoke", "--out", str(tmp_path), "--resume"])
    assert "(resumed)" in capsys.readouterr().out
    argv = ["check", "engine.toy", "--seed", "1", "--out", str(tmp_path), "--resume"]
    assert main(argv) == 2  # other settings: refused, not silently overwritten
    assert "(resumed)" not in capsys.readouterr().out


def test_markdown_table_escapes_absolute_value_bars():
    from kernelcap.report import RunSummary, render_markdown

    rec = dict(
        claim="x.y",
        verdict="pass",
        summary="|a − b| small",
        timings=dict(wall_s=1.0),
        checks=[dict(name="|z|", value=1.0, bound=2.0, op="<=", passed=True, reason="r")],
    )
    row = render_markdown(RunSummary.of([rec])).splitlines()[-1]
    assert row.count(" | ") == 4 and "\\|z\\|" in row and "\\|a − b\\|" in row

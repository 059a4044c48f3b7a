"""The run directory: checked before anything runs, locked, cleaned, and never overwritten with
records of other settings; --resume continues the run recorded in its run.json."""

import json
import os
import stat

import pytest

from kernelcap.cli import main
from kernelcap.rundir import locked


def check(out, *argv):
    return main(["check", *argv, "--out", str(out)])


def one_line_error(capsys, needle):
    err = capsys.readouterr().err
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("out", ["/proc/x", "/proc/x/y", "FILE"])
def test_unwritable_out_exits_2_before_running_anything(measured, tmp_path, capsys, out):
    if out == "FILE":
        out = tmp_path / "a-file"
        out.write_text("")
    assert check(out, "--scale", "smoke") == 2
    one_line_error(capsys, f"cannot write to --out {out}")
    assert measured == []


def test_second_writer_is_refused(measured, tmp_path, capsys):
    with locked(tmp_path):
        assert check(tmp_path, "--scale", "smoke") == 2
    one_line_error(capsys, f"{tmp_path} is in use by another kernelcap check (pid {os.getpid()})")
    assert measured == []
    assert check(tmp_path, "engine.toy", "--scale", "smoke") == 0  # released


def test_stale_temp_files_are_removed(toy_claims, tmp_path):
    (tmp_path / "records").mkdir()
    stale = [
        tmp_path / ".summary.md.deadbeef.tmp",
        tmp_path / "records" / ".engine.toy.json.0a1b2c3d.tmp",
    ]
    for p in stale:
        p.write_text("half")
    assert check(tmp_path, "engine.toy", "--scale", "smoke") == 0
    assert not any(p.exists() for p in stale)
    leftovers = [p.name for p in tmp_path.rglob(".*") if p.name != ".lock"]
    assert leftovers == []


def test_run_files_honour_the_umask(toy_claims, tmp_path):
    old = os.umask(0o002)
    try:
        assert check(tmp_path, "engine.toy", "--scale", "smoke") == 0
    finally:
        os.umask(old)
    for rel in ("run.json", "records/engine.toy.json", "figures/engine.toy.png", "index.html"):
        assert stat.S_IMODE((tmp_path / rel).stat().st_mode) == 0o664, rel


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--seed", "99999999999999999999"], "seed must be an int in [0, 4294967295]"),
        (["--seed", "x"], "seed must be an integer, got 'x'"),
        (["--device", "tpu"], "device"),
        (["--resume"], "--resume needs --out"),
        (["--seed", "1", "--seeds", "0-2"], "not allowed with argument"),
    ],
)
def test_arguments_are_checked_before_the_run_directory(measured, tmp_path, capsys, argv, needle):
    out = tmp_path / "new"
    argv = argv + (["--out", str(out)] if argv != ["--resume"] else [])
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(["check", *argv]))
    assert info.value.code == 2
    one_line_error(capsys, needle)
    assert not out.exists() and measured == []


def test_resume_continues_the_run_with_its_settings(measured, tmp_path, capsys):
    assert check(tmp_path, "--scale", "smoke", "--seed", "1") == 1
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["scale"] == "smoke" and manifest["seeds"] == [1]
    assert manifest["claims"] == ["engine.toy", "engine.wrong"] and manifest["device_kind"] == "cpu"
    capsys.readouterr()
    assert check(tmp_path, "--resume") == 1  # the README's `kernelcap check --out DIR --resume`
    out = capsys.readouterr().out
    assert "scale=smoke" in out and "seed=1," in out and out.count("(resumed)") == 2
    assert "resuming: 2 of 2 claim runs" in out
    assert len(measured) == 2  # nothing ran again


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--seed", "2"], "holds a run with seeds=1; this check asks for seeds=2"),
        (["--scale", "quick"], "holds a run with scale=smoke; this check asks for scale=quick"),
        (["--seeds", "0-1"], "seeds=0,1"),
    ],
)
def test_other_settings_are_refused_unless_forced(measured, tmp_path, capsys, argv, needle):
    assert check(tmp_path, "engine.toy", "--scale", "smoke", "--seed", "1") == 0
    before = (tmp_path / "records" / "engine.toy.json").read_bytes()
    capsys.readouterr()
    assert check(tmp_path, "engine.toy", *argv, "--resume") == 2
    one_line_error(capsys, needle)
    assert (tmp_path / "records" / "engine.toy.json").read_bytes() == before
    assert len(measured) == 1
    assert check(tmp_path, "engine.toy", *argv, "--force") == 0
    assert "removed the run made with scale=smoke, seeds=1" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["seeds"] != [1] or manifest["scale"] != "smoke"


def test_record_with_another_config_is_refused_unless_forced(measured, tmp_path, capsys):
    assert check(tmp_path, "engine.toy", "--scale", "smoke") == 0
    path = tmp_path / "records" / "engine.toy.json"
    rec = json.loads(path.read_text())
    rec["config"]["n"] = 11  # a valid record made with another config
    path.write_text(json.dumps(rec))
    capsys.readouterr()
    assert check(tmp_path, "--resume") == 2
    one_line_error(capsys, "records/engine.toy.json was made with another config (n)")
    assert check(tmp_path, "--resume", "--force") == 0
    assert json.loads(path.read_text())["config"] == {"n": 10} and len(measured) == 2


def test_other_kernelcap_version_is_refused(toy_claims, tmp_path, capsys, monkeypatch):
    import kernelcap

    assert check(tmp_path, "engine.toy", "--scale", "smoke") == 0
    monkeypatch.setattr(kernelcap, "__version__", "9.9.9")
    capsys.readouterr()
    assert check(tmp_path, "--resume") == 2
    one_line_error(capsys, "kernelcap=0.1.0; this check asks for kernelcap=9.9.9")


def test_cpu_records_are_not_reused_for_another_device_kind(measured, tmp_path, capsys):
    assert check(tmp_path, "engine.toy", "--scale", "smoke") == 0
    run = tmp_path / "run.json"
    manifest = json.loads(run.read_text())
    run.write_text(json.dumps({**manifest, "device_kind": "cuda (NVIDIA H200)"}))
    capsys.readouterr()
    assert check(tmp_path, "--resume") == 2
    one_line_error(capsys, "device=cuda (NVIDIA H200); this check asks for device=cpu")
    run.unlink()  # without a manifest the record itself is compared
    path = tmp_path / "records" / "engine.toy.json"
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "device_kind": "cuda (NVIDIA H200)"}))
    assert check(tmp_path, "engine.toy", "--scale", "smoke", "--resume") == 2
    one_line_error(capsys, "toy.json was made with device=cuda (NVIDIA H200) (this run: cpu);")
    assert len(measured) == 1


def test_records_without_a_manifest_are_not_overwritten_by_defaults(measured, tmp_path, capsys):
    assert check(tmp_path, "engine.toy", "--scale", "smoke", "--seed", "1") == 0
    (tmp_path / "run.json").unlink()  # a run directory from before run.json
    capsys.readouterr()
    assert check(tmp_path, "engine.toy", "--scale", "smoke", "--resume") == 2
    one_line_error(capsys, "records/engine.toy.json was made with seed=1 (this run: 0)")


def test_invalid_manifest_is_refused_unless_forced(toy_claims, tmp_path, capsys):
    (tmp_path / "run.json").write_text('{"format": 1, "scale": "smoke"}')
    assert check(tmp_path, "engine.toy", "--scale", "smoke") == 2
    one_line_error(capsys, "run.json is not a run manifest: no 'seeds'")
    assert check(tmp_path, "engine.toy", "--scale", "smoke", "--force") == 0
    assert json.loads((tmp_path / "run.json").read_text())["seeds"] == [0]


def test_check_adds_claims_to_the_run(measured, tmp_path):
    assert check(tmp_path, "engine.toy", "--scale", "smoke") == 0
    assert check(tmp_path, "engine.wrong") == 1  # scale from run.json
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["claims"] == ["engine.toy", "engine.wrong"] and manifest["scale"] == "smoke"

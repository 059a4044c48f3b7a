"""Records are validated when read: schema, known claim, name against content, recomputed verdict.
The report lists what is missing and what is invalid; --resume runs invalid records again."""

import copy
import dataclasses
import json
import math
import re

import pytest

from kernelcap.cli import main
from kernelcap.runner import run_claim
from kernelcap.runtime import Runtime
from kernelcap.store import InvalidRecord, load_records, scan_records, validate_record

KNOWN = {"engine.toy", "engine.wrong"}


@pytest.fixture
def record(toy_claims):
    rec = run_claim(toy_claims[0], "smoke", Runtime(device="cpu")).record
    return json.loads(json.dumps(rec))  # as read back from a file


def test_a_fresh_record_is_valid(record):
    out = validate_record(record, claim_id="engine.toy", known=KNOWN)
    assert out["verdict"] == "pass" and out["device_kind"] == "cpu" and out["format"] == 1


@pytest.mark.parametrize(
    "mutate, why",
    [
        (lambda r: r.pop("verdict"), "no 'verdict'"),
        (lambda r: r.update(verdict="PASS"), "verdict 'PASS' is not one of"),
        (lambda r: r["checks"][0].update(value=99.0), "stored as passed"),
        (
            lambda r: r["checks"][0].update(value=99.0, passed=False),
            "stored verdict 'pass', its checks give 'fail'",
        ),
        (lambda r: r.update(claim="engine.wrong"), "named for 'engine.toy'"),
        (lambda r: r.update(seed=True), "'seed' is a JSON boolean"),
        (lambda r: r.update(seed=2**40), "seed 1099511627776 is out of range"),
        (lambda r: r.update(scale="huge"), "scale 'huge'"),
        (lambda r: r.update(checks={}), "'checks' is a JSON object"),
        (lambda r: r["checks"][0].update(op="<"), "operator '<'"),
        (lambda r: r["checks"][0].update(value="NaN"), "no numeric 'value'"),
        (lambda r: r["checks"][0].pop("passed"), "no bool 'passed'"),
        (lambda r: r.update(checks=[]), "verdict 'pass' without any check"),
        (lambda r: r.update(verdict="error"), "an 'error' verdict needs"),
        (lambda r: r.update(format=2), "record format 2"),
    ],
)
def test_tampered_or_broken_records_are_invalid(record, mutate, why):
    rec = copy.deepcopy(record)
    mutate(rec)
    with pytest.raises(InvalidRecord, match=re.escape(why)):
        validate_record(rec, claim_id="engine.toy", known=KNOWN)


def test_non_objects_and_unknown_claims_are_invalid(record):
    with pytest.raises(InvalidRecord, match="JSON array"):
        validate_record([record])
    with pytest.raises(InvalidRecord, match="unknown claim 'engine.toy'"):
        validate_record(record, known={"other.claim"})


def test_nonfinite_values_come_back_as_floats(record):
    record["checks"][0].update(value="nan", passed=False)
    record["verdict"] = "fail"
    out = validate_record(record)
    assert math.isnan(out["checks"][0]["value"]) and out["verdict"] == "fail"
    record["checks"][0].update(value="-inf", passed=True)
    record["verdict"] = "pass"
    assert validate_record(record)["checks"][0]["value"] == -math.inf


def check(out, *argv):
    return main(["check", *argv, "--scale", "smoke", "--out", str(out)])


def test_report_lists_invalid_and_missing_records(toy_claims, tmp_path, capsys):
    assert check(tmp_path) == 1
    recs = tmp_path / "records"
    good = json.loads((recs / "engine.toy.json").read_text())
    (recs / "engine.wrong.json").write_bytes(b'{"claim": "engine.wrong", \xff}')
    (recs / "other.claim.json").write_text(json.dumps({**good, "claim": "other.claim"}))
    (recs / "engine.copy.json").write_text(json.dumps(good))
    (recs / "listed.json").write_text("[1, 2]")
    capsys.readouterr()
    assert main(["report", str(tmp_path)]) == 0
    assert "1/2 claims pass; 1 missing; 4 invalid record file(s)" in capsys.readouterr().out
    md = (tmp_path / "summary.md").read_text()
    for needle in [
        "`engine.wrong`: no record for seed(s) 0",
        "`records/engine.wrong.json` is invalid: not UTF-8 text",
        "`records/other.claim.json` is invalid: unknown claim 'other.claim'",
        "`records/engine.copy.json` is invalid: the file is named for 'engine.copy'",
        "`records/listed.json` is invalid: a record is a JSON object, this is a JSON array",
    ]:
        assert needle in md
    assert "engine.wrong" in (tmp_path / "index.html").read_text()
    assert [r["claim"] for r in load_records(tmp_path, known=KNOWN)] == ["engine.toy"]


def test_tampered_value_is_not_trusted(toy_claims, tmp_path, capsys):
    assert check(tmp_path, "engine.wrong") == 1
    path = tmp_path / "records" / "engine.wrong.json"
    rec = json.loads(path.read_text())
    rec["checks"][0].update(value=1.0, passed=True)  # 1.0 would pass, but it stays "fail"
    path.write_text(json.dumps(rec))
    main(["report", str(tmp_path)])
    assert "0/1 claims pass; 1 missing; 1 invalid" in capsys.readouterr().out
    rec["checks"][0].update(value=99.0, passed=True)
    rec["verdict"] = "pass"  # 99 against a bound of 4
    path.write_text(json.dumps(rec))
    main(["report", str(tmp_path)])
    assert "0/1 claims pass" in capsys.readouterr().out
    assert "stored as passed" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    "damage",
    [b"\xff\xfe", b"[]", b'{"claim": "engine.toy"}', b'{"claim": "engine.toy", "verd'],
    ids=["not-utf8", "list", "no-verdict", "truncated"],
)
def test_resume_runs_invalid_records_again(measured, tmp_path, capsys, damage):
    assert check(tmp_path, "engine.toy") == 0
    (tmp_path / "records" / "engine.toy.json").write_bytes(damage)
    capsys.readouterr()
    assert check(tmp_path, "engine.toy", "--resume") == 0
    out = capsys.readouterr().out
    assert "note: records/engine.toy.json is invalid" in out and "(resumed)" not in out
    assert measured == [("engine.toy", 0)] * 2
    assert not scan_records(tmp_path, known=KNOWN).invalid


def test_interrupted_check_is_reported_half_done_and_resumes(measured, tmp_path, capsys):
    from kernelcap import registry

    toy = registry._REGISTRY["engine.wrong"]

    def ctrl_c(cfg, rt):
        raise KeyboardInterrupt

    registry._REGISTRY["engine.wrong"] = dataclasses.replace(toy, measure=ctrl_c)
    assert check(tmp_path) == 130
    assert "kernelcap check --out" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 0
    assert "1/2 claims pass; 1 missing" in capsys.readouterr().out
    registry._REGISTRY["engine.wrong"] = toy
    assert check(tmp_path, "--resume") == 1  # the run's claims, from its run.json
    out = capsys.readouterr().out
    assert "engine.toy" in out and "(resumed)" in out and measured[-1] == ("engine.wrong", 0)
    assert len(load_records(tmp_path, known=KNOWN)) == 2


def test_error_record_keeps_the_traceback_and_is_rerun_on_resume(measured, tmp_path):
    from kernelcap import registry

    toy = registry._REGISTRY["engine.toy"]

    def boom(cfg, rt):
        raise RuntimeError("kaboom")

    registry._REGISTRY["engine.toy"] = dataclasses.replace(toy, measure=boom)
    assert check(tmp_path, "engine.toy") == 1
    (rec,) = load_records(tmp_path, known=KNOWN)
    assert rec["verdict"] == "error" and "RuntimeError: kaboom" in rec["error"]
    assert "Traceback" in rec["error"]
    registry._REGISTRY["engine.toy"] = toy
    assert check(tmp_path, "engine.toy", "--resume") == 0
    assert measured == [("engine.toy", 0)]

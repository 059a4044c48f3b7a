"""--seeds: each claim at several seeds, records per seed, pass rates in the table and report."""

import json
import re

import pytest

from kernelcap import cache
from kernelcap.cli import main
from kernelcap.rundir import MAX_SEEDS, format_seeds, parse_seeds
from kernelcap.runtime import MAX_SEED


@pytest.mark.parametrize(
    "text, seeds",
    [
        ("0-9", tuple(range(10))),
        ("0,3,5", (0, 3, 5)),
        ("0-4,7", (0, 1, 2, 3, 4, 7)),
        ("5", (5,)),
        ("3, 1-2 ,3", (1, 2, 3)),
        (f"{MAX_SEED}", (MAX_SEED,)),
    ],
)
def test_parse_and_format_seeds(text, seeds):
    assert parse_seeds(text) == seeds
    assert parse_seeds(format_seeds(seeds)) == seeds


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "seeds look like"),
        ("a-b", "seeds look like"),
        ("-1", "seeds look like"),
        ("3-1", "seed range 3-1 is empty"),
        (f"0-{MAX_SEEDS}", f"at most {MAX_SEEDS} seeds"),
        (f"{MAX_SEED + 1}", "seed must be an int in"),
    ],
)
def test_bad_seeds_are_refused(text, why):
    with pytest.raises(ValueError, match=why):
        parse_seeds(text)


def test_format_seeds_is_short():
    assert format_seeds([0, 1, 2, 3, 7]) == "0-3,7" and format_seeds([4, 5]) == "4,5"


def test_seeds_give_pass_rates_in_table_and_report(measured, tmp_path, capsys, monkeypatch):
    clears = []
    monkeypatch.setattr(cache, "clear", lambda: clears.append(1))
    argv = ["check", "--scale", "smoke", "--seeds", "0-2", "--out", str(tmp_path)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert re.search(r"engine\.toy +3/3  \|z\| \(need <= 4\): 0: [0-9.]+, 1: ", out)
    assert re.search(r"engine\.wrong +0/3 .* ✗", out)
    assert "1/2 claims pass at every seed (0-2); 3/6 claim runs pass" in out
    assert sorted(measured) == sorted(
        (c, s) for c in ("engine.toy", "engine.wrong") for s in (0, 1, 2)
    )
    assert len(clears) == 2  # between seeds
    for cid in ("engine.toy", "engine.wrong"):
        for seed in range(3):
            rec = json.loads((tmp_path / "records" / cid / f"seed-{seed}.json").read_text())
            assert rec["claim"] == cid and rec["seed"] == seed
            assert rec["figure"] == f"figures/{cid}/seed-{seed}.png"
            assert (tmp_path / rec["figure"]).exists()
    md = (tmp_path / "summary.md").read_text()
    assert "| claim | pass rate | headline check | per seed | time |" in md
    assert "| `engine.toy` | 3/3 | \\|z\\| (need <= 4) | 0: " in md
    html = (tmp_path / "index.html").read_text()
    assert "3/3" in html and "0/3" in html and "figures/engine.wrong/seed-2.png" in html


def test_all_seeds_passing_exits_0_and_resumes_per_seed(measured, tmp_path, capsys):
    argv = ["check", "engine.toy", "--scale", "smoke", "--seeds", "0,3", "--out", str(tmp_path)]
    assert main(argv) == 0
    (tmp_path / "records" / "engine.toy" / "seed-3.json").unlink()
    assert main(["check", "--out", str(tmp_path), "--resume"]) == 0
    assert measured == [("engine.toy", 0), ("engine.toy", 3), ("engine.toy", 3)]
    out = capsys.readouterr().out
    assert "resuming: 1 of 2 claim runs" in out and "1/1 claims pass at every seed (0,3)" in out


def test_per_seed_record_must_match_its_file_name(toy_claims, tmp_path, capsys):
    argv = ["check", "engine.toy", "--scale", "smoke", "--seeds", "0-1", "--out", str(tmp_path)]
    assert main(argv) == 0
    folder = tmp_path / "records" / "engine.toy"
    (folder / "seed-1.json").write_bytes((folder / "seed-0.json").read_bytes())
    (folder / "seed-x.json").write_text("{}")
    capsys.readouterr()
    assert main(["report", str(tmp_path)]) == 0
    assert "0/1 claims pass at every seed (0,1); 1/2 claim runs pass; 1 missing" in (
        capsys.readouterr().out
    )
    md = (tmp_path / "summary.md").read_text()
    assert "`records/engine.toy/seed-1.json` is invalid: the file is named for seed 1" in md
    assert "`records/engine.toy/seed-x.json` is invalid: not named seed-<k>.json" in md


def test_single_seed_from_seeds_keeps_the_flat_layout(toy_claims, tmp_path):
    argv = ["check", "engine.toy", "--scale", "smoke", "--seeds", "4", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert json.loads((tmp_path / "records" / "engine.toy.json").read_text())["seed"] == 4

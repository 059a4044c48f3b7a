"""tools/check_site.py, the link-and-anchor check `make docs` runs on the built site, fails on what
a reader would hit: a missing page, a missing anchor, an asset from outside the site, raw math."""

import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "check_site", Path(__file__).resolve().parents[1] / "tools" / "check_site.py"
)
check_site = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(check_site)

GOOD = {
    "index.html": '<a href="a/page.html#sec">x</a><a href="#top">t</a><h1 id="top">k</h1>'
    '<img src="img/f.png"><a href="https://example.org/paper">paper</a>'
    '<link rel="stylesheet" href="assets/s.css"><a href="/a/page.html">root-relative</a>',
    "a/page.html": '<h2 id="sec">s</h2><a href="../index.html">home</a><a href="..">dir</a>',
    "img/f.png": "png",
    "assets/s.css": "",
}


def _site(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_a_sound_site_passes(tmp_path, capsys):
    site = _site(tmp_path, GOOD)
    assert check_site.check_site(site) == ([], 8)
    assert check_site.main([str(site)]) == 0
    assert "all resolve" in capsys.readouterr().out


@pytest.mark.parametrize(
    "html, problem",
    [
        ('<a href="a/missing.html">x</a>', "a/missing.html: no such file"),
        ('<a href="a/page.html#nope">x</a>', "a/page.html has no element id 'nope'"),
        ('<a href="#nope">x</a>', "index.html has no element id 'nope'"),
        ('<img src="img/g.png">', "img/g.png: no such file"),
        ('<script src="https://cdn.example/x.js"></script>', "loads https://cdn.example/x.js"),
        ('<link rel="stylesheet" href="//fonts.example/f.css">', "from outside the site"),
        ('<a href="../../etc/passwd">x</a>', "no such file in the site"),
        ('<span class="arithmatex">\\(x\\)</span>', "math left unrendered"),
        ("<!-- claims: hopfield.* -->", "claim-table marker"),
    ],
)
def test_each_kind_of_breakage_fails(tmp_path, capsys, html, problem):
    site = _site(tmp_path, {**GOOD, "index.html": GOOD["index.html"] + html})
    problems, _ = check_site.check_site(site)
    assert len(problems) == 1 and problem in problems[0], problems
    assert check_site.main([str(site)]) == 1
    assert problem in capsys.readouterr().out


def test_no_site_fails(tmp_path):
    assert check_site.main([str(tmp_path / "nothing")]) == 1

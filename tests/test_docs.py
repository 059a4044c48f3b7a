"""The documentation's Python runs as written.

Every ```python block in README.md and docs/**/*.md runs alone, in a fresh namespace, in an
empty working directory: a block that needs a name it does not define, or writes where it should
not, fails here. Code that is not Python is fenced as what it is (```bash, ```text).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)
FENCE = re.compile(r"^```(\S*)", re.M)


def _blocks():
    for path in PAGES:
        for k, m in enumerate(BLOCK.finditer(path.read_text(encoding="utf-8"))):
            yield pytest.param(m.group(1), id=f"{path.relative_to(ROOT).as_posix()}-{k}")


@pytest.mark.parametrize("code", list(_blocks()))
def test_python_block_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "<doc>", "exec"), {"__name__": "__doc_snippet__"})


def test_every_page_with_python_is_collected():
    """The snippet tests above really cover the README and the phenomenon pages."""
    ids = {p.id.rsplit("-", 1)[0] for p in _blocks()}
    assert {"README.md", "docs/engine.md", "docs/index.md"} <= ids


@pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_code_fences_name_their_language(path):
    """An opening fence names its language, so no Python hides in an untested plain block."""
    fences = FENCE.findall(path.read_text(encoding="utf-8"))
    openings = fences[0::2]  # fences alternate: opening, closing
    assert all(openings), f"{path.name}: a code block without a language"

"""Python blocks in the documentation run as written (each block alone, in a fresh namespace)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "docs" / "engine.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def _blocks():
    for path in DOCS:
        for k, m in enumerate(BLOCK.finditer(path.read_text(encoding="utf-8"))):
            yield pytest.param(m.group(1), id=f"{path.name}-{k}")


@pytest.mark.parametrize("code", list(_blocks()))
def test_python_block_runs(code):
    exec(compile(code, "<doc>", "exec"), {"__name__": "__doc_snippet__"})

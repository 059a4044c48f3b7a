"""MkDocs hooks for the kernelcap site (``hooks:`` in mkdocs.yml).

* ``on_config`` lays out the import tree griffe reads for the API reference. kernelcap's
  subpackages live outside ``src/kernelcap`` (``theory/``, ``empirics/``, ``claims/``, mapped by
  setuptools' ``package-dir``), which griffe's static finder does not follow; so the build links
  them under ``build/api-src/kernelcap/`` and mkdocstrings reads that (``paths:``).
* ``on_page_markdown`` replaces ``<!-- claims: PATTERN -->`` with the table of the registered
  claims matching PATTERN (id, statement, source, the config of each scale), read from the
  registry at build time, so a page cannot list a claim that does not exist or miss a new one;
  ``<!-- not-in-gallery -->`` names the registered claims the gallery's run did not include, and
  ``<!-- examples -->`` lists the scripts in ``examples/`` with the first line of each docstring.
* ``on_page_content`` turns the math that ``pymdownx.arithmatex`` (generic mode) marks into
  MathML with latex2mathml: the page needs no script and no font from a CDN, and renders offline
  in any current browser. A formula latex2mathml cannot translate is a warning (so it fails the
  strict build), naming the page and the formula.
"""

from __future__ import annotations

import ast
import dataclasses
import html
import logging
import re
import shutil
from pathlib import Path

from latex2mathml.converter import convert as _to_mathml
from mkdocs.plugins import event_priority

log = logging.getLogger("mkdocs.hooks.kernelcap")

ROOT = Path(__file__).resolve().parents[1]
API_SRC = ROOT / "build" / "api-src"
SUBPACKAGES = ("theory", "empirics", "claims")

_CLAIMS = re.compile(r"^<!-- claims: (\S+) -->$", re.M)
_MATH = re.compile(r'<(?P<tag>span|div) class="arithmatex">(?P<body>.*?)</(?P=tag)>', re.S)
_DELIMS = {"span": (r"\(", r"\)"), "div": (r"\[", r"\]")}
_SCALES = ("smoke", "quick", "paper")


# ------------------------------------------------------------------------------ API source tree


def stage_api_source(dest: Path = API_SRC) -> Path:
    """``dest/kernelcap/``: links to ``src/kernelcap``'s files and the three subpackages."""
    pkg = dest / "kernelcap"
    if dest.exists():
        shutil.rmtree(dest)
    pkg.mkdir(parents=True)
    for f in (ROOT / "src" / "kernelcap").iterdir():
        if f.suffix == ".py":
            (pkg / f.name).symlink_to(f)
    for name in SUBPACKAGES:
        (pkg / name).symlink_to(ROOT / name, target_is_directory=True)
    return dest


@event_priority(100)  # before mkdocstrings sets up griffe's finder on these paths
def on_config(config):
    stage_api_source()
    return config


# -------------------------------------------------------------------------------- claim tables


def _cell(text: str) -> str:
    """Plain text for a Markdown table cell: no emphasis, links, math or cell breaks."""
    return re.sub(r"([\\`*_\[\]<>|$])", r"\\\1", " ".join(str(text).split()))


def _value(v) -> str:
    text = repr(v).replace("|", "\\|")
    return f"`{text}`"


def _config_dict(claim, scale: str) -> dict:
    cfg = claim.config(scale)
    if dataclasses.is_dataclass(cfg):
        return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    return dict(cfg)


def gallery_ids(gallery: Path = ROOT / "docs" / "gallery.md") -> set[str]:
    """The claims the gallery shows (its headings carry ``{ #<claim id> }``)."""
    text = gallery.read_text(encoding="utf-8") if gallery.exists() else ""
    return set(re.findall(r"\{ #([\w.-]+) \}", text))


def claims_markdown(pattern: str) -> str:
    """The claim table of a page: one row per claim, then each claim's configs per scale.

    A claim the gallery shows links to its figure there.
    """
    from kernelcap.registry import select

    claims, shown = select([pattern]), gallery_ids()
    lines = ["| claim | statement | source |", "| --- | --- | --- |"]
    for c in claims:
        name = f"[`{c.id}`](gallery.md#{c.id})" if c.id in shown else f"`{c.id}`"
        lines.append(f"| {name} | {_cell(c.statement)} | {_cell(c.source)} |")
    for c in claims:
        configs = {s: _config_dict(c, s) for s in _SCALES}
        fields = list(dict.fromkeys(k for s in _SCALES for k in configs[s]))
        lines += ["", f'??? info "`{c.id}`: config per scale"', ""]
        lines.append("    | field | " + " | ".join(_SCALES) + " |")
        lines.append("    | --- |" + " --- |" * len(_SCALES))
        for k in fields:
            vals = " | ".join(_value(configs[s][k]) if k in configs[s] else "" for s in _SCALES)
            lines.append(f"    | `{k}` | {vals} |")
    return "\n".join(lines)


def not_in_gallery() -> str:
    """A note naming the registered claims the gallery's run did not include (added since)."""
    from kernelcap.registry import all_claims

    missing = [c.id for c in all_claims() if c.id not in gallery_ids()]
    if not missing:
        return ""
    names = ", ".join(f"`{m}`" for m in missing)
    return f"Registered since this run, so not shown here: {names}."


def examples_markdown(folder: Path = ROOT / "examples") -> str:
    """One row per script in ``examples/``: its name and the first sentence of its docstring."""
    lines = ["| script | what it draws |", "| --- | --- |"]
    for path in sorted(folder.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        first = first.split(". ")[0].rstrip(".") + "."
        first = first.replace("|", "\\|")  # a table cell: pipes escaped, Markdown kept
        lines.append(f"| `examples/{path.name}` | {first} |")
    return "\n".join(lines)


def on_page_markdown(markdown, page, config, files):
    def table(m: re.Match) -> str:
        try:
            return claims_markdown(m.group(1))
        except KeyError as err:  # UnknownClaimError: a pattern that matches no claim
            log.warning("%s: %s", page.file.src_path, err)
            return ""

    markdown = markdown.replace("<!-- not-in-gallery -->", not_in_gallery())
    markdown = markdown.replace("<!-- examples -->", examples_markdown())
    return _CLAIMS.sub(table, markdown)


# ------------------------------------------------------------------------------------------ math


def tex_to_mathml(tex: str, display: bool) -> str:
    """MathML for ``tex``; ValueError when latex2mathml leaves a command or ``&`` untranslated."""
    out = _to_mathml(tex, display="block" if display else "inline")
    if "\\" in out or "<mi>&</mi>" in out:
        raise ValueError("a command or alignment latex2mathml does not know")
    return out


def on_page_content(content, page, config, files):
    def mathml(m: re.Match) -> str:
        tag = m.group("tag")
        tex = html.unescape(m.group("body")).strip()
        left, right = _DELIMS[tag]
        if tex.startswith(left) and tex.endswith(right):
            tex = tex[len(left) : -len(right)]
        try:
            return tex_to_mathml(tex, display=tag == "div")
        except Exception as err:  # latex2mathml raises its own types on malformed input
            log.warning("%s: cannot render math %r: %s", page.file.src_path, tex, err)
            return m.group(0)

    return _MATH.sub(mathml, content)

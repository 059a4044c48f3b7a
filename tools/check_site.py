"""Check the built documentation site the way a browser would follow it, offline.

For every HTML page under the site folder:

* every internal link (``<a href>``, ``<link href>``) and every embedded resource (``<img src>``,
  ``<script src>``, ``<source src>``, ``<iframe src>``) must resolve to a file of the site, and a
  ``#fragment`` to an element with that ``id`` (or ``name``) in the target page;
* nothing may be loaded from outside the site (scripts, stylesheets, images, fonts from a CDN):
  the page must work with no network; links *to* other sites (``<a href="https://...">``) are fine;
* no math may be left unrendered (``class="arithmatex"``) and no claim-table marker unexpanded.

Usage: ``python tools/check_site.py [SITE_DIR]`` (default ``site``). Prints each problem as
``page: problem`` and exits 1 if there is any.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# (tag, attribute) pairs that reference something, and whether the page embeds it
REFS = {
    ("a", "href"): False,
    ("link", "href"): True,
    ("img", "src"): True,
    ("script", "src"): True,
    ("source", "src"): True,
    ("iframe", "src"): True,
}
LEFTOVERS = {
    'class="arithmatex"': "math left unrendered (arithmatex markup in the HTML)",
    "<!-- claims:": "a claim-table marker left unexpanded",
}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, bool]] = []  # (tag, url, embedded)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        for (t, attr), embedded in REFS.items():
            if tag == t and a.get(attr) is not None:
                rel = (a.get("rel") or "").split()
                # a <link> that is not a stylesheet, icon or preload is a plain link
                emb = embedded and (
                    t != "link" or bool({"stylesheet", "icon", "preload"} & set(rel))
                )
                self.refs.append((tag, a[attr], emb))


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def check_site(site: Path) -> tuple[list[str], int]:
    """(problems, number of references checked) for the site in ``site``."""
    site = site.resolve()
    pages = sorted(site.rglob("*.html"))
    parsed = {p: _parse(p) for p in pages}
    problems: list[str] = []
    n_refs = 0
    for path, page in parsed.items():
        name = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8")
        problems += [f"{name}: {why}" for mark, why in LEFTOVERS.items() if mark in text]
        for tag, url, embedded in page.refs:
            n_refs += 1
            parts = urlsplit(url)
            if parts.scheme in ("mailto", "javascript", "data", "tel"):
                continue
            if parts.scheme or parts.netloc:
                if embedded:
                    problems.append(f"{name}: <{tag}> loads {url} from outside the site")
                continue
            if not parts.path:
                target = path
            elif parts.path.startswith("/"):  # root-relative (404.html): from the site's root
                target = (site / unquote(parts.path).lstrip("/")).resolve()
            else:
                target = (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file() or site not in (target, *target.parents):
                problems.append(f"{name}: <{tag}> {url}: no such file in the site")
                continue
            frag = unquote(parts.fragment)
            if frag and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if frag not in ids:
                    where = target.relative_to(site).as_posix()
                    problems.append(f"{name}: <{tag}> {url}: {where} has no element id {frag!r}")
    return problems, n_refs


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    site = Path(args[0] if args else "site")
    if not (site / "index.html").is_file():
        print(f"check_site: {site} has no index.html (build the site first: make docs)")
        return 1
    problems, n_refs = check_site(site)
    for p in problems:
        print(p)
    n_pages = len(list(site.rglob("*.html")))
    verdict = f"{len(problems)} problem(s)" if problems else "all resolve"
    print(f"check_site: {n_pages} pages, {n_refs} links and resources: {verdict}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

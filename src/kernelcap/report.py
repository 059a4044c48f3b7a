"""The report: a static HTML page (claim table and every plot) and a Markdown summary.

Built only from the run directory — its manifest and its validated records — so
``kernelcap report DIR`` can rebuild it at any time, also while a check is still running. A
claim's verdict over several seeds is its pass rate (``9/10``) with the headline value at each
seed. Claims the run lists without a record are reported missing, and record files that cannot be
trusted (unreadable, wrong schema, a stored verdict its numbers do not give, an unknown claim,
a name that does not match the content, other settings than the run's) are listed as invalid.
"""

from __future__ import annotations

import html
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernelcap.rundir import Manifest, RunDirError, format_seeds, read_manifest
from kernelcap.store import atomic_write_text, scan_records

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:0.92em}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}
.pass{color:#fff;background:#2a7a2a;padding:1px 6px;border-radius:3px}
.fail{color:#fff;background:#b02a2a;padding:1px 6px;border-radius:3px}
.error{color:#fff;background:#7a2a7a;padding:1px 6px;border-radius:3px}
.missing{color:#fff;background:#888;padding:1px 6px;border-radius:3px}
section{border-top:2px solid #eee;margin-top:2em;padding-top:1em}
img{max-width:100%;border:1px solid #eee}
code,pre{background:#f7f7f7;font-size:0.88em}
pre{padding:0.6em;overflow-x:auto}
.muted{color:#666}
"""


@dataclass(frozen=True)
class ClaimRuns:
    """One claim's records in a run: by seed, and the run's seeds that have none."""

    claim: str
    records: dict[int, dict]
    missing: tuple[int, ...]

    @property
    def n_pass(self) -> int:
        return sum(r["verdict"] == "pass" for r in self.records.values())

    @property
    def n_seeds(self) -> int:
        return len(self.records) + len(self.missing)

    @property
    def rate(self) -> str:
        return f"{self.n_pass}/{self.n_seeds}"

    @property
    def verdict(self) -> str:
        """fail if a seed fails, else error if one errored, else missing if one is missing."""
        got = {r["verdict"] for r in self.records.values()}
        for v in ("fail", "error"):
            if v in got:
                return v
        return "missing" if self.missing else "pass"

    @property
    def first(self) -> dict | None:
        return next(iter(self.records.values()), None)

    @property
    def headline(self) -> dict | None:
        """The headline check of the first record that has checks."""
        return next((r["checks"][0] for r in self.records.values() if r["checks"]), None)

    @property
    def wall_s(self) -> float:
        return sum(float(r["timings"].get("wall_s", 0.0)) for r in self.records.values())


@dataclass(frozen=True)
class RunSummary:
    """What the report shows: each claim's runs, the run's seeds, and the invalid record files."""

    claims: list[ClaimRuns]
    seeds: tuple[int, ...]
    invalid: list[tuple[str, str]]  # (path relative to the run directory, why)
    manifest: Manifest | None

    @property
    def per_seed(self) -> bool:
        return len(self.seeds) > 1

    @property
    def n_missing(self) -> int:
        return sum(len(c.missing) for c in self.claims)

    @classmethod
    def of(cls, records: list[dict]) -> RunSummary:
        """A summary of validated records alone (no run directory, nothing missing)."""
        by_claim: dict[str, dict[int, dict]] = {}
        for r in records:
            by_claim.setdefault(r["claim"], {})[r.get("seed", 0)] = r
        seeds = tuple(sorted({s for recs in by_claim.values() for s in recs}))
        claims = [ClaimRuns(k, dict(sorted(v.items())), ()) for k, v in sorted(by_claim.items())]
        return cls(claims, seeds, [], None)

    def headline(self) -> str:
        n_ok = sum(c.verdict == "pass" for c in self.claims)
        parts = [f"{n_ok}/{len(self.claims)} claims pass"]
        if self.per_seed:
            runs = sum(c.n_seeds for c in self.claims)
            parts[0] += f" at every seed ({format_seeds(self.seeds)})"
            parts.append(f"{sum(c.n_pass for c in self.claims)}/{runs} claim runs pass")
        if self.n_missing:
            parts.append(f"{self.n_missing} missing")
        if self.invalid:
            parts.append(f"{len(self.invalid)} invalid record file(s)")
        return "; ".join(parts)


def summarize(run_dir: Path | str, known: Container[str] | None = None) -> RunSummary:
    """Read a run directory: its manifest, its valid records, what is missing and invalid.

    ``known``: the registered claim ids (default: the registry's); records of other claims are
    invalid. Raises FileNotFoundError when there is neither a manifest nor a record.
    """
    run_dir = Path(run_dir)
    if known is None:
        from kernelcap.registry import all_claims

        known = {c.id for c in all_claims()}
    invalid: list[tuple[str, str]] = []
    try:
        manifest = read_manifest(run_dir)
    except RunDirError as err:
        manifest = None
        invalid.append(("run.json", str(err).split(": ", 1)[-1]))
    scan = scan_records(run_dir, known=known)
    invalid += [(_rel(p, run_dir), why) for p, why in scan.invalid]
    if manifest is None and not scan.valid and not scan.invalid:
        raise FileNotFoundError(f"no run found under {run_dir} (no run.json and no records)")
    by_claim: dict[str, dict[int, dict]] = {}
    for s in scan.valid:
        rec, why = s.record, None
        if manifest is not None:
            why = _outside_run(rec, s.per_seed, manifest)
        if why is None and rec["seed"] in by_claim.get(rec["claim"], {}):
            why = f"a second record of seed {rec['seed']}"
        if why is not None:
            invalid.append((_rel(s.path, run_dir), why))
            continue
        by_claim.setdefault(rec["claim"], {})[rec["seed"]] = rec
    if manifest is not None:
        seeds = manifest.settings.seeds
        ids = set(manifest.claims) | set(by_claim)
    else:
        seeds = tuple(sorted({seed for recs in by_claim.values() for seed in recs}))
        ids = set(by_claim)
    claims = []
    for cid in sorted(ids):
        recs = by_claim.get(cid, {})
        missing = tuple(s for s in seeds if s not in recs) if manifest is not None else ()
        claims.append(ClaimRuns(cid, dict(sorted(recs.items())), missing))
    return RunSummary(claims, seeds, invalid, manifest)


def _rel(path: Path, run_dir: Path) -> str:
    return path.relative_to(run_dir).as_posix()


def _outside_run(rec: dict, per_seed: bool, manifest: Manifest) -> str | None:
    s = manifest.settings
    if rec["scale"] != s.scale:
        return f"made at scale {rec['scale']}, the run's scale is {s.scale}"
    if rec["seed"] not in s.seeds:
        return f"made with seed {rec['seed']}, the run's seeds are {format_seeds(s.seeds)}"
    if rec["device_kind"] != s.device_kind:
        return f"made on {rec['device_kind']}, the run is on {s.device_kind}"
    if per_seed != s.per_seed:
        return "stored per seed in a single-seed run" if per_seed else "not stored per seed"
    return None


# ----------------------------------------------------------------------------------- rendering


def _num(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{v:.4g}"


def check_text(k: dict) -> str:
    """``name = value (need op bound)``."""
    return f"{k['name']} = {_num(k['value'])} (need {k['op']} {_num(k['bound'])})"


def headline_text(rec: dict) -> str:
    return (
        check_text(rec["checks"][0]) if rec.get("checks") else "no evidence (the experiment raised)"
    )


def seed_values(c: ClaimRuns) -> str:
    """The headline value at each seed: ``0: 0.31, 1: 5.2 ✗, 2: error, 3: missing``."""
    parts = []
    for seed in sorted([*c.records, *c.missing]):
        rec = c.records.get(seed)
        if rec is None:
            text = "missing"
        elif not rec["checks"]:
            text = "error"
        else:
            text = _num(rec["checks"][0]["value"]) + ("" if rec["verdict"] == "pass" else " ✗")
        parts.append(f"{seed}: {text}")
    return ", ".join(parts)


def headline_rule(c: ClaimRuns) -> str:
    k = c.headline
    return f"{k['name']} (need {k['op']} {_num(k['bound'])})" if k else "no evidence"


def _badge(verdict: str, text: str | None = None) -> str:
    return f'<span class="{html.escape(verdict)}">{html.escape(text or verdict.upper())}</span>'


def _rows_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_num(r.get(c, '')))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return (
        f"<details><summary>{len(rows)} rows</summary><table><tr>{head}</tr>{body}</table>"
        "</details>"
    )


def _claim_row(c: ClaimRuns, per_seed: bool) -> tuple[str, str, str]:
    """(verdict text, headline, measured) for the summary tables."""
    if per_seed:
        return c.rate, headline_rule(c), seed_values(c)
    if c.first is None:
        return "MISSING", "not run", ""
    return c.verdict.upper(), headline_text(c.first), c.first.get("summary", "")


def render_html(summary: RunSummary, title: str = "kernelcap report") -> str:
    esc = html.escape
    s = summary.manifest.settings if summary.manifest else None
    about = f" · {esc(s.describe())}" if s else ""
    total = sum(c.wall_s for c in summary.claims)
    cols = (
        "pass rate</th><th>headline check</th><th>per seed"
        if summary.per_seed
        else ("verdict</th><th>headline check</th><th>measured")
    )
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>",
        f"<p><b>{esc(summary.headline())}</b>{about} · {total:.1f} s of experiments</p>",
        f"<table><tr><th>claim</th><th>{cols}</th><th>time</th></tr>",
    ]
    for c in summary.claims:
        verdict, head, measured = _claim_row(c, summary.per_seed)
        cid = esc(c.claim)
        parts.append(
            f"<tr><td><a href='#{cid}'>{cid}</a></td><td>{_badge(c.verdict, verdict)}</td>"
            f"<td>{esc(head)}</td><td>{esc(measured)}</td><td>{c.wall_s:.1f} s</td></tr>"
        )
    parts.append("</table>")
    parts.append(_problems_html(summary))
    for c in summary.claims:
        parts.append(_section_html(c, summary.per_seed))
    parts.append("</body></html>\n")
    return "".join(parts)


def _problems_html(summary: RunSummary) -> str:
    items = [
        f"<li><code>{html.escape(c.claim)}</code>: no record for seed(s) "
        f"{format_seeds(c.missing)}</li>"
        for c in summary.claims
        if c.missing
    ]
    items += [
        f"<li><code>{html.escape(p)}</code> is invalid: {html.escape(why)}</li>"
        for p, why in summary.invalid
    ]
    if not items:
        return ""
    return f"<section id='problems'><h2>Missing and invalid</h2><ul>{''.join(items)}</ul></section>"


def _section_html(c: ClaimRuns, per_seed: bool) -> str:
    esc = html.escape
    cid = esc(c.claim)
    rec = c.first
    if rec is None:
        return f"<section id='{cid}'><h2>{cid} {_badge('missing')}</h2><p>Not run.</p></section>"
    head = _badge(c.verdict, c.rate if per_seed else None)
    cfg = esc(", ".join(f"{k}={v}" for k, v in rec["config"].items()))
    parts = [
        f"<section id='{cid}'><h2>{cid} {head}</h2>",
        f"<p>{esc(rec.get('statement', ''))}<br><span class='muted'>Source: "
        f"{esc(rec.get('source', ''))}</span></p>",
    ]
    if per_seed:
        parts.append(
            "<table><tr><th>seed</th><th>verdict</th><th>headline check</th><th>measured</th>"
            "<th>time</th></tr>"
        )
        for seed, r in c.records.items():
            fig = f" <a href='{esc(r['figure'])}'>figure</a>" if r.get("figure") else ""
            parts.append(
                f"<tr><td>{seed}</td><td>{_badge(r['verdict'])}</td><td>{esc(headline_text(r))}"
                f"{fig}</td><td>{esc(r.get('summary', ''))}</td>"
                f"<td>{float(r['timings'].get('wall_s', 0)):.1f} s</td></tr>"
            )
        parts.append("</table>")
        errs = [(seed, r["error"]) for seed, r in c.records.items() if r.get("error")]
        parts += [f"<p>seed {seed}:</p><pre>{esc(e)}</pre>" for seed, e in errs]
    else:
        checks = "".join(
            f"<li>{_badge('pass' if k['passed'] else 'fail')} {esc(check_text(k))}"
            f" <span class='muted'>— {esc(k.get('reason', ''))}</span></li>"
            for k in rec["checks"]
        )
        err = f"<pre>{esc(rec['error'])}</pre>" if rec.get("error") else ""
        parts.append(f"<p>{esc(rec.get('summary', ''))}</p><ul>{checks}</ul>{err}")
    if rec.get("figure"):
        parts.append(f"<img src='{esc(rec['figure'])}' alt='{cid}'>")
    parts.append(
        f"<p class='muted'>scale {esc(str(rec['scale']))} · seed {rec['seed']} · "
        f"{esc(str(rec['device']))} · {float(rec['timings'].get('wall_s', 0)):.1f} s"
        f"<br>config: <code>{cfg}</code></p>{_rows_table(rec['rows'])}</section>"
    )
    return "".join(parts)


def _md_cell(text: str) -> str:
    """Escape the pipes of |x|-style notation so they do not split a Markdown table cell."""
    return text.replace("|", "\\|")


def render_markdown(summary: RunSummary, title: str = "kernelcap report") -> str:
    col = (
        "pass rate | headline check | per seed"
        if summary.per_seed
        else ("verdict | headline check | measured")
    )
    lines = [
        f"# {title}",
        "",
        f"{summary.headline()}.",
        "",
        f"| claim | {col} | time |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in summary.claims:
        verdict, head, measured = _claim_row(c, summary.per_seed)
        lines.append(
            f"| `{c.claim}` | {verdict} | {_md_cell(head)} | {_md_cell(measured)} | "
            f"{c.wall_s:.1f} s |"
        )
    problems = [
        f"* `{c.claim}`: no record for seed(s) {format_seeds(c.missing)}"
        for c in summary.claims
        if c.missing
    ]
    problems += [f"* `{p}` is invalid: {why}" for p, why in summary.invalid]
    if problems:
        lines += ["", "Missing and invalid:", "", *problems]
    return "\n".join(lines) + "\n"


def build_report(run_dir: Path | str, known: Container[str] | None = None) -> tuple[Path, Path]:
    """Write ``index.html`` and ``summary.md`` into ``run_dir`` from its manifest and records."""
    return write_report(run_dir, summarize(run_dir, known))


def write_report(run_dir: Path | str, summary: RunSummary) -> tuple[Path, Path]:
    run_dir = Path(run_dir)
    html_path, md_path = run_dir / "index.html", run_dir / "summary.md"
    atomic_write_text(html_path, render_html(summary))
    atomic_write_text(md_path, render_markdown(summary))
    return html_path, md_path

"""Run claims: evaluate each at a scale, store its record and figure, print a table row.

A run directory holds one record per claim; with ``resume=True`` a claim whose stored record has
the same scale, seed, device and config (and did not error) is not run again, so an interrupted
``kernelcap check`` picks up where it stopped.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kernelcap.claim import Claim, Evidence
from kernelcap.runtime import Runtime
from kernelcap.store import (
    atomic_save_figure,
    atomic_write_json,
    figure_path,
    load_record,
    record_path,
    to_jsonable,
    versions,
)


@dataclass(frozen=True)
class ClaimResult:
    """The stored record of one claim run, with the evidence when it was run in this process."""

    record: dict[str, Any]
    evidence: Evidence | None = field(default=None, repr=False)
    resumed: bool = False

    @property
    def claim_id(self) -> str:
        return self.record["claim"]

    @property
    def verdict(self) -> str:
        return self.record["verdict"]

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def device_description(rt: Runtime) -> str:
    dev = rt.torch_device
    if dev.type == "cuda":
        import torch

        return f"{dev} ({torch.cuda.get_device_name(dev)})"
    return str(dev)


def evidence_record(
    c: Claim, scale: str, rt: Runtime, ev: Evidence | None, error: str | None, wall_s: float
) -> dict[str, Any]:
    """The JSON record of a claim run (``ev`` is None when the experiment raised)."""
    rec: dict[str, Any] = {
        "claim": c.id,
        "statement": c.statement,
        "source": c.source,
        "scale": scale,
        "seed": rt.seed,
        "device": device_description(rt),
        "config": to_jsonable(c.config(scale)),
        "versions": versions(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "timings": {"wall_s": wall_s},
        "verdict": "error",
        "summary": "",
        "checks": [],
        "rows": [],
        "extras": {},
        "figure": None,
        "error": error,
    }
    if ev is not None:
        rec.update(
            verdict=ev.verdict,
            summary=ev.summary,
            timings=to_jsonable({**ev.timings, "wall_s": wall_s}),
            checks=[
                {
                    "name": k.name,
                    "value": k.value,
                    "op": k.op,
                    "bound": k.bound,
                    "passed": k.passed,
                    "reason": k.reason,
                }
                for k in ev.checks
            ],
            rows=to_jsonable(list(ev.rows)),
            extras=to_jsonable(dict(ev.extras)),
        )
    return to_jsonable(rec)


def _same_run(rec: dict | None, c: Claim, scale: str, rt: Runtime) -> bool:
    return (
        rec is not None
        and rec.get("verdict") in ("pass", "fail")
        and rec.get("scale") == scale
        and rec.get("seed") == rt.seed
        and rec.get("device") == device_description(rt)
        and rec.get("config") == to_jsonable(c.config(scale))
    )


def run_claim(
    c: Claim, scale: str, rt: Runtime, out_dir: Path | str | None = None, *, resume: bool = False
) -> ClaimResult:
    """Run one claim; store its record (and figure) under ``out_dir`` when given.

    Exceptions from the experiment are caught and recorded with verdict ``"error"``.
    """
    rt = rt.replace(scale=scale)
    if out_dir is not None and resume:
        old = load_record(out_dir, c.id)
        if _same_run(old, c, scale, rt):
            return ClaimResult(old, None, resumed=True)
    start = time.perf_counter()
    ev, error = None, None
    try:
        ev = c.run(scale, rt)
    except Exception:  # noqa: BLE001 - every failure becomes a recorded error, not a crash
        error = traceback.format_exc()
    wall = time.perf_counter() - start
    rec = evidence_record(c, scale, rt, ev, error, wall)
    if out_dir is not None:
        if ev is not None and ev.figure is not None:
            path = figure_path(out_dir, c.id)
            atomic_save_figure(ev.figure, path)
            rec["figure"] = str(path.relative_to(out_dir))
        atomic_write_json(record_path(out_dir, c.id), rec)
    return ClaimResult(rec, ev)


def run_claims(
    claims: Iterable[Claim],
    scale: str,
    rt: Runtime,
    out_dir: Path | str | None = None,
    *,
    resume: bool = False,
    on_result: Callable[[ClaimResult], None] | None = None,
) -> list[ClaimResult]:
    """Run ``claims`` one after another, calling ``on_result`` as each finishes."""
    results = []
    for c in claims:
        res = run_claim(c, scale, rt, out_dir, resume=resume)
        if on_result is not None:
            on_result(res)
        results.append(res)
    return results


def format_row(rec: dict[str, Any], width: int = 34) -> str:
    """One line of the terminal claim table."""
    checks = rec.get("checks") or []
    if checks:
        k = checks[0]
        head = f"{k['name']} = {_fmt(k['value'])} {k['op']} {_fmt(k['bound'])}"
    else:
        head = (rec.get("error") or "").strip().splitlines()[-1:] or [""]
        head = head[0][:70]
    wall = rec.get("timings", {}).get("wall_s", float("nan"))
    return f"{rec['claim']:<{width}} {rec['verdict'].upper():<5} {wall:7.1f}s  {head}"


def _fmt(x: Any) -> str:
    try:
        return f"{float(x):.4g}"
    except (TypeError, ValueError):
        return str(x)


def save_claim_figure(
    claim_id: str, path: Path | str, *, scale: str = "quick", seed: int = 0, device: str = "auto"
) -> Evidence:
    """Run one claim and write its figure to ``path`` (what the claim-figure examples do)."""
    from kernelcap.registry import get_claim
    from kernelcap.store import atomic_save_figure

    ev = get_claim(claim_id).run(scale, Runtime(device=device, seed=seed, scale=scale))
    atomic_save_figure(ev.figure, path)
    return ev

"""Run claims into a run directory: records, figures, resume, seeds.

:func:`check` is what ``kernelcap check`` does. It holds the run directory's lock, settles the run's
settings (given ones, else the run's manifest, else quick / seed 0 / auto), refuses to write over
records made with other settings (unless ``force``), reuses matching records on ``resume``, runs
every claim at every seed (clearing the shared-run cache between seeds), writes each record and
figure as it finishes, and rebuilds the report. :func:`run_claim` runs one claim and writes its
record; an experiment that raises becomes an ``"error"`` record with its traceback. A check's plan
comes from ``kernelcap._check_plan`` (:class:`CheckPlan`, :func:`record_differences` re-exported).
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kernelcap import cache
from kernelcap._check_plan import (
    CheckPlan,
    mismatch_message,
    plan_check,
    record_differences,
    settle_settings,
)
from kernelcap.claim import Claim, Evidence
from kernelcap.rundir import (
    RunDirError,
    Settings,
    clear_run,
    locked,
    new_manifest,
    read_manifest,
    write_manifest,
)
from kernelcap.runtime import Runtime, resolve_device
from kernelcap.store import (
    RECORD_FORMAT,
    atomic_save_figure,
    atomic_write_bytes,
    atomic_write_json,
    device_kind_of,
    figure_path,
    record_path,
    to_jsonable,
    versions,
)

__all__ = [  # CheckPlan and record_differences are kernelcap._check_plan's, re-exported
    "ClaimResult",
    "device_description",
    "device_kind",
    "evidence_record",
    "run_claim",
    "store_result",
    "record_differences",
    "CheckPlan",
    "CheckOutcome",
    "check",
    "save_claim_figure",
]


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
    def seed(self) -> int:
        return self.record["seed"]

    @property
    def verdict(self) -> str:
        return self.record["verdict"]

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def device_description(device: str) -> str:
    """``"cpu"`` or ``"cuda:0 (<GPU name>)"``."""
    if device == "cpu":  # without importing torch: a worker running NumPy-only claims needs none
        return "cpu"
    dev = resolve_device(device)
    if dev.type == "cuda":
        import torch

        return f"{dev} ({torch.cuda.get_device_name(dev)})"
    return str(dev)


def device_kind(device: str) -> str:
    """What records compare across runs: ``"cpu"`` or ``"cuda (<GPU name>)"``."""
    return device_kind_of(device_description(device))


def evidence_record(
    c: Claim,
    scale: str,
    rt: Runtime,
    ev: Evidence | None,
    error: str | None,
    wall_s: float,
    *,
    device: str | None = None,
) -> dict[str, Any]:
    """The JSON record of a claim run (``ev`` is None when the experiment raised).

    ``device``: the device description to store (default: ``rt.device`` resolved here); the
    client of a cluster passes the run's device kind for a claim that never reached a worker.
    """
    rec: dict[str, Any] = {
        "format": RECORD_FORMAT,
        "claim": c.id,
        "statement": c.statement,
        "source": c.source,
        "scale": scale,
        "seed": rt.seed,
        "device": (device := device or device_description(rt.device)),
        "device_kind": device_kind_of(device),
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
            timings={**ev.timings, "wall_s": wall_s},
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
            rows=list(ev.rows),
            extras=dict(ev.extras),
        )
    return to_jsonable(rec)


def run_claim(
    c: Claim, scale: str, rt: Runtime, out_dir: Path | str | None = None, *, per_seed: bool = False
) -> ClaimResult:
    """Run one claim; write its record (and figure) under ``out_dir`` when given, at
    ``records/<claim>.json``, or ``records/<claim>/seed-<k>.json`` with ``per_seed``.

    Exceptions from the experiment are caught and recorded with verdict ``"error"``.
    """
    rt = rt.replace(scale=scale)
    start = time.perf_counter()
    ev, error = None, None
    try:
        ev = c.run(scale, rt)
    except Exception:  # noqa: BLE001 - every failure becomes a recorded error, not a crash
        error = traceback.format_exc()
    wall = time.perf_counter() - start
    rec = evidence_record(c, scale, rt, ev, error, wall)
    if out_dir is not None:
        figure = ev.figure if ev is not None else None
        rec = store_result(out_dir, rec, figure, per_seed=per_seed)
    return ClaimResult(rec, ev)


def store_result(
    out_dir: Path | str, rec: dict[str, Any], figure=None, *, per_seed: bool = False
) -> dict[str, Any]:
    """Write a record and its figure into the run directory; return the record as stored.

    ``figure`` is a matplotlib ``Figure`` or the PNG bytes a worker rendered (None: none). The
    figure is written first and the record names it, so a record never points at a missing file.
    Both are written atomically; the caller holds the run directory's lock.
    """
    out_dir = Path(out_dir)
    seed = rec["seed"] if per_seed else None
    rec = dict(rec)
    if figure is not None:
        path = figure_path(out_dir, rec["claim"], seed)
        if isinstance(figure, (bytes, bytearray)):
            atomic_write_bytes(path, bytes(figure))
        else:
            atomic_save_figure(figure, path)
        rec["figure"] = path.relative_to(out_dir).as_posix()
    atomic_write_json(record_path(out_dir, rec["claim"], seed), rec)
    return rec


@dataclass(frozen=True)
class CheckOutcome:
    plan: CheckPlan
    results: list[ClaimResult]
    report: tuple[Path, Path] | None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def check(
    claims: Sequence[Claim] | None,
    out_dir: Path | str,
    *,
    scale: str | None = None,
    seeds: Sequence[int] | None = None,
    device: str | None = None,
    resume: bool = False,
    force: bool = False,
    report: bool = True,
    on_start: Callable[[CheckPlan], None] | None = None,
    on_result: Callable[[ClaimResult], None] | None = None,
    executor: str | Executor | None = None,
    jobs: int | None = None,
) -> CheckOutcome:
    """Run ``claims`` at every seed into the run directory ``out_dir``.

    Args:
        claims: the claims to run; None: the run's claims (its manifest), else every claim.
        scale: None takes the run's scale from its manifest, else ``"quick"``.
        seeds: None takes the run's seeds from its manifest, else ``(0,)``.
        device: None takes the run's device from its manifest, else ``"auto"``.
        resume: reuse stored records (not errors) made with the same claim, scale, seed, config,
            device kind and kernelcap version instead of running them again.
        force: replace what conflicts: the whole run when its settings differ, else the records
            made with other settings (without it, both are refused with RunDirError).
        report: rebuild ``index.html`` and ``summary.md`` at the end.
        on_start: called with the plan before the first claim.
        on_result: called with each result, as each claim and seed finishes (in the order they
            finish).
        executor: where claims run: None or ``"inprocess"`` (here, one after another; the
            default), ``"processes"`` (``jobs`` worker processes on this machine, see
            :mod:`kernelcap.parallel`), or any ``concurrent.futures.Executor`` — e.g. a Dask
            ``distributed.Client(...).get_executor()`` — whose workers import kernelcap and the
            claims' modules. Every claim and seed is one task; its record and figure come back to
            this process, which writes them as each finishes. A task that raises or whose worker
            dies becomes an ``"error"`` record. The device kind is asked of a worker.
        jobs: worker processes for ``executor="processes"`` (default: the CPUs available).

    Raises:
        RunDirError: ``out_dir`` cannot be written or is in use, or the run conflicts; raised
            before any claim runs.
    """
    from kernelcap import parallel, registry

    pool = parallel.make_pool(executor, jobs)
    out = Path(out_dir)
    with locked(out), pool:
        notes: list[str] = []
        try:
            manifest = read_manifest(out)
        except RunDirError as err:
            if not force:
                raise RunDirError(f"{err} (fix or remove it, or use --force)") from None
            notes.append(f"ignored an invalid {out / 'run.json'} (--force)")
            manifest = None
        settings = settle_settings(out, manifest, scale, seeds, device, pool.device_kind)
        if manifest is not None and (diff := manifest.settings.differences(settings)):
            if not force:
                raise RunDirError(mismatch_message(out, diff))
            clear_run(out)
            notes.append(f"removed the run made with {manifest.settings.describe()} (--force)")
            manifest = None
        if claims is None:
            try:
                claims = (
                    [registry.get_claim(i) for i in manifest.claims]
                    if manifest
                    else registry.all_claims()
                )
            except registry.UnknownClaimError as err:
                raise RunDirError(f"{out / 'run.json'} lists an {err}") from None
        plan = plan_check(out, tuple(claims), settings, resume, force, notes)
        plan = dataclasses.replace(plan, where=pool.describe())
        write_manifest(out, new_manifest(settings, (c.id for c in claims), manifest))
        if on_start is not None:
            on_start(plan)
        results = _execute(plan, on_result) if pool.inprocess else _run_on(pool, plan, on_result)
        paths = None
        if report:
            from kernelcap.report import build_report

            paths = build_report(out, known={c.id for c in registry.all_claims()})
    return CheckOutcome(plan, results, paths)


def _execute(plan: CheckPlan, on_result) -> list[ClaimResult]:
    s = plan.settings
    results = []
    for k, seed in enumerate(s.seeds):
        if k:
            cache.clear()  # shared runs of one seed are not needed at the next: bound the memory
        rt = Runtime(device=s.device, seed=seed, scale=s.scale)
        for c in plan.claims:
            rec = plan.reuse.get((c.id, seed))
            if rec is not None:
                res = ClaimResult(rec, resumed=True)
            else:
                res = run_claim(c, s.scale, rt, plan.out_dir, per_seed=s.per_seed)
            if on_result is not None:
                on_result(res)
            results.append(dataclasses.replace(res, evidence=None))  # figures not kept in memory
    return results


def _run_on(pool, plan: CheckPlan, on_result) -> list[ClaimResult]:
    """Run the plan's claim × seed tasks on a pool of workers; write each record (and figure)
    here, under the lock, as its task finishes."""
    from kernelcap import parallel

    s = plan.settings
    order = {(c.id, seed): k for k, (seed, c) in enumerate(_pairs(plan))}
    claims = {c.id: c for c in plan.claims}
    results: list[ClaimResult] = []

    def emit(res: ClaimResult) -> None:
        if on_result is not None:
            on_result(res)
        results.append(res)

    tasks = []
    for seed, c in _pairs(plan):
        rec = plan.reuse.get((c.id, seed))
        if rec is not None:
            emit(ClaimResult(rec, resumed=True))
        else:
            tasks.append(parallel.task_for(c, s.scale, seed, s.device))

    def done(task, outcome: parallel.Outcome) -> None:
        c = claims[task.claim_id]
        rec, png = outcome.record, outcome.png
        problem = outcome.error or _foreign(rec, c, s, task.seed)
        if problem is not None:
            rt = Runtime(device=s.device, seed=task.seed, scale=s.scale)
            where = f" (worker: {outcome.worker})" if outcome.worker else ""
            rec = evidence_record(
                c, s.scale, rt, None, problem + where, outcome.wall_s, device=s.device_kind
            )
            png = None
        emit(ClaimResult(store_result(plan.out_dir, rec, png, per_seed=s.per_seed)))

    parallel.run_tasks(tasks, pool, done)
    return sorted(results, key=lambda r: order[(r.claim_id, r.seed)])


def _pairs(plan: CheckPlan):
    return [(seed, c) for seed in plan.settings.seeds for c in plan.claims]


def _foreign(rec, c: Claim, settings: Settings, seed: int) -> str | None:
    """Why a record a worker sent back does not belong to this run (None: it does)."""
    from kernelcap.store import InvalidRecord, validate_record

    try:
        validate_record(rec, claim_id=c.id, seed=seed)
    except InvalidRecord as err:
        return f"the worker sent back an invalid record: {err}"
    if diff := record_differences(rec, c, settings, seed):
        return (
            f"the worker's record was made with {', '.join(diff)}: every worker needs the same "
            "device kind and the same kernelcap and claim code as this run"
        )
    return None


def save_claim_figure(
    claim_id: str, path: Path | str, *, scale: str = "quick", seed: int = 0, device: str = "auto"
) -> Evidence:
    """Run one claim and write its figure to ``path`` (what the claim-figure examples do)."""
    from kernelcap.registry import get_claim

    ev = get_claim(claim_id).run(scale, Runtime(device=device, seed=seed, scale=scale))
    atomic_save_figure(ev.figure, path)
    return ev

"""Planning a check before any claim runs (used by :mod:`kernelcap.runner`, which re-exports
:class:`CheckPlan` and :func:`record_differences`).

The run's settings are settled from the arguments and the run's manifest; stored records are
compared with what this run would make, to be reused (``resume``), removed (``force``) or refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernelcap.claim import Claim
from kernelcap.rundir import Manifest, RunDirError, Settings
from kernelcap.runtime import SCALES, check_seed
from kernelcap.store import FIGURES, RECORDS, InvalidRecord, read_record, record_path, to_jsonable


@dataclass(frozen=True)
class CheckPlan:
    """What :func:`~kernelcap.runner.check` is about to do, for the caller to show before it
    starts."""

    out_dir: Path
    settings: Settings
    claims: tuple[Claim, ...]
    reuse: dict[tuple[str, int], dict]  # (claim, seed) -> the stored record
    notes: tuple[str, ...]  # one line each: what was removed or will be run again, and why
    where: str = "in-process"  # where the claims run (the executor)


def record_differences(rec: dict, c: Claim, settings: Settings, seed: int) -> list[str]:
    """How a valid stored record differs from what this run would make (empty: reusable)."""
    wanted = {
        "scale": settings.scale,
        "seed": seed,
        "device": settings.device_kind,
        "kernelcap": settings.kernelcap,
    }
    have = {
        "scale": rec["scale"],
        "seed": rec["seed"],
        "device": rec["device_kind"],
        "kernelcap": rec["versions"].get("kernelcap"),
    }
    out = [f"{k}={have[k]} (this run: {v})" for k, v in wanted.items() if have[k] != v]
    config = to_jsonable(c.config(settings.scale))
    if rec["config"] != config:
        keys = sorted(k for k in {*config, *rec["config"]} if config.get(k) != rec["config"].get(k))
        out.append(f"another config ({', '.join(keys)})")
    return out


def settle_settings(
    out: Path, manifest: Manifest | None, scale, seeds, device, kind_of
) -> Settings:
    """The run's settings: those given, else the manifest's, else quick / seed 0 / auto;
    ``kind_of`` names a device's kind (raising ValueError or TypeError for a bad device)."""
    import kernelcap

    base = manifest.settings if manifest is not None else None
    if scale is not None and scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    for s in seeds or ():
        check_seed(s)
    device = device or (base.device if base else "auto")
    try:
        kind = kind_of(device)
    except (ValueError, TypeError) as err:
        if base is not None and device == base.device:
            raise RunDirError(f"{out} was run on {base.device_kind}: {err}") from None
        raise RunDirError(str(err)) from None
    return Settings(
        scale=scale or (base.scale if base else "quick"),
        seeds=tuple(sorted(set(seeds))) if seeds else (base.seeds if base else (0,)),
        device=device,
        device_kind=kind,
        kernelcap=kernelcap.__version__,
    )


def mismatch_message(out: Path, diff: list[tuple[str, str, str]]) -> str:
    """Why a run with other settings is refused, and what to do instead."""
    theirs = ", ".join(f"{name}={old}" for name, old, _ in diff)
    mine = ", ".join(f"{name}={new}" for name, _, new in diff)
    return (
        f"{out} holds a run with {theirs}; this check asks for {mine} (resume it without those "
        "options, use another --out, or --force to replace it)"
    )


def plan_check(out, claims, settings: Settings, resume: bool, force: bool, notes: list[str]):
    """Which stored records to reuse, and which made with other settings to remove (``force``)
    or refuse with RunDirError; ``notes`` gets a line for each record ignored or removed."""
    reuse: dict[tuple[str, int], dict] = {}
    conflicts: list[tuple[Path, str]] = []  # (record path, how it differs)
    for seed in settings.seeds:
        for c in claims:
            path = record_path(out, c.id, seed if settings.per_seed else None)
            if not path.exists():
                continue
            try:
                rec = read_record(path).record
            except (InvalidRecord, OSError) as err:
                notes.append(f"{path.relative_to(out)} is invalid ({err}); running it again")
                continue
            if diff := record_differences(rec, c, settings, seed):
                conflicts.append((path, ", ".join(diff)))
            elif resume and rec["verdict"] != "error":
                reuse[(c.id, seed)] = rec
    if conflicts and not force:
        path, diff = conflicts[0]
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise RunDirError(
            f"{path} was made with {diff}{more}; use another --out, or --force to replace "
            "such records"
        )
    for path, diff in conflicts:
        path.unlink()
        fig = out / FIGURES / path.relative_to(out / RECORDS).with_suffix(".png")  # same layout
        fig.unlink(missing_ok=True)
        notes.append(f"removed {path.relative_to(out)}, made with {diff} (--force)")
    return CheckPlan(out, settings, claims, reuse, tuple(notes))

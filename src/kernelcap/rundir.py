"""The run directory around the records: its manifest, the lock that admits one writer, cleanup.

``OUT/run.json`` (the manifest) holds the settings every record of the run was made with — scale,
seeds, the device asked for and the kind it resolved to, the kernelcap version — and the claims
that belong to the run. ``kernelcap check --out OUT --resume`` continues that run with those
settings; a check into ``OUT`` that asks for other settings is refused unless ``--force``.

``OUT/.lock`` is held with ``flock`` while a check writes (:func:`locked`); a second writer is
refused, and the temporary files a killed writer left behind are removed once the lock is held.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kernelcap.runtime import SCALES, check_seed
from kernelcap.store import (
    FIGURES,
    RECORDS,
    InvalidRecord,
    atomic_write_json,
    read_json,
    remove_temp_files,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock
    fcntl = None  # type: ignore[assignment]

MANIFEST = "run.json"
LOCK = ".lock"
MANIFEST_FORMAT = 1
MAX_SEEDS = 1000
REPORT_FILES = ("index.html", "summary.md")


class RunDirError(Exception):
    """A run directory that cannot be used as asked; the message is one line (CLI exit 2)."""


@dataclass(frozen=True)
class Settings:
    """What every record of a run shares.

    Attributes:
        scale: ``"smoke"``, ``"quick"`` or ``"paper"``.
        seeds: the seeds each claim runs at, sorted.
        device: the device asked for (``"auto"``, ``"cpu"``, ``"cuda:1"``, ...).
        device_kind: what it resolved to: ``"cpu"`` or ``"cuda (<GPU name>)"``.
        kernelcap: the kernelcap version.
    """

    scale: str
    seeds: tuple[int, ...]
    device: str
    device_kind: str
    kernelcap: str

    @property
    def per_seed(self) -> bool:
        """Several seeds: records are stored per seed (``records/<claim>/seed-<k>.json``)."""
        return len(self.seeds) > 1

    def differences(self, other: Settings) -> list[tuple[str, str, str]]:
        """``(name, this value, other value)`` for each setting that makes records incomparable."""
        out = []
        for name in ("scale", "seeds", "device_kind", "kernelcap"):
            a, b = getattr(self, name), getattr(other, name)
            if a != b:
                show = format_seeds if name == "seeds" else str
                out.append((name.replace("_kind", ""), show(a), show(b)))
        return out

    def describe(self) -> str:
        return (
            f"scale={self.scale}, seeds={format_seeds(self.seeds)}, device={self.device_kind}, "
            f"kernelcap {self.kernelcap}"
        )


@dataclass(frozen=True)
class Manifest:
    """``run.json``: the settings and the claims of the run (all the claims checked into it)."""

    settings: Settings
    claims: tuple[str, ...]
    created: str

    def to_json(self) -> dict:
        s = self.settings
        return {
            "format": MANIFEST_FORMAT,
            "scale": s.scale,
            "seeds": list(s.seeds),
            "device": s.device,
            "device_kind": s.device_kind,
            "kernelcap": s.kernelcap,
            "claims": sorted(self.claims),
            "created": self.created,
            "updated": _now(),
        }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_manifest(settings: Settings, claims: Iterable[str], old: Manifest | None) -> Manifest:
    """The manifest after checking ``claims`` into a run (``old``: the run's manifest, if any)."""
    ids = set(claims) | (set(old.claims) if old else set())
    return Manifest(settings, tuple(sorted(ids)), old.created if old else _now())


def read_manifest(run_dir: Path | str) -> Manifest | None:
    """The run's manifest, None when there is none; RunDirError when it is not a valid one."""
    path = Path(run_dir) / MANIFEST
    try:
        raw = read_json(path)
    except FileNotFoundError:
        return None
    except (InvalidRecord, OSError) as err:
        raise RunDirError(f"{path} is not a run manifest: {err}") from None
    try:
        if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format must be {MANIFEST_FORMAT}")
        scale, seeds, claims = raw["scale"], raw["seeds"], raw["claims"]
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}")
        if not isinstance(seeds, list) or not seeds:
            raise ValueError("seeds must be a non-empty list")
        seeds = tuple(sorted({check_seed(s) for s in seeds}))
        if not isinstance(claims, list) or not all(isinstance(c, str) for c in claims):
            raise ValueError("claims must be a list of ids")
        fields = {k: raw[k] for k in ("device", "device_kind", "kernelcap", "created")}
        if not all(isinstance(v, str) for v in fields.values()):
            raise ValueError("device, device_kind, kernelcap and created must be strings")
    except (KeyError, ValueError, TypeError) as err:
        what = f"no {err}" if isinstance(err, KeyError) else str(err)
        raise RunDirError(f"{path} is not a run manifest: {what}") from None
    settings = Settings(scale, seeds, fields["device"], fields["device_kind"], fields["kernelcap"])
    return Manifest(settings, tuple(claims), fields["created"])


def write_manifest(run_dir: Path | str, manifest: Manifest) -> None:
    atomic_write_json(Path(run_dir) / MANIFEST, manifest.to_json())


def clear_run(run_dir: Path | str) -> None:
    """Remove a run's records, figures, report and manifest (``--force`` on other settings)."""
    run_dir = Path(run_dir)
    for sub in (RECORDS, FIGURES):
        shutil.rmtree(run_dir / sub, ignore_errors=True)
        (run_dir / sub).mkdir()
    for name in (*REPORT_FILES, MANIFEST):
        (run_dir / name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------- seeds


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0-9"``, ``"0,3,5"`` or ``"0-4,7"`` → sorted distinct seeds (ValueError naming the
    problem)."""
    seeds: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m:
            raise ValueError(f"seeds look like 0-9 or 0,3,5; got {text!r}")
        lo = check_seed(int(m.group(1)))
        hi = check_seed(int(m.group(2))) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"seed range {lo}-{hi} is empty")
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise ValueError(f"at most {MAX_SEEDS} seeds, {text!r} asks for more")
        seeds.update(range(lo, hi + 1))
    return tuple(sorted(seeds))


def format_seeds(seeds: Iterable[int]) -> str:
    """The shortest of ``parse_seeds``' forms: ``(0, 1, 2, 3, 7)`` → ``"0-3,7"``."""
    parts, run = [], []
    for s in sorted(seeds):
        if run and s != run[-1] + 1:
            parts.append(run)
            run = []
        run.append(s)
    if run:
        parts.append(run)
    return ",".join(",".join(map(str, r)) if len(r) < 3 else f"{r[0]}-{r[-1]}" for r in parts)


# ----------------------------------------------------------------------------------------- lock


@contextlib.contextmanager
def locked(run_dir: Path | str) -> Iterator[Path]:
    """Hold ``run_dir`` for writing: create it, check it is writable, take its lock, and remove
    the temporary files a killed writer left behind. RunDirError (one line) when any step fails,
    before anything is run or written."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as err:
        raise RunDirError(f"cannot write to --out {run_dir}: {err.strerror or err}") from None
    try:
        _lock(fd, run_dir)
        for sub in (RECORDS, FIGURES):
            _probe(run_dir / sub)
        remove_temp_files(run_dir)
        yield run_dir
    finally:
        os.close(fd)  # releases the flock


def _lock(fd: int, run_dir: Path) -> None:
    if fcntl is None:  # pragma: no cover
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        raise RunDirError(
            f"{run_dir} is in use by another kernelcap check (pid {holder}); "
            "wait for it or use another --out"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _probe(folder: Path) -> None:
    probe = folder / f".probe.{secrets.token_hex(4)}.tmp"  # a name remove_temp_files knows
    try:
        folder.mkdir(exist_ok=True)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
        probe.unlink()
    except OSError as err:
        raise RunDirError(f"cannot write to {folder}: {err.strerror or err}") from None

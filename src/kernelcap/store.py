"""Results store: one JSON record per claim run, written atomically into a run directory.

Layout of a run directory::

    OUT/records/<claim-id>.json   the record (claim, scale, seed, config, versions, device, timings,
                                  rows, checks, verdict, summary, extras)
    OUT/figures/<claim-id>.png    theory over measurement
    OUT/index.html, OUT/summary.md   the report (see :mod:`kernelcap.report`)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RECORDS = "records"
FIGURES = "figures"


def to_jsonable(obj: Any) -> Any:
    """Convert NumPy/torch scalars and arrays, tuples and paths to plain JSON types.

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` so the files stay valid
    JSON; :func:`from_jsonable_float` reads them back.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return (
            obj
            if math.isfinite(obj)
            else ("nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf"))
        )
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy / torch arrays and scalars
        return to_jsonable(obj.tolist())
    if hasattr(obj, "item"):
        return to_jsonable(obj.item())
    return str(obj)


def from_jsonable_float(x: Any) -> float:
    if isinstance(x, str):
        return float(x)
    return float("nan") if x is None else float(x)


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def atomic_save_figure(fig, path: Path | str) -> None:
    """Save a matplotlib figure as PNG atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=150, format="png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_path(run_dir: Path | str, claim_id: str) -> Path:
    return Path(run_dir) / RECORDS / f"{claim_id}.json"


def figure_path(run_dir: Path | str, claim_id: str) -> Path:
    return Path(run_dir) / FIGURES / f"{claim_id}.png"


def load_records(run_dir: Path | str) -> list[dict]:
    """Every record in ``run_dir/records``, sorted by claim id (unreadable files are skipped)."""
    folder = Path(run_dir) / RECORDS
    records = []
    for p in sorted(folder.glob("*.json")):
        try:
            records.append(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return sorted(records, key=lambda r: r.get("claim", ""))


def load_record(run_dir: Path | str, claim_id: str) -> dict | None:
    p = record_path(run_dir, claim_id)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the numerical stack, for the record."""
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("kernelcap", "numpy", "scipy", "torch", "matplotlib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_records(run_dir: Path | str, records: Iterable[dict]) -> None:
    for rec in records:
        atomic_write_json(record_path(run_dir, rec["claim"]), rec)

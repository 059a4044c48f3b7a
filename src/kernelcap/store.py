"""Results store: JSON records written atomically into a run directory, validated when read back.

Layout of a run directory (see :mod:`kernelcap.rundir` for the manifest and the lock)::

    OUT/run.json                         the run's settings: scale, seeds, device kind, claims
    OUT/records/<claim>.json             a single-seed run: one record per claim
    OUT/records/<claim>/seed-<k>.json    a run over several seeds: one record per claim and seed
    OUT/figures/<claim>.png              (or figures/<claim>/seed-<k>.png) theory over measurement
    OUT/index.html, OUT/summary.md       the report (see :mod:`kernelcap.report`)

Files are written through a temporary file in the same folder and a rename, so a reader never
sees half a file; they are created with mode 0666 less the umask, like any other file.

A record is trusted only after :func:`validate_record`: its schema, its name against its
content, and its verdict recomputed from its stored checks with :func:`kernelcap.claim.passes`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import re
import secrets
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernelcap.claim import OPS, passes
from kernelcap.runtime import MAX_SEED, SCALES

RECORDS = "records"
FIGURES = "figures"
RECORD_FORMAT = 1
VERDICTS = ("pass", "fail", "error")
_TEMP_RE = re.compile(r"^\..+\.[0-9a-z_]{8}\.(tmp|png)$")
_SEED_FILE_RE = re.compile(r"^seed-(0|[1-9][0-9]*)\.json$")


# ------------------------------------------------------------------------------------ writing


def to_jsonable(obj: Any) -> Any:
    """Convert NumPy/torch scalars and arrays, tuples and paths to plain JSON types.

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` so the files stay valid
    JSON; :func:`as_float` reads them back.
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


def as_float(x: Any) -> float:
    """A stored number as a float: JSON numbers, and the strings ``"nan"``, ``"inf"``, ``"-inf"``.

    Raises ValueError for anything else (booleans, other strings, containers).
    """
    if isinstance(x, bool):
        raise ValueError(f"expected a number, got {x!r}")
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str) and x in ("nan", "inf", "-inf"):
        return float(x)
    raise ValueError(f"expected a number, got {x!r}")


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new file ``.<name>.<8 random chars>.tmp`` next to ``path``, opened for writing.

    Created with mode 0666 so the umask applies (``tempfile.mkstemp`` would make it 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {path}")


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename."""
    path = Path(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2) + "\n")


def atomic_save_figure(fig, path: Path | str) -> None:
    """Save a matplotlib figure as PNG (150 dpi) atomically (temp file + rename)."""
    path = Path(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, dpi=150, format="png")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_temp_files(folder: Path | str) -> list[Path]:
    """Delete the temporary files that killed writers left under ``folder`` (recursively).

    Only names of the form ``.<name>.<8 chars>.tmp`` (or ``.png``, from older versions) are
    touched. Call it only while no other process writes there (the run directory's lock).
    """
    removed = []
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            if _TEMP_RE.match(name):
                p = Path(dirpath) / name
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the numerical stack, for the record."""
    import importlib.metadata as md

    import kernelcap

    out = {"python": platform.python_version(), "platform": platform.platform()}
    out["kernelcap"] = kernelcap.__version__
    for pkg in ("numpy", "scipy", "torch", "matplotlib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


# ------------------------------------------------------------------------------------- layout


def record_path(run_dir: Path | str, claim_id: str, seed: int | None = None) -> Path:
    """``records/<claim>.json``, or ``records/<claim>/seed-<k>.json`` in a multi-seed run."""
    base = Path(run_dir) / RECORDS
    return base / f"{claim_id}.json" if seed is None else base / claim_id / f"seed-{seed}.json"


def figure_path(run_dir: Path | str, claim_id: str, seed: int | None = None) -> Path:
    base = Path(run_dir) / FIGURES
    return base / f"{claim_id}.png" if seed is None else base / claim_id / f"seed-{seed}.png"


# ------------------------------------------------------------------------------------ reading


class InvalidRecord(ValueError):
    """A record file that cannot be trusted; the message says why in one line."""


def read_json(path: Path | str) -> Any:
    """Parse a JSON file; InvalidRecord for bytes that are not UTF-8 JSON (OSError passes)."""
    data = Path(path).read_bytes()
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise InvalidRecord(f"not UTF-8 text (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise InvalidRecord(f"not JSON ({err.msg} at line {err.lineno})") from None


_FIELDS: dict[str, type | tuple[type, ...]] = {
    "claim": str,
    "scale": str,
    "seed": int,
    "device": str,
    "config": dict,
    "versions": dict,
    "timings": dict,
    "verdict": str,
    "summary": str,
    "checks": list,
    "rows": list,
    "extras": dict,
}
_CHECK_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "op": str,
    "passed": bool,
    "reason": str,
}


def device_kind_of(device: str) -> str:
    """The kind of a stored device description: ``"cuda:0 (NVIDIA H200)"`` → ``"cuda (NVIDIA
    H200)"``, ``"cpu"`` → ``"cpu"`` (for records written before ``device_kind`` was stored)."""
    head, _, name = device.partition(" ")
    return f"{head.split(':')[0]} {name}".strip()


def validate_record(
    rec: Any, *, claim_id: str | None = None, seed: int | None = None, known: Container[str] = None
) -> dict:
    """Check a loaded record and return it with its numbers as floats; InvalidRecord if not.

    Checked: the schema (fields and types), the claim id against ``claim_id`` and the seed
    against ``seed`` (both from the file name), that the claim is ``known`` (when given), and the
    verdict: every check's ``passed`` and the record's ``verdict`` are recomputed from the stored
    value, operator and bound, and a record whose stored verdict disagrees is invalid.
    """
    if not isinstance(rec, dict):
        raise InvalidRecord(f"a record is a JSON object, this is a JSON {_json_type(rec)}")
    fmt = rec.get("format", RECORD_FORMAT)
    if fmt != RECORD_FORMAT:
        raise InvalidRecord(f"record format {fmt!r}, this kernelcap reads {RECORD_FORMAT}")
    for name, kind in _FIELDS.items():
        if name not in rec:
            raise InvalidRecord(f"no {name!r}")
        if not isinstance(rec[name], kind) or (kind is int and isinstance(rec[name], bool)):
            raise InvalidRecord(f"{name!r} is a JSON {_json_type(rec[name])}")
    cid, verdict = rec["claim"], rec["verdict"]
    if claim_id is not None and cid != claim_id:
        raise InvalidRecord(f"the file is named for {claim_id!r} but holds a record of {cid!r}")
    if known is not None and cid not in known:
        raise InvalidRecord(f"unknown claim {cid!r}")
    if rec["scale"] not in SCALES:
        raise InvalidRecord(f"scale {rec['scale']!r} is not one of {', '.join(SCALES)}")
    if not 0 <= rec["seed"] <= MAX_SEED:
        raise InvalidRecord(f"seed {rec['seed']} is out of range")
    if seed is not None and rec["seed"] != seed:
        raise InvalidRecord(f"the file is named for seed {seed} but holds seed {rec['seed']}")
    if verdict not in VERDICTS:
        raise InvalidRecord(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    error = rec.get("error")
    if error is not None and not isinstance(error, str):
        raise InvalidRecord(f"'error' is a JSON {_json_type(error)}")
    out = dict(rec)
    out.setdefault("device_kind", device_kind_of(rec["device"]))
    if not isinstance(out["device_kind"], str):
        raise InvalidRecord(f"'device_kind' is a JSON {_json_type(out['device_kind'])}")
    out["checks"] = [_validate_check(k, j) for j, k in enumerate(rec["checks"])]
    if verdict == "error":
        if out["checks"] or not error:
            raise InvalidRecord("an 'error' verdict needs the error and no checks")
        return out
    if not out["checks"]:
        raise InvalidRecord(f"verdict {verdict!r} without any check")
    for k in out["checks"]:
        if k["passed"] != passes(k["value"], k["op"], k["bound"]):
            raise InvalidRecord(
                f"check {k['name']!r} = {k['value']:.4g} (need {k['op']} {k['bound']:.4g}) is "
                f"stored as {'passed' if k['passed'] else 'failed'}"
            )
    recomputed = "pass" if all(k["passed"] for k in out["checks"]) else "fail"
    if verdict != recomputed:
        raise InvalidRecord(f"stored verdict {verdict!r}, its checks give {recomputed!r}")
    return out


def _validate_check(k: Any, j: int) -> dict:
    if not isinstance(k, dict):
        raise InvalidRecord(f"check {j} is a JSON {_json_type(k)}")
    for name, kind in _CHECK_FIELDS.items():
        if not isinstance(k.get(name), kind):
            raise InvalidRecord(f"check {j} has no {kind.__name__} {name!r}")  # type: ignore[union-attr]
    if k["op"] not in OPS:
        raise InvalidRecord(f"check {k['name']!r} has operator {k['op']!r}")
    out = dict(k)
    for name in ("value", "bound"):
        try:
            out[name] = as_float(k.get(name))
        except ValueError:
            raise InvalidRecord(f"check {k['name']!r} has no numeric {name!r}") from None
    return out


def _json_type(x: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(x), "number")


@dataclass(frozen=True)
class StoredRecord:
    """A validated record and where it was read from."""

    path: Path
    record: dict
    per_seed: bool  # stored as records/<claim>/seed-<k>.json


@dataclass(frozen=True)
class RecordScan:
    """The records of a run directory: the valid ones and the files that could not be trusted."""

    valid: list[StoredRecord] = field(default_factory=list)
    invalid: list[tuple[Path, str]] = field(default_factory=list)  # (path, why)


def read_record(path: Path | str, *, known: Container[str] | None = None) -> StoredRecord:
    """Read and validate one record file, checking its content against its name.

    Raises InvalidRecord (and OSError when the file cannot be read).
    """
    path = Path(path)
    per_seed = path.parent.name != RECORDS
    if per_seed:
        m = _SEED_FILE_RE.match(path.name)
        if not m:
            raise InvalidRecord("not named seed-<k>.json")
        claim_id, seed = path.parent.name, int(m.group(1))
    else:
        claim_id, seed = path.stem, None
    rec = validate_record(read_json(path), claim_id=claim_id, seed=seed, known=known)
    return StoredRecord(path, rec, per_seed)


def scan_records(run_dir: Path | str, *, known: Container[str] | None = None) -> RecordScan:
    """Read every ``records/*.json`` and ``records/*/*.json`` under ``run_dir``, sorted by path."""
    folder = Path(run_dir) / RECORDS
    scan = RecordScan()
    paths = sorted([*folder.glob("*.json"), *folder.glob("*/*.json")])
    for p in paths:
        if p.name.startswith("."):
            continue
        try:
            scan.valid.append(read_record(p, known=known))
        except InvalidRecord as err:
            scan.invalid.append((p, str(err)))
        except OSError as err:
            scan.invalid.append((p, f"unreadable ({err.strerror or err})"))
    return scan


def load_records(run_dir: Path | str, *, known: Container[str] | None = None) -> list[dict]:
    """The valid records under ``run_dir``, sorted by claim id and seed (invalid ones left out;
    :func:`scan_records` lists them)."""
    recs = [s.record for s in scan_records(run_dir, known=known).valid]
    return sorted(recs, key=lambda r: (r["claim"], r["seed"]))

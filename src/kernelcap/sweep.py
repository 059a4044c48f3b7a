"""Resumable sweeps over a grid of points, on any ``concurrent.futures.Executor``.

Each finished point is written to ``checkpoint/<key>.json`` (temp file + rename) the moment it
finishes, with the in-process default as with any executor, so a killed or interrupted sweep loses
only the points that were running; run it again and only the rest is computed::

    results = sweep(measure, [{"n": n} for n in (100, 200, 400)], checkpoint="runs/ns")

    # paper-scale sweeps on a cluster: a Dask client exposes a standard Executor
    from distributed import Client
    with Client("scheduler:8786") as client:
        results = sweep(measure, points, executor=client.get_executor(), checkpoint="runs/ns")

A point's key hashes the function's identity (module and qualified name, and ``version``) with a
canonical form of the point: key order does not matter, but ``nan`` and ``"nan"``, ``(1, 2)`` and
``[1, 2]``, ``1`` and ``1.0`` are different points. The key does not see the function's code: pass a
new ``version`` when a change to it should invalidate stored results.

A point that raises does not stop the sweep: the others finish and are stored, the failure is
written to ``checkpoint/<key>.failed.json``, and :class:`SweepError` reports every failure at the
end (with the results of the rest). Ctrl-C stops the sweep after storing what finished. A stored
file that cannot be read is skipped with a warning and its point computed again.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import math
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernelcap.progress import progress
from kernelcap.store import InvalidRecord, atomic_write_json, read_json, to_jsonable

FORMAT = 1


class SweepWarning(UserWarning):
    """A checkpoint file was skipped (unreadable, or not the result of this point)."""


@dataclass(frozen=True)
class PointFailure:
    """A point whose function raised: its position, the point, ``"Type: message"``, traceback."""

    index: int
    point: dict
    error: str
    traceback: str


class SweepError(RuntimeError):
    """Some points raised. ``failures`` lists them; ``results`` holds every other point's result
    (None at the failed positions). The finished points are stored in the checkpoint."""

    def __init__(self, failures: list[PointFailure], results: list[Any]):
        self.failures, self.results = failures, results
        first = failures[0]
        super().__init__(
            f"{len(failures)} of {len(results)} sweep points failed (the others are kept); "
            f"first: point {first.index} {first.point!r}: {first.error}"
        )


def function_id(fn: Callable) -> str:
    """``module.qualname`` of ``fn`` (of the function inside a ``functools.partial``, with its
    bound arguments in canonical form)."""
    if isinstance(fn, functools.partial):
        bound = json.dumps(canonical([list(fn.args), dict(fn.keywords)]), separators=(",", ":"))
        return f"partial({function_id(fn.func)}, {bound})"
    owner = fn if hasattr(fn, "__qualname__") else type(fn)
    return f"{getattr(owner, '__module__', '?')}.{owner.__qualname__}"


def canonical(obj: Any) -> Any:
    """A JSON form of ``obj`` that tags every value with its type, with dict keys sorted.

    NumPy scalars count as the Python scalars they hold (a grid from ``np.linspace`` gives the
    same keys as the equal Python floats); arrays keep dtype and shape; dataclasses their type.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return ["int", str(obj)]
    if isinstance(obj, float):
        return ["float", repr(float(obj)) if math.isfinite(obj) else str(obj)]
    if isinstance(obj, (list, tuple)):
        return ["tuple" if isinstance(obj, tuple) else "list", *map(canonical, obj)]
    if isinstance(obj, Mapping):
        items = [[canonical(k), canonical(v)] for k, v in obj.items()]
        return ["dict", *sorted(items, key=lambda kv: json.dumps(kv, sort_keys=True))]
    if isinstance(obj, enum.Enum):
        return ["enum", f"{type(obj).__module__}.{type(obj).__qualname__}", obj.name]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return ["dataclass", f"{type(obj).__module__}.{type(obj).__qualname__}", canonical(fields)]
    if isinstance(obj, Path):
        return ["path", str(obj)]
    if hasattr(obj, "dtype") and hasattr(obj, "shape"):  # numpy / torch
        if getattr(obj, "shape", None) == () and hasattr(obj, "item"):
            return canonical(obj.item())
        return ["array", str(obj.dtype), list(obj.shape), canonical(obj.tolist())]
    raise TypeError(
        f"sweep points are built of None, bool, int, float, str, lists, tuples, dicts, enums, "
        f"dataclasses and arrays; got {type(obj).__name__}"
    )


def point_key(point: Mapping[str, Any], fn: Callable | str = "", version: str | None = None) -> str:
    """The checkpoint file name of ``point`` for ``fn`` (a function or its :func:`function_id`)."""
    fid = fn if isinstance(fn, str) else function_id(fn)
    blob = json.dumps(["kernelcap.sweep", FORMAT, fid, version, canonical(dict(point))])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def sweep(
    fn: Callable[..., Any],
    points: Sequence[Mapping[str, Any]],
    *,
    executor: Executor | None = None,
    checkpoint: str | Path | None = None,
    version: str | None = None,
    desc: str | None = None,
    show_progress: bool | None = None,
) -> list[Any]:
    """Evaluate ``fn(**point)`` for every point; results (JSON values) in the order of ``points``.

    Args:
        fn: the measurement; must be picklable when ``executor`` runs in other processes. It
            returns a JSON-serialisable value (a dict of numbers, typically); results come back as
            :func:`kernelcap.store.to_jsonable` makes them, fresh or stored alike.
        points: the grid, one mapping of keyword arguments per point (equal points run once).
        executor: any ``concurrent.futures.Executor`` (default: in-process, one after another).
        checkpoint: directory where each finished point's result is stored and found again.
        version: part of every key; change it when ``fn`` changes what it computes.
        desc: progress-bar label.

    Raises:
        SweepError: some points raised; every other point finished and was stored.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if version is not None and not isinstance(version, str):
        raise TypeError(f"version must be a str, got {type(version).__name__}")
    points = [dict(p) for p in points]
    if bad := [k for p in points for k in p if not isinstance(k, str)]:
        raise TypeError(f"point keys are keyword names (str), got {bad[0]!r}")
    fid = function_id(fn)
    keys = [point_key(p, fid, version) for p in points]
    store = _Checkpoint(Path(checkpoint), fid, version) if checkpoint is not None else None
    results: list[Any] = [None] * len(points)
    where: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        where.setdefault(k, []).append(i)
    todo = []
    for k, idx in where.items():
        found = store.load(k) if store is not None else _MISSING
        if found is _MISSING:
            todo.append(idx[0])
        else:
            for i in idx:
                results[i] = found
    failures: list[PointFailure] = []

    def finish(i: int, value: Any = None, err: BaseException | None = None) -> None:
        if err is None:
            value = to_jsonable(value)
            for j in where[keys[i]]:
                results[j] = value
            if store is not None:
                store.save(keys[i], points[i], value)
            return
        fail = PointFailure(
            i,
            points[i],
            f"{type(err).__name__}: {err}",
            "".join(traceback.format_exception(type(err), err, err.__traceback__)),
        )
        failures.extend(dataclasses.replace(fail, index=j) for j in where[keys[i]])
        if store is not None:
            store.save_failure(keys[i], fail)

    bar = progress(total=len(todo), desc=desc, enabled=show_progress)
    try:
        if executor is None:
            for i in todo:
                try:
                    value = fn(**points[i])
                except Exception as err:  # noqa: BLE001 - recorded; the other points go on
                    finish(i, err=err)
                else:
                    finish(i, value)
                bar.update()
        else:
            _run_on(executor, fn, points, todo, finish, bar)
    finally:
        bar.close()
    if failures:
        raise SweepError(sorted(failures, key=lambda f: f.index), results)
    return results


def _run_on(executor: Executor, fn, points, todo, finish, bar) -> None:
    futures = {executor.submit(fn, **points[i]): i for i in todo}
    handled = set()

    def handle(fut) -> None:
        handled.add(fut)
        try:
            err = fut.exception()
        except Exception as cancelled:  # noqa: BLE001 - cancelled elsewhere: a failure
            err = cancelled
        if err is None:
            finish(futures[fut], fut.result())
        elif isinstance(err, Exception):
            finish(futures[fut], err=err)
        else:
            raise err  # KeyboardInterrupt/SystemExit inside fn: stop, as in-process
        bar.update()

    try:
        for fut in as_completed(futures):
            handle(fut)
    except BaseException:
        for fut in futures:
            fut.cancel()
        for fut in futures:  # store what finished before giving up
            if fut not in handled and fut.done() and not fut.cancelled():
                try:
                    handle(fut)
                except BaseException:  # noqa: BLE001 - already stopping with the first one
                    pass
        raise


_MISSING = object()


@dataclass(frozen=True)
class _Checkpoint:
    folder: Path
    fid: str
    version: str | None

    def load(self, key: str) -> Any:
        path = self.folder / f"{key}.json"
        try:
            data = read_json(path)
        except FileNotFoundError:
            return _MISSING
        except (InvalidRecord, OSError) as err:
            return self._skip(path, str(err))
        if not isinstance(data, dict) or "result" not in data:
            return self._skip(path, "no result in it")
        if (data.get("key"), data.get("fn"), data.get("version")) != (key, self.fid, self.version):
            return self._skip(path, "it belongs to another function, version or point")
        return data["result"]

    def _skip(self, path: Path, why: str) -> Any:
        warnings.warn(
            f"sweep: skipping checkpoint {path} ({why}); computing its point again",
            SweepWarning,
            stacklevel=4,
        )
        return _MISSING

    def save(self, key: str, point: dict, value: Any) -> None:
        atomic_write_json(self.folder / f"{key}.json", self._head(key, point) | {"result": value})
        (self.folder / f"{key}.failed.json").unlink(missing_ok=True)

    def save_failure(self, key: str, fail: PointFailure) -> None:
        body = {"error": fail.error, "traceback": fail.traceback}
        atomic_write_json(self.folder / f"{key}.failed.json", self._head(key, fail.point) | body)

    def _head(self, key: str, point: dict) -> dict:
        return {
            "format": FORMAT,
            "key": key,
            "fn": self.fid,
            "version": self.version,
            "point": to_jsonable(point),
        }

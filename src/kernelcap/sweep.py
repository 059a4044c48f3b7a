"""Resumable sweeps over a grid of points, on any ``concurrent.futures.Executor``.

Each finished point is written to ``checkpoint/<key>.json`` atomically as soon as it is done, so an
interrupted sweep resumes without redoing or losing work::

    from concurrent.futures import ProcessPoolExecutor
    results = sweep(measure, [{"n": n} for n in (100, 200, 400)], checkpoint="runs/ns")

    # paper-scale sweeps on a cluster: a Dask client exposes a standard Executor
    from distributed import Client
    with Client("scheduler:8786") as client:
        results = sweep(measure, points, executor=client.get_executor(), checkpoint="runs/ns")

The default executor is in-process (points run one after another in the caller's thread).
``fn(**point)`` must return a JSON-serialisable value (a dict of numbers, typically).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, as_completed
from pathlib import Path
from typing import Any

from kernelcap.progress import progress
from kernelcap.store import atomic_write_json, to_jsonable


def point_key(point: Mapping[str, Any]) -> str:
    """A stable file name for a grid point (sorted keys, SHA-1 of its JSON)."""
    blob = json.dumps(to_jsonable(dict(point)), sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


class _InlineExecutor(Executor):
    """Runs each submitted call immediately in the calling thread."""

    def submit(self, fn, /, *args, **kwargs):
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(err)
        return fut


def sweep(
    fn: Callable[..., Any],
    points: Sequence[Mapping[str, Any]],
    *,
    executor: Executor | None = None,
    checkpoint: str | Path | None = None,
    desc: str | None = None,
    show_progress: bool | None = None,
) -> list[Any]:
    """Evaluate ``fn(**point)`` for every point; results in the order of ``points``.

    Args:
        fn: the measurement; must be picklable when ``executor`` runs in other processes.
        points: the grid, one mapping of keyword arguments per point.
        executor: any ``concurrent.futures.Executor`` (default: in-process, sequential).
        checkpoint: directory where each finished point's result is stored and found again.
        desc: progress-bar label.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    points = [dict(p) for p in points]
    folder = Path(checkpoint) if checkpoint is not None else None
    results: list[Any] = [None] * len(points)
    todo: list[int] = []
    for i, p in enumerate(points):
        cached = folder / f"{point_key(p)}.json" if folder else None
        if cached is not None and cached.exists():
            results[i] = json.loads(cached.read_text(encoding="utf-8"))["result"]
        else:
            todo.append(i)
    ex = executor if executor is not None else _InlineExecutor()
    futures = {ex.submit(fn, **points[i]): i for i in todo}
    for fut in progress(
        as_completed(futures), total=len(futures), desc=desc, enabled=show_progress
    ):
        i = futures[fut]
        results[i] = to_jsonable(fut.result())
        if folder is not None:
            atomic_write_json(
                folder / f"{point_key(points[i])}.json", {"point": points[i], "result": results[i]}
            )
    return results

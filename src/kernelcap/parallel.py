"""Claims in parallel: worker processes on this machine, or any executor (a Dask cluster).

``kernelcap check --executor processes -j N`` and ``--executor dask --scheduler ADDR`` come here
through :func:`kernelcap.runner.check`. Every claim × seed is one :class:`Task`. A worker runs it
(:func:`run_task`) and returns the record and the figure as PNG bytes; the client — the process
that holds the run directory's lock — writes both as each task finishes. Workers write nothing.

* **Claims travel by reference**: a task names the claim's id and where it was loaded from (a
  module with ``CLAIMS``, an entry point), and the worker imports only that; a claim registered
  otherwise (built in a script or a test) is pickled whole.
* **Threads**: each process worker gets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and
  ``OPENBLAS_NUM_THREADS`` = CPUs // workers (at least 1; a value already set in the
  environment is kept) before it imports torch or NumPy, so N workers do not fight over the
  cores. Dask's nanny sets them to 1 for its worker processes. Nothing here calls
  ``torch.set_num_threads`` (see :func:`kernelcap.runtime.single_cpu_thread` for why).
* **Failures**: an exception inside a claim is its ``"error"`` record, made by the worker; one
  outside it (the worker could not import the claim, the task could not be pickled) becomes an
  ``"error"`` record made here. When a worker process dies (killed, out of memory, a crash), the
  pool is restarted and the claims that were running on it are run again one at a time, so only
  the claim that kills its worker gets an ``"error"`` record ("its worker process died").
* **Ctrl-C** cancels what has not started, keeps every record already written, and ends the
  worker processes.
"""

from __future__ import annotations

import os
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kernelcap.claim import Claim
    from kernelcap.registry import Source

EXECUTORS = ("inprocess", "processes", "dask")
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
CONNECT_TIMEOUT_S = 20.0  # how long --executor dask tries to reach its scheduler


@dataclass(frozen=True)
class Task:
    """One claim at one seed, as sent to a worker."""

    claim_id: str
    scale: str
    seed: int
    device: str
    source: Source | None = None  # where the worker loads the claim from
    claim: Claim | None = None  # the claim itself, when it has no source


@dataclass(frozen=True)
class Outcome:
    """What came back for a task: the record and PNG bytes, or the error (a traceback)."""

    record: dict | None = None
    png: bytes | None = None
    error: str | None = None
    wall_s: float = float("nan")
    worker: str | None = None


def task_for(c: Claim, scale: str, seed: int, device: str) -> Task:
    from kernelcap.registry import source_of

    source = source_of(c)
    return Task(c.id, scale, seed, device, source, None if source is not None else c)


def run_task(task: Task) -> tuple[dict, bytes | None]:
    """Run one task in a worker: the claim's record (figure not yet stored) and its PNG bytes."""
    import io

    from kernelcap.registry import load_source
    from kernelcap.runner import run_claim
    from kernelcap.runtime import Runtime

    c = task.claim if task.claim is not None else load_source(task.source, task.claim_id)
    rt = Runtime(device=task.device, seed=task.seed, scale=task.scale)
    res = run_claim(c, task.scale, rt)
    png = None
    fig = res.evidence.figure if res.evidence is not None else None
    if fig is not None:
        buf = io.BytesIO()
        fig.savefig(buf, dpi=150, format="png")
        png = buf.getvalue()
    return res.record, png


def worker_threads(jobs: int) -> int:
    """Intra-op threads per worker process: the CPUs this process may use // ``jobs``, ≥ 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // jobs)


def _init_worker(threads: int) -> None:
    """Process-worker initializer: runs before the worker imports torch or NumPy."""
    for var in THREAD_VARS:
        os.environ.setdefault(var, str(threads))


def _worker_name() -> str:
    import socket

    return f"{socket.gethostname()} pid {os.getpid()}"


def _run_task_here(task: Task):
    return run_task(task), _worker_name()


# ------------------------------------------------------------------------------------ pools


class Pool:
    """Where tasks run; a context manager that releases its workers on exit."""

    inprocess = False
    limit: int | None = None  # most tasks submitted at once (None: all)

    def device_kind(self, device: str) -> str:
        from kernelcap.runner import device_kind

        return device_kind(device)

    def submit(self, fn, *args) -> Future:  # pragma: no cover - overridden
        raise NotImplementedError

    def restart(self) -> bool:
        """Replace workers after one died; False when this pool cannot."""
        return False

    def close(self, interrupted: bool = False) -> None:
        pass

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind, err, tb) -> None:
        self.close(interrupted=kind is not None)

    def describe(self) -> str:
        return "in-process"


class InProcess(Pool):
    """The default: claims run in this process, one after another (the runner's own loop)."""

    inprocess = True


class Processes(Pool):
    """``jobs`` spawned worker processes on this machine (``ProcessPoolExecutor``)."""

    def __init__(self, jobs: int | None = None):
        if jobs is None:
            jobs = worker_threads(1)
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
        self.jobs = self.limit = jobs
        self.threads = worker_threads(jobs)
        self._ex = None

    def _executor(self):
        if self._ex is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._ex = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.threads,),
            )
        return self._ex

    def submit(self, fn, *args) -> Future:
        return self._executor().submit(fn, *args)

    def restart(self) -> bool:
        self.close(interrupted=True)
        return True

    def close(self, interrupted: bool = False) -> None:
        ex, self._ex = self._ex, None
        if ex is None:
            return
        if not interrupted:
            ex.shutdown(wait=True)
            return
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:  # a worker still inside a claim would keep the interpreter waiting
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():  # SIGTERM not honoured in time (a busy, contended worker)
                p.kill()
                p.join(timeout=5)

    def describe(self) -> str:
        return f"{self.jobs} worker process(es), {self.threads} thread(s) each"


class OnExecutor(Pool):
    """Any ``concurrent.futures.Executor`` (a Dask ``ClientExecutor``); its owner shuts it down.

    The device kind is asked of a worker, since the client may have no GPU."""

    def __init__(self, executor: Executor, description: str | None = None):
        self.executor = executor
        self._description = description or type(executor).__name__
        self.n_workers: int | None = None  # when known (a Dask cluster's, at connection)

    def device_kind(self, device: str) -> str:
        from kernelcap.runner import device_kind

        try:
            return self.executor.submit(device_kind, device).result()
        except (ValueError, TypeError):
            raise  # the device itself: "CUDA is not available" on the workers
        except Exception as err:  # noqa: BLE001 - e.g. kernelcap not installed on the workers
            first = (str(err).strip().splitlines() or [""])[0]
            raise ValueError(
                f"a worker could not resolve the device {device!r}: {type(err).__name__}: {first}"
            ) from err

    def submit(self, fn, *args) -> Future:
        return self.executor.submit(fn, *args)

    def describe(self) -> str:
        return self._description


def make_pool(executor: str | Executor | Pool | None = None, jobs: int | None = None) -> Pool:
    """The pool for :func:`kernelcap.runner.check`'s ``executor`` and ``jobs``."""
    if isinstance(executor, Pool):
        pool = executor
    elif executor is None or executor == "inprocess":
        pool = InProcess()
    elif executor == "processes":
        return Processes(jobs)
    elif isinstance(executor, Executor):
        pool = OnExecutor(executor)
    elif executor == "dask":
        raise ValueError(
            "executor 'dask' needs a client: pass distributed.Client(address).get_executor()"
        )
    else:
        raise ValueError(
            f"executor must be one of {', '.join(EXECUTORS)} or a concurrent.futures.Executor, "
            f"got {executor!r}"
        )
    if jobs is not None:
        raise ValueError("jobs is for executor='processes' only")
    return pool


def dask_pool(address: str, timeout: float | None = None) -> tuple[Any, OnExecutor]:
    """Connect to the Dask scheduler at ``address``: ``(client, pool)``; close the client after.

    Raises ValueError (one line) when dask is not installed or the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            "--executor dask needs the dask extra: pip install 'kernelcap[dask]'"
        ) from None
    try:
        client = Client(
            address,
            timeout=CONNECT_TIMEOUT_S if timeout is None else timeout,
            set_as_default=False,
        )
    except (OSError, TimeoutError, ValueError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot reach the dask scheduler at {address}: {msg}") from None
    n = len(client.scheduler_info().get("workers", {}))
    pool = OnExecutor(
        client.get_executor(pure=False), f"dask scheduler {address} ({n} worker(s) now)"
    )
    pool.n_workers = n
    return client, pool


# ------------------------------------------------------------------------------------- loop


def _describe_error(err: BaseException) -> str:
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__)).rstrip()
    head = "running it on a worker failed"
    if "pickle" in str(err).lower():
        head += (
            " (a claim reaches a worker by reference when it was loaded from a module or an "
            "entry point, else pickled whole: load it with --module, or define its functions at "
            "module level)"
        )
    return f"{head}:\n{text}"


def run_tasks(tasks: Sequence[Task], pool: Pool, on_done: Callable[[Task, Outcome], None]) -> None:
    """Run ``tasks`` on ``pool``, calling ``on_done(task, outcome)`` here as each finishes.

    At most ``pool.limit`` tasks are submitted at once. When a process pool breaks, the tasks
    that were running are run again one at a time on a new pool; the one that breaks it alone is
    reported as dead. On KeyboardInterrupt (or any exception from ``on_done``) pending tasks are
    cancelled, those already finished are still handed to ``on_done``, and the error propagates.
    """
    queue: deque[Task] = deque(tasks)
    suspects: deque[Task] = deque()
    running: dict[Future, tuple[Task, float, bool]] = {}

    def finish(fut: Future, broken: list[Task]) -> bool:
        """Hand a finished future's outcome on; True when its pool broke."""
        task, t0, alone = running.pop(fut)
        wall = time.perf_counter() - t0
        try:
            err = fut.exception()
        except CancelledError as cancelled:
            err = cancelled
        if err is None:
            (rec, png), worker = fut.result()
            on_done(task, Outcome(rec, png, wall_s=wall, worker=worker))
        elif isinstance(err, BrokenProcessPool):
            if not alone:
                broken.append(task)  # it, or one beside it, killed the pool: run it again alone
                return True
            on_done(
                task,
                Outcome(
                    error="its worker process died while running it (killed, out of memory or "
                    f"crashed), also when run alone: {type(err).__name__}: {err}",
                    wall_s=wall,
                ),
            )
            return True
        elif isinstance(err, Exception):
            on_done(task, Outcome(error=_describe_error(err), wall_s=wall))
        else:
            raise err  # KeyboardInterrupt/SystemExit in a worker: stop, as in-process
        return False

    try:
        while queue or suspects or running:
            while not (suspects and running):
                if suspects:
                    task, alone = suspects.popleft(), True
                elif queue and (pool.limit is None or len(running) < pool.limit):
                    task, alone = queue.popleft(), False
                else:
                    break
                t0 = time.perf_counter()
                try:
                    fut = pool.submit(_run_task_here, task)
                except Exception as err:  # noqa: BLE001 - e.g. a shut-down executor: recorded
                    on_done(task, Outcome(error=_describe_error(err), wall_s=0.0))
                    continue
                running[fut] = (task, t0, alone)
                if alone:
                    break
            if not running:
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            broken: list[Task] = []
            pool_broke = False
            for fut in done:
                pool_broke |= finish(fut, broken)
            if pool_broke:
                wait(list(running))  # the rest of a broken pool fails at once
                for fut in list(running):
                    finish(fut, broken)
                if pool.restart():
                    suspects.extend(broken)
                else:
                    for task in broken:
                        on_done(task, Outcome(error="the executor's worker pool broke"))
    except BaseException:
        for fut in running:
            fut.cancel()
        for fut in list(running):  # store what finished before stopping
            if fut.done() and not fut.cancelled():
                try:
                    finish(fut, [])
                except BaseException:  # noqa: BLE001 - already stopping with the first error
                    pass
        raise

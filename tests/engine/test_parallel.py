"""--executor processes / dask: claims and seeds in parallel, records written here as each finishes.

The claims are the toys of ``tests/engine/_parallel_claims.py``, loaded with ``--module`` so that
workers load them by reference, as they would a user's claims.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernelcap import parallel, registry
from kernelcap.cli import main
from kernelcap.store import load_records
from tests.engine import _parallel_claims as pc

MOD = "tests.engine._parallel_claims"


def _own_registry(mp):
    """Only the claims a test loads (no kernelcap claims), and nothing left behind."""
    mp.setattr(registry, "_REGISTRY", {})
    mp.setattr(registry, "_SOURCES", {})
    mp.setattr(registry, "_LOADED", True)
    for var in (*parallel.THREAD_VARS, pc.WAIT_FOR, pc.ALLOW_CRASH):
        mp.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def own_registry(monkeypatch):
    _own_registry(monkeypatch)


def check(out, *args):
    argv = ["check", "--module", MOD, "--scale", "smoke", "--device", "cpu", "--out", str(out)]
    return main([*argv, *args])


def numbers(run_dir):
    """(claim, seed) -> what a run measured and decided, without timings, versions or errors."""
    return {
        (r["claim"], r["seed"]): (r["verdict"], r["checks"], r["rows"], r["config"])
        for r in load_records(run_dir)
    }


RUN = ["par.fast", "par.raises", "par.wrong", "--seeds", "0-1"]


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    """The records of RUN in-process, one after another: what every executor must give."""
    out = tmp_path_factory.mktemp("in-process")
    with pytest.MonkeyPatch.context() as mp:
        _own_registry(mp)
        assert check(out, *RUN) == 1
    found = numbers(out)
    assert len(found) == 6 and {v[0] for v in found.values()} == {"pass", "fail", "error"}
    return found


def test_processes_give_the_in_process_records_and_resume(in_process, tmp_path, capsys):
    assert check(tmp_path, *RUN, "--executor", "processes", "-j", "2") == 1
    out = capsys.readouterr().out
    assert "on 2 worker process(es)" in out
    assert re.search(r"par\.raises +1 ERROR .* ValueError: boom from par\.raises", out)
    assert "1/3 claims pass at every seed (0,1); 2/6 claim runs pass" in out
    assert numbers(tmp_path) == in_process
    for cid in ("par.fast", "par.wrong"):
        for seed in range(2):
            rec = json.loads((tmp_path / "records" / cid / f"seed-{seed}.json").read_text())
            assert rec["figure"] == f"figures/{cid}/seed-{seed}.png"
            assert (tmp_path / rec["figure"]).stat().st_size > 1000
    summary = (tmp_path / "summary.md").read_text()
    assert "1/3 claims pass at every seed (0,1); 2/6 claim runs pass" in summary
    # resuming runs only the errors again
    assert check(tmp_path, "--resume", "--executor", "processes", "-j", "2") == 1
    assert capsys.readouterr().out.count("(resumed)") == 4


def test_records_are_written_as_each_claim_finishes(tmp_path, monkeypatch):
    # par.waits passes only if par.fast's record is written while par.waits is still running
    monkeypatch.setenv(pc.WAIT_FOR, str(tmp_path / "records" / "par.fast.json"))
    assert check(tmp_path, "par.fast", "par.waits", "--executor", "processes", "-j", "2") == 0
    recs = {r["claim"]: r for r in load_records(tmp_path)}
    assert {c: r["verdict"] for c, r in recs.items()} == {"par.fast": "pass", "par.waits": "pass"}
    # each worker's torch got CPUs // workers threads, set before torch was imported
    expected = parallel.worker_threads(2)
    assert recs["par.waits"]["extras"] == {"torch_threads": expected, "omp": str(expected)}


def test_worker_failures_become_error_records(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(pc.ALLOW_CRASH, "1")
    # a claim with no module to load it from travels pickled; a lambda cannot be
    registry.register(pc._claim("unpicklable", measure=lambda cfg, rt: None))
    argv = ["par.crash", "par.fast", "par.raises", "par.unpicklable"]
    assert check(tmp_path, *argv, "--executor", "processes", "-j", "2") == 1
    recs = {r["claim"]: r for r in load_records(tmp_path)}
    assert {c: r["verdict"] for c, r in recs.items()} == {
        "par.crash": "error",
        "par.fast": "pass",  # ran beside the crash, then again alone
        "par.raises": "error",
        "par.unpicklable": "error",
    }
    assert "its worker process died while running it" in recs["par.crash"]["error"]
    assert "ValueError: boom from par.raises" in recs["par.raises"]["error"]
    assert "pickle" in recs["par.unpicklable"]["error"].lower()
    assert recs["par.fast"]["figure"] == "figures/par.fast.png"
    assert "1/4 claims pass" in capsys.readouterr().out


def _processes_tagged(tag: str) -> list[int]:
    """PIDs of live processes whose environment carries ``tag`` (Linux /proc)."""
    pids = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if tag.encode() in env.read_bytes():
                pids.append(int(env.parent.name))
        except OSError:  # gone, or not ours to read
            continue
    return pids


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_ctrl_c_keeps_finished_records_and_ends_the_workers(tmp_path):
    """Ctrl-C of the command (SIGINT to its process, as a terminal sends it) while one claim is
    stored and another still runs in a worker: exit 130, the finished record kept, the lock
    released, and no worker process left. A subprocess, so nothing of pytest's own process (its
    threads, earlier tests, an inherited ignored SIGINT) stands between the signal and the
    command."""
    tag = f"KERNELCAP_CTRL_C_TEST={os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, tag.split("=")[0]: tag.split("=")[1]}
    env.pop(pc.WAIT_FOR, None)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2])] + sys.path)
    argv = ["check", "--module", MOD, "--scale", "smoke", "--device", "cpu", "--out", str(tmp_path)]
    # As in a terminal's foreground job: a background job of a non-interactive shell (how CI or
    # a script may start pytest) inherits SIGINT ignored, and Python then keeps ignoring it. Set
    # in the child itself (preexec_fn is unsafe with threads in this process).
    terminal = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from kernelcap.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    cmd = [sys.executable, "-c", terminal, *argv, "par.fast", "par.sleeps"]
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd + ["--executor", "processes", "-j", "2"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    fast = tmp_path / "records" / "par.fast.json"
    while not fast.exists() and proc.poll() is None and time.monotonic() - start < 120:
        time.sleep(0.05)
    assert fast.exists(), proc.communicate(timeout=150)[1]
    time.sleep(0.5)  # the command is back to waiting on par.sleeps (it sleeps 120 s)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    assert time.monotonic() - start < 120  # par.sleeps was not waited for
    assert "interrupted: finished claims are stored" in err
    assert [r["claim"] for r in load_records(tmp_path)] == ["par.fast"]
    deadline = time.monotonic() + 15  # terminated workers may take a moment to be reaped
    while _processes_tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_tagged(tag)  # the workers are gone
    assert check(tmp_path, "par.fast", "--resume") == 0  # and the lock released


def test_dask_local_cluster_runs_claims_and_seeds(in_process, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        addr = cluster.scheduler_address
        assert check(tmp_path, *RUN, "--executor", "dask", "--scheduler", addr) == 1
    assert f"on dask scheduler {addr} (2 worker(s) now)" in capsys.readouterr().out
    assert numbers(tmp_path) == in_process
    rec = json.loads((tmp_path / "records" / "par.raises" / "seed-1.json").read_text())
    assert "ValueError: boom from par.raises" in rec["error"]
    assert (tmp_path / "figures" / "par.wrong" / "seed-1.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "args, needle",
    [
        (["-j", "2"], "-j/--jobs is for --executor processes"),
        (["--executor", "processes", "-j", "0"], "jobs must be an integer >= 1, got '0'"),
        (["--executor", "dask"], "--executor dask needs --scheduler ADDR"),
        (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler is for --executor dask"),
        (
            ["--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"],
            "cannot reach the dask scheduler at tcp://127.0.0.1:9",
        ),
        (["--executor", "threads"], "invalid choice: 'threads'"),
    ],
)
def test_executor_usage_errors_exit_2_with_one_line(tmp_path, capsys, monkeypatch, args, needle):
    pytest.importorskip("distributed")
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(SystemExit) as info:
        raise SystemExit(check(tmp_path, "par.fast", *args))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "records").exists()


def test_dask_executor_without_dask_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    assert check(tmp_path, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9") == 2
    assert "pip install 'kernelcap[dask]'" in capsys.readouterr().err


def test_check_api_refuses_bad_executors(tmp_path):
    from kernelcap.runner import check as run

    with pytest.raises(ValueError, match="executor must be one of inprocess, processes, dask"):
        run([], tmp_path, executor="threads")
    with pytest.raises(ValueError, match="jobs is for executor='processes' only"):
        run([], tmp_path, jobs=2)
    with pytest.raises(ValueError, match="jobs must be an int >= 1"):
        run([], tmp_path, executor="processes", jobs=0)


def test_any_executor_and_records_from_another_kernelcap_are_errors(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from kernelcap import runner

    registry.load_module(MOD)
    claims = [registry.get_claim("par.fast")]
    with ThreadPoolExecutor(2) as ex:
        outcome = runner.check(claims, tmp_path / "a", scale="smoke", device="cpu", executor=ex)
        assert [r.verdict for r in outcome.results] == ["pass"]
        assert outcome.plan.where == "ThreadPoolExecutor"
        # a worker with other code: its record is not mixed into the run
        real = runner.versions
        monkeypatch.setattr(runner, "versions", lambda: {**real(), "kernelcap": "9.9"})
        outcome = runner.check(claims, tmp_path / "b", scale="smoke", device="cpu", executor=ex)
    (rec,) = [r.record for r in outcome.results]
    assert rec["verdict"] == "error"
    assert "the worker's record was made with kernelcap=9.9 (this run: " in rec["error"]

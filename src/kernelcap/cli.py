"""Command line: ``kernelcap list | check | report`` (also ``python -m kernelcap``).

Exit codes: 0 all claims pass (at every seed), 1 a claim failed or errored, 2 usage error, a claim
module or entry point that cannot be loaded, or a run directory that cannot be used as asked (one
line on stderr, before any claim runs), 130 Ctrl-C.

Importing this module is light (no NumPy, no torch): worker processes import it first.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import kernelcap
from kernelcap.runtime import SCALES, check_seed


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(2, f"kernelcap: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kernelcap", description="Run kernelcap's theory-vs-experiment claims.")
    p.add_argument("--version", action="version", version=f"kernelcap {kernelcap.__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ls = sub.add_parser("list", help="list registered claims with statements and sources")
    ls.add_argument("patterns", nargs="*", help="claim ids or globs (default: all)")
    _module_option(ls)

    ck = sub.add_parser(
        "check",
        help="run claims and write records, figures and the report",
        description="Settings not given are taken from the run in --out (its run.json), "
        "else the defaults.",
    )
    ck.add_argument(
        "patterns",
        nargs="*",
        help="claim ids or globs like 'hopfield.*' (default: the run's claims, else all)",
    )
    ck.add_argument("--scale", choices=SCALES, help="experiment size (default: quick)")
    ck.add_argument("--device", help="auto (CUDA if present; the default), cpu, cuda, cuda:i")
    seeds = ck.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, help="random seed (default 0)")
    seeds.add_argument(
        "--seeds", type=_seeds, help="run each claim at these seeds: 0-9, 0,3,5 or 0-4,7"
    )
    ck.add_argument(
        "--out", type=Path, default=None, help="run directory (default: runs/<timestamp>)"
    )
    ck.add_argument(
        "--resume",
        action="store_true",
        help="reuse the records in --out made with the same claim, scale, seed, config, device "
        "kind and kernelcap version",
    )
    ck.add_argument(
        "--force",
        action="store_true",
        help="replace a run (or records) in --out made with other settings instead of refusing",
    )
    ck.add_argument("--no-report", action="store_true", help="do not write index.html/summary.md")
    _module_option(ck)
    ck.add_argument(
        "--executor",
        choices=("inprocess", "processes", "dask"),
        default="inprocess",
        help="where claims run: here one after another (the default), in -j worker processes, "
        "or on the dask cluster at --scheduler; records are written here as each finishes",
    )
    ck.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        help="worker processes for --executor processes (default: the CPUs available)",
    )
    ck.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="the dask scheduler's address for --executor dask, e.g. tcp://10.0.0.5:8786",
    )

    rp = sub.add_parser("report", help="rebuild index.html and summary.md from a run directory")
    rp.add_argument("run_dir", type=Path)
    _module_option(rp)
    return p


def _module_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="MODULE",
        help="also load the claims in MODULE's CLAIMS tuple, e.g. mypkg.claims (repeatable; "
        "installed packages' 'kernelcap.claims' entry points load without it)",
    )


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"jobs must be an integer >= 1, got {text!r}")
    return n


def _seed(text: str) -> int:
    try:
        return check_seed(int(text))
    except ValueError as err:
        msg = str(err) if "[0," in str(err) else f"seed must be an integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _seeds(text: str) -> tuple[int, ...]:
    from kernelcap.rundir import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _usage_error(message: str) -> int:
    print(f"kernelcap: error: {message}", file=sys.stderr)
    return 2


def _load(modules: list[str]) -> None:
    """Register kernelcap's claims, installed packages' and those of ``--module`` (in order)."""
    from kernelcap import registry

    registry.load_all()
    for name in modules:
        registry.load_module(name)


def cmd_list(args) -> int:
    from kernelcap.registry import ClaimLoadError, UnknownClaimError, select

    try:
        _load(args.module)
        claims = select(args.patterns)
    except (ClaimLoadError, UnknownClaimError) as err:
        return _usage_error(str(err))
    for c in claims:
        print(c.id)
        print(textwrap.fill(c.statement, 96, initial_indent="    ", subsequent_indent="    "))
        print(f"    source: {c.source}")
    return 0


def cmd_check(args) -> int:
    from kernelcap.registry import ClaimLoadError, UnknownClaimError, select

    try:
        _load(args.module)
        claims = select(args.patterns) if args.patterns else None
    except (ClaimLoadError, UnknownClaimError) as err:
        return _usage_error(str(err))
    if args.resume and args.out is None:
        return _usage_error("--resume needs --out: the run directory to resume")
    if args.jobs is not None and args.executor != "processes":
        return _usage_error("-j/--jobs is for --executor processes")
    if (args.scheduler is not None) != (args.executor == "dask"):
        return _usage_error(
            "--executor dask needs --scheduler ADDR"
            if args.scheduler is None
            else "--scheduler is for --executor dask"
        )
    if args.executor != "dask" and args.device is not None:
        from kernelcap.runtime import resolve_device

        try:  # a cluster's workers resolve the device themselves
            resolve_device(args.device)
        except (ValueError, TypeError) as err:
            return _usage_error(str(err))
    client = None
    if args.executor == "dask":
        from kernelcap.parallel import dask_pool

        try:
            client, executor = dask_pool(args.scheduler)
        except ValueError as err:
            return _usage_error(str(err))
        if not executor.n_workers:
            print(f"kernelcap: waiting for a worker to join {args.scheduler}", file=sys.stderr)
    else:
        executor = args.executor
    try:
        return _check(args, claims, executor)
    finally:
        if client is not None:
            client.close()


def _check(args, claims, executor) -> int:
    from kernelcap.rundir import RunDirError
    from kernelcap.runner import check

    out = args.out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    seeds = (args.seed,) if args.seed is not None else args.seeds
    table = _Table()
    start = time.perf_counter()
    try:
        outcome = check(
            claims,
            out,
            scale=args.scale,
            seeds=seeds,
            device=args.device,
            resume=args.resume,
            force=args.force,
            report=not args.no_report,
            on_start=table.start,
            on_result=table.row,
            executor=executor,
            jobs=args.jobs,
        )
    except RunDirError as err:
        return _usage_error(str(err))
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished claims are stored; continue with "
            f"kernelcap check --out {out} --resume",
            file=sys.stderr,
        )
        return 130
    except OSError as err:
        return _usage_error(f"cannot write the run to {out}: {err}")
    table.end(outcome, time.perf_counter() - start)
    if outcome.report is not None:
        print(f"report: {outcome.report[0]} and {outcome.report[1]}")
    return 0 if outcome.passed else 1


class _Table:
    """The terminal claim table, printed as the run goes."""

    width = 0
    per_seed = False

    def start(self, plan) -> None:
        from kernelcap.rundir import format_seeds

        s = plan.settings
        self.width = max((len(c.id) for c in plan.claims), default=5) + 1
        self.per_seed = s.per_seed
        n = len(plan.claims)
        print(
            f"kernelcap check: {n} claim(s), scale={s.scale}, device={s.device_kind}, "
            f"seed{'s' if s.per_seed else ''}={format_seeds(s.seeds)}, out={plan.out_dir}"
            + ("" if plan.where == "in-process" else f", on {plan.where}"),
            flush=True,
        )
        for note in plan.notes:
            print(f"note: {note}", flush=True)
        if plan.reuse:
            runs = n * len(s.seeds)
            print(f"resuming: {len(plan.reuse)} of {runs} claim runs have a matching record")
        seed = f"{'seed':>6} " if self.per_seed else ""
        print(f"{'claim':<{self.width}} {seed}{'VERDICT':<7} {'time':>8}  headline check")

    def row(self, res) -> None:
        rec = res.record
        if rec["checks"]:
            from kernelcap.report import check_text

            head = check_text(rec["checks"][0])
        else:
            head = ((rec.get("error") or "").strip().splitlines() or [""])[-1][:70]
        seed = f"{rec['seed']:>6} " if self.per_seed else ""
        wall = float(rec["timings"].get("wall_s", float("nan")))
        suffix = " (resumed)" if res.resumed else ""
        print(
            f"{rec['claim']:<{self.width}} {seed}{rec['verdict'].upper():<7} {wall:7.1f}s  "
            f"{head}{suffix}",
            flush=True,
        )

    def end(self, outcome, seconds: float) -> None:
        from kernelcap.report import RunSummary, headline_rule, seed_values

        summary = RunSummary.of([r.record for r in outcome.results])
        if self.per_seed:
            print("pass rate per claim (headline value at each seed):")
            for c in summary.claims:
                print(f"{c.claim:<{self.width}} {c.rate:>7}  {headline_rule(c)}: {seed_values(c)}")
        print(f"{summary.headline()} in {seconds:.1f} s")


def cmd_report(args) -> int:
    from kernelcap.registry import ClaimLoadError
    from kernelcap.report import summarize, write_report

    try:
        _load(args.module)
    except ClaimLoadError as err:
        return _usage_error(str(err))
    try:
        summary = summarize(args.run_dir)
        html_path, md_path = write_report(args.run_dir, summary)
    except (FileNotFoundError, NotADirectoryError) as err:
        return _usage_error(str(err))
    except OSError as err:
        return _usage_error(f"cannot write the report into {args.run_dir}: {err}")
    print(f"report: {html_path} and {md_path} ({summary.headline()})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"list": cmd_list, "check": cmd_check, "report": cmd_report}[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

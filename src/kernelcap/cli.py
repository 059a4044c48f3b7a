"""Command line: ``kernelcap list | check | report`` (also ``python -m kernelcap``).

Exit codes: 0 all claims pass, 1 a claim failed or errored, 2 usage error (one-line message).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

from kernelcap.registry import UnknownClaimError
from kernelcap.runtime import SCALES


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(2, f"kernelcap: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kernelcap", description="Run kernelcap's theory-vs-experiment claims.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ls = sub.add_parser("list", help="list registered claims with statements and sources")
    ls.add_argument("patterns", nargs="*", help="claim ids or globs (default: all)")

    ck = sub.add_parser("check", help="run claims and write records, figures and the report")
    ck.add_argument(
        "patterns", nargs="*", help="claim ids or globs like 'hopfield.*' (default: all)"
    )
    ck.add_argument(
        "--scale", default="quick", choices=SCALES, help="experiment size (default: quick)"
    )
    ck.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:i")
    ck.add_argument("--seed", type=_seed, default=0, help="base random seed (default 0)")
    ck.add_argument(
        "--out", type=Path, default=None, help="run directory (default: runs/<timestamp>)"
    )
    ck.add_argument(
        "--resume",
        action="store_true",
        help="skip claims whose record in --out has the same scale, seed, device and config",
    )
    ck.add_argument("--no-report", action="store_true", help="do not write index.html/summary.md")

    rp = sub.add_parser("report", help="rebuild index.html and summary.md from a run directory")
    rp.add_argument("run_dir", type=Path)
    return p


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seed must be a non-negative integer, got {text!r}"
        ) from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"seed must be a non-negative integer, got {v}")
    return v


def _usage_error(message: str) -> int:
    print(f"kernelcap: error: {message}", file=sys.stderr)
    return 2


def cmd_list(args) -> int:
    from kernelcap.registry import select

    try:
        claims = select(args.patterns)
    except UnknownClaimError as err:
        return _usage_error(str(err))
    for c in claims:
        print(c.id)
        print(textwrap.fill(c.statement, 96, initial_indent="    ", subsequent_indent="    "))
        print(f"    source: {c.source}")
    return 0


def cmd_check(args) -> int:
    from kernelcap.registry import select
    from kernelcap.runner import format_row, run_claims
    from kernelcap.runtime import Runtime, resolve_device

    try:
        claims = select(args.patterns)
        resolve_device(args.device)
    except (UnknownClaimError, ValueError, TypeError) as err:
        return _usage_error(str(err))
    out = args.out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    rt = Runtime(device=args.device, seed=args.seed, scale=args.scale)
    width = max(len(c.id) for c in claims) + 1
    print(
        f"kernelcap check: {len(claims)} claim(s), scale={args.scale}, device={rt.torch_device}, "
        f"seed={args.seed}, out={out}",
        flush=True,
    )
    print(f"{'claim':<{width}} {'VERDICT':<5} {'time':>8}  headline check", flush=True)
    start = time.perf_counter()

    def show(res):
        suffix = " (resumed)" if res.resumed else ""
        print(format_row(res.record, width) + suffix, flush=True)

    results = run_claims(claims, args.scale, rt, out, resume=args.resume, on_result=show)
    n_pass = sum(r.passed for r in results)
    print(f"{n_pass}/{len(results)} claims pass in {time.perf_counter() - start:.1f} s")
    if not args.no_report:
        from kernelcap.report import build_report

        html_path, md_path = build_report(out)
        print(f"report: {html_path} and {md_path}")
    return 0 if n_pass == len(results) else 1


def cmd_report(args) -> int:
    from kernelcap.report import build_report

    try:
        html_path, md_path = build_report(args.run_dir)
    except FileNotFoundError as err:
        return _usage_error(str(err))
    print(f"report: {html_path} and {md_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"list": cmd_list, "check": cmd_check, "report": cmd_report}[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Peak memory and wall time of every example, full size and ``--quick``, as a Markdown table.

Each example runs alone in a fresh interpreter (``python examples/<name>.py OUT [--quick]``); its
peak resident set size is the child's ``ru_maxrss`` from ``wait4``. Usage::

    python tools/examples_memory.py [--only NAME ...] [--limit-gib 2]

Exits 1 when an example fails or peaks above the limit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(script: Path, quick: bool) -> tuple[int, float, int]:
    """(exit code, wall seconds, peak RSS in bytes) of one run."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, str(script), out] + (["--quick"] if quick else [])
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        print(f"{script.name}{' --quick' if quick else ''} failed:\n{err}", file=sys.stderr)
    return proc.returncode, wall, usage.ru_maxrss * 1024  # Linux reports KiB


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="example names (default: all)")
    ap.add_argument("--limit-gib", type=float, default=2.0)
    args = ap.parse_args(argv)
    scripts = sorted((ROOT / "examples").glob("*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem in args.only]
    print("| example | peak RSS, full | time, full | peak RSS, `--quick` | time, `--quick` |")
    print("| --- | --- | --- | --- | --- |")
    bad = 0
    for script in scripts:
        cells = []
        for quick in (False, True):
            rc, wall, rss = measure(script, quick)
            over = rss > args.limit_gib * 2**30
            bad += bool(rc) or over
            mark = " ✗" if rc or over else ""
            cells += [
                f"{rss / 2**30:.2f} GiB{mark}",
                f"{wall:.0f} s" if not quick else f"{wall:.1f} s",
            ]
        print(f"| `{script.stem}` | " + " | ".join(cells) + " |", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

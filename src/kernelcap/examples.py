"""The command line every script in ``examples/`` shares.

Each example defines ``main(out_dir, quick=False)``, which writes its figure(s) into ``out_dir`` and
returns the path or paths it wrote, and ends with::

    if __name__ == "__main__":
        run_example(main, __doc__)

so that ``python examples/<name>.py [out_dir] [--quick]`` runs it and prints every path it wrote.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

Written = str | Path | Iterable[str | Path]


def run_example(
    main: Callable[..., Written], doc: str | None = None, argv: Sequence[str] | None = None
) -> list[Path]:
    """Parse ``[out_dir] [--quick]``, create ``out_dir``, call ``main``, print what it wrote.

    Args:
        main: the example's ``main(out_dir, quick=False)``; it returns the path it wrote, or a
            sequence of paths.
        doc: the script's docstring, shown by ``--help``.
        argv: the arguments (default: the command line's).

    Returns:
        The paths written, each also printed on its own line as ``wrote <path>``.

    Raises:
        FileNotFoundError: ``main`` returned a path it did not write.
    """
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "out_dir",
        nargs="?",
        default=".",
        help="folder for the figure, created if missing (default: the current folder)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the smoke-scale setup: seconds instead of minutes (what the tests run)",
    )
    args = parser.parse_args(argv)
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    written = main(args.out_dir, quick=args.quick)
    paths = [Path(written)] if isinstance(written, str | Path) else [Path(p) for p in written]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path} was reported written but does not exist")
        print(f"wrote {path}")
    return paths

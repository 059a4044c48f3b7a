"""The pytest plugin kernelcap installs (entry point ``pytest11``): options for claim tests.

It only adds options and the ``claim`` marker; the tests themselves come from
:func:`kernelcap.testing.claim_tests` in a test module of yours::

    pytest -k mytheory                          # your claims at smoke scale (the default)
    pytest -k he-init --kernelcap-scale quick   # one claim, bigger
    pytest --kernelcap-seed 3 --kernelcap-device cuda

Importing it loads nothing heavy (no NumPy, no torch), so it costs every pytest run nothing.
"""

from __future__ import annotations

import argparse

from kernelcap.runtime import SCALES, check_seed


def _seed(text: str) -> int:
    try:
        return check_seed(int(text))
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"not a seed in [0, 2**32 - 1]: {text!r}") from None


def pytest_addoption(parser) -> None:
    group = parser.getgroup("kernelcap", "kernelcap claim tests (kernelcap.testing.claim_tests)")
    group.addoption(
        "--kernelcap-scale",
        choices=SCALES,
        default=None,
        help="scale the claim tests run at (default: what claim_tests was given, smoke)",
    )
    group.addoption("--kernelcap-seed", type=_seed, default=None, help="seed for claim tests")
    group.addoption(
        "--kernelcap-device", default=None, help="device for claim tests: cpu, cuda, cuda:i, auto"
    )


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "claim: a kernelcap claim run at smoke scale")

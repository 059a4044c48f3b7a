"""Your claims as pytest tests: one test per claim at smoke scale, selectable with ``-k``.

In your repository, a test module of two lines::

    # tests/test_claims.py
    from kernelcap.testing import claim_tests

    test_claim = claim_tests("mytheory.claims")   # or claim_tests(): your entry points' claims

makes ``pytest`` run every claim of ``mytheory.claims`` at smoke scale (``pytest -k he-init``
picks one). A claim that fails, or raises, fails its test with every check's value, bound and
reason (or the traceback). The options ``--kernelcap-scale``, ``--kernelcap-seed`` and
``--kernelcap-device`` of the pytest plugin (:mod:`kernelcap.pytest_plugin`, registered when
kernelcap is installed) change the scale, seed and device for a run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from kernelcap.claim import Claim


def failure_report(rec: dict) -> str:
    """A stored record that did not pass, as the lines a test failure shows."""
    head = (
        f"{rec['claim']} {rec['verdict'].upper()} at scale={rec['scale']}, seed={rec['seed']}, "
        f"device={rec['device']}"
    )
    lines = [head, f"  statement: {rec['statement']}"]
    for k in rec["checks"]:
        mark = "ok  " if k["passed"] else "FAIL"
        lines.append(
            f"  [{mark}] {k['name']} = {float(k['value']):.6g} (need {k['op']} "
            f"{float(k['bound']):.6g}): {k['reason']}"
        )
    if rec.get("summary"):
        lines.append(f"  summary: {rec['summary']}")
    if rec.get("error"):
        lines.append("  the experiment raised:")
        lines.extend("    " + line for line in rec["error"].rstrip().splitlines())
    return "\n".join(lines)


def _claims(modules: tuple[str, ...]) -> list[Claim]:
    from kernelcap import registry

    if modules:
        found = [c for name in modules for c in registry.load_module(name)]
    else:
        found = registry.load_entry_points()
    return sorted({c.id: c for c in found}.values(), key=lambda c: c.id)


def claim_tests(
    *modules: str, scale: str = "smoke", seed: int = 0, device: str = "cpu"
) -> Callable:
    """A pytest test function with one case per claim; assign it to a ``test_*`` name.

    Args:
        modules: modules with a ``CLAIMS`` tuple (``"mytheory.claims"``); none: the claims of
            every installed ``kernelcap.claims`` entry point.
        scale: the scale each claim runs at, unless ``--kernelcap-scale`` says otherwise.
        seed: the seed each claim runs with, unless ``--kernelcap-seed`` says otherwise.
        device: the device each claim runs on, unless ``--kernelcap-device`` says otherwise.

    The claims load when the test module is collected: a module that cannot be loaded, or a
    claim id that is taken, is a collection error naming it. Each test writes the claim's record
    and figure into its ``tmp_path``.
    """
    import pytest

    from kernelcap.runtime import SCALES, Runtime, check_seed

    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    check_seed(seed)
    claims = _claims(modules)

    @pytest.mark.claim
    @pytest.mark.parametrize("kernelcap_claim", claims, ids=[c.id for c in claims])
    def test_claim(kernelcap_claim, tmp_path, request):
        from kernelcap.runner import run_claim

        opt = request.config.getoption
        run_scale = opt("kernelcap_scale", None) or scale
        run_seed = opt("kernelcap_seed", None)
        rt = Runtime(
            device=opt("kernelcap_device", None) or device,
            seed=seed if run_seed is None else run_seed,
        )
        rec = run_claim(kernelcap_claim, run_scale, rt, tmp_path).record
        if rec["verdict"] != "pass":
            pytest.fail(failure_report(rec) + f"\n  record: {tmp_path}", pytrace=False)

    return test_claim

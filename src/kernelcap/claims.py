"""Claims: one prediction paired with one measurement and a stated tolerance.

A claim is registered by the empirics module that owns its experiment::

    @claim(
        "hopfield.crosstalk",
        statement="The one-step bit-error rate of the Hebbian rule follows ½·erfc(√(N/2P)).",
        source="Amit, Gutfreund & Sompolinsky (1985); Hertz, Krogh & Palmer (1991) §2.2",
        configs={"smoke": {...}, "quick": {...}, "paper": {...}},
    )
    def crosstalk(config: Mapping, rt: Runtime) -> Evidence:
        ...

``Claim.run(scale, runtime)`` looks up the config of that scale, runs the experiment, and returns
its :class:`Evidence`. The verdict is computed from the evidence's :class:`Check` s — measured
numbers against tolerances — never stored as a literal.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import math
import pkgutil
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from kernelcap.runtime import Runtime

SCALES = ("smoke", "quick", "paper")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Check:
    """One comparison of a measured number against a bound.

    ``passed`` is ``value <= bound`` (``op="<="``) or ``value >= bound`` (``op=">="``); a NaN value
    fails. ``reason`` says in one sentence why the bound is that number (e.g. "4 Monte-Carlo
    standard errors" or "finite-size band O(N^-1/2) at N=400").
    """

    name: str
    value: float
    bound: float
    op: Literal["<=", ">="] = "<="
    reason: str = ""

    def __post_init__(self) -> None:
        if self.op not in ("<=", ">="):
            raise ValueError(f"op must be '<=' or '>=', got {self.op!r}")
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "bound", float(self.bound))

    @property
    def passed(self) -> bool:
        if math.isnan(self.value) or math.isnan(self.bound):
            return False
        return self.value <= self.bound if self.op == "<=" else self.value >= self.bound

    def __str__(self) -> str:
        mark = "ok" if self.passed else "FAIL"
        return f"{self.name} = {self.value:.4g} (need {self.op} {self.bound:.4g}) [{mark}]"


@dataclass(frozen=True)
class Evidence:
    """What running a claim produced.

    Attributes:
        rows: tidy records, one per grid point. Convention: the grid's inputs (e.g. ``alpha``,
            ``n_neurons``), then ``predicted``, ``measured`` and ``spread`` (a standard error or
            other ± band of ``measured``; NaN when there is none).
        checks: the comparisons that make the verdict; the first is the headline metric.
        figure: a matplotlib ``Figure`` with the theory as a line and measurements as points.
        summary: one line saying what was measured, with the key numbers.
        extras: further JSON-serialisable numbers worth keeping (fits, run lengths, ...).
        timings: seconds spent, by phase; ``Claim.run`` adds ``total_s``.
    """

    rows: tuple[Mapping[str, Any], ...]
    checks: tuple[Check, ...]
    figure: Figure | None = None
    summary: str = ""
    extras: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(dict(r) for r in self.rows))
        object.__setattr__(self, "checks", tuple(self.checks))
        if not self.checks:
            raise ValueError("Evidence needs at least one Check: a verdict must come from numbers")

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"

    @property
    def headline(self) -> Check:
        return self.checks[0]

    def __repr__(self) -> str:
        checks = "; ".join(str(c) for c in self.checks)
        return f"Evidence({self.verdict}: {checks}; {len(self.rows)} rows)"


@dataclass(frozen=True)
class Claim:
    """A falsifiable statement, the paper that makes it, and the experiment that tests it.

    ``experiment(config, runtime) -> Evidence`` receives ``configs[scale]``; scales are
    ``smoke`` (seconds on CPU: pytest, CI), ``quick`` (≤ ~2 min on a 2-core CPU: ``make demo``)
    and ``paper`` (published sizes; meant for a GPU).
    """

    id: str
    statement: str
    source: str
    experiment: Callable[[Mapping[str, Any], Runtime], Evidence]
    configs: Mapping[str, Mapping[str, Any]]

    def __post_init__(self) -> None:
        if not _ID_RE.match(self.id):
            raise ValueError(f"claim id must look like '<module>.<name>', got {self.id!r}")
        missing = [s for s in SCALES if s not in self.configs]
        if missing:
            raise ValueError(f"claim {self.id!r} has no config for scale(s) {missing}")

    @property
    def module(self) -> str:
        return self.id.split(".", 1)[0]

    def config(self, scale: str) -> dict[str, Any]:
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        return dict(self.configs[scale])

    def run(self, scale: str = "quick", runtime: Runtime | None = None) -> Evidence:
        """Run the experiment at ``scale`` and return its evidence (with ``timings['total_s']``)."""
        from kernelcap.runtime import Runtime

        config = self.config(scale)
        rt = runtime if runtime is not None else Runtime(scale=scale)
        if rt.scale != scale:
            rt = dataclasses.replace(rt, scale=scale)
        start = time.perf_counter()
        evidence = self.experiment(config, rt)
        total = time.perf_counter() - start
        if not isinstance(evidence, Evidence):
            raise TypeError(f"claim {self.id!r} returned {type(evidence).__name__}, not Evidence")
        return dataclasses.replace(evidence, timings={**evidence.timings, "total_s": total})


class UnknownClaimError(KeyError):
    """Raised for a claim id or pattern that matches no registered claim."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


_REGISTRY: dict[str, Claim] = {}


def register(c: Claim) -> Claim:
    """Add ``c`` to the registry (re-registering the same id from the same function replaces it)."""
    old = _REGISTRY.get(c.id)
    if old is not None and old.experiment.__qualname__ != c.experiment.__qualname__:
        raise ValueError(f"claim id {c.id!r} is registered twice")
    _REGISTRY[c.id] = c
    return c


def claim(
    id: str, *, statement: str, source: str, configs: Mapping[str, Mapping[str, Any]]
) -> Callable[[Callable[[Mapping[str, Any], Runtime], Evidence]], Callable]:
    """Decorator that registers ``fn(config, runtime) -> Evidence`` as claim ``id``."""

    def decorate(fn: Callable[[Mapping[str, Any], Runtime], Evidence]) -> Callable:
        register(Claim(id=id, statement=statement, source=source, experiment=fn, configs=configs))
        return fn

    return decorate


def load_all() -> None:
    """Import every module of :mod:`kernelcap.empirics`, which registers their claims."""
    import kernelcap.empirics as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")


def all_claims() -> list[Claim]:
    """Every registered claim, sorted by id (loads the empirics modules first)."""
    load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_claim(claim_id: str) -> Claim:
    load_all()
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise UnknownClaimError(_unknown_message([claim_id])) from None


def select(patterns: Iterable[str] | None = None) -> list[Claim]:
    """Claims whose id equals or glob-matches one of ``patterns`` (all claims when empty).

    Raises :class:`UnknownClaimError` naming every pattern that matches nothing.
    """
    claims = all_claims()
    patterns = list(patterns or [])
    if not patterns:
        return claims
    chosen: dict[str, Claim] = {}
    unmatched = []
    for pat in patterns:
        hits = [c for c in claims if c.id == pat or fnmatch.fnmatchcase(c.id, pat)]
        if not hits:
            unmatched.append(pat)
        chosen.update((c.id, c) for c in hits)
    if unmatched:
        raise UnknownClaimError(_unknown_message(unmatched))
    return [chosen[k] for k in sorted(chosen)]


def _unknown_message(patterns: list[str]) -> str:
    known = ", ".join(sorted(_REGISTRY)) or "none"
    return f"unknown claim {', '.join(map(repr, patterns))}; known claims: {known}"

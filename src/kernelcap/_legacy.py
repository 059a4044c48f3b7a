"""Transitional: the old decorator-style claims, kept running while modules move to ``claims/``.

Deleted once every module is migrated to :class:`kernelcap.claim.Claim`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from kernelcap.claim import Check as _Check
from kernelcap.claim import Evidence
from kernelcap.runtime import SCALES, Runtime

__all__ = ["Check", "Evidence", "LegacyClaim", "claim"]


def Check(name, value, bound, op="<=", reason=""):  # noqa: N802 - the old positional signature
    return _Check(name=name, value=value, op=op, bound=bound, reason=reason or "(no reason given)")


@dataclasses.dataclass(frozen=True)
class LegacyClaim:
    id: str
    statement: str
    source: str
    experiment: Callable[[Mapping[str, Any], Runtime], Evidence]
    configs: Mapping[str, Mapping[str, Any]]

    @property
    def module(self) -> str:
        return self.id.split(".", 1)[0]

    def config(self, scale: str) -> dict[str, Any]:
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        return dict(self.configs[scale])

    def run(self, scale: str = "quick", runtime: Runtime | None = None) -> Evidence:
        config = self.config(scale)
        rt = runtime if runtime is not None else Runtime(scale=scale)
        if rt.scale != scale:
            rt = rt.replace(scale=scale)
        start = time.perf_counter()
        evidence = self.experiment(config, rt)
        total = time.perf_counter() - start
        return dataclasses.replace(evidence, timings={**evidence.timings, "total_s": total})


def claim(id, *, statement, source, configs):  # noqa: A002
    from kernelcap import registry

    def decorate(fn):
        c = LegacyClaim(id, statement, source, fn, configs)
        if id not in registry._REGISTRY:
            registry._REGISTRY[id] = c
        return fn

    return decorate

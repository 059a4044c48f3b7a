"""The claim registry: which claims exist, found by id or glob.

kernelcap's own claims are listed explicitly: :data:`kernelcap.claims.MODULES` names the modules
under ``claims/`` and each module's ``CLAIMS`` tuple holds its :class:`~kernelcap.claim.Claim` s.
Loading is lazy (the first lookup imports them), so ``import kernelcap`` stays light.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Iterable

from kernelcap.claim import Claim

_REGISTRY: dict[str, Claim] = {}
_LOADED = False


class UnknownClaimError(KeyError):
    """Raised for a claim id or pattern that matches no registered claim."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def register(c: Claim) -> Claim:
    """Add ``c`` to the registry; a second, different claim with the same id is an error."""
    if not isinstance(c, Claim):
        raise TypeError(f"only Claim objects can be registered, got {type(c).__name__}")
    old = _REGISTRY.get(c.id)
    if old is not None and old is not c:
        raise ValueError(f"claim id {c.id!r} is registered twice")
    _REGISTRY[c.id] = c
    return c


def register_module(module_name: str) -> list[Claim]:
    """Import ``module_name`` and register every claim in its ``CLAIMS`` tuple."""
    mod = importlib.import_module(module_name)
    found = getattr(mod, "CLAIMS", None)
    if found is None:
        raise ValueError(f"module {module_name!r} has no CLAIMS tuple")
    return [register(c) for c in found]


def load_all() -> None:
    """Register kernelcap's own claims (the modules listed in ``kernelcap.claims.MODULES``)."""
    global _LOADED
    if _LOADED:
        return
    from kernelcap import claims as pkg

    for name in pkg.MODULES:
        register_module(f"{pkg.__name__}.{name}")
    _LOADED = True


def all_claims() -> list[Claim]:
    """Every registered claim, sorted by id."""
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

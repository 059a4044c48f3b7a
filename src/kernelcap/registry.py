"""The claim registry: which claims exist, found by id or glob.

Claims come from three places, loaded lazily (the first lookup imports them, so ``import
kernelcap`` stays light):

* kernelcap's own: :data:`kernelcap.claims.MODULES` names the modules under ``claims/``, each with
  a ``CLAIMS`` tuple of :class:`~kernelcap.claim.Claim` s;
* installed packages, through the entry-point group ``kernelcap.claims`` (:data:`ENTRY_POINTS`):
  each entry point names a module with a ``CLAIMS`` tuple (``mytheory = "mytheory.claims"``), or
  a callable returning claims, or a tuple of claims (``"mytheory.claims:make_claims"``);
* modules named at run time: :func:`load_module` (``kernelcap check --module mytheory.claims``).

A module or entry point that cannot be loaded raises :class:`ClaimLoadError` naming it (one line);
a claim whose id is already registered by another claim object is refused with the same error,
naming both sources. Registering the same object twice (a module reached by both routes) is fine.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.metadata
import types
from collections.abc import Iterable
from dataclasses import dataclass

from kernelcap.claim import Claim

ENTRY_POINTS = "kernelcap.claims"
"""The entry-point group through which installed packages register claim modules."""

_REGISTRY: dict[str, Claim] = {}
_SOURCES: dict[str, tuple[Claim, Source]] = {}  # id -> (the claim object, where it came from)
_LOADED = False


class UnknownClaimError(KeyError):
    """Raised for a claim id or pattern that matches no registered claim."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


class ClaimLoadError(ValueError):
    """A claim module or entry point that cannot be loaded, or a claim id already taken; the
    message is one line naming the module or entry point (CLI exit 2)."""


@dataclass(frozen=True)
class Source:
    """Where a registered claim came from, so another process can load it again.

    ``kind`` is ``"module"`` (``name`` is a module with ``CLAIMS``) or ``"entry_point"`` (``name``
    is the entry point's value, ``module`` or ``module:attr``).
    """

    kind: str
    name: str

    def __str__(self) -> str:
        return {"module": "module", "entry_point": "entry point"}[self.kind] + f" {self.name!r}"


def register(c: Claim, source: Source | None = None) -> Claim:
    """Add ``c`` to the registry; a second, different claim with the same id is an error."""
    if not isinstance(c, Claim):
        raise TypeError(f"only Claim objects can be registered, got {type(c).__name__}")
    old = _REGISTRY.get(c.id)
    if old is not None and old is not c:
        where = _SOURCES.get(c.id)
        by = f" by {where[1]}" if where is not None and where[0] is old else ""
        mine = f" from {source}" if source is not None else ""
        raise ClaimLoadError(
            f"claim id {c.id!r}{mine} is already registered{by}; claim ids must be unique "
            "(rename one: '<your package>.<name>')"
        )
    _REGISTRY[c.id] = c
    if source is not None and (c.id not in _SOURCES or _SOURCES[c.id][0] is not c):
        _SOURCES[c.id] = (c, source)
    return c


def source_of(c: Claim) -> Source | None:
    """Where the registered claim ``c`` was loaded from (None: registered directly)."""
    entry = _SOURCES.get(c.id)
    return entry[1] if entry is not None and entry[0] is c else None


def _claims_of(obj, what: str) -> list[Claim]:
    """The claims an entry point or module provides: a module's ``CLAIMS``, a callable's result,
    a Claim, or an iterable of claims."""
    if isinstance(obj, types.ModuleType):
        if not hasattr(obj, "CLAIMS"):
            raise ClaimLoadError(f"{what} has no CLAIMS tuple (a tuple of kernelcap Claim objects)")
        obj = obj.CLAIMS
    elif callable(obj) and not isinstance(obj, Claim):
        try:
            obj = obj()
        except Exception as err:  # noqa: BLE001 - one line naming the entry point
            raise ClaimLoadError(f"{what} raised {type(err).__name__}: {err}") from err
    if isinstance(obj, Claim):
        return [obj]
    if isinstance(obj, (str, bytes)) or not isinstance(obj, Iterable):
        raise ClaimLoadError(f"{what} gave a {type(obj).__name__}, not a tuple of Claims")
    found = list(obj)
    for k, c in enumerate(found):
        if not isinstance(c, Claim):
            raise ClaimLoadError(f"{what}: item {k} is a {type(c).__name__}, not a kernelcap Claim")
    return found


def _import(module_name: str, what: str):
    if not isinstance(module_name, str) or not module_name.strip():
        raise ClaimLoadError(f"a claim module is a dotted module name, got {module_name!r}")
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and (module_name + ".").startswith(err.name + "."):
            raise ClaimLoadError(
                f"cannot import {what}: no module named {err.name!r} (is it installed, or on "
                "PYTHONPATH?)"
            ) from err
        raise ClaimLoadError(f"importing {what} raised ModuleNotFoundError: {err}") from err
    except Exception as err:  # noqa: BLE001 - one line naming the module
        raise ClaimLoadError(f"importing {what} raised {type(err).__name__}: {err}") from err


def load_module(module_name: str) -> list[Claim]:
    """Import ``module_name`` and register every claim in its ``CLAIMS`` tuple.

    Raises :class:`ClaimLoadError` (one line naming the module) when it cannot be imported, has
    no ``CLAIMS``, holds something else than claims, or a claim id is already taken.
    """
    what = f"claim module {module_name!r}"
    mod = _import(module_name, what)
    source = Source("module", module_name)
    return [register(c, source) for c in _claims_of(mod, what)]


def _entry_point_claims(value: str, what: str) -> list[Claim]:
    module_name, _, attr = value.partition(":")
    obj = _import(module_name.strip(), what)
    for part in filter(None, attr.strip().split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ClaimLoadError(f"{what}: {module_name.strip()!r} has no {attr!r}") from None
    return _claims_of(obj, what)


def entry_points() -> list[importlib.metadata.EntryPoint]:
    """The installed entry points of the group ``kernelcap.claims``, sorted by name."""
    found = {(ep.name, ep.value): ep for ep in importlib.metadata.entry_points(group=ENTRY_POINTS)}
    return [found[k] for k in sorted(found)]


def load_entry_points() -> list[Claim]:
    """Register the claims of every installed ``kernelcap.claims`` entry point."""
    out = []
    for ep in entry_points():
        dist = getattr(getattr(ep, "dist", None), "name", None)
        what = f"entry point {ep.name!r} = {ep.value!r} (group {ENTRY_POINTS!r}" + (
            f", distribution {dist!r})" if dist else ")"
        )
        source = Source("entry_point", ep.value)
        out.extend(register(c, source) for c in _entry_point_claims(ep.value, what))
    return out


def load_all() -> None:
    """Register kernelcap's own claims (``kernelcap.claims.MODULES``), then those of installed
    packages (the ``kernelcap.claims`` entry points)."""
    global _LOADED
    if _LOADED:
        return
    from kernelcap import claims as pkg

    for name in pkg.MODULES:
        load_module(f"{pkg.__name__}.{name}")
    load_entry_points()
    _LOADED = True


def load_source(source: Source, claim_id: str):
    """The claim ``claim_id`` from ``source``, loaded in this process without the rest of the
    registry (what a worker process does with a claim it is sent by reference)."""
    what = str(source)
    if source.kind == "module":
        found = _claims_of(_import(source.name, what), what)
    elif source.kind == "entry_point":
        found = _entry_point_claims(source.name, what)
    else:
        raise ClaimLoadError(f"unknown claim source kind {source.kind!r}")
    for c in found:
        if c.id == claim_id:
            return c
    raise ClaimLoadError(f"{what} has no claim {claim_id!r}")


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
    return (
        f"unknown claim {', '.join(map(repr, patterns))}; known claims: {known} "
        "(claims of your own load with --module <module> or a 'kernelcap.claims' entry point)"
    )

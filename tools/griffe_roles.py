"""Griffe extension: Sphinx cross-reference roles in kernelcap's docstrings become site links.

The docstrings say ``:func:`max_abs_z```, ``:class:`~kernelcap.claim.Check``` and
``:mod:`kernelcap.theory.hopfield``` (readable in the source and in ``help()``). For the API
reference each role becomes a cross-reference, ``[`max_abs_z`][kernelcap.compare.max_abs_z]``,
with the name resolved in the scope of the object whose docstring it is (relative module names
such as ``._ntk_hooks`` against its package). mkdocs-autorefs then links it, and a target that no
page documents is a warning, which fails the strict build. Targets inside private modules
(``kernelcap.empirics._full_batch``) have no page by design, nor have other packages' objects:
they stay code, unlinked. A name that resolves to nothing is a warning too (a stale docstring).
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):`(~?)([\w.]+)`")


def _walk(obj):
    yield obj
    for member in obj.members.values():
        if not member.is_alias and (member.is_module or member.is_class):
            yield from _walk(member)
        elif not member.is_alias:
            yield member


def _exists(pkg, path: str) -> bool:
    parts = path.split(".")
    if parts[0] != pkg.name:
        return False
    try:
        obj = pkg
        for part in parts[1:]:
            obj = obj.members[part]
            if obj.is_alias:
                obj = obj.final_target
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def _resolve(obj, pkg, target: str) -> str | None:
    """The full path ``target`` names in ``obj``'s scope, or None."""
    if target.startswith("."):
        module = obj if obj.is_module else obj.module
        package = module.path if module.is_package else module.parent.path
        return f"{package}{target}"
    if target.split(".")[0] == pkg.name:
        return target
    head, _, rest = target.partition(".")
    scope = obj
    while scope is not None:  # a name defined or imported where the docstring is, or above
        member = scope.members.get(head)
        if member is not None:
            found = member.path
            if member.is_alias and not member.is_public:  # imported, not re-exported: its origin
                found = member.target_path
            return f"{found}.{rest}" if rest else found
        scope = scope.parent
    try:
        found = obj.resolve(head)
    except griffe.NameResolutionError:
        return target if rest else None  # a dotted path of another package, or a stale name
    return f"{found}.{rest}" if rest else found


def rewrite(text: str, obj, pkg) -> str:
    def link(m: re.Match) -> str:
        tilde, target = m.groups()
        shown = target.rsplit(".", 1)[-1] if tilde else target.lstrip(".")
        path = _resolve(obj, pkg, target)
        if path is not None and any(p.startswith("_") for p in path.split(".")):
            return f"`{shown}`"  # private: no page to link to
        if path is not None and path.split(".")[0] != pkg.name:
            return f"`{shown}`"  # another package's object (numpy, matplotlib)
        if path is None or not _exists(pkg, path):
            where = obj.filepath if obj.is_module else obj.module.filepath
            griffe.logger.warning("%s: %s: no object %r to refer to", where, obj.path, target)
            return f"`{shown}`"
        return f"[`{shown}`][{path}]"

    return _ROLE.sub(link, text)


class SphinxRoles(griffe.Extension):
    """Turn ``:func:`name``` and its kin into autorefs cross-references (see the module doc)."""

    def on_package(self, *, pkg, loader, **kwargs) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj.docstring.value, obj, pkg)

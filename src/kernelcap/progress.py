"""Progress bars that stay silent when nobody is watching (not a terminal)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(
    iterable: Iterable[T] | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    enabled: bool | None = None,
    leave: bool = False,
):
    """``tqdm`` with ``disable=None`` by default: shown on a TTY, silent in logs and CI.

    ``enabled=True``/``False`` forces it on or off (``Runtime.progress`` is passed here).
    """
    disable = None if enabled is None else not enabled
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=leave, dynamic_ncols=True)

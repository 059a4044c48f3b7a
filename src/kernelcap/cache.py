"""One cache for training runs that several claims share.

A run that several claims measure (e.g. one grokking training read by ``grokking.delay``,
``grokking.needs-decay`` and ``grokking.fourier``) is decorated with :func:`shared_run`; the engine
then computes it once per key (function, config, runtime) and hands the same result to each claim::

    @shared_run
    def grokking_run(cfg: GrokkingConfig, rt: Runtime) -> GrokkingRun: ...

The key is the function's qualified name and its arguments, which must be hashable: configs are
frozen dataclasses, and :class:`~kernelcap.runtime.Runtime` compares equal across ``progress``
(a progress bar changes no number). At most :data:`MAX_ENTRIES` runs are kept, least recently used
first out; :func:`clear` empties the cache (the runner does so between seeds).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

MAX_ENTRIES = 8
"""How many shared runs the cache keeps (least recently used are dropped first)."""
_CACHE: OrderedDict[tuple, Any] = OrderedDict()
F = TypeVar("F", bound=Callable[..., Any])


def shared_run(fn: F) -> F:
    """Cache ``fn``'s result in the engine's run cache, keyed on its identity and arguments."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def cached(*args, **kwargs):
        key = (name, args, tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError as err:
            raise TypeError(f"{name}: shared runs need hashable arguments ({err})") from None
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        result = fn(*args, **kwargs)
        _CACHE[key] = result
        while len(_CACHE) > MAX_ENTRIES:
            _CACHE.popitem(last=False)
        return result

    cached.uncached = fn  # type: ignore[attr-defined]
    return cached  # type: ignore[return-value]


def clear() -> None:
    """Forget every cached run."""
    _CACHE.clear()


def size() -> int:
    return len(_CACHE)

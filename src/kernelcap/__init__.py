"""kernelcap: kernel and capacity views of memorization vs generalization.

Every statement exists twice: as a prediction in :mod:`kernelcap.theory` (NumPy/SciPy, exact) and as
a measurement in :mod:`kernelcap.empirics` (PyTorch, CPU or GPU). A :class:`~kernelcap.claim.Claim`
pairs the two with a tolerance; ``kernelcap check`` runs them.

Importing ``kernelcap`` imports nothing else: the claim classes re-exported here (``Claim``,
``Check``, ...) load :mod:`kernelcap.claim` (NumPy) on first use, so ``kernelcap --version`` is
instant and a worker process can set its thread counts before NumPy or torch start.
Importing ``kernelcap`` or ``kernelcap.theory`` never imports torch.
"""

__version__ = "0.1.0"
__all__ = ["Check", "Claim", "Evidence", "Measurement", "Points", "Scales", "__version__"]
_FROM_CLAIM = frozenset(__all__) - {"__version__"}


def __getattr__(name: str):
    if name in _FROM_CLAIM:
        from kernelcap import claim

        return getattr(claim, name)
    raise AttributeError(f"module 'kernelcap' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

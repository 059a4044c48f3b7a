"""kernelcap's claims: each pairs a prediction from :mod:`kernelcap.theory` with a measurement from
:mod:`kernelcap.empirics` and a tolerance. One module per phenomenon; each lists its claims in a
``CLAIMS`` tuple, and :data:`MODULES` lists the modules the registry loads."""

MODULES: tuple[str, ...] = ("double_descent", "memorization")
# Modules still written in the old decorator style, registered on import (being migrated).
LEGACY_MODULES: tuple[str, ...] = (
    "kernelcap.empirics.grokking",
    "kernelcap.empirics.grokking_transformer",
    "kernelcap.empirics.hopfield",
    "kernelcap.empirics.kernels",
    "kernelcap.empirics.sparse_parity",
    "kernelcap.empirics.sparsity",
)

"""kernelcap's claims: each pairs a prediction from :mod:`kernelcap.theory` with a measurement from
:mod:`kernelcap.empirics` and a tolerance. One module per phenomenon; each lists its claims in a
``CLAIMS`` tuple, and :data:`MODULES` lists the modules the registry loads."""

MODULES: tuple[str, ...] = (
    "double_descent",
    "grokking",
    "grokking_decay_law",
    "grokking_path_kernel",
    "grokking_transformer",
    "hopfield",
    "kernels",
    "memorization",
    "sparse_parity",
    "sparsity",
)

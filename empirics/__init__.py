"""Measurements: PyTorch experiments (CPU or GPU) that test the predictions in ``kernelcap.theory``.

One module per phenomenon, imported by name (``from kernelcap.empirics import hopfield``). The
claims that pair these measurements with theory live in :mod:`kernelcap.claims`.
"""

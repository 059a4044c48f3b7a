"""Measurements: PyTorch experiments (CPU or GPU) that test the predictions in ``kernelcap.theory``.

Each module registers its claims with :func:`kernelcap.claims.claim` when imported;
:func:`kernelcap.claims.load_all` imports every module here.
"""

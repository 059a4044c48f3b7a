"""Predictions: closed forms and numerically solved equations (NumPy/SciPy only, never torch).

Import the phenomenon you need: ``from kernelcap.theory import hopfield``.
"""

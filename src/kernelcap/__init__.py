"""kernelcap: kernel and capacity views of memorization vs generalization.

Every statement exists twice: as a prediction in :mod:`kernelcap.theory` (NumPy/SciPy, exact) and as
a measurement in :mod:`kernelcap.empirics` (PyTorch, CPU or GPU). A :class:`~kernelcap.claim.Claim`
pairs the two with a tolerance; ``kernelcap check`` runs them.

Importing ``kernelcap`` or ``kernelcap.theory`` never imports torch.
"""

from kernelcap.claim import Check, Claim, Evidence, Measurement, Points, Scales

__version__ = "0.1.0"
__all__ = ["Check", "Claim", "Evidence", "Measurement", "Points", "Scales", "__version__"]

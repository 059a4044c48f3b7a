"""Where and how an experiment runs: device, seed, scale, dtype and progress display."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

SCALES = ("smoke", "quick", "paper")
MAX_SEED = 2**32 - 1  # experiments derive sub-seeds from it; numpy and torch accept this range


def check_seed(seed, name: str = "seed") -> int:
    """``seed`` as an int in [0, MAX_SEED], or a ValueError/TypeError naming ``name``."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{name} must be an int in [0, {MAX_SEED}], got {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be an int in [0, {MAX_SEED}], got {seed!r}")
    return seed


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; any other torch device string is checked."""
    import torch

    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]', got {device!r}") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def make_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (same seed, same numbers)."""
    import torch

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    dev = resolve_device(device)
    return torch.Generator(device=dev).manual_seed(seed)


@dataclass(frozen=True)
class Runtime:
    """Execution settings handed to every claim experiment.

    Attributes:
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:i"``; resolved by :attr:`torch_device`.
        seed: base seed in [0, MAX_SEED]; experiments derive sub-seeds with :meth:`generator`.
        scale: ``"smoke"``, ``"quick"`` or ``"paper"``.
        progress: show tqdm bars (``None``: only when stderr is a terminal). It changes no number,
            so it is not part of a runtime's equality or hash (cached runs are shared across it).
    """

    device: str = "auto"
    seed: int = 0
    scale: str = "quick"
    progress: bool | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")
        check_seed(self.seed)
        if not isinstance(self.device, str):
            raise TypeError(f"device must be a str, got {type(self.device).__name__}")

    @property
    def torch_device(self) -> torch.device:
        """``device`` resolved to a ``torch.device`` (``"auto"``: CUDA when present)."""
        return resolve_device(self.device)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A generator on this runtime's device seeded with ``seed + offset``."""
        return make_generator(self.seed + offset, self.torch_device)

    def replace(self, **changes) -> Runtime:
        return dataclasses.replace(self, **changes)


@functools.lru_cache(maxsize=1)
def _openmp_runtime():
    """torch's OpenMP runtime (GNU libgomp on Linux wheels) through ctypes, or None.

    Found by its soname, which returns the copy torch already loaded; accepted only if setting its
    thread count visibly changes ``torch.get_num_threads()`` (so a system libgomp that torch does
    not use is never touched).
    """
    import ctypes

    import torch

    try:
        lib = ctypes.CDLL("libgomp.so.1")
        get, put = lib.omp_get_max_threads, lib.omp_set_num_threads
    except (OSError, AttributeError):
        return None
    before = get()
    probe = 1 if before != 1 else 2
    put(ctypes.c_int(probe))
    works = torch.get_num_threads() == probe
    put(ctypes.c_int(before))
    return lib if works else None


@contextlib.contextmanager
def single_cpu_thread(device: str | torch.device = "cpu"):
    """Run the block with one intra-op torch thread when ``device`` is the CPU.

    Training loops of small tensors (a few thousand elements per op) spend their time in thread
    synchronisation: on a 2-core machine one thread is several times faster. On CUDA, or where
    torch's OpenMP runtime cannot be reached, nothing changes.

    Only OpenMP's thread count is changed and restored, never ``torch.set_num_threads``: that call
    also fixes MKL's thread count and turns off its dynamic adjustment, after which every later
    batched LAPACK call in the process (``torch.linalg.solve`` on a stack of matrices) fails with
    "Parameter 6 was incorrect on entry to DLASWP" or hangs (pytorch/pytorch#141358, #142815;
    seen here as a hang of ``double_descent.asymptotic`` after ``double_descent.mlp-width``).
    """
    import ctypes

    if resolve_device(device).type != "cpu":
        yield
        return
    lib = _openmp_runtime()
    if lib is None:
        yield
        return
    before = lib.omp_get_max_threads()
    lib.omp_set_num_threads(ctypes.c_int(1))
    try:
        yield
    finally:
        lib.omp_set_num_threads(ctypes.c_int(before))

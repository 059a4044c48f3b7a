"""Where and how an experiment runs: device, seed, scale, dtype and progress display."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

DEVICES = ("auto", "cpu", "cuda")


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

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    dev = resolve_device(device)
    return torch.Generator(device=dev).manual_seed(seed)


@dataclass(frozen=True)
class Runtime:
    """Execution settings handed to every claim experiment.

    Attributes:
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:i"``; resolved by :attr:`torch_device`.
        seed: base seed; experiments derive sub-seeds with :meth:`generator` (``offset``).
        scale: ``"smoke"``, ``"quick"`` or ``"paper"``.
        progress: show tqdm bars (``None``: only when stderr is a terminal).
    """

    device: str = "auto"
    seed: int = 0
    scale: str = "quick"
    progress: bool | None = None

    def __post_init__(self) -> None:
        from kernelcap.claims import SCALES

        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")

    @property
    def torch_device(self) -> torch.device:
        return resolve_device(self.device)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A generator on this runtime's device seeded with ``seed + offset``."""
        return make_generator(self.seed + offset, self.torch_device)

    def replace(self, **changes) -> Runtime:
        return dataclasses.replace(self, **changes)


@contextlib.contextmanager
def single_cpu_thread(device: str | torch.device = "cpu"):
    """Run the block with one intra-op torch thread when ``device`` is the CPU.

    Training loops of small tensors (a few thousand elements per op) spend their time in thread
    synchronisation: on a 2-core machine one thread is several times faster. The previous thread
    count is restored on exit; on CUDA nothing changes.
    """
    import torch

    if resolve_device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)

"""Blockwise assembly of a kernel matrix: chunks of rows and columns, in memory or in a file.

With chunk c the kernel is built from (c × c) blocks; the features of a row chunk are computed
once and reused along its row, those of each column chunk per block, so the memory in use is the
features of two chunks plus one block, whatever N is. For x2=None only blocks on and above the
diagonal are computed and mirrored. ``out=path`` writes the kernel into a NumPy ``.npy`` file
mapped into memory; after each row of blocks the written pages are flushed to disk and dropped
from the process (``madvise(MADV_DONTNEED)``), so kernels larger than RAM work in bounded RSS.
"""

from __future__ import annotations

import mmap
import os

import numpy as np
import torch

from kernelcap.progress import progress as progress_bar


class _MemorySink:
    def __init__(self, shape, dtype, device):
        self.k = torch.empty(shape, dtype=dtype, device=device)

    def write(self, i, j, block):
        self.k[i : i + block.shape[0], j : j + block.shape[1]] = block

    def end_row(self):
        pass

    def result(self):
        return self.k


class _FileSink:
    """An .npy file written through a shared mapping whose pages leave RSS after each row."""

    def __init__(self, path, shape, dtype):
        np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
        self.path = os.fspath(path)
        header = np.lib.format.open_memmap(self.path, mode="w+", dtype=np_dtype, shape=shape)
        offset = header.offset
        del header
        self.file = open(self.path, "r+b")  # noqa: SIM115 (closed in result)
        self.map = mmap.mmap(self.file.fileno(), 0)
        self.array = np.ndarray(shape, dtype=np_dtype, buffer=self.map, offset=offset)

    def write(self, i, j, block):
        self.array[i : i + block.shape[0], j : j + block.shape[1]] = block.cpu().numpy()

    def end_row(self):
        self.map.flush()
        if hasattr(mmap, "MADV_DONTNEED"):
            self.map.madvise(mmap.MADV_DONTNEED)

    def result(self):
        self.end_row()
        del self.array
        self.map.close()
        self.file.close()
        return torch.from_numpy(np.load(self.path, mmap_mode="r+"))


def assemble(features, contract, x1, x2, *, chunk, full, out=None, progress=None, desc="NTK"):
    """K(x1, x2) from ``features(x_chunk)`` and ``contract(fa, fb) -> block``.

    x2=None means K(x1, x1) (symmetric: upper blocks computed, lower mirrored).
    """
    symmetric = x2 is None
    xb = x1 if symmetric else x2
    n1, n2 = x1.shape[0], xb.shape[0]
    c = chunk or max(n1, n2)
    rows, cols = range(0, n1, c), range(0, n2, c)
    todo = [(i, j) for i in rows for j in cols if not (symmetric and j < i)]
    sink = None
    bar = progress_bar(total=len(todo), desc=desc, enabled=progress if len(todo) > 1 else False)
    try:
        for i in rows:
            fa = features(x1[i : i + c])
            for j in cols:
                if symmetric and j < i:
                    continue
                fb = fa if (symmetric and i == j) else features(xb[j : j + c])
                block = contract(fa, fb).detach()
                if sink is None:
                    if out is None and len(todo) == 1:
                        return block
                    shape = (n1, n2, *block.shape[2:])
                    sink = (
                        _MemorySink(shape, block.dtype, block.device)
                        if out is None
                        else _FileSink(out, shape, block.dtype)
                    )
                sink.write(i, j, block)
                if symmetric and j > i:
                    mirror = block.permute(1, 0, 3, 2) if full else block.transpose(0, 1)
                    sink.write(j, i, mirror)
                bar.update(1)
            sink.end_row()
    finally:
        bar.close()
    return sink.result()

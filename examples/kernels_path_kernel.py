"""Figure: path-kernel reconstruction (net output vs kernel-machine output) (claim `kernels.path-exact`).

Run: `python examples/kernels_path_kernel.py [out_dir]` (quick=False runs the claim's `quick` scale).
"""

import sys
from pathlib import Path

from kernelcap.claims import get_claim
from kernelcap.plotting import save_figure
from kernelcap.runtime import Runtime


def main(out_dir=".", quick: bool = False) -> Path:
    scale = "smoke" if quick else "quick"
    ev = get_claim("kernels.path-exact").run(scale, Runtime(scale=scale, seed=0))
    out = Path(out_dir) / "kernels_path_kernel.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(ev.figure, out)
    print(ev.summary)
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

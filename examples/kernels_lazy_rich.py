"""Figure: lazy vs rich kernel drift (claim `kernels.lazy-rich`).

Run: `python examples/kernels_lazy_rich.py [out_dir]` (quick=False runs the claim's `quick` scale).
"""

import sys
from pathlib import Path

from kernelcap.runner import save_claim_figure


def main(out_dir=".", quick: bool = False) -> Path:
    out = Path(out_dir) / "kernels_lazy_rich.png"
    ev = save_claim_figure("kernels.lazy-rich", out, scale="smoke" if quick else "quick")
    print(ev.summary)
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

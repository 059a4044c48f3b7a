"""Figure: linearized vs real training (claim `kernels.linearized`).

Run: `python examples/kernels_linearized.py [out_dir] [--quick]`
(`--quick`: the claim's smoke scale instead of its `quick` scale).
"""

from pathlib import Path

from kernelcap.examples import run_example
from kernelcap.runner import save_claim_figure


def main(out_dir=".", quick: bool = False) -> Path:
    out = Path(out_dir) / "kernels_linearized.png"
    ev = save_claim_figure("kernels.linearized", out, scale="smoke" if quick else "quick")
    print(ev.summary)
    return out


if __name__ == "__main__":
    run_example(main, __doc__)

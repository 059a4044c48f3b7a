"""``kernelcap`` and every ``kernelcap.theory`` module import without torch (NumPy/SciPy only)."""

import pkgutil
import subprocess
import sys

import kernelcap.theory


def test_theory_does_not_import_torch():
    mods = [f"kernelcap.theory.{m.name}" for m in pkgutil.iter_modules(kernelcap.theory.__path__)]
    code = (
        "import sys, importlib\n"
        "import kernelcap\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n"
        "assert not bad, bad[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

import os

import matplotlib
from hypothesis import settings

matplotlib.use("Agg")

# CI runs a fixed set of examples (reproducible verdicts); local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

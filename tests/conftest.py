import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("KERNELCAP_TEST", "1")

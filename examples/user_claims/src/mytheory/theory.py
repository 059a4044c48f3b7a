"""The predictions: the second and fourth moments of a random ReLU network's output, by depth.

A bias-free MLP of width n with weights drawn i.i.d. N(0, w_var / fan_in) maps an input with
||x||² / d = q0 to pre-activations h_1 = W_1 x, h_l = W_l relu(h_{l-1}). Given the layer below,
the units of h_l are i.i.d. N(0, q_l) with q_l = w_var · mean_j relu(h_{l-1,j})². Hence, exactly
at every width (expectations over the weights, not large-width limits):

* E[relu(h)²] = q/2, so E[h_L²] = w_var · q0 · (w_var / 2)^(L - 1). He initialization,
  w_var = 2, keeps it at 2 q0 through any depth (He et al. 2015, §2.2).
* E[relu(h)⁴] = 3q²/2, so the mean of n such squares has E[Q²] = (q/2)² (1 + 5/n), and the
  kurtosis of the output E[h_L⁴] / E[h_L²]² = 3 (1 + 5/n)^(L - 1): Gaussian (3) only at
  infinite width; at finite width it grows with depth over width (Hanin & Nica 2019).
"""

import numpy as np


def output_second_moment(depth, w_var: float = 2.0, q0: float = 1.0) -> np.ndarray:
    """E[h_L²] after ``depth`` weight layers (``depth`` ≥ 1, vectorised)."""
    depth = np.asarray(depth, dtype=float)
    if np.any(depth < 1) or not np.all(np.isfinite(depth)):
        raise ValueError(f"depth must be finite and >= 1, got {depth}")
    if not (np.isfinite(w_var) and w_var > 0 and np.isfinite(q0) and q0 >= 0):
        raise ValueError(f"w_var must be > 0 and q0 >= 0, got w_var={w_var}, q0={q0}")
    return w_var * q0 * (w_var / 2.0) ** (depth - 1)


def output_kurtosis(depth, width: int) -> np.ndarray:
    """E[h_L⁴] / E[h_L²]² = 3 (1 + 5/width)^(depth - 1), for any weight variance."""
    depth = np.asarray(depth, dtype=float)
    if np.any(depth < 1) or not np.all(np.isfinite(depth)):
        raise ValueError(f"depth must be finite and >= 1, got {depth}")
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be an int >= 1, got {width!r}")
    return 3.0 * (1.0 + 5.0 / width) ** (depth - 1)

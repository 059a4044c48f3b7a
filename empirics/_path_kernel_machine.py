"""The result of the path-kernel recorder: the trained net at the test inputs as a kernel machine
(re-exported by :mod:`kernelcap.empirics.path_kernel`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FORMS = ("exact", "first_order")


@dataclass(frozen=True, repr=False)
class KernelMachine:
    """f_T(x) = f_0(x) + Σ_i c_i(x) + c_w(x) + c_r(x) at the recorder's test inputs, and its error.

    Attributes (M test inputs, n training examples, output shape ``*out`` of the model):
        form: ``"exact"`` (segment-averaged test features) or ``"first_order"`` (Domingos' form).
        f0, f_trained: (M, *out) the net at the first recorded step and now (``model(x_test)``).
        contributions: (M, n, *out) c_i(x), what training example i moved the output at x.
        weight_decay: (M, *out) c_w(x), what the decay terms (coupled or decoupled) moved it.
        rounding: (M, *out) c_r(x), the float rounding of the parameter updates (part of the path).
        reconstruction: (M, *out) f0 + Σ_i c_i + c_w + c_r.
        relative_error: ‖reconstruction − f_trained‖ / ‖f_trained − f0‖; max_abs_error.
        steps: recorded steps; losses: (steps,) training loss of each step's batch before the step.
        grad_mismatch: max over steps of ‖Σ_i g_i − .grad‖ / Σ_i ‖g_i‖ (user loss vs ``loss_fn``).
        update_mismatch: max over steps of ‖Δθ − Σ_i u_i − w‖ / ‖Δθ‖ (recorded vs rebuilt update).
    """

    form: str
    f0: np.ndarray
    f_trained: np.ndarray
    contributions: np.ndarray
    weight_decay: np.ndarray
    rounding: np.ndarray
    reconstruction: np.ndarray
    relative_error: float
    max_abs_error: float
    steps: int
    losses: np.ndarray
    grad_mismatch: float
    update_mismatch: float

    def __repr__(self) -> str:
        m, n = self.contributions.shape[:2]
        return (
            f"KernelMachine(form={self.form!r}, n_test={m}, n_train={n}, "
            f"out={self.f0.shape[1:]}, steps={self.steps}, "
            f"relative_error={self.relative_error:.3g}, max_abs_error={self.max_abs_error:.3g})"
        )

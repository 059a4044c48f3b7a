r"""The path kernel of your own training loop: record an SGD/Adam/AdamW run, rebuild the net.

Exact discrete form (Bell et al. 2023, arXiv 2308.00824). Along the straight segment of step s,
θ_s → θ_{s+1} = θ_s + Δθ_s, the fundamental theorem of calculus gives, for a net smooth along it,

    f(x; θ_{s+1}) − f(x; θ_s) = φ_s(x)·Δθ_s,    φ_s(x) = ∫_0^1 ∇_θ f(x; θ_s + tΔθ_s) dt,

with φ_s from Gauss–Legendre quadrature (``quad_nodes`` nodes: exact when f is a polynomial of
degree ≤ 2·quad_nodes along the segment; for smooth nets the error falls like
‖Δθ_s‖^(2·quad_nodes+1), about three decades per node in the tests). With ReLU the integrand
jumps where a test pre-activation changes sign inside a segment, so the quadrature is not exact
there; ``relative_error`` reports what that costs.

Every supported optimizer's Δθ_s is linear in the per-example gradients
g_{i,s'} = J(x_i; θ_{s'})ᵀ ∂L/∂f(x_i) of the current and earlier steps, plus terms in θ itself
(weight decay): Δθ_s = Σ_i u_{i,s} + w_s (:mod:`kernelcap.empirics._optimizer_coefficients`: SGD
with momentum, nesterov, dampening and coupled decay; Adam with the preconditioner D_s read from the
optimizer; AdamW with decoupled decay). Summing the steps,

    f_T(x) = f_0(x) + Σ_i c_i(x) + c_w(x) + c_r(x),
    c_i(x) = Σ_s φ_s(x)·u_{i,s},   c_w(x) = Σ_s φ_s(x)·w_s.

For plain SGD, c_i(x) = −Σ_s η_s φ_s(x)·J(x_i; θ_s)ᵀ a_{i,s}: a kernel machine in Domingos' sense
with the path kernel K_s(x, x_i) = φ_s(x) J(x_i; θ_s)ᵀ (Domingos 2020, arXiv 2012.00152; his
gradient-flow form uses ∇f(x; θ_s) in place of φ_s — the ``"first_order"`` form here, off by O(η)).
For Adam it is the preconditioned kernel φ_s(x)ᵀ D_s J(x_i; θ_{s'})ᵀ weighted by the moment
coefficients −η/(1−β1^s)·(1−β1)β1^(s−s') (ExPLAIND: Eichin et al. 2025, github.com/mainlp/explaind,
applied there to grokking). c_r is the part of the recorded parameter path that the update rule does
not produce — the float rounding of the stored parameters, ~1e-16 relative in float64 — kept so the
reconstruction is exact. Every step checks that it is at rounding level and that Σ_i g_i equals the
``.grad`` the user's backward produced.

Where every parameter has a layer rule, the work goes through layer hooks and Gram identities
(:mod:`._path_kernel_structured`): for plain SGD c_i comes from the cross kernel of the test points
along the segment with the batch along a_i, with no per-example gradient; momentum and Adam form
per-example gradients layer by layer. Other models use torch.func (:mod:`._path_kernel_ops`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from kernelcap.empirics._optimizer_coefficients import SUPPORTED_NAMES, decomposer
from kernelcap.empirics._path_kernel_inputs import as_targets, as_tensor, check_idx
from kernelcap.empirics._path_kernel_machine import FORMS, KernelMachine
from kernelcap.empirics._path_kernel_ops import (
    METHODS,
    ParamSpace,
    choose_method,
    flush_subnormals,
    per_example_grads,
    torch_func_segment,
)
from kernelcap.empirics._path_kernel_structured import per_name, structured_path

__all__ = ["PathKernelRecorder", "KernelMachine", "train_with_path_kernel", "SUPPORTED_NAMES"]


class PathKernelRecorder:
    """Records a training loop the user writes and rebuilds the trained net at ``x_test`` exactly.

    Call :meth:`step` where you would call ``optimizer.step()``, after your ``loss.backward()``::

        rec = PathKernelRecorder(model, optimizer, x_test, loss_fn=per_example_loss, n_train=n)
        for xb, yb, idx in batches:                 # idx: rows of the training set in the batch
            optimizer.zero_grad()
            per_example_loss(model(xb), yb).mean().backward()
            rec.step(xb, yb, idx)                   # takes the optimizer step and records it
            scheduler.step()                        # optional; lr is read at every step
        km = rec.kernel_machine()                   # km.reconstruction == model(x_test)

    Args:
        model: any ``nn.Module`` that is a deterministic function of its parameters (no active
            dropout or batch-norm statistics). The kernel is over the parameters with
            ``requires_grad=True``; frozen ones are never touched (checked) and are not in it.
        optimizer: ``torch.optim.SGD`` (momentum, dampening, nesterov, weight_decay), ``Adam``
            (weight_decay, amsgrad) or ``AdamW``, any parameter groups, holding every trainable
            parameter and no state yet. Other optimizers raise ``TypeError``.
        x_test: (M, ...) inputs at which the net is decomposed (NumPy or torch; moved to the
            model's device; floating inputs must have the parameters' dtype).
        loss_fn: ``loss_fn(model(x), y)`` → the loss you backpropagate: a scalar, or a (B,) vector
            that you averaged (``.mean().backward()``). Example i acts through its own output,
            a_i = ∂L/∂f(x_i), so Σ_i g_i = ``.grad`` for any loss of the batch outputs (checked).
        n_train: training-set size; needed when steps pass ``idx`` (default: the first batch).
        quad_nodes: Gauss–Legendre nodes per step for the exact form (0: first order only).
        first_order: also record Domingos' first-order form (one more test Jacobian per step).
        method: ``"auto"``: the structured per-layer path (hooks, Gram identities; plain SGD
            without per-example gradients) when every trainable parameter has a layer rule or
            a per-module fallback, else torch.func; ``"structured"`` forces it (exact for any
            model: torch.func for the parameters no rule covers); ``"jacobian"`` or ``"jvp"``:
            torch.func with a materialised test Jacobian or forward-mode products.
        rtol: tolerance of the per-step checks (default 1e-8 in float64, 1e-3 in float32;
            measured mismatches are ~1e-16 and ~1e-7 for gradients, ~1e-13 and ~1e-5 for updates).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        x_test,
        *,
        loss_fn: Callable,
        n_train: int | None = None,
        quad_nodes: int = 3,
        first_order: bool = True,
        method: str = "auto",
        rtol: float | None = None,
    ):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError("model has no parameters with requires_grad=True")
        dtypes = {p.dtype for _, p in named}
        if len(dtypes) != 1 or not named[0][1].is_floating_point():
            raise TypeError(f"model: trainable parameters need one floating dtype, got {dtypes}")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        if isinstance(quad_nodes, bool) or not isinstance(quad_nodes, int) or quad_nodes < 0:
            raise ValueError(f"quad_nodes must be an integer ≥ 0, got {quad_nodes!r}")
        if quad_nodes == 0 and not first_order:
            raise ValueError("quad_nodes=0 with first_order=False records nothing")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if n_train is not None and (isinstance(n_train, bool) or not isinstance(n_train, int)):
            raise TypeError(f"n_train must be an int or None, got {type(n_train).__name__}")
        if n_train is not None and n_train < 1:
            raise ValueError(f"n_train must be ≥ 1, got {n_train}")
        self.space = ParamSpace(model, tuple(n for n, _ in named), tuple(p for _, p in named))
        self.dtype, self.device = named[0][1].dtype, named[0][1].device
        self._dec = decomposer(optimizer, self.space, n_train)
        self.optimizer, self.loss_fn, self.n_train = optimizer, loss_fn, n_train
        self.quad_nodes, self.first_order, self.method = quad_nodes, bool(first_order), method
        default = {torch.float64: 1e-8, torch.float32: 1e-3}.get(self.dtype, 5e-2)
        self.rtol = float(rtol) if rtol is not None else default
        self._frozen = [
            (n, p, p.detach().clone()) for n, p in model.named_parameters() if not p.requires_grad
        ]
        self._stochastic = [
            type(m).__name__
            for m in model.modules()
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd))
        ]
        self.x_test = as_tensor("x_test", x_test, self.device, self.dtype)
        self._check_mode()
        self.theta = self.space.flat()
        f0 = self._evaluate("x_test", self.x_test)
        if f0.ndim < 1 or f0.shape[0] != self.x_test.shape[0]:
            raise ValueError(
                f"x_test: model output has shape {tuple(f0.shape)}, "
                f"expected {self.x_test.shape[0]} rows"
            )
        self._path = structured_path(self.space, self.x_test, method)
        self._sgd_kernel = self._path is not None and self._dec.kernel_only
        self.out_shape, self.f0 = tuple(f0.shape[1:]), f0.detach().clone()
        self.n_out = int(np.prod(self.out_shape, dtype=int))
        self.steps, self.losses = 0, []
        self.grad_mismatch = self.update_mismatch = 0.0
        self._acc = None  # form → {"c": (M, O, n), "w": (M, O), "r": (M, O)}

    def _check_mode(self):
        if self.space.model.training and self._stochastic:
            raise ValueError(
                f"model is in training mode with {sorted(set(self._stochastic))}: the path kernel "
                "needs a deterministic function of the parameters; call model.eval() for the run"
            )

    def _check_untouched(self, where):
        for n, p, v in self._frozen:
            if not torch.equal(p.detach(), v):
                raise RuntimeError(
                    f"frozen parameter {n!r} (requires_grad=False) changed {where}; it must "
                    "stay fixed (does it hold a stale .grad?)"
                )
        if not torch.equal(self.space.flat(), self.theta):
            raise RuntimeError(
                f"model parameters changed {where}: call rec.step() instead of "
                "optimizer.step() and do not edit the weights during a recorded run"
            )

    def _batch(self, x, y, idx):
        x = as_tensor("x", x, self.device, self.dtype)
        y = as_targets(y, x.shape[0], self.device)
        if idx is None and self.n_train is None:
            self.n_train = self._dec.n_train = x.shape[0]
        return x, y, check_idx(idx, x.shape[0], self.n_train, self.device)

    def _evaluate(self, name, x):
        """f(x; θ) without grad; a model that cannot take x raises a ValueError naming it."""
        with torch.no_grad():
            try:
                return self.space.forward(self.theta, x)
            except (RuntimeError, IndexError) as err:
                msg = f"{name} of shape {tuple(x.shape)}: the model fails on it ({err})"
                raise ValueError(msg) from err

    def _loss_grad(self, x, y, out=None):
        """(batch loss, a = ∂L/∂f (B, O)) from the model's outputs ``out`` on x (None: run it)."""
        out = self._evaluate("x", x) if out is None else out
        if out.ndim < 1 or out.shape[0] != x.shape[0] or tuple(out.shape[1:]) != self.out_shape:
            raise ValueError(
                f"x: model output {tuple(out.shape)} does not match x_test's "
                f"{self.out_shape} per row"
            )
        out = out.detach().requires_grad_(True)
        with torch.enable_grad():
            loss = self.loss_fn(out, y)
            if not isinstance(loss, torch.Tensor) or loss.shape not in ((), (x.shape[0],)):
                shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
                raise ValueError(
                    f"loss_fn must return a scalar or ({x.shape[0]},) tensor, got {shape}"
                )
            loss = loss.mean() if loss.ndim else loss
            (grad,) = torch.autograd.grad(loss, out, allow_unused=True)
        if grad is None:
            raise ValueError("loss_fn's value does not depend on the model output")
        return float(loss.detach()), grad.reshape(x.shape[0], self.n_out)

    def step(self, x, y, idx=None) -> float:
        """Take ``optimizer.step()`` for the batch (x, y) with training rows ``idx`` and record it.

        Call after your backward of ``loss_fn(model(x), y)``. x: (B, ...); y: (B, ...) or whatever
        ``loss_fn`` takes; idx: (B,) distinct rows in [0, n_train) (None: the whole training set,
        in order). Returns the batch loss before the step.
        """
        self._check_mode()
        self._check_untouched("outside rec.step()")
        x, y, idx = self._batch(x, y, idx)
        grad, active = self.space.flat_grads()
        if not bool(active.any()):
            raise ValueError(
                "no trainable parameter has a .grad: call loss.backward() before rec.step()"
            )
        with flush_subnormals():  # the recorder's own arithmetic, not the optimizer's
            loss, g, g_sum, mismatch = self._per_example(x, y, grad, active)
        self._dec.before_step()
        self.optimizer.step()
        theta_new = self.space.flat()
        for n, p, v in self._frozen:
            if not torch.equal(p.detach(), v):
                raise RuntimeError(f"the optimizer step changed frozen parameter {n!r}")
        with flush_subnormals():
            delta = theta_new - self.theta
            up = self._dec.after_step(self.theta, g, idx, active, g_sum)
            resid = delta - up.predicted
            eps = torch.finfo(self.dtype).eps
            size = float(delta.norm()) + float(up.predicted.norm())
            bound = self.rtol * size + 8 * eps * float(theta_new.norm())
            if float(resid.norm()) > bound:
                raise RuntimeError(
                    f"optimizer step not reproduced: ‖Δθ − rebuilt‖ = {float(resid.norm()):.3e} "
                    f"> {bound:.3e} (an optimizer option this recorder does not model?)"
                )
            self._record(delta, up, resid)
        self.theta = theta_new
        self.steps += 1
        self.losses.append(loss)
        self.grad_mismatch = max(self.grad_mismatch, mismatch)
        self.update_mismatch = max(
            self.update_mismatch, float(resid.norm()) / max(size / 2, 1e-300)
        )
        return loss

    def _per_example(self, x, y, grad, active):
        """(loss, per-example gradients g (B, P) or None (SGD kernel path), Σ_i g_i, its relative
        mismatch with ``grad``); the structured path keeps the batch's layer features."""
        if self._path is None:
            loss, out_grad = self._loss_grad(x, y)
            g = per_example_grads(self.space, self.theta, x, out_grad)
        else:
            loss, fb, first = self._batch_features(x, y)
            self._pending = (fb, first)
            g = None if self._sgd_kernel else self._path.per_example(fb)
        if self._path is not None:  # Σ_i g_i and Σ_i ‖g_i‖ (or a bound) layer by layer
            g_sum, scale = self._path.gradient_sum(fb)
            if not bool(active.all()):
                g_sum = g_sum * active
                g = None if g is None else g.mul_(active)
        else:
            g = g if bool(active.all()) else g * active
            g_sum, scale = g.sum(0), float(g.norm(dim=1).sum())
        scale += torch.finfo(self.dtype).tiny
        mismatch = float((g_sum - grad).norm()) / scale
        if mismatch > self.rtol:
            raise ValueError(
                f"loss_fn does not reproduce the gradient of your backward (relative mismatch "
                f"{mismatch:.2e} > rtol {self.rtol:.0e}): pass the loss you backpropagate "
                "(with any penalty term), averaged over the batch; keep the model deterministic"
            )
        return loss, g, g_sum, mismatch

    def _batch_features(self, x, y):
        """(loss, batch features along a_i, test features at θ_s or None): one hooked forward
        and backward at θ_s whose outputs also give the loss and a_i."""
        b, seen = x.shape[0], {}

        def grad_of(out):
            try:
                if out.shape[1] != self.n_out:
                    raise ValueError(f"x: model output has {out.shape[1]} values per row")
                seen["loss"], a = self._loss_grad(x, y, out.detach().reshape(b, *self.out_shape))
            except Exception as err:
                seen["error"] = err
                raise
            return a

        try:
            fb, first = self._path.batch(self.theta, x, grad_of, self.first_order)
        except (RuntimeError, IndexError) as err:
            if seen.get("error") is err:
                raise
            msg = f"x of shape {tuple(x.shape)}: the model fails on it ({err})"
            raise ValueError(msg) from err
        return seen["loss"], fb, first

    def _jvp_cheaper(self, n_dirs: int) -> bool:
        """``method="auto"`` with optimizer state: forward-mode products over the n_dirs update
        directions beat materialising the test features φ (many outputs, e.g. logits; the same
        cost model as the torch.func path). Both compute the same φ·directions."""
        if self.method != "auto":
            return False
        nodes = self.quad_nodes + bool(self.first_order)
        forms = (self.quad_nodes > 0) + bool(self.first_order)
        return choose_method(self.n_out, n_dirs, nodes, forms) == "jvp"

    def _record(self, delta, up, resid):
        terms = [(rows, index, s) for rows, index, s in up.terms if bool(s.any())]
        decays = bool(up.decay.any())  # no decay term: one direction less per node
        extra = torch.stack([up.decay, resid]) if decays else resid[None]
        if self._path is not None:
            fb, first = self._pending
            self._pending = None
        # plain SGD keeps no g_i rows (its terms come from the cross kernel of fb)
        n_dirs = None if self._sgd_kernel else sum(r.shape[0] for r, _, _ in terms) + len(extra)
        if self._path is not None and (self._sgd_kernel or not self._jvp_cheaper(n_dirs)):
            seg = self._path.segment(self.theta, delta, self.quad_nodes, first)
            if self._sgd_kernel:  # φ·g_i as the cross kernel along a_i; decay, rounding per layer
                lr = per_name(self._path.where, terms[0][2]) if terms else None
                kern = seg.kernel(fb, lr) if terms else (None, None)
                ext = seg.dot([(extra, None)])
                results = [e if k is None else torch.cat([k, e], 2) for k, e in zip(kern, ext)]
            else:
                results = seg.dot([(r, s) for r, _, s in terms] + [(extra, None)])
        else:
            feats = torch_func_segment(
                self.space, self.theta, delta, self.x_test, self.n_out, n_dirs,
                quad_nodes=self.quad_nodes, first_order=self.first_order, method=self.method,
            )  # fmt: skip
            results = feats.dot([(r, s) for r, _, s in terms] + [(extra, None)])
        if self._acc is None:
            m, n = self.x_test.shape[0], self.n_train
            self._rows = torch.arange(n, device=self.device)
            z = self.f0.new_zeros
            self._acc = {
                f: {"c": z(m, self.n_out, n), "w": z(m, self.n_out), "r": z(m, self.n_out)}
                for f in FORMS
            }
        for form, res in zip(FORMS, results):
            if res is None:
                continue
            acc, col = self._acc[form], 0
            for _, index, _ in terms:
                block = res[:, :, col : col + index.shape[0]]
                if index.shape[0] == self.n_train and bool((index == self._rows).all()):
                    acc["c"].add_(block)  # every row, in order: no scatter
                else:
                    acc["c"].index_add_(2, index, block)
                col += index.shape[0]
            if decays:
                acc["w"] += res[:, :, col]
            acc["r"] += res[:, :, -1]

    def kernel_machine(self, form: str = "exact") -> KernelMachine:
        """The decomposition of the net at ``x_test`` after the steps recorded so far (a snapshot:
        recording can continue, e.g. to log the decomposition along training)."""
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        if form == "exact" and self.quad_nodes == 0:
            raise ValueError("form='exact' needs quad_nodes ≥ 1; this recorder has quad_nodes=0")
        if form == "first_order" and not self.first_order:
            raise ValueError("form='first_order' needs first_order=True")
        if self.steps == 0:
            raise ValueError("no step recorded yet: call rec.step() first")
        self._check_untouched("since the last rec.step()")
        with torch.no_grad():
            f_t = self.space.forward(self.theta, self.x_test)
        acc, m = self._acc[form], self.x_test.shape[0]
        out = (m, *self.out_shape)
        contrib = acc["c"].permute(0, 2, 1).reshape(m, self.n_train, *self.out_shape)
        recon = self.f0 + acc["c"].sum(2).reshape(out) + (acc["w"] + acc["r"]).reshape(out)
        err = recon - f_t
        ref = float((f_t - self.f0).norm()) or 1.0
        cpu = lambda t: t.detach().cpu().numpy().copy()  # noqa: E731
        return KernelMachine(
            form=form,
            f0=cpu(self.f0),
            f_trained=cpu(f_t),
            contributions=cpu(contrib),
            weight_decay=cpu(acc["w"].reshape(out)),
            rounding=cpu(acc["r"].reshape(out)),
            reconstruction=cpu(recon),
            relative_error=float(err.norm()) / ref,
            max_abs_error=float(err.abs().max()),
            steps=self.steps,
            losses=np.asarray(self.losses),
            grad_mismatch=self.grad_mismatch,
            update_mismatch=self.update_mismatch,
        )


from kernelcap.empirics._path_kernel_train import train_with_path_kernel  # noqa: E402

"""Path kernel of a user-written loop: the decomposition rebuilds the trained net, every optimizer.

Oracles: the trained model's own outputs (f_0 + Σ_i c_i + c_w + c_r = f_T), and for plain SGD an
independent hand-written torch.func loop (per-example Jacobians, 8-node quadrature, no recorder).
"""

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call, jacrev

from kernelcap.empirics.path_kernel import (
    KernelMachine,
    PathKernelRecorder,
    train_with_path_kernel,
)

N, NT, D = 12, 5, 4


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread is faster, and steady on a shared CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(n=N, d=D, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype)


def _mlp(out=2, seed=0, act=nn.Tanh, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(D, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, out)).to(
        dtype
    )


def _mse(out, y):
    return 0.5 * (out - y).square().sum(1)


def _ce(out, y):
    return nn.functional.cross_entropy(out, y, reduction="none")


def _run(model, opt, *, steps=6, batch=4, loss=_mse, y=None, sched=None, seed=0, **kw):
    """A user loop: minibatches with idx, backward of the mean loss, rec.step, scheduler."""
    x, xt = _data(), _data(NT, seed=9)
    y = _data(N, 2, seed=3) if y is None else y
    rec = PathKernelRecorder(model, opt, xt, loss_fn=loss, n_train=N, **kw)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randperm(N, generator=g)[:batch]
        opt.zero_grad()
        loss(model(x[idx]), y[idx]).mean().backward()
        rec.step(x[idx], y[idx], idx)
        if sched is not None:
            sched.step()
    with torch.no_grad():
        f_t = model(xt).numpy()
    return rec, rec.kernel_machine(), f_t


OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.2),
    "sgd-decay": lambda p: torch.optim.SGD(p, lr=0.2, weight_decay=0.1),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "nesterov": lambda p: torch.optim.SGD(
        p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05
    ),
    "dampening": lambda p: torch.optim.SGD(
        p, lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.05
    ),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2),
    "adam-decay": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1),
    "amsgrad": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1, amsgrad=True),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.5, betas=(0.9, 0.98)),
}


@pytest.mark.parametrize("method", ["auto", "jacobian"])  # auto: the structured path here
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_exact_for_every_optimizer(name, method):
    m = _mlp()
    rec, km, f_t = _run(m, OPTIMIZERS[name](m.parameters()), method=method)
    assert (rec._path is not None) == (method == "auto")
    assert isinstance(km, KernelMachine) and km.contributions.shape == (NT, N, 2)
    np.testing.assert_array_equal(km.f_trained, f_t)
    assert km.relative_error < 1e-8, km
    assert km.update_mismatch < 1e-12 and km.grad_mismatch < 1e-12
    assert np.abs(km.rounding).max() < 1e-13
    rebuilt = km.f0 + km.contributions.sum(1) + km.weight_decay + km.rounding
    np.testing.assert_allclose(rebuilt, km.reconstruction, atol=1e-14)
    decays = "decay" in name or name in ("nesterov", "dampening", "amsgrad", "adamw")
    assert (np.abs(km.weight_decay).max() > 1e-4) == decays
    first = rec.kernel_machine("first_order")
    assert 1e3 * km.relative_error < first.relative_error < 0.5


def test_param_groups_and_schedulers():
    m = _mlp()
    groups = [
        {"params": m[0].parameters(), "lr": 3e-2, "weight_decay": 1.0},
        {"params": list(m[2].parameters()) + list(m[4].parameters())},
    ]
    opt = torch.optim.AdamW(groups, lr=1e-2, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 / (1 + s))
    _, km, _ = _run(m, opt, sched=sched)
    assert km.relative_error < 1e-8 and km.update_mismatch < 1e-12
    m = _mlp()
    opt = torch.optim.SGD(
        [{"params": m[0].parameters(), "momentum": 0.0}, {"params": m[4].parameters(), "lr": 0.3}]
        + [{"params": m[2].parameters(), "nesterov": True, "weight_decay": 0.2}],
        lr=0.1,
        momentum=0.9,
    )
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _, km, _ = _run(m, opt, sched=sched)
    assert km.relative_error < 1e-8 and km.update_mismatch < 1e-12


@pytest.mark.parametrize("all_params", [True, False], ids=["frozen-in-optimizer", "trainable-only"])
def test_frozen_layer_untouched_and_outside_the_kernel(all_params):
    m = _mlp()
    m[0].requires_grad_(False)
    before = [p.detach().clone() for p in m[0].parameters()]
    params = m.parameters() if all_params else [p for p in m.parameters() if p.requires_grad]
    rec, km, _ = _run(m, torch.optim.AdamW(params, lr=1e-2, weight_decay=1.0))
    assert all(torch.equal(a, b) for a, b in zip(before, m[0].parameters()))
    assert rec.space.names == ("2.weight", "2.bias", "4.weight", "4.bias")
    assert km.relative_error < 1e-8


def test_parameter_without_grad_is_skipped_like_torch_does():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.unused = _mlp(), nn.Linear(D, 2).double()

        def forward(self, x):
            return self.body(x)

    m = TwoHeads()
    before = m.unused.weight.detach().clone()
    _, km, _ = _run(m, torch.optim.Adam(m.parameters(), lr=1e-2, weight_decay=0.1))
    assert torch.equal(before, m.unused.weight) and km.relative_error < 1e-8


def test_multi_output_cross_entropy_and_scalar_output():
    m = _mlp(out=3)
    y = torch.arange(N) % 3
    _, km, _ = _run(m, torch.optim.SGD(m.parameters(), lr=0.3, momentum=0.5), loss=_ce, y=y)
    assert km.contributions.shape == (NT, N, 3) and km.relative_error < 1e-8

    def scalar_mse(out, t):
        return 0.5 * (out.squeeze(1) - t[:, 0]).square()

    m = _mlp(out=1)
    _, km, _ = _run(m, torch.optim.Adam(m.parameters(), lr=1e-2), loss=scalar_mse)
    assert km.contributions.shape == (NT, N, 1) and km.relative_error < 1e-8


def test_jacobian_and_jvp_methods_agree_and_full_batch_needs_no_idx():
    x, xt, y = _data(), _data(NT, seed=9), _data(N, 2, seed=3)
    out = {}
    for method in ("jacobian", "jvp"):
        m = _mlp()
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        rec = PathKernelRecorder(m, opt, xt.numpy(), loss_fn=_mse, method=method)
        for _ in range(3):
            opt.zero_grad()
            _mse(m(x), y).mean().backward()
            rec.step(x.numpy(), y.numpy())
        out[method] = rec.kernel_machine()
    np.testing.assert_allclose(out["jacobian"].contributions, out["jvp"].contributions, atol=1e-13)
    assert out["jvp"].relative_error < 1e-8


def _reference_sgd(model, x, y, xt, lr, batches, nodes=8):
    """c_i(x) for minibatch SGD, written out with torch.func and no recorder."""
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    theta = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    def f(p, xi):
        return functional_call(model, p, (xi[None],))[0]

    def jac(p, xi):  # (O, P)
        j = jacrev(f)(p, xi)
        return torch.cat([j[n].reshape(j[n].shape[0], -1) for n in names], 1)

    t, w = np.polynomial.legendre.leggauss(nodes)
    c = torch.zeros(len(xt), len(x), 2, dtype=torch.float64)
    for idx in batches:
        grads = {}
        for i in idx.tolist():
            out = f(theta, x[i])
            a = (out - y[i]) / len(idx)  # ∂(½‖f−y‖²/|B|)/∂f
            grads[i] = jac(theta, x[i]).T @ a
        delta = -lr * sum(grads.values())
        flat = torch.cat([theta[n].reshape(-1) for n in names])
        for k in range(len(xt)):
            phi = 0
            for tk, wk in zip((t + 1) / 2, w / 2):
                point = flat + float(tk) * delta
                p, off = {}, 0
                for n in names:
                    p[n] = point[off : off + theta[n].numel()].reshape(theta[n].shape)
                    off += theta[n].numel()
                phi = phi + float(wk) * jac(p, xt[k])
            for i, g in grads.items():
                c[k, i] += phi @ (-lr * g)
        off = 0
        for n in names:
            theta[n] = theta[n] + delta[off : off + theta[n].numel()].reshape(theta[n].shape)
            off += theta[n].numel()
    return c.numpy()


def test_sgd_contributions_match_an_independent_torch_func_loop():
    m = _mlp()
    m[2].requires_grad_(False)
    ref_model = _mlp()
    ref_model[2].requires_grad_(False)
    x, xt, y = _data(), _data(NT, seed=9), _data(N, 2, seed=3)
    g = torch.Generator().manual_seed(0)
    batches = [torch.randperm(N, generator=g)[:4] for _ in range(4)]
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.2)
    rec = PathKernelRecorder(m, opt, xt, loss_fn=_mse, n_train=N, quad_nodes=4)
    for idx in batches:
        opt.zero_grad()
        _mse(m(x[idx]), y[idx]).mean().backward()
        rec.step(x[idx], y[idx], idx)
    ref = _reference_sgd(ref_model, x, y, xt, 0.2, batches)
    km = rec.kernel_machine()
    assert np.abs(ref).max() > 1e-3
    np.testing.assert_allclose(km.contributions, ref, atol=1e-12)


def test_float32_run_reconstructs_to_float_precision():
    m = _mlp(dtype=torch.float32)
    x, xt, y = _data(dtype=torch.float32), _data(NT, seed=9, dtype=torch.float32), _data(N, 2, 3)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.5)
    rec = PathKernelRecorder(m, opt, xt, loss_fn=_mse)
    for _ in range(5):
        opt.zero_grad()
        _mse(m(x), y.float()).mean().backward()
        rec.step(x, y.float())
    km = rec.kernel_machine()
    assert km.contributions.dtype == np.float32 and km.relative_error < 1e-4


def test_train_with_path_kernel_sgd_cross_entropy_frozen_and_numpy():
    m = _mlp(out=3)
    m[0].requires_grad_(False)
    w0 = m[0].weight.detach().clone()
    x, xt, y = _data(), _data(NT, seed=9), torch.arange(N) % 3
    rec = train_with_path_kernel(
        m, x.numpy(), y.numpy(), xt.numpy(), lr=0.5, steps=8, loss="ce", batch_size=4
    )
    assert torch.equal(m[0].weight, w0)
    assert rec.kernel_machine().relative_error < 1e-8
    assert rec.kernel_machine("first_order").relative_error > 1e-6
    with torch.no_grad():
        np.testing.assert_array_equal(m(xt).numpy(), rec.kernel_machine().f_trained)
    rec = train_with_path_kernel(_mlp(), x, y.double()[:, None], xt, lr=0.1, steps=2, quad_nodes=0)
    assert rec.kernel_machine("first_order").steps == 2
    with pytest.raises(ValueError, match="quad_nodes"):
        rec.kernel_machine("exact")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=N + 1), "batch_size"),
        (dict(quad_nodes=-1), "quad_nodes"),
        (dict(loss="hinge"), "loss"),
        (dict(lr=0.0), "lr"),
        (dict(steps=0), "steps"),
    ],
)
def test_train_with_path_kernel_bad_inputs(kwargs, match):
    args = dict(lr=0.1, steps=1) | kwargs
    with pytest.raises(ValueError, match=match):
        train_with_path_kernel(_mlp(), _data(), _data(N, 2), _data(NT), **args)


def test_bad_inputs_raise_named_errors():
    m, x, xt, y = _mlp(), _data(), _data(NT, seed=9), _data(N, 2, seed=3)
    adam = torch.optim.Adam(m.parameters())
    with pytest.raises(TypeError, match="torch.optim.SGD, torch.optim.Adam"):
        PathKernelRecorder(m, torch.optim.RMSprop(m.parameters()), xt, loss_fn=_mse)
    with pytest.raises(ValueError, match="missing"):
        PathKernelRecorder(m, torch.optim.SGD(m[0].parameters(), lr=0.1), xt, loss_fn=_mse)
    with pytest.raises(ValueError, match="maximize"):
        PathKernelRecorder(m, torch.optim.SGD(m.parameters(), 0.1, maximize=True), xt, loss_fn=_mse)
    with pytest.raises(TypeError, match="x_test"):
        PathKernelRecorder(m, adam, xt.float(), loss_fn=_mse)
    with pytest.raises(ValueError, match="x_test"):
        PathKernelRecorder(m, adam, xt * float("nan"), loss_fn=_mse)
    with pytest.raises(ValueError, match="x_test of shape"):  # the model refuses its shape
        PathKernelRecorder(m, adam, _data(NT, d=D + 1), loss_fn=_mse)
    with pytest.raises(ValueError, match="quad_nodes"):
        PathKernelRecorder(m, adam, xt, loss_fn=_mse, quad_nodes=-1)
    with pytest.raises(ValueError, match="method"):
        PathKernelRecorder(m, adam, xt, loss_fn=_mse, method="fast")
    with pytest.raises(TypeError, match="model"):
        PathKernelRecorder(lambda v: v, adam, xt, loss_fn=_mse)
    rec = PathKernelRecorder(m, adam, xt, loss_fn=_mse, n_train=N)
    with pytest.raises(ValueError, match="no step"):
        rec.kernel_machine()
    with pytest.raises(ValueError, match="backward"):
        rec.step(x[:4], y[:4], [0, 1, 2, 3])
    _mse(m(x[:4]), y[:4]).mean().backward()
    for idx, match in [([0, 1, 2, N], "idx"), ([0, 1, 2], "idx"), ([0, 1, 1, 2], "twice")]:
        with pytest.raises(ValueError, match=match):
            rec.step(x[:4], y[:4], idx)
    with pytest.raises(ValueError, match="idx is required"):
        rec.step(x[:4], y[:4])
    with pytest.raises(ValueError, match="x of shape"):
        rec.step(_data(4, d=D + 1), y[:4], [0, 1, 2, 3])
    with pytest.raises(TypeError, match="x has dtype"):
        rec.step(x[:4].float(), y[:4], [0, 1, 2, 3])
    with pytest.raises(ValueError, match="loss_fn must return"):
        PathKernelRecorder(
            m, torch.optim.Adam(m.parameters()), xt, loss_fn=lambda o, t: o - t, n_train=N
        ).step(x[:4], y[:4], [0, 1, 2, 3])
    with pytest.raises(ValueError, match="loss_fn does not reproduce"):  # a penalty left out
        rec.step(x[:4], 1.5 * y[:4], [0, 1, 2, 3])
    rec.step(x[:4], y[:4], [0, 1, 2, 3])
    adam.step()  # a step the recorder did not see
    with pytest.raises(RuntimeError, match="changed outside"):
        rec.step(x[:4], y[:4], [0, 1, 2, 3])
    with pytest.raises(RuntimeError, match="changed since"):
        rec.kernel_machine()
    with pytest.raises(ValueError, match="state"):  # recorder created after the first step
        PathKernelRecorder(m, adam, xt, loss_fn=_mse)
    drop = nn.Sequential(nn.Linear(D, 4), nn.Dropout(0.5)).double()
    with pytest.raises(ValueError, match="training mode"):
        PathKernelRecorder(drop, torch.optim.SGD(drop.parameters(), 0.1), xt, loss_fn=_mse)


def test_record_grokking_margin_parts_add_up_to_the_net():
    from kernelcap.empirics.grokking import ModularMLP
    from kernelcap.empirics.grokking_path_kernel import _ModularMLP, record_grokking

    run = record_grokking(7, embed=8, hidden=16, n_steps=6, n_test=4, n_log=3, every=3, seed=1)
    km, rows = run.machine, np.arange(4)
    f = km.f_trained - km.f_trained.mean(1, keepdims=True)
    assert run.steps[-1] == 6 and run.margin_by_example.shape == (len(run.steps), 4, 20)
    np.testing.assert_allclose(run.margin[-1], f[rows, run.y_test].mean(), rtol=0.05)
    np.testing.assert_allclose(run.margin_by_example.sum(-1).mean(-1), run.margin_examples, 1e-5)
    assert np.all((0 < run.participation) & (run.participation <= 1))
    assert run.margin_per_step.shape == (7,)
    np.testing.assert_allclose(run.margin_per_step[run.steps], run.margin, rtol=0.05, atol=1e-6)
    assert np.all((0 <= run.decay_share) & (run.decay_share <= 1)) and run.relative_error[-1] < 0.05
    x = torch.tensor(run.x_test)
    w = [np.random.default_rng(0).standard_normal(s) for s in [(7, 8), (8, 16), (16, 7)]]
    assert torch.equal(ModularMLP(*w)(x), _ModularMLP(*w)(x))  # the one-hot lookup is exact
    with pytest.raises(ValueError, match="n_test"):
        record_grokking(7, n_test=100, n_steps=1)

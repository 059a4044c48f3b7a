"""Path-kernel recording speed: the recorder's step against a plain training step, per optimizer.

For each optimizer, dtype and batch size, times a plain loop step (zero_grad, forward, loss,
backward, ``optimizer.step()``) and the same step recorded by ``PathKernelRecorder`` (``rec.step``
instead of ``optimizer.step()``), and prints the ratio. With one thread times are the process's
CPU time (the wall time of an idle machine; on a shared CPU the wall time also counts waiting for
a core), with more the wall time. Plain and recorded runs alternate, a block of steps each, and
each keeps its best block. MLP: d=10 → 256 → 256 → 1, tanh (68,865 parameters), MSE,
n_train=200, n_test=50. Where the ``explaind``
package (ExPLAIND, Eichin et al. 2025) imports, its AdamW path kernel runs on the same classifier
run (record history, then ``ExactPathKernelModel.predict``) and is timed next to ours.

    python benchmarks/path_kernel.py                 # full table (float32/float64, batch 200/50)
    python benchmarks/path_kernel.py --quick         # float32, batch 200 only
    python benchmarks/path_kernel.py --method jacobian   # the torch.func path (default: auto)
    OMP_NUM_THREADS=2 python benchmarks/path_kernel.py --threads 2   # default 1: shared CPU
    python benchmarks/path_kernel.py --quick --n-test 5 --no-explaind   # cost against n_test

explaind requires Python ≥ 3.12 on PyPI; its core (epk_model, model_paths, optimizer_paths,
data_paths) imports only torch, numpy and tqdm, so on 3.11 it can be installed with
``pip install --no-deps --ignore-requires-python explaind``.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from kernelcap.empirics.path_kernel import PathKernelRecorder

N_TRAIN, N_TEST, D, WIDTH = 200, 50, 10, 256
CLOCK = time.process_time  # one thread; with more, the wall clock (CPU time sums the threads)

OPTIMIZERS = {
    "SGD": lambda p: torch.optim.SGD(p, lr=0.05),
    "SGD momentum 0.9": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    "Adam": lambda p: torch.optim.Adam(p, lr=1e-3),
    "AdamW wd 0.1": lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.1),
}


def mlp(dtype, d_out=1, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(D, WIDTH), nn.Tanh(), nn.Linear(WIDTH, WIDTH), nn.Tanh(), nn.Linear(WIDTH, d_out)
    ).to(dtype)


def mse(out, y):
    return 0.5 * (out - y).square().sum(1)


def data(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N_TRAIN, D, generator=g, dtype=dtype)
    return x, torch.sin(x[:, :1]), torch.randn(N_TEST, D, generator=g, dtype=dtype)


def time_steps(steps, n_steps, repeats):
    """For each of ``steps``, the best over ``repeats`` of the mean time of ``n_steps``
    consecutive steps (after a warm-up step), the step functions taking turns block by block."""
    for step in steps:
        step(0)
    best = [float("inf")] * len(steps)
    for r in range(repeats):
        for k, step in enumerate(steps):
            t = CLOCK()
            for s in range(n_steps):
                step(1 + r * n_steps + s)
            best[k] = min(best[k], (CLOCK() - t) / n_steps)
    return best


def one_case(name, dtype, batch, n_steps, repeats, **rec_kw):
    x, y, xt = data(dtype)
    gen = torch.Generator().manual_seed(1)
    batches = [torch.randperm(N_TRAIN, generator=gen)[:batch] for _ in range(1 + n_steps * repeats)]

    def runner(record):
        model = mlp(dtype)
        opt = OPTIMIZERS[name](model.parameters())
        rec = PathKernelRecorder(model, opt, xt, loss_fn=mse, n_train=N_TRAIN, **rec_kw)

        def step(s):
            idx = batches[s]
            opt.zero_grad()
            mse(model(x[idx]), y[idx]).mean().backward()
            rec.step(x[idx], y[idx], idx) if record else opt.step()

        return step, rec

    (plain, _), (recorded, rec) = runner(False), runner(True)
    t_plain, t_rec = time_steps([plain, recorded], n_steps, repeats)
    err = rec.kernel_machine().relative_error if rec_kw.get("quad_nodes", 3) else float("nan")
    return t_plain, t_rec, err


def explaind_case(n_steps, integral_nodes=3):
    """ExPLAIND's AdamW path kernel on the same MLP as a 4-class log-softmax classifier, float32
    (its feature maps keep float32 parameters only), full batch, its midpoint rule with
    ``integral_nodes`` points: (history s, predict s, relative error) or why it cannot run."""
    try:
        from explaind.data_paths import DataPath
        from explaind.epk_model import ExactPathKernelModel
        from explaind.model_paths import ModelPath
        from explaind.modulo_model.loss import RegularizedCrossEntropyLoss
        from explaind.optimizer_paths import AdamWOptimizerPath
    except ImportError as err:
        return f"not importable ({err}); see the module docstring"
    import contextlib
    import io

    x, labels, xt = classifier_data()

    class Dataset(torch.utils.data.Dataset):  # DataPath appends each row's index to .targets
        targets = list(labels)

        def __getitem__(self, i):
            return x[i], self.targets[i]

        def __len__(self):
            return N_TRAIN

    model = nn.Sequential(mlp(torch.float32, d_out=4), nn.LogSoftmax(dim=1))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # prints, tqdm
        loader = torch.utils.data.DataLoader(Dataset(), batch_size=N_TRAIN)
        data_path = DataPath(loader, full_batch=False)
        mpath = ModelPath(model, device="cpu", output_dim=4)
        opt = AdamWOptimizerPath(
            mpath, lr=1e-3, weight_decay=0.1, checkpoints=[], device="cpu"
        )  # a fresh list: the default checkpoints=[] is shared between instances
        loss_fn = RegularizedCrossEntropyLoss(alpha=0.0)
        t = time.perf_counter()
        for _ in range(n_steps):
            for batch in loader:
                xb, yb = data_path.get_batch(batch)
                opt.zero_grad()
                loss_fn(mpath(xb), yb).backward()
                opt.step()
                mpath.log_checkpoint()
                opt.log_checkpoint()
        t_hist = time.perf_counter() - t
        eps = 1 / integral_nodes
        epk = ExactPathKernelModel(
            mpath, opt, loss_fn, data_path, integral_eps=eps, early_integral_eps=eps,
            early_steps=0, evaluate_predictions=False, device="cpu", train_set_size=N_TRAIN,
            keep_param_wise_kernel=True,  # else predict() fails at step 0 (prev_eval is None)
        )  # fmt: skip
        t = time.perf_counter()
        pred, f_0 = epk.predict(xt)[:2]
        t_pred = time.perf_counter() - t
    with torch.no_grad():
        f_t = model(xt)
    return t_hist, t_pred, float(((pred - f_t).norm() / (f_t - f_0).norm()).detach())


def classifier_data():
    x, _, xt = data(torch.float32)
    return x, (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long(), xt


def ours_classifier(n_steps, repeats):
    """The same 4-class run (log-softmax outputs, NLL) recorded by PathKernelRecorder."""
    x, labels, xt = classifier_data()

    def nll(out, t):
        return nn.functional.nll_loss(out, t, reduction="none")

    best = float("inf")
    for _ in range(repeats):
        model = nn.Sequential(mlp(torch.float32, d_out=4), nn.LogSoftmax(dim=1))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
        rec = PathKernelRecorder(model, opt, xt, loss_fn=nll, first_order=False)
        t = time.perf_counter()
        for _ in range(n_steps):
            opt.zero_grad()
            nll(model(x), labels).mean().backward()
            rec.step(x, labels)
        km = rec.kernel_machine()
        best = min(best, time.perf_counter() - t)
    return best, km.relative_error


def main():
    global N_TEST, CLOCK
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="> 1: set OMP_NUM_THREADS instead")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--n-test", type=int, default=50, help="test inputs decomposed")
    ap.add_argument("--no-explaind", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--method", default="auto", help="the recorder's method")
    args = ap.parse_args()
    N_TEST = args.n_test
    if args.threads == 1:
        torch.set_num_threads(1)  # one thread only: set_num_threads(k > 1) breaks batched LAPACK
    elif torch.get_num_threads() != args.threads:
        ap.error(f"start with OMP_NUM_THREADS={args.threads} for {args.threads} threads")
    else:
        CLOCK = time.perf_counter
    dtypes = [torch.float32] if args.quick else [torch.float32, torch.float64]
    batches = [200] if args.quick else [200, 50]
    n_params = sum(p.numel() for p in mlp(torch.float32).parameters())
    print(
        f"MLP {D}-{WIDTH}-{WIDTH}-1 tanh, P={n_params}, n_train={N_TRAIN}, n_test={N_TEST}, "
        f"torch {torch.__version__}, {args.threads} thread(s), method={args.method!r}; "
        f"best of {args.repeats}×{args.steps}"
    )
    head = "optimizer           dtype    batch  plain ms  recorded ms  ratio  no-1st-order  rel.err"
    print(head)
    print("-" * len(head))
    for dtype in dtypes:
        for batch in batches:
            for name in OPTIMIZERS:
                kw = dict(method=args.method)
                t0, t1, err = one_case(name, dtype, batch, args.steps, args.repeats, **kw)
                kw["first_order"] = False
                t3, t2, _ = one_case(name, dtype, batch, args.steps, args.repeats, **kw)
                t0 = min(t0, t3)
                row = f"{name:<19} {str(dtype)[6:]:<8} {batch:>5}  {1e3 * t0:8.2f}  "
                print(row + f"{1e3 * t1:11.1f}  {t1 / t0:5.1f}  {t2 / t0:12.1f}  {err:.1e}")
    if args.no_explaind:
        return
    steps = 10
    res = explaind_case(steps)
    if isinstance(res, str):
        print(f"explaind: {res}")
        return
    t_hist, t_pred, err = res
    t_ours, err_ours = ours_classifier(steps, args.repeats)
    print(
        f"\nAdamW, 4-class log-softmax MLP, full batch, {steps} steps, float32, 3 test-gradient "
        f"points per step:\n  explaind: history {t_hist:.2f} s + predict {t_pred:.2f} s = "
        f"{t_hist + t_pred:.2f} s, relative error {err:.1e} (midpoint rule)\n  kernelcap: "
        f"recorded run {t_ours:.2f} s, relative error {err_ours:.1e} (Gauss–Legendre); "
        f"explaind/kernelcap = {(t_hist + t_pred) / t_ours:.1f}"
    )


if __name__ == "__main__":
    main()

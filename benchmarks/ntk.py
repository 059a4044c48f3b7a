"""Empirical NTK speed and memory: kernelcap vs plain torch.func, nngeometry and neural-tangents.

Every (model, N, method) cell runs in a fresh subprocess of this interpreter: the time is the best
of ``--repeat`` calls after a warm-up (jit compilation for JAX), the memory is the peak RSS of
that process above what it held before the first call. The kernels of all methods are compared
with kernelcap's in the same run. Rows:

* ``mlp``: 3-layer ReLU MLP (16 → width → width → 1, nn.Linear), N ∈ {256, 1024, 4096};
  also the achieved GFLOP/s of kernelcap's Gram products against a plain ``torch.mm`` of a
  matching (N × width)·(width × N) product measured in the same process.
* ``cnn``: 3×32×32 inputs, conv 3→32, pool, conv 32→32, pool, conv 32→64, global average pool,
  linear → 1 (3×3 kernels, padding 1, ReLU; 28.7k parameters), N ∈ {256, 1024}.
* ``transformer``: (N, T, d) inputs, one ``nn.TransformerEncoderLayer(d, 4 heads, FFN 2d,
  batch_first)``, mean over tokens, linear → 1; (T, d) ∈ {(16, 64), (64, 256)}.

Methods: ``kernelcap`` (``empirical_ntk``, method="auto"), ``torch.func`` (the ten lines a user
writes: ``vmap(jacrev)`` over examples, one matmul), ``torch.func+math`` (the same inside
``sdpa_kernel(MATH)``, which gives vmap a batching rule for attention), ``nngeometry``
(``GramMatrix``, when installed: ``pip install --no-deps nngeometry==0.4``), ``nt-jacobian`` and
``nt-ntvp`` (neural-tangents' JACOBIAN_CONTRACTION and NTK_VECTOR_PRODUCTS on the same weights, when
jax is installed; stax expresses the MLP and the CNN, not PyTorch's transformer layer).

    python benchmarks/ntk.py                    # all rows (~15 min on 2 CPU cores)
    python benchmarks/ntk.py --quick            # N=1024 MLP, N=256 CNN, small transformer
    python benchmarks/ntk.py --rows cnn --threads 1
    python benchmarks/ntk.py --big 50000 --out /tmp/k.npy   # memmap kernel: time, peak RSS
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

METHODS = ("kernelcap", "torch.func", "torch.func+math", "nngeometry", "nt-jacobian", "nt-ntvp")


def build(kind, n, size, seed=0):
    """(model, x) for a row; ``size`` is the MLP width, or (T, d) for the transformer."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    if kind == "mlp":
        model = nn.Sequential(
            nn.Linear(16, size), nn.ReLU(), nn.Linear(size, size), nn.ReLU(), nn.Linear(size, 1)
        )
        return model.eval(), torch.randn(n, 16, generator=g)
    if kind == "cnn":
        model = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(64, 1),
        )
        return model.eval(), torch.randn(n, 3, 32, 32, generator=g)
    t, d = size

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True)
            self.head = nn.Linear(d, 1)

        def forward(self, x):
            return self.head(self.layer(x).mean(1))

    return Transformer().eval(), torch.randn(n, t, d, generator=g)


def torch_func_kernel(model, x):
    """What a user writes by hand: per-example Jacobians with vmap(jacrev), then J Jᵀ."""
    import torch
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}

    def f(p, xi):
        return functional_call(model, p, (xi[None],)).reshape(-1)

    jac = vmap(jacrev(f), in_dims=(None, 0))(params, x)
    j = torch.cat([v.reshape(x.shape[0], -1) for v in jac.values()], 1)
    return j @ j.T


def nngeometry_kernel(model, x):
    import torch
    from nngeometry import GramMatrix
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x, torch.zeros(len(x))), batch_size=len(x))
    return GramMatrix(model, loader).data[0, :, 0, :]


def nt_kernel(kind, model, x, impl):
    """A jitted neural-tangents empirical NTK of the same network and weights, or None."""
    import jax
    import neural_tangents as nt
    import torch
    from neural_tangents import stax

    std = dict(parameterization="standard", W_std=1.0, b_std=1.0)
    if kind == "mlp":
        lins = [m for m in model if hasattr(m, "weight")]
        layers = [stax.Dense(lins[0].out_features, **std), stax.Relu()]
        layers += [stax.Dense(lins[1].out_features, **std), stax.Relu(), stax.Dense(1, **std)]
        params = []
        for m in lins:
            params += [(m.weight.detach().numpy().T, m.bias.detach().numpy()), ()]
        params, xj = params[:-1], x.numpy()
    elif kind == "cnn":
        convs = [m for m in model if isinstance(m, torch.nn.Conv2d)]
        conv = [stax.Conv(m.out_channels, (3, 3), padding="SAME", **std) for m in convs]
        pool = stax.AvgPool((2, 2), strides=(2, 2))
        layers = [conv[0], stax.Relu(), pool, conv[1], stax.Relu(), pool, conv[2], stax.Relu()]
        layers += [stax.GlobalAvgPool(), stax.Dense(1, **std)]
        w = [
            (m.weight.detach().numpy().transpose(2, 3, 1, 0), m.bias.detach().numpy())
            for m in convs
        ]
        head = model[-1]
        params = [w[0], (), (), w[1], (), (), w[2], (), ()]
        params += [(head.weight.detach().numpy().T, head.bias.detach().numpy())]
        xj = x.numpy().transpose(0, 2, 3, 1)
    else:
        return None  # stax has no layer with nn.TransformerEncoderLayer's parameterization
    _, apply_fn, _ = stax.serial(*layers)
    with np.errstate(all="ignore"):
        out = np.asarray(apply_fn(params, xj))
    ref = model(x).detach().numpy()
    assert np.allclose(out, ref, rtol=1e-3, atol=1e-4), "stax model differs from the torch one"
    implementation = {
        "nt-jacobian": nt.NtkImplementation.JACOBIAN_CONTRACTION,
        "nt-ntvp": nt.NtkImplementation.NTK_VECTOR_PRODUCTS,
    }[impl]
    fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), implementation=implementation))
    return lambda: np.asarray(jax.block_until_ready(fn(xj, None, params)))


def worker(spec):
    """One cell, in its own process: prints a JSON line with seconds, memory, kernel file."""
    import torch

    if spec["threads"]:  # 0: torch's default
        torch.set_num_threads(spec["threads"])
    model, x = build(spec["kind"], spec["n"], spec["size"])
    method = spec["method"]
    if method == "kernelcap":
        from kernelcap.empirics.kernels import empirical_ntk

        def run():
            return empirical_ntk(model, x).numpy()
    elif method.startswith("torch.func"):

        def run():
            if method == "torch.func":
                return torch_func_kernel(model, x).detach().numpy()
            from torch.nn.attention import SDPBackend, sdpa_kernel

            with sdpa_kernel(SDPBackend.MATH):
                return torch_func_kernel(model, x).detach().numpy()
    elif method == "nngeometry":

        def run():
            return nngeometry_kernel(model, x).detach().numpy()
    else:
        run = nt_kernel(spec["kind"], model, x, method)
        if run is None:
            print(json.dumps({"skip": "stax cannot express this model"}))
            return
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    k = run()  # warm-up (and jit compilation)
    best = float("inf")
    for _ in range(spec["repeat"]):
        t = time.perf_counter()
        k = run()
        best = min(best, time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = {"seconds": best, "peak_mib": (peak - before) / 1024, "kernel": spec["kernel_file"]}
    np.save(spec["kernel_file"], np.asarray(k, dtype=np.float64).reshape(len(x), len(x)))
    if method == "kernelcap" and spec["kind"] == "mlp":
        res.update(gflops(model, x, best))
    print(json.dumps(res))


def gflops(model, x, seconds):
    """Effective GFLOP/s of the MLP's Gram products Σ_l 2N²(d_in,l + d_out,l) (the full square, as
    a plain implementation would compute), and torch.mm's on an (N × width)·(width × N) product."""
    import torch

    n = len(x)
    lins = [m for m in model if hasattr(m, "weight")]
    flops = sum(2 * n * n * (m.in_features + 1 + m.out_features) for m in lins)
    width = lins[0].out_features
    a = torch.randn(n, width)
    a @ a.T
    best = min(_timed(lambda: a @ a.T) for _ in range(3))
    return {"gflops": flops / seconds / 1e9, "mm_gflops": 2 * n * n * width / best / 1e9}


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def cell(kind, n, size, method, repeat, threads, tmp):
    kernel_file = os.path.join(tmp, f"{kind}-{n}-{size}-{method}.npy".replace(" ", ""))
    spec = dict(kind=kind, n=n, size=size, method=method, repeat=repeat, threads=threads)
    spec["kernel_file"] = kernel_file
    env = dict(os.environ)
    if threads:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        noise = ("I0000", "W0000", "WARNING", "E0000")
        said = [s for s in proc.stderr.strip().splitlines() if not s.startswith(noise)]
        if proc.returncode < 0:
            return {"error": f"killed by signal {-proc.returncode} (out of memory?)"}
        return {"error": (said or ["failed"])[-1][:90]}
    return json.loads(lines[-1])


def row(kind, n, size, methods, repeat, threads, tmp):
    res = {m: cell(kind, n, size, m, repeat, threads, tmp) for m in methods}
    ours = res["kernelcap"]
    ref = np.load(ours["kernel"]) if "kernel" in ours else None
    label = {"mlp": f"width {size}", "cnn": "3x32x32"}.get(kind) or f"T={size[0]} d={size[1]}"
    print(f"\n{kind} N={n} {label}", flush=True)
    print(
        f"  {'method':16s} {'seconds':>9s} {'this/kernelcap':>15s} {'peak MiB':>9s}"
        f" {'max|ΔK|/max|K|':>16s}"
    )
    for m, r in res.items():
        if "seconds" not in r:
            print(f"  {m:16s} {r.get('error') or r.get('skip')}")
            continue
        err = float("nan")
        if ref is not None:
            k = np.load(r["kernel"])
            err = np.abs(k - ref).max() / np.abs(ref).max()
        ratio = r["seconds"] / ours["seconds"] if "seconds" in ours else float("nan")
        print(
            f"  {m:16s} {r['seconds']:9.3f} {ratio:15.1f} {r['peak_mib']:9.0f} {err:16.1e}",
            flush=True,
        )
    if "gflops" in ours:
        print(
            f"  kernelcap Gram products {ours['gflops']:.1f} GFLOP/s (effective); torch.mm "
            f"{ours['mm_gflops']:.1f} GFLOP/s on (N×{size})·({size}×N)"
        )
    return res


def big(n, out, chunk, threads, width=512):
    """One n-example kernel of the width-512 MLP written to ``out``: seconds, peak RSS."""
    import torch

    from kernelcap.empirics.kernels import empirical_ntk

    torch.set_num_threads(threads or torch.get_num_threads())
    model, x = build("mlp", n, width)
    t = time.perf_counter()
    k = empirical_ntk(model, x, chunk_size=chunk, out=out, progress=True)
    dt = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"N={n} width={width} chunk={chunk}: {dt:.1f} s, kernel {tuple(k.shape)} float32 "
        f"({os.path.getsize(out) / 2**30:.2f} GiB on disk), peak RSS {rss:.2f} GiB"
    )


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="one row of each kind")
    p.add_argument("--rows", nargs="*", default=["mlp", "cnn", "transformer"])
    p.add_argument("--methods", nargs="*", default=list(METHODS))
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch/XLA threads (0: default)")
    p.add_argument("--big", type=int, default=0, help="write one N-example MLP kernel to --out")
    p.add_argument("--out", default="kernel.npy")
    p.add_argument("--chunk", type=int, default=4096)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))
    if args.big:
        return big(args.big, args.out, args.chunk, args.threads)
    grid = {
        "mlp": [(1024, 512)]
        if args.quick
        else [(n, w) for n in (256, 1024, 4096) for w in (256, 512, 1024)],
        "cnn": [(256, 0)] if args.quick else [(256, 0), (1024, 0)],
        "transformer": [(256, (16, 64))]
        if args.quick
        else [(n, s) for s in ((16, 64), (64, 256)) for n in (256, 1024)],
    }
    print(
        f"threads: {args.threads or 'default'}; best of {args.repeat} after a warm-up; "
        "ratios > 1: kernelcap is faster"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.rows:
            for n, size in grid[kind]:
                methods = ["kernelcap"] + [m for m in args.methods if m != "kernelcap"]
                if kind != "transformer":
                    methods = [m for m in methods if m != "torch.func+math"]
                if kind == "mlp" and n * size > 1024 * 512:  # hours, or beyond memory
                    methods = [m for m in methods if m in ("kernelcap", "nngeometry")]
                if kind == "cnn" and n > 256:  # neural-tangents: > 20 GB at N=1024
                    methods = [m for m in methods if not m.startswith("nt-")]
                row(kind, n, size, methods, args.repeat, args.threads, tmp)


if __name__ == "__main__":
    main()

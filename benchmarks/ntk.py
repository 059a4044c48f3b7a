"""Empirical NTK speed and memory: kernelcap's methods vs a plain torch.func baseline and neural-tangents.

Times ``empirical_ntk`` (structured, jacobian, ntvp), a hand-written ``torch.func`` jacobian contraction
and, when installed, neural-tangents' JACOBIAN_CONTRACTION and NTK_VECTOR_PRODUCTS on the same
3-layer ReLU MLPs (float32, same weights, scalar output), checks the kernels are equal and prints
ratios against the best neural-tangents method measured in the same run.

    python benchmarks/ntk.py            # N ∈ {256, 1024, 4096}, width ∈ {256, 512, 1024}
    python benchmarks/ntk.py --quick    # N=1024, width 512 only, one timed call each (~1 min with nt)
    python benchmarks/ntk.py --big 20000  # one chunked 20 000-example kernel, width 512: time, peak RSS
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap

from kernelcap.empirics.kernels import empirical_ntk, ntk_mlp


def _time(fn, repeat=2):
    fn()  # warm-up (jit compile for jax)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def plain_func_baseline(model, x):
    params = {k: v.detach() for k, v in model.named_parameters()}
    f = lambda p, xi: functional_call(model, p, (xi[None],)).reshape(-1)  # noqa: E731
    jac = vmap(jacrev(f), in_dims=(None, 0))(params, x)
    j = torch.cat([v.reshape(x.shape[0], -1) for v in jac.values()], dim=1)
    return j @ j.T


def nt_methods(model, x):
    try:
        import jax
        import neural_tangents as nt
        from neural_tangents import stax
    except ImportError:
        return {}
    dense = [m for m in model if hasattr(m, "w_factor")]
    layers = []
    for _ in dense[:-1]:
        layers += [stax.Dense(dense[0].weight.shape[0], W_std=1.0, b_std=1.0), stax.Relu()]
    _, apply_fn, _ = stax.serial(*layers, stax.Dense(1, W_std=1.0, b_std=1.0))
    params = []
    for m in dense:
        params += [(m.weight.detach().numpy().T, m.bias.detach().numpy()), ()]
    params = params[:-1]
    xj = x.numpy()
    out = {}
    for name, impl in (
        ("nt-jacobian", nt.NtkImplementation.JACOBIAN_CONTRACTION),
        ("nt-ntvp", nt.NtkImplementation.NTK_VECTOR_PRODUCTS),
    ):
        fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), implementation=impl))
        out[name] = lambda fn=fn: np.asarray(jax.block_until_ready(fn(xj, None, params)))
    return out


def bench(n, width, methods, repeat=2):
    model = ntk_mlp(16, width, 2, 1, b_std=1.0, seed=0, dtype=torch.float32, device="cpu")
    x = torch.randn(n, 16, generator=torch.Generator().manual_seed(1))
    runs = {m: (lambda m=m: empirical_ntk(model, x, method=m).numpy()) for m in methods}
    runs["torch.func baseline"] = lambda: plain_func_baseline(model, x).detach().numpy()
    runs.update(nt_methods(model, x))
    res = {}
    for name, fn in runs.items():
        try:
            res[name] = _time(fn, repeat)
        except RuntimeError as err:  # out of memory for the per-example-Jacobian methods
            res[name] = (float("nan"), None)
            print(f"  {name}: failed ({str(err)[:60]})")
    ref = res["structured"][1]
    nt_times = [res[k][0] for k in res if k.startswith("nt-") and np.isfinite(res[k][0])]
    best_nt = min(nt_times) if nt_times else float("nan")
    print(
        f"\nN={n} width={width}  peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    )
    print(f"  {'method':22s} {'seconds':>9s} {'best-nt/this':>13s} {'max|ΔK|/max|K|':>16s}")
    for name, (t, k) in res.items():
        err = float(np.abs(k - ref).max() / np.abs(ref).max()) if k is not None else float("nan")
        print(f"  {name:22s} {t:9.4f} {best_nt / t:13.1f} {err:16.2e}")
    return res


def big(n, width=512, chunk=2048):
    model = ntk_mlp(16, width, 2, 1, b_std=1.0, seed=0, dtype=torch.float32, device="cpu")
    x = torch.randn(n, 16, generator=torch.Generator().manual_seed(1))
    t = time.perf_counter()
    k = empirical_ntk(model, x, chunk_size=chunk)
    dt = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"N={n} width={width} chunk={chunk}: {dt:.1f} s, kernel {tuple(k.shape)} "
        f"({k.numel() * 4 / 2**30:.2f} GiB float32), peak RSS {rss:.2f} GiB"
    )


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="N=1024, width 512 only")
    p.add_argument("--big", type=int, default=0, help="also time one chunked N-example kernel")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    grid = (
        [(1024, 512)]
        if args.quick
        else [(n, w) for n in (256, 1024, 4096) for w in (256, 512, 1024)]
    )
    for n, w in grid:
        if args.quick:  # one timed call each; kernelcap's ntvp (~40 s here) left out
            bench(n, w, ["structured", "jacobian"], repeat=1)
            continue
        methods = ["structured", "ntvp", "jacobian"] if n * w <= 1024 * 512 else ["structured"]
        bench(n, w, methods)
    if args.big:
        big(args.big)


if __name__ == "__main__":
    main()

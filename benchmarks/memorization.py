"""K small MLPs trained as one batched program vs a Python loop over the same models.

The Feldman–Zhang estimator retrains K models on random subsets. kernelcap trains all K as one
vmapped ``torch.func`` program (:mod:`kernelcap.empirics._batched_models`); the baseline is what a
user writes without it: a loop over the K models, each with its own ``torch.optim.Adam``. Both start
from the same initialisations, see the same subsets and take the same full-batch Adam steps. The
script times both in float32 on one thread for two sizes (10→32→4 on n = 128, 10→64→4 on n = 256),
checks that the numbers are equal (a 10-step float64 run: max |Δ| at rounding level; the float32
runs make the same predictions) and prints the speed-up. The speed-up shrinks as each model's own
arithmetic grows: the loop pays Python and dispatch overhead per model, the batched program once.

    python benchmarks/memorization.py            # 200 steps
    python benchmarks/memorization.py --quick    # 50 steps
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from kernelcap.empirics._batched_models import Stack, TrainConfig, build_member, train_members
from kernelcap.empirics._full_batch import member_seed
from kernelcap.empirics.memorization import long_tailed_mixture, random_masks


def factory(d: int, width: int, classes: int):
    return lambda: nn.Sequential(nn.Linear(d, width), nn.ReLU(), nn.Linear(width, classes))


def batched(make, x, y, masks, cfg):
    members = [build_member(make, member_seed(0, b)) for b in range(masks.shape[0])]
    start = time.perf_counter()
    run = train_members(Stack(members, "cpu"), x, y, masks, cfg)
    return run.outputs, time.perf_counter() - start


def loop(make, x, y, masks, cfg):
    outs = []
    start = time.perf_counter()
    for b in range(masks.shape[0]):
        model = build_member(make, member_seed(0, b))
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
        xb, yb = x[masks[b]], y[masks[b]]
        for _ in range(cfg.steps):
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        with torch.no_grad():
            outs.append(model(x))
    return torch.stack(outs), time.perf_counter() - start


def compare(make, data, masks, cfg, dtype=torch.float32):
    x = data.x.to(dtype)
    b = factory_cast(make, dtype)
    out_b, t_b = batched(b, x, data.y, masks, cfg)
    out_l, t_l = loop(b, x, data.y, masks, cfg)
    return out_b, out_l, t_b, t_l


def factory_cast(make, dtype):
    return lambda: make().to(dtype)


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=64)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="50 steps")
    args = ap.parse_args(argv)
    steps = 50 if args.quick else args.steps
    torch.set_num_threads(1)  # both sides on one core: the comparison is about the program shape
    masks_for = {}
    rows = []
    print(f"K={args.models} MLPs trained on random halves, full-batch Adam, 1 CPU thread")
    for n, width in ((128, 32), (256, 64)):
        data = long_tailed_mixture(n, 10, 4, seed=0)
        masks = masks_for.setdefault(n, torch.as_tensor(random_masks(args.models, n, 0.5, seed=0)))
        make = factory(10, width, 4)
        cfg = TrainConfig(steps=steps, lr=1e-2, loss="ce", optimizer="adam")
        out_b, out_l, t_b, t_l = compare(make, data, masks, cfg)
        same = float((out_b.argmax(-1) == out_l.argmax(-1)).double().mean())
        # equality of the numbers, free of float32 rounding: the same 10 steps in float64
        short = TrainConfig(steps=10, lr=1e-2, loss="ce", optimizer="adam")
        d_b, d_l, _, _ = compare(make, data, masks, short, torch.float64)
        diff64 = float((d_b - d_l).abs().max())
        diff32 = float((out_b - out_l).abs().max() / out_l.abs().max())
        print(
            f"  10→{width}→4, n={n}, {steps} steps: batched {t_b:6.2f} s, loop {t_l:6.2f} s, "
            f"speed-up {t_l / t_b:5.1f}x | max |Δ| float64 (10 steps) {diff64:.1e}, "
            f"float32 relative {diff32:.1e}, same predictions {100 * same:.2f}%"
        )
        rows.append(
            dict(
                n=n,
                width=width,
                batched_s=t_b,
                loop_s=t_l,
                ratio=t_l / t_b,
                max_diff_float64=diff64,
            )
        )
    return rows


if __name__ == "__main__":
    main()

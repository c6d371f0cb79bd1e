"""N²CE speed: training ms/iteration and SVGD sampling time on the current device.

Usage:
    OMP_NUM_THREADS=1 MBO_DATA_DIR=... python benchmarks/n2ce_speed.py [--device cpu|cuda]
        [--iterations 5] [--negatives 100] [--svgd-steps 20] [--budget 256] [--out results/n2ce/speed.json]

Trains on TF-Bind-8 at the paper configuration (batch 128, M = 100 with n2 = M·n1 negatives,
K = 6, 16 residual blocks) for a few timed iterations after one warm-up iteration, then times
SVGD with Q = ``--budget`` particles for ``--svgd-steps`` steps and scales to T = 500.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--negatives", type=int, default=100, help="negatives per positive (paper: 100)")
    ap.add_argument("--svgd-steps", type=int, default=20)
    ap.add_argument("--budget", type=int, default=256)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from mbo.harness import make_task
    from mbo.nn import seed_everything
    from mbo.optimizers.n2ce import N2CE

    data = make_task("tfbind8").offline_data()
    device = torch.device(args.device)
    seed_everything(0)
    result = {"device": str(device), "torch_threads": torch.get_num_threads(),
              "cpu": platform.processor() or platform.machine(),
              "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
              "config": {"batch_size": 128, "M": 100, "n_negatives": args.negatives, "K": 6, "num_blocks": 16}}
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    times = {}
    for n_iter in (1, 1, 1 + args.iterations):  # a warm-up fit, then the difference removes setup costs
        opt = N2CE(N2CE.Config(num_iterations=n_iter, n_negatives=args.negatives), seed=0, device=device)
        sync()
        t0 = time.perf_counter()
        opt.fit(data)
        sync()
        times[n_iter] = time.perf_counter() - t0
    ms = 1000 * (times[1 + args.iterations] - times[1]) / args.iterations
    result["train_ms_per_iteration"] = ms
    result["train_hours_30k"] = ms * 30000 / 3.6e6

    opt.config.svgd_steps = args.svgd_steps
    sync()
    t0 = time.perf_counter()
    opt.propose(args.budget)
    sync()
    sec = time.perf_counter() - t0
    result.update({"svgd_budget": args.budget, "svgd_steps_timed": args.svgd_steps,
                   "svgd_seconds_timed": sec, "svgd_seconds_T500_estimate": sec * 500 / args.svgd_steps})
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

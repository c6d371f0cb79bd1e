"""N²CE speed: training ms/iteration and SVGD sampling time on the current device.

Usage:
    OMP_NUM_THREADS=1 MBO_DATA_DIR=... python benchmarks/n2ce_speed.py [--device cpu|cuda]
        [--iterations 5] [--negatives 100] [--svgd-steps 20] [--budget 256] [--out results/n2ce/speed.json]

Trains on TF-Bind-8 at the paper configuration (batch 128, M = 100 with n2 = M·n1 negatives,
K = 6, 16 residual blocks) for a few timed iterations after one warm-up iteration, then times
SVGD with Q = ``--budget`` particles for ``--svgd-steps`` steps and scales to T = 500.

Beside the measurement it prints the step's matmul floor: the multiply-adds of every Linear
layer in one training step (forward 2·in·out per row, backward 4·in·out), divided by the sgemm
rate this machine reaches on the step's own matrix shapes at the current thread count.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch


def step_flops(cfg, dim: int, vocab: int, batch: int, m: int) -> dict:
    """Linear-layer FLOPs of one training iteration (forward + backward), by part."""
    h, nz, e = cfg.hidden_size, cfg.nz, cfg.token_embedding
    ratio_row = nz * h + h * h + h * h + cfg.num_blocks * h * h + h   # inp, merge (row half), trunk, head
    rows = batch * (1 + m)
    enc = (dim * e + 1) * h + h * h + 2 * h * nz
    gen = nz * 128 + 128 * 64 + 64 * 32 + 32 * 32 + 32 * (dim * max(vocab, 1) + 1)
    return {"ratio_step": 6 * rows * ratio_row,
            "vae_step": 6 * batch * (enc + gen) + 6 * batch * cfg.K * ratio_row,  # ψ loss incl. Σ_k f_k(z)
            "previous_layout_ratio_step": 6 * rows * (ratio_row + 3 * h * h)}  # per-row stage embedding + full merge


def sgemm_gflops(rows: int, h: int, device: torch.device, repeats: int = 20) -> float:
    """Rate of the step's dominant products: [rows, h] @ [h, h] and the weight gradient [h, rows] @ [rows, h]."""
    a, w = torch.randn(rows, h, device=device), torch.randn(h, h, device=device)
    for _ in range(3):
        a @ w, a.t() @ a
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ w
        a.t() @ a
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return 2 * 2 * rows * h * h * repeats / (time.perf_counter() - t0) / 1e9


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
    cfg = opt.config
    flops = step_flops(cfg, data.space.dim, data.space.vocab_size, cfg.batch_size, args.negatives)
    rate = sgemm_gflops(cfg.batch_size * (1 + args.negatives), cfg.hidden_size, device)
    total = flops["ratio_step"] + flops["vae_step"]
    result.update({"step_gflop": total / 1e9, "step_gflop_previous_layout": (flops["previous_layout_ratio_step"]
                                                                              + flops["vae_step"]) / 1e9,
                   "sgemm_gflops_per_s": rate, "matmul_floor_ms": total / rate / 1e6,
                   "ratio_to_floor": ms / (total / rate / 1e6)})

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

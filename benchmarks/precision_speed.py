"""fp32 against bf16 (``--precision bf16``: torch.autocast) on this machine, at the current thread count.

Times (best of ``--repeats``, after a warm-up) a 512 × 2048 × 2048 matmul in fp32 and in bf16, and one
training step of a 2-layer 2048-wide ReLU MLP (batch 512, 2048 inputs, Adam, MSE) in fp32 and under
the same autocast context ``mbo run --precision bf16`` enters (:func:`mbo.nn.device.autocast`). Prints
the CPU model and its bf16-relevant flags first.

    OMP_NUM_THREADS=1 python benchmarks/precision_speed.py > results/engine/precision_speed.txt
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import time

import torch

from mbo.cost import matmul_rate
from mbo.nn import mlp
from mbo.nn.device import autocast


def cpu_line() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return platform.processor()
    info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = set(info.get("Flags", "").split())
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile") if f in flags]
    return (f"{info.get('Model name', '?').strip()} ({info.get('Vendor ID', '').strip()}), "
            f"{info.get('CPU(s)', '?').strip()} CPUs; flags: {' '.join(wanted) or 'none of avx512/amx'}")


def mlp_step_ms(precision: str, repeats: int, batch: int = 512, width: int = 2048) -> float:
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = mlp(width, 1, width, 2, "relu")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, width, generator=gen)
    y = torch.randn(batch, generator=gen)
    cpu = torch.device("cpu")

    def step() -> None:
        with autocast(cpu, precision):
            loss = ((model(x).reshape(-1).float() - y) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    print(f"# {cpu_line()}; torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print("# what\tfp32\tbf16\tbf16 / fp32")
    f32, b16 = (matmul_rate("cpu", p, args.repeats) / 1e9 for p in ("fp32", "bf16"))
    print(f"matmul 512x2048x2048 (GFLOP/s)\t{f32:.0f}\t{b16:.0f}\t{b16 / f32:.2f}")
    f32, b16 = (mlp_step_ms(p, args.repeats) for p in ("fp32", "bf16"))
    print(f"MLP 2x2048 training step, batch 512 (ms)\t{f32:.0f}\t{b16:.0f}\t{b16 / f32:.2f}")


if __name__ == "__main__":
    main()

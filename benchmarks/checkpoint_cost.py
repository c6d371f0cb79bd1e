"""What a training checkpoint (resumable long fits, :mod:`mbo.checkpoint`) costs: one write of each seed
method's ``paper``-size state on TF-Bind-8, and the per-batch cost of the check between writes.

A write is what :class:`mbo.checkpoint.Stage` stores at a consistent point: the networks and their
Adam state, generators, global RNG states, then an atomic rename. The model shapes are the
``paper`` profiles' on TF-Bind-8 (8 positions × 4 tokens; logits of 8 × 3). The per-batch check
is timed on ``minibatch_loop`` with an empty step, inside a session whose interval never elapses,
against the same loop outside a session.

    OMP_NUM_THREADS=1 python benchmarks/checkpoint_cost.py > results/engine/checkpoint_cost.txt
"""
from __future__ import annotations

import contextlib
import io
import os
import platform
import tempfile
import time

import torch

from mbo import checkpoint
from mbo.nn import mlp
from mbo.nn.surrogate import minibatch_loop
from mbo.optimizers.ddom import DDOM
from mbo.optimizers.n2ce import N2CE, LatentModel, LogRatioNet
from mbo.optimizers.coms import COMs


def adam(*modules: torch.nn.Module) -> torch.optim.Adam:
    """Adam with its moment buffers filled (one step), as during training."""
    params = [p for m in modules for p in m.parameters()]
    opt = torch.optim.Adam(params)
    for p in params:
        p.grad = torch.zeros_like(p)
    opt.step()
    return opt


def states() -> dict[str, dict]:
    d = 8 * 3  # TF-Bind-8 logits
    coms = COMs.Config()
    energy = mlp(d, 1, coms.hidden_size, coms.num_layers, coms.activation)
    ddom = DDOM.Config()
    score = mlp(d + 2, d, ddom.hidden_size, ddom.num_layers, ddom.activation)
    n2ce = N2CE.Config().resolve(True)
    model, ratio = LatentModel(n2ce, 8, 4), LogRatioNet(n2ce.nz, n2ce.hidden_size, n2ce.num_blocks,
                                                         max(n2ce.num_stages, 1))
    gen = torch.Generator().manual_seed(0)
    return {
        "coms (2×2048 energy MLP)": {"model": energy, "optimizer": adam(energy), "generator": gen},
        "ddom (3×1024 score MLP)": {"net": score, "optimizer": adam(score), "generator": gen},
        "n2ce (VAE + 16-block log-ratio net)": {"model": model, "ratio": ratio, "opt_vae": adam(model),
                                                "opt_ratio": adam(ratio), "generator": gen,
                                                "history": [(i, 0.0, 0.0) for i in range(300)]},
    }


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def main() -> None:
    print(f"# checkpoint cost; {_cpu()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s); write = torch.save + atomic rename in the temp folder (local disk)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, state in states().items():
            params = sum(p.numel() for v in state.values() if isinstance(v, torch.nn.Module) for p in v.parameters())
            with checkpoint.session(os.path.join(tmp, "run"), 0.0):
                with checkpoint.stage(name, state) as ck:
                    ck.save(0)  # warm-up (first file creation)
                    times = []
                    for i in range(5):
                        t = time.perf_counter()
                        ck.save(i + 1)
                        times.append(time.perf_counter() - t)
                    size = ck.path.stat().st_size
                    t = time.perf_counter()
                    with contextlib.redirect_stderr(io.StringIO()):  # its "resuming ..." line
                        ck._restore()
                    load = time.perf_counter() - t
            print(f"{name}: {params / 1e6:.2f} M parameters, file {size / 2**20:.1f} MiB, "
                  f"write {1000 * min(times):.0f} ms (median {1000 * sorted(times)[2]:.0f} ms), "
                  f"read {1000 * load:.0f} ms")
        n, batches = 128 * 20000, 20000
        for label, folder in (("outside a session", None), ("in a session, interval not reached", tmp)):
            with checkpoint.session(folder and os.path.join(folder, "loop"), 1e9):
                t = time.perf_counter()
                minibatch_loop(n, lambda idx, e, b: 0.0, epochs=1, batch_size=128, desc="empty")
                dt = time.perf_counter() - t
            print(f"minibatch_loop, empty step, {label}: {1e6 * dt / batches:.2f} µs per batch")


if __name__ == "__main__":
    main()

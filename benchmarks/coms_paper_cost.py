"""Estimate the cost of the COMs family's ``paper`` profile on a task before running it (issue 14).

Times a few real training steps of ``optimizers/coms.py``'s own ``train_energy`` (the 50-step
negative chain, the loss step and the dual-α step) at each profile's size on the task's data, then
multiplies by the number of steps the profile takes: ``ceil((n − holdout) / batch) · epochs``; for
``coms-decoupled`` it adds the regressor's steps. The test-time chain (50 steps on Q = 128 rows) is
one more chain and is included as one extra step. Also prints a FLOP count of a ``paper`` fit
(forward = 2·P FLOPs per row, P = weights; a chain step = forward + input-gradient ≈ 3 forwards;
a loss step = forward on data and negatives + backward ≈ 6 forwards) and the rate measured here.

    OMP_NUM_THREADS=1 python benchmarks/coms_paper_cost.py --task tfbind8 > results/coms/paper_cost.txt
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import time

import torch

from mbo.harness import make_task, optimizer_class
from mbo.nn import DesignEncoder, Standardizer, fit_regressor, mlp
from mbo.optimizers.coms import _Chain, train_energy


def per_step_energy(cfg, u: torch.Tensor, y: torch.Tensor, eta: float, tau: float, steps: int) -> float:
    """Seconds per training step of ``train_energy`` at ``cfg``'s size (one warm-up step not counted)."""
    rows = steps * cfg.batch_size
    gen = torch.Generator().manual_seed(0)
    model = mlp(u.shape[1], 1, cfg.hidden_size, cfg.num_layers, cfg.activation, init=cfg.init)
    eps = None
    if cfg.neg_kernel == "langevin":
        eps = ((2 * eta) ** 0.5, (2 * eta) ** 0.5 / 100)
    chain = _Chain(eta, eps, cfg.num_neg_steps, cfg.neg_kernel == "langevin", gen, noise_total=0.13)
    one = type(cfg)(**{**cfg.__dict__, "epochs": 1})
    train_energy(model, u[:cfg.batch_size], y[:cfg.batch_size], chain, one, tau, gen)  # warm-up
    t = time.perf_counter()
    train_energy(model, u[:rows], y[:rows], chain, one, tau, gen)
    return (time.perf_counter() - t) / steps


def per_step_regressor(cfg, u: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    model = mlp(u.shape[1], 1, cfg.hidden_size, cfg.num_layers, cfg.activation, init=cfg.init)
    rows = steps * cfg.batch_size
    fit_regressor(model, u[:cfg.batch_size], y[:cfg.batch_size], epochs=1, batch_size=cfg.batch_size)
    t = time.perf_counter()
    fit_regressor(model, u[:rows], y[:rows], epochs=1, batch_size=cfg.batch_size)
    return (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="tfbind8")
    ap.add_argument("--steps", type=int, default=4, help="timed training steps per profile")
    args = ap.parse_args()
    torch.manual_seed(0)
    data = make_task(args.task).offline_data()
    u = DesignEncoder(data.space, data.x).encode(data.x)
    y = torch.as_tensor(Standardizer(data.y).transform(data.y))
    d = u.shape[1]
    eta = (2.0 if data.space.is_discrete else 0.05) * d ** 0.5
    tau = 2.0 if data.space.is_discrete else 0.5
    print(f"# {args.task}: n = {len(data)}, d = {d}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print("# method\tprofile\ts/step\tsteps/epoch\tmin/epoch\testimate (fit + propose)")
    for name in ("coms", "coms-stochastic", "coms-decoupled"):
        cls = optimizer_class(name)
        for profile in ("quick", "paper"):
            cfg = cls.Config(**cls.profiles[profile])
            steps_epoch = math.ceil((len(data) - cfg.holdout_size) / cfg.batch_size)
            t_step = per_step_energy(cfg, u, y, eta, tau, args.steps)
            per_epoch = t_step * steps_epoch
            total = per_epoch * cfg.epochs + t_step  # + the test-time chain, about one step
            if cfg.use_decoupled:
                t_reg = per_step_regressor(cfg, u, y, 4 * args.steps)
                per_epoch += t_reg * steps_epoch
                total += t_reg * steps_epoch * (cfg.regressor_epochs or cfg.epochs)
            print(f"{args.task}\t{name}\t{profile}\t{t_step:.3f}\t{steps_epoch}\t{per_epoch / 60:.2f}\t"
                  f"{total / 3600:.2f} h", flush=True)
            if name == "coms" and profile == "paper":
                P = sum(p.numel() for p in mlp(d, 1, cfg.hidden_size, cfg.num_layers).parameters())
                fwd = 2 * P  # FLOPs per row
                per_row_step = cfg.num_neg_steps * 3 * fwd + 6 * fwd
                flops = per_row_step * (len(data) - cfg.holdout_size) * cfg.epochs
                rate = per_row_step * cfg.batch_size / t_step
                print(f"# coms paper: P = {P:,} weights; ≈ {per_row_step / 1e9:.2f} GFLOP per row per step; "
                      f"≈ {flops / 1e15:.2f} PFLOP per fit; measured ≈ {rate / 1e9:.0f} GFLOP/s here")


if __name__ == "__main__":
    main()

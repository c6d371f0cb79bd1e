"""A table of ``mbo run --estimate`` projections: optimizers × profiles on one task, on this machine.

Each row is what ``mbo run --task T --optimizer O --profile P --estimate`` prints: the projected fit and
propose time from a few real steps of every metered loop (``mbo.cost``), the slowest loop's s/step and
steps, and the FLOPs the metered loops would do with the measured matmul rate. Nothing is recorded.

    OMP_NUM_THREADS=1 python benchmarks/estimate_table.py --task tfbind8 \\
        --optimizers coms,coms-stochastic,coms-decoupled --profiles quick,paper > results/coms/paper_cost.txt
"""
from __future__ import annotations

import argparse
import platform
import sys

import torch

from mbo.cost import _duration, estimate_run
from mbo.harness import plan


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="tfbind8")
    ap.add_argument("--optimizers", required=True, help="comma-separated")
    ap.add_argument("--profiles", default="paper", help="comma-separated")
    ap.add_argument("--budget", "-Q", type=int, default=128)
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    print(f"# {' '.join(['python'] + sys.argv)}")
    print(f"# {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"precision {args.precision}, Q = {args.budget}; projected by mbo.cost from a few real steps per loop")
    print("# task\toptimizer\tprofile\tfit\tpropose\ttotal\tslowest loop\tsteps\ts/step\tTFLOP\tmatmul GFLOP/s"
          "\testimate took (s)")
    for name in args.optimizers.split(","):
        for profile in args.profiles.split(","):
            spec = plan(args.task, name, profile=profile, budget=args.budget, device="cpu", precision=args.precision)
            est = estimate_run(spec)
            loop = max(est["loops"].values(), key=lambda lc: lc.seconds_per_item * lc.total)
            print(f"{args.task}\t{name}\t{profile}\t{_duration(est['fit_s'])}\t{_duration(est['propose_s'])}\t"
                  f"{_duration(est['fit_s'] + est['propose_s'])}\t{loop.desc}\t{loop.total}\t"
                  f"{loop.seconds_per_item:.4f}\t{est['flops'] / 1e12:.3g}\t{est['matmul_flops_per_s'] / 1e9:.0f}\t"
                  f"{est['elapsed_s']:.0f}", flush=True)


if __name__ == "__main__":
    main()

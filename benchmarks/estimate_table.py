"""A table of ``mbo run --estimate`` projections: optimizers × profiles on one task, on this machine.

Each row is what ``mbo run --task T --optimizer O --profile P --estimate`` prints: the projected fit and
propose time from a few real steps of every metered loop (``mbo.cost``), the slowest loop's s/step and
steps, and the FLOPs the metered loops would do with the measured matmul rate. Nothing is recorded.

``--measure`` adds, beside each estimate, a measured reference made without ``mbo.cost``
(``benchmarks/cost_reference.py``: a few real steps of each training loop at the profile's size,
times the profile's step count, plus the rest of fit and propose run for real) and the estimate's
deviation from it. The estimate and its reference run back to back, so they see the same load.

    OMP_NUM_THREADS=1 python benchmarks/estimate_table.py --task tfbind8 --measure \\
        --optimizers coms,coms-stochastic,coms-decoupled,reinforce,cbas,autofocused-cbas,grad-ascent,\\
grad-ascent-min,grad-ascent-mean,mins,bo-qei > results/engine/estimate_paper_cost.txt
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
    ap.add_argument("--measure", action="store_true", help="add a measured reference (cost_reference.py) per row")
    ap.add_argument("--seconds", type=float, default=5.0, help="real steps per timed loop of the reference, in s")
    args = ap.parse_args()
    print(f"# {' '.join(['python'] + sys.argv)}")
    print(f"# {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"precision {args.precision}, Q = {args.budget}; projected by mbo.cost from a few real steps per loop")
    head = ("# task\toptimizer\tprofile\tfit\tpropose\ttotal\tslowest loop\tsteps\ts/step\tTFLOP\tmatmul GFLOP/s"
            "\testimate took (s)")
    if args.measure:
        from cost_reference import measure
        head += "\tmeasured total\testimate vs measured\tmeasured s/step\tmeasure took (s)"
    print(head)
    for name in args.optimizers.split(","):
        for profile in args.profiles.split(","):
            spec = plan(args.task, name, profile=profile, budget=args.budget, device="cpu", precision=args.precision)
            est = estimate_run(spec)
            loop = max(est["loops"].values(), key=lambda lc: lc.seconds_per_item * lc.total)
            total = est["fit_s"] + est["propose_s"]
            row = (f"{args.task}\t{name}\t{profile}\t{_duration(est['fit_s'])}\t{_duration(est['propose_s'])}\t"
                   f"{_duration(total)}\t{loop.desc}\t{loop.total}\t{loop.seconds_per_item:.4f}\t"
                   f"{est['flops'] / 1e12:.3g}\t{est['matmul_flops_per_s'] / 1e9:.0f}\t{est['elapsed_s']:.0f}")
            if args.measure:
                ref = measure(spec, seconds=args.seconds)
                ref_total = ref["fit_s"] + ref["propose_s"]
                s_step = ref["loops"].get(loop.desc, max(ref["loops"].values(), key=lambda v: v[0] * v[1]))[0]
                row += (f"\t{_duration(ref_total)}\t{total / ref_total - 1:+.0%}\t{s_step:.4f}"
                        f"\t{ref['took_s']:.0f}")
            print(row, flush=True)


if __name__ == "__main__":
    main()

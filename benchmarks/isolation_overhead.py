"""Per-run cost of the oracle boundary: the same tiny run in a child process and in this process.

Usage: python benchmarks/isolation_overhead.py [--runs 20]

Prints the first guarded run (which starts the fork server: a fresh interpreter importing numpy and
torch, once per process), then the median wall time per run over ``--runs`` repetitions of each mode,
alternating, with ``dataset-best`` on Branin (Q = 8), so that nearly all of the time is overhead.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import mbo


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--optimizer", default="dataset-best")
    args = parser.parse_args()
    task = mbo.make_task("branin")
    with tempfile.TemporaryDirectory() as tmp:
        def once(in_process: bool) -> float:
            t = time.perf_counter()
            rec = mbo.run(task, args.optimizer, seed=0, budget=8, results_dir=tmp, force=True, device="cpu",
                          in_process=in_process)
            assert rec["status"] == "ok", rec["error"]
            return time.perf_counter() - t

        once(True)  # imports and task data, outside the timing
        first = once(False)
        child, here = [], []
        for _ in range(args.runs):
            child.append(once(False))
            here.append(once(True))
    c, h = statistics.median(child), statistics.median(here)
    print(f"optimizer {args.optimizer}, task branin, Q=8, {args.runs} runs per mode")
    print(f"first guarded run (starts the fork server): {first:.3f} s")
    print(f"median per run: child process {c:.3f} s, in-process {h:.3f} s, overhead {c - h:.3f} s")


if __name__ == "__main__":
    main()

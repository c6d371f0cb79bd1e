"""fp32 against bf16 runs of one optimizer on one task, seed by seed, with the bootstrap CI of the difference.

Reads the records under ``--results-dir`` (nothing is re-run): the runs labelled ``LABEL`` and
``LABEL`` + ``bf16`` (e.g. ``grad-ascent[quick]`` and ``grad-ascent[quick,bf16]``) at budget Q, paired by
seed (same seed: same data order and initialisation), and ``random`` / ``dataset-best`` at the same Q.
Prints the normalized 100th and 50th percentiles per seed, the mean difference bf16 − fp32 with its
95 % percentile-bootstrap CI over seeds (``mbo.report.cell_ci``), and the fit times.

    python benchmarks/precision_compare.py --results-dir results/paper --task tfbind8 --label "grad-ascent[quick]"
"""
from __future__ import annotations

import argparse

import numpy as np

from mbo.report import cell_ci, load_records


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results-dir", required=True)
    ap.add_argument("--task", default="tfbind8")
    ap.add_argument("--label", required=True, help="the fp32 label, e.g. grad-ascent[quick]")
    ap.add_argument("--budget", "-Q", type=int, default=128)
    args = ap.parse_args()
    df = load_records(args.results_dir)
    df = df[(df.task == args.task) & (df.budget == args.budget)]
    bf16 = args.label[:-1] + ",bf16]" if args.label.endswith("]") else args.label + "[bf16]"
    runs = {lab: df[df.label == lab].set_index("seed") for lab in (args.label, bf16, "random", "dataset-best")}
    seeds = sorted(set(runs[args.label].index) & set(runs[bf16].index))
    print(f"# {args.task}, Q = {args.budget}, normalized scores; {args.label} (fp32) vs {bf16}, "
          f"paired by seed {seeds}; CI: 95 % percentile bootstrap over seeds of the mean difference")
    for p in ("p100", "p50"):
        col = p
        a = runs[args.label].loc[seeds, col].to_numpy(float)
        b = runs[bf16].loc[seeds, col].to_numpy(float)
        d = b - a
        lo, hi = cell_ci(d)
        print(f"{p[1:]}th\tfp32 {np.round(a, 3).tolist()} mean {a.mean():.3f}\tbf16 {np.round(b, 3).tolist()} "
              f"mean {b.mean():.3f}\tbf16 − fp32 {d.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]")
        for null in ("random", "dataset-best"):
            v = runs[null][col].to_numpy(float) if len(runs[null]) else np.array([np.nan])
            print(f"\t{null}: {v.mean():.3f} over {len(runs[null])} seed(s)")
    for lab in (args.label, bf16):
        t = runs[lab].loc[seeds, "time_fit"].to_numpy(float)
        print(f"fit time {lab}: {np.round(t, 1).tolist()} s (mean {t.mean():.1f} s)")


if __name__ == "__main__":
    main()

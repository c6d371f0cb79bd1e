"""Print the N²CE evidence tables (markdown) from the records in a results directory.

Usage:
    python benchmarks/n2ce_tables.py --results-dir results/n2ce

Mean ± std over seeds (population std, ddof = 0, as in design-baselines); one row per run label.
"""
from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results-dir", default="results/n2ce")
    args = ap.parse_args()

    from mbo.report import load_records

    df = load_records(args.results_dir)
    for (task, budget), sub in df.groupby(["task", "budget"]):
        raw = task == "branin"
        cols = [("raw_p100", "best (raw)"), ("raw_p50", "median (raw)")] if raw else \
            [("p100", "100th pct (norm.)"), ("p50", "50th pct (norm.)")]
        print(f"\n### {task}, Q = {budget}\n")
        print("| run (label) | seeds | " + " | ".join(c[1] for c in cols) + " | fit s / run |")
        print("|---|---|" + "---|" * (len(cols) + 1))
        for label, g in sub.groupby("label"):
            seeds = ",".join(str(s) for s in sorted(g["seed"]))
            vals = [f"{np.mean(g[c]):.3f} ± {np.std(g[c]):.3f}" for c, _ in cols]
            print(f"| {label} | {seeds} | " + " | ".join(vals) + f" | {np.mean(g['time_fit']):.0f} |")


if __name__ == "__main__":
    main()

"""Print N²CE's fit and sampling diagnostics (markdown) from the records in a results directory.

Usage:
    python benchmarks/n2ce_tables.py --results-dir results

One table per (task, Q) of the runs that record them (g_y's Spearman on its training rows, training-copy
share, y-to-prior gradient ratio), and for TF-Bind-8 the overlap of each seed's λ1 = 20 and λ1 = 0
candidate sets. The score tables are ``experiments/n2ce.toml``'s (``mbo report``).
"""
from __future__ import annotations

import argparse
import glob
import json
from collections import defaultdict

import numpy as np

DIAG = [("y_spearman_train", "g_y Spearman (train)"), ("y_bias_train", "g_y bias"),
        ("x_recon_train", "x recon (train)"), ("active_dims_train", "active dims"),
        ("train_copy_fraction", "training copies"), ("predicted_y_median", "median g_y at cands"),
        ("y_to_prior_grad", "‖∇y-term‖/‖∇prior‖")]


def diagnostics_tables(results_dir: str) -> None:
    runs: dict = defaultdict(dict)
    for path in sorted(glob.glob(f"{results_dir}/records/**/*.json", recursive=True)):
        r = json.load(open(path))
        d = (r.get("diagnostics") or {}).get("optimizer") or {}
        if r.get("status") == "ok" and "y_spearman_train" in d:
            runs[(r["task"], r["budget"], r["label"])][r["seed"]] = r
    for task, budget in sorted({k[:2] for k in runs}):
        print(f"\n### {task}, Q = {budget}: diagnostics (mean over seeds)\n")
        print("| run (label) | seeds | " + " | ".join(h for _, h in DIAG) + " |")
        print("|---|---|" + "---|" * len(DIAG))
        for (t, b, label), seeds in sorted(runs.items()):
            if (t, b) != (task, budget):
                continue
            ds = [r["diagnostics"]["optimizer"] for r in seeds.values()]
            vals = [f"{np.mean([d[k] for d in ds if k in d]):.3g}" if any(k in d for d in ds) else "–"
                    for k, _ in DIAG]
            print(f"| {label} | {','.join(map(str, sorted(seeds)))} | " + " | ".join(vals) + " |")
        base = runs.get((task, budget, "n2ce[quick,v2]"))
        zero = runs.get((task, budget, "n2ce[quick,v2,lambda1=0]"))
        if base and zero:
            print("\nλ1 = 20 vs λ1 = 0, same seed: unique candidates shared (Jaccard) and the shift in "
                  "median g_y at the candidates\n")
            for s in sorted(set(base) & set(zero)):
                a = {tuple(c) for c in base[s]["candidates"]}
                z = {tuple(c) for c in zero[s]["candidates"]}
                dy = (base[s]["diagnostics"]["optimizer"]["predicted_y_median"]
                      - zero[s]["diagnostics"]["optimizer"]["predicted_y_median"])
                print(f"* seed {s}: Jaccard {len(a & z) / len(a | z):.3f} ({len(a & z)} shared of "
                      f"{len(a)} / {len(z)} unique); median g_y shift {dy:+.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results-dir", default="results")
    args = ap.parse_args()

    diagnostics_tables(args.results_dir)


if __name__ == "__main__":
    main()

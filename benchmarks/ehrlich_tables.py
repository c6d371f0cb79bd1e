"""Tables for results/ehrlich/REPORT.md: per task and optimizer, the 100th and 50th percentiles of
raw scores (raw = fraction of the optimum 1.0), the infeasible share, and how well each task
separates methods (spread of the method means over the mean seed std), beside TF-Bind-8 from the
committed quick records. Reads records only.

    python benchmarks/ehrlich_tables.py > results/ehrlich/tables.md
"""
from __future__ import annotations

import glob
import json
from collections import defaultdict

import numpy as np

EHRLICH = ["ehrlich-v32-l32-m4-k4", "ehrlich-v32-l128-m4-k4"]


def load(pattern: str) -> dict:
    """{(task, label): {seed: record}} of ok records with Q = 128 (the latest per seed)."""
    runs: dict = defaultdict(dict)
    for path in sorted(glob.glob(pattern, recursive=True)):
        r = json.load(open(path))
        if r.get("status") == "ok" and r.get("budget") == 128:
            runs[(r["task"], r["label"])][r["seed"]] = r
    return runs


def fmt(v: list[float]) -> str:
    return f"{np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}" if len(v) > 1 else f"{v[0]:.3f}"


def separation(runs: dict, task: str, key: str, scale: str) -> tuple[float, float, float, int]:
    """(std of method means, mean within-method seed std, ratio, methods) over learned methods with ≥ 2 seeds."""
    means, stds = [], []
    for (t, label), seeds in runs.items():
        if t != task or label in ("random", "dataset-best") or len(seeds) < 2:
            continue
        v = [r["summary"][scale][key] for r in seeds.values()]
        means.append(np.mean(v))
        stds.append(np.std(v, ddof=1))
    if len(means) < 2:
        return float("nan"), float("nan"), float("nan"), len(means)
    spread, noise = float(np.std(means, ddof=1)), float(np.mean(stds))
    return spread, noise, spread / noise if noise > 0 else float("inf"), len(means)


def main() -> None:
    runs = load("results/records/ehrlich-*/**/*.json")
    print("# Ehrlich tasks, Q = 128, quick profiles\n")
    print("Raw scores (= fraction of the optimum 1.0); mean ± sample std (ddof 1) over the seeds shown; "
          "infeasible = share of the 128 candidates outside the feasible set, mean over seeds.\n")
    for task in EHRLICH:
        print(f"## {task}\n")
        print("| optimizer | seeds | 100th | 50th | infeasible | fit + propose s (mean) |")
        print("|---|---|---|---|---|---|")
        rows = [(label, seeds) for (t, label), seeds in runs.items() if t == task]
        rows.sort(key=lambda kv: -np.mean([r["summary"]["raw"]["p100"] for r in kv[1].values()]))
        for label, seeds in rows:
            recs = list(seeds.values())
            p100 = [r["summary"]["raw"]["p100"] for r in recs]
            p50 = [r["summary"]["raw"]["p50"] for r in recs]
            inf = np.mean([r["diagnostics"].get("task", {}).get("infeasible", float("nan")) for r in recs])
            secs = np.mean([r["timings"].get("fit", 0) + r["timings"].get("propose", 0) for r in recs])
            print(f"| {label} | {','.join(map(str, sorted(seeds)))} | {fmt(p100)} | {fmt(p50)} | {inf:.2f} | "
                  f"{secs:.0f} |")
        print()
    tf = load("results/records/tfbind8/**/*.json")
    tf = {k: v for k, v in tf.items() if "[quick]" in k[1] or k[1] in ("random", "dataset-best")}
    print("## Separation: spread of the learned methods' means over their mean seed std\n")
    print("| task | statistic | methods | std of method means | mean seed std | ratio |")
    print("|---|---|---|---|---|---|")
    for task, source, scale in [("tfbind8", tf, "normalized")] + [(t, runs, "raw") for t in EHRLICH]:
        for key in ("p100", "p50"):
            spread, noise, ratio, m = separation(source, task, key, scale)
            print(f"| {task} | {key} | {m} | {spread:.3f} | {noise:.3f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()

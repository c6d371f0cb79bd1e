"""How well each Ehrlich task separates methods, beside TF-Bind-8: the spread (std) of the learned methods' mean
scores over their mean seed std, at the 100th and 50th percentiles (raw on Ehrlich, normalized on TF-Bind-8, Q = 128,
methods with ≥ 2 seeds; TF-Bind-8 from the committed quick records). Reads records only. The per-task score tables
are experiments/ehrlich.toml's (``mbo report``).

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
    tf = load("results/records/tfbind8/**/*.json")
    tf = {k: v for k, v in tf.items() if "[quick]" in k[1] or k[1] in ("random", "dataset-best")}
    print("# Ehrlich tasks, Q = 128, quick profiles: separation\n")
    print("Spread of the learned methods' means over their mean seed std (methods with ≥ 2 seeds; raw scores on "
          "Ehrlich, normalized on TF-Bind-8).\n")
    print("| task | statistic | methods | std of method means | mean seed std | ratio |")
    print("|---|---|---|---|---|---|")
    for task, source, scale in [("tfbind8", tf, "normalized")] + [(t, runs, "raw") for t in EHRLICH]:
        for key in ("p100", "p50"):
            spread, noise, ratio, m = separation(source, task, key, scale)
            print(f"| {task} | {key} | {m} | {spread:.3f} | {noise:.3f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()

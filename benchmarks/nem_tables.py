"""Print the NEM/BNEM evidence tables (markdown): the MBO runs in a results directory and the
Boltzmann-sampler JSON files written by ``benchmarks/nem_boltzmann.py``.

Usage:
    python benchmarks/nem_tables.py --results-dir results/nem

MBO: mean ± std over seeds (population std, ddof = 0) of the best and median of the Q candidates,
raw for Branin and Levy, normalized for TF-Bind-8, one row per run label. Boltzmann: one row per
(target, method, seed), online network (as the reference code) and the EMA network.
"""
from __future__ import annotations

import argparse
import glob
import json

import numpy as np


def mbo_tables(results_dir: str) -> None:
    from mbo.report import load_records

    df = load_records(results_dir)
    if df.empty:
        return
    for (task, budget), sub in df.groupby(["task", "budget"]):
        raw = task in ("branin", "levy")
        cols = [("raw_p100", "best (raw)"), ("raw_p50", "median (raw)")] if raw else \
            [("p100", "100th pct (norm.)"), ("p50", "50th pct (norm.)")]
        print(f"\n### {task}, Q = {budget}\n")
        print("| run (label) | seeds | " + " | ".join(c[1] for c in cols) + " | fit s / run |")
        print("|---|---|" + "---|" * (len(cols) + 1))
        for label, g in sub.groupby("label"):
            seeds = ",".join(str(s) for s in sorted(g["seed"]))
            vals = [f"{np.mean(g[c]):.3f} ± {np.std(g[c]):.3f}" for c, _ in cols]
            print(f"| {label} | {seeds} | " + " | ".join(vals) + f" | {np.mean(g['time_fit']):.0f} |")


def fmt(v) -> str:
    return "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def boltzmann_table(results_dir: str) -> None:
    recs = [r for path in sorted(glob.glob(f"{results_dir}/*.json")) for r in json.load(open(path))
            if isinstance(r, dict) and "target" in r]
    if not recs:
        return
    print("\n### Boltzmann targets (1000 samples vs 1000 reference)\n")
    print("| target | method | profile | seed | net | x-W2 | E-W2 | TV | TV (E < 100) | true W2 | dropped | modes "
          "| train s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in recs:
        for net, m in (("online", r), ("ema", r["ema_network"])):
            keys = ("x_w2", "e_w2", "tv", "tv_kept", "true_w2", "dropped", "modes_covered")
            method = r["method"] + (f" (prior refresh {r['prior_refresh']})" if r.get("prior_refresh") else "")
            if r["config"]["score_clip"] != 1000.0:
                method += f" (score clip {r['config']['score_clip']:g})"
            print(f"| {r['target']} | {method} | {r['profile']} | {r['seed']} | {net} | " +
                  " | ".join(fmt(m.get(k)) for k in keys) + f" | {r['train_s']:.0f} |")
    floors = {r["target"]: r["floor"] for r in recs if "floor" in r}
    for target, fl in floors.items():
        print(f"\nexact-sample floor ({target}): " +
              ", ".join(f"{k} {m:.3f} ± {s:.3f}" for k, (m, s) in fl.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results-dir", default="results/nem")
    args = ap.parse_args()
    mbo_tables(args.results_dir)
    boltzmann_table(args.results_dir)


if __name__ == "__main__":
    main()

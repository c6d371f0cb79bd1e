"""Choose N²CE's ``quick`` learning rates and likelihood stds by held-out fit (never by oracle scores).

Each candidate is the ``quick`` profile with a few overrides, fitted (seed 0, ``fit`` only: no
sampling, no oracle call) with ``holdout_size`` = 10 % of the offline rows left out. The fit is
judged on the held-out rows by ``N2CE.fit_stats``: the y-head's Spearman correlation with ỹ
(``g_y(μ(x, y))``), the x reconstruction (token accuracy, or RMS error in normalised units), KL and
active latent dimensions. Rule, fixed before any run: among candidates whose held-out x
reconstruction is within 0.02 accuracy (discrete) or 25 % RMS (continuous) of the best candidate's,
take the highest held-out y Spearman.

Usage (one candidate per call, so two calls can share a 2-core machine; JSON lines appended):
    python benchmarks/n2ce_select_quick.py --task tfbind8 --candidate 0 --out results/n2ce/quick_selection.jsonl
    python benchmarks/n2ce_select_quick.py --table results/n2ce/quick_selection.jsonl
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

PAPER_LR = {"learning_rate": 1e-4, "ratio_learning_rate": 5e-5}
MID_LR = {"learning_rate": 3e-4, "ratio_learning_rate": 1.5e-4}
QUICK_LR = {"learning_rate": 1e-3, "ratio_learning_rate": 5e-4}
CANDIDATES = {
    "discrete": [
        {**QUICK_LR, "sigma_y": 1.0},   # the first quick profile (n2ce[quick])
        {**QUICK_LR, "sigma_y": 0.15},
        {**MID_LR, "sigma_y": 0.15},
        {**MID_LR, "sigma_y": 0.3},
        {**PAPER_LR, "sigma_y": 1.0},
        {**PAPER_LR, "sigma_y": 0.15},
    ],
    "continuous": [
        {**QUICK_LR, "sigma_x": 1.0, "sigma_y": 1.0},   # the first quick profile (n2ce[quick])
        {**QUICK_LR, "sigma_x": 0.1, "sigma_y": 0.15},
        {**MID_LR, "sigma_x": 0.1, "sigma_y": 0.15},
        {**MID_LR, "sigma_x": 0.3, "sigma_y": 0.3},
        {**MID_LR, "sigma_x": 0.03, "sigma_y": 0.1},
    ],
}


def run_candidate(task_name: str, index: int, out: str, base: dict) -> None:
    from mbo.harness import make_task
    from mbo.optimizers.n2ce import N2CE

    data = make_task(task_name).offline_data()
    kind = "discrete" if data.space.is_discrete else "continuous"
    overrides = {**base, **CANDIDATES[kind][index], "holdout_size": len(data) // 10}
    cfg = N2CE.Config(**{**N2CE.profiles["quick"], **overrides})
    opt = N2CE(cfg, seed=0, device="cpu")
    t0 = time.time()
    opt.fit(data)
    diag = opt.diagnostics()
    row = {"task": task_name, "kind": kind, "candidate": index, "overrides": CANDIDATES[kind][index],
           "fit_seconds": round(time.time() - t0, 1),
           **{k: v for k, v in diag.items() if k.endswith(("_train", "_holdout"))}}
    print(json.dumps(row), flush=True)
    with open(out, "a") as f:
        f.write(json.dumps(row) + "\n")


def table(path: str) -> None:
    rows = [json.loads(line) for line in open(path) if line.strip()]
    for task in dict.fromkeys(r["task"] for r in rows):
        rs = sorted((r for r in rows if r["task"] == task), key=lambda r: r["candidate"])
        discrete = rs[0]["kind"] == "discrete"
        print(f"\n## {task} (held-out = 10 % of the offline rows, seed 0, fit only)\n")
        print("| # | overrides | y Spearman held-out (train) | y bias held-out | x recon held-out (train) "
              "| KL | active dims | fit s |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rs:
            ov = ", ".join(f"{k}={v:g}" for k, v in r["overrides"].items())
            print(f"| {r['candidate']} | {ov} | {r['y_spearman_holdout']:.3f} ({r['y_spearman_train']:.3f}) | "
                  f"{r['y_bias_holdout']:+.3f} | {r['x_recon_holdout']:.3f} ({r['x_recon_train']:.3f}) | "
                  f"{r['kl_holdout']:.1f} | {r['active_dims_holdout']} | {r['fit_seconds']:.0f} |")
        recon = np.array([r["x_recon_holdout"] for r in rs])
        ok = recon >= recon.max() - 0.02 if discrete else recon <= 1.25 * recon.min()
        best = max((r for r, keep in zip(rs, ok) if keep), key=lambda r: r["y_spearman_holdout"])
        print(f"\nSelected by the rule: candidate {best['candidate']} ({best['overrides']}).")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task")
    ap.add_argument("--candidate", type=int)
    ap.add_argument("--out", default="results/n2ce/quick_selection.jsonl")
    ap.add_argument("--set", nargs="*", default=[], help="extra overrides KEY=VALUE (floats/ints)")
    ap.add_argument("--table", metavar="JSONL")
    args = ap.parse_args()
    if args.table:
        table(args.table)
        return
    base = {k: (int(v) if v.isdigit() else float(v)) for k, v in (s.split("=", 1) for s in args.set)}
    run_candidate(args.task, args.candidate, args.out, base)


if __name__ == "__main__":
    main()

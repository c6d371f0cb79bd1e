"""Before/after table of the COMs fidelity pass (issue 14) on TF-Bind-8, from stored records only.

"before" = the issue-5 records (label ``<opt>_quick``: 20 training-chain steps, torch init, all
rows, κ = 1 Langevin noise), "after" = label ``<opt>[quick,v2]`` (folder ``<opt>_quick,v2``).
``random`` (the one store, results/records) and ``dataset-best`` rows are printed beside them.
± is the sample std over seeds (ddof = 1).

    python benchmarks/coms_fidelity_table.py [--seeds 0,1]
"""
from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1] / "results"


def load(folder: Path, seeds: set[int] | None) -> list[dict]:
    recs = [json.loads(Path(f).read_text()) for f in sorted(glob.glob(str(folder / "*.json")))]
    return sorted((r for r in recs if r.get("status") == "ok" and r.get("budget") == 128
                   and (seeds is None or r["seed"] in seeds)), key=lambda r: r["seed"])


def fmt(v: np.ndarray) -> str:
    return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v.mean():.3f}"


def row(name: str, recs: list[dict]) -> str:
    if not recs:
        return f"| {name} | – | (no records) | | | |"
    p100 = np.array([r["summary"]["normalized"]["p100"] for r in recs])
    p50 = np.array([r["summary"]["normalized"]["p50"] for r in recs])
    secs = np.array([r.get("timings", {}).get("total", np.nan) for r in recs])
    seeds = ",".join(str(r["seed"]) for r in recs)
    per_seed = " / ".join(f"{a:.3f}" for a in p100)
    return f"| {name} | {seeds} | {fmt(p100)} ({per_seed}) | {fmt(p50)} | {np.nanmean(secs):.0f} s |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1")
    args = ap.parse_args()
    seeds = {int(s) for s in args.seeds.split(",")}
    recs = ROOT / "records" / "tfbind8"
    print(f"TF-Bind-8, Q = 128, profile quick, seeds {args.seeds}\n")
    print("| optimizer | seeds | 100th (per seed) | 50th | wall time / run |")
    print("|---|---|---|---|---|")
    for opt in ("coms", "coms-stochastic", "coms-decoupled"):
        print(row(f"{opt}[quick] before", load(recs / f"{opt}_quick", seeds)))
        print(row(f"{opt}[quick] after", load(recs / f"{opt}_quick,v2", seeds)))
    print(row("random (null)", load(ROOT / "records" / "tfbind8" / "random", seeds)))
    print(row("dataset-best (null)", load(recs / "dataset-best", seeds)))


if __name__ == "__main__":
    main()

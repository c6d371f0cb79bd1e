"""Tables for results/demo/REPORT.md from the run records (issue 10).

Per (task, label): mean ± std (ddof 0) over seeds of the 100th and 50th percentile normalized
scores, the oracle reliability (share of the Q candidates above the offline best), clipped rows,
fit wall time; then one row per DEMO run with its surrogate diagnostics and box excess.
Paper numbers are not read here: REPORT.md prints them in separate tables labelled as the paper's.

Usage: python benchmarks/demo_tables.py --results-dir results/demo --out results/demo/tables.md
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np


def load(results_dir: Path) -> list[dict]:
    recs = []
    for f in sorted(results_dir.glob("records/**/*.json")):
        r = json.loads(f.read_text())
        if r.get("status") == "ok" and r.get("budget") == 128:
            recs.append(r)
    return recs


def ms(v: list[float]) -> str:
    return f"{np.mean(v):.3f} ± {np.std(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"


def summary(recs: list[dict]) -> list[str]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in recs:
        groups[(r["task"], r["label"])].append(r)
    lines = ["| task | label | seeds | 100th pct | 50th pct | reliability (share > D(best)) | clipped rows / run "
             "| fit s / run | D(best) |", "|---|---|---|---|---|---|---|---|---|"]
    for (task, label), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["seed"])
        best = rs[0]["dataset_best"]["normalized"]
        rel = [float(np.mean(np.asarray(r["scores"]["normalized"]) > best)) for r in rs]
        lines.append(f"| {task} | {label} | {','.join(str(r['seed']) for r in rs)} "
                     f"| {ms([r['summary']['normalized']['p100'] for r in rs])} "
                     f"| {ms([r['summary']['normalized']['p50'] for r in rs])} | {ms(rel)} "
                     f"| {', '.join(str(r['num_clipped']) for r in rs)} "
                     f"| {np.mean([r['timings']['fit'] for r in rs]):.0f} | {best:.3f} |")
    return lines


def per_run(recs: list[dict]) -> list[str]:
    lines = ["| task | label | seed | 100th | 50th | clipped | f̂ start (mean/max) | f̂ pseudo (mean/max) "
             "| f̂ returned (mean/max) | f̂ share > best | ascent dist | edit dist | tokens changed by edit "
             "| coords outside box (pseudo → returned) | total s |", "|" + "---|" * 15]
    for r in sorted(recs, key=lambda r: (r["task"], r["label"], r["seed"])):
        if r["optimizer"] != "demo":
            continue
        d = r["diagnostics"]["optimizer"]
        sp = d.get("surrogate_pred")

        def pm(key: str) -> str:
            return f"{sp[key]['mean']:.2f} / {sp[key]['max']:.2f}" if sp else "–"

        box = (f"{d['box_pseudo']['share_coords_outside']:.3f} → {d['box_returned']['share_coords_outside']:.3f}"
               if "box_pseudo" in d else "–")
        tok = f"{d['share_tokens_changed_by_edit']:.3f}" if "share_tokens_changed_by_edit" in d else "–"
        share = f"{d['pred_share_above_offline_best']:.2f}" if sp else "–"
        s = r["summary"]["normalized"]
        lines.append(f"| {r['task']} | {r['label']} | {r['seed']} | {s['p100']:.3f} | {s['p50']:.3f} "
                     f"| {r['num_clipped']} | {pm('start')} | {pm('pseudo')} | {pm('returned')} | {share} "
                     f"| {d['mean_ascent_distance']:.2f} | {d['mean_edit_distance']:.2f} | {tok} | {box} "
                     f"| {r['timings']['total']:.0f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results-dir", default="results/demo")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    recs = load(Path(args.results_dir))
    hosts = sorted({f"{r['host']} ({r['device']}, {r['torch_threads']} thread)" for r in recs})
    text = "\n".join([
        f"Q = 128, normalized scores, mean ± std (ddof 0) over the listed seeds; {len(recs)} ok records; "
        f"hosts: {', '.join(hosts)}.", "", "## Summary per task and configuration", "", *summary(recs), "",
        "## DEMO runs: surrogate predictions (standardized ỹ) and edit diagnostics", "", *per_run(recs), ""])
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""NEM/BNEM before and after the run-length scaling of the EMA and the buffer (markdown).

Boltzmann targets: the JSONs of ``--before`` (per-epoch β = 0.95 and a 10,000-row buffer at every budget)
against those of ``--after`` (same commands, scaled rules). MBO tasks: the one store's ``nem[quick]`` and
``bnem[quick]`` records (made before the rules) against the same labels with ``--variant`` added
(``ema_reference_epochs=250``: the shipped quick; ``buffer_turnover=5.0,ema_reference_epochs=250``: both
rules), seeds 0-2, Q = 128, random and dataset-best beside every row; the after rows carry the pair
``sample_mean_prediction`` / ``target_mean_prediction`` (standardized f̂ of the sampler's samples vs the
tilted target's importance-weighted mean).

Usage: python benchmarks/nem_before_after.py [--before results/nem] [--after results/nem/scaled]
       [--results-dir results] [--variant ema_reference_epochs=250]
"""
from __future__ import annotations

import argparse
import glob
import json
import os

import numpy as np


def boltzmann(before: str, after: str) -> None:
    def load(d):
        out = {}
        for path in sorted(glob.glob(f"{d}/*_quick_s*.json")):
            for r in json.load(open(path)):
                out[(r["target"], r["method"], r["seed"])] = r
        return out

    b, a = load(before), load(after)
    keys = ("x_w2", "e_w2", "tv", "dropped", "median_energy", "train_s")
    print("\n### Boltzmann targets, quick, online network (EMA network's E-W2 in brackets)\n")
    print("| target | method | seed | run | x-W2 | E-W2 (EMA) | TV | dropped | median E | train s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(set(a) | set(b)):
        for tag, src in (("before", b), ("after", a)):
            r = src.get(key)
            if r is None:
                continue
            vals = [r.get(k) for k in keys]
            e = f"{vals[1]:.1f} ({r['ema_network']['e_w2']:.1f})" if vals[1] is not None else "–"
            print(f"| {key[0]} | {key[1]} | {key[2]} | {tag} | {vals[0]:.3f} | {e} | {vals[2]:.3f} | {vals[3]} | "
                  f"{vals[4]:.1f} | {vals[5]:.0f} |")
    print("\nMeans over the seeds present (ddof 0):\n")
    print("| target | method | run | seeds | x-W2 | E-W2 | TV | dropped | median E |")
    print("|---|---|---|---|---|---|---|---|---|")
    for target, method in sorted({k[:2] for k in a}):
        for tag, src in (("before", b), ("after", a)):
            rs = [r for k, r in sorted(src.items()) if k[:2] == (target, method)]
            if not rs:
                continue
            cells = []
            for k in ("x_w2", "e_w2", "tv", "dropped", "median_energy"):
                v = np.array([r[k] for r in rs], float)
                cells.append(f"{v.mean():.3g} ± {v.std():.2g}")
            seeds = ",".join(str(r["seed"]) for r in rs)
            print(f"| {target} | {method} | {tag} | {seeds} | " + " | ".join(cells) + " |")


def mbo(results: str, variant: str) -> None:
    rows = []
    for path in glob.glob(f"{results}/records/*/*/*.json"):
        r = json.load(open(path))
        if r.get("status") == "ok" and r.get("budget") == 128 and r.get("seed") in (0, 1, 2):
            rows.append(r)
    labels = {"nem[quick]": f"nem[quick,{variant}]", "bnem[quick]": f"bnem[quick,{variant}]"}
    b = [r for r in rows if r["label"] in labels or r["label"] in ("random", "dataset-best")]
    a = [dict(r, label=next(k for k, v in labels.items() if v == r["label"])) for r in rows
         if r["label"] in labels.values()]
    if not a:
        raise SystemExit(f"no records labelled {' or '.join(labels.values())} in {results}/records")
    for task in sorted({r["task"] for r in a}):
        raw = task in ("branin", "levy")
        stat = "raw" if raw else "normalized"
        print(f"\n### {task}, Q = 128 ({'raw' if raw else 'normalized'} scores; mean ± sd over seeds, ddof 0)\n")
        print("| run | label | seeds | best | median | sample mean f̂ | target mean f̂ (IS, ESS/n) | fit s |")
        print("|---|---|---|---|---|---|---|---|")
        labels = sorted({r["label"] for r in a if r["task"] == task})
        base = ["random", "dataset-best"]
        for label in labels + base:
            for tag, src in (("before", b), ("after", a)):
                if label in base and tag == "after":
                    continue
                rs = sorted((r for r in src if r["task"] == task and r["label"] == label), key=lambda r: r["seed"])
                if not rs:
                    continue
                best = np.array([r["summary"][stat]["p100"] for r in rs])
                med = np.array([r["summary"][stat]["p50"] for r in rs])
                d = [r["diagnostics"]["optimizer"] for r in rs]
                smp = [x.get("sample_mean_prediction") for x in d]
                tgt = [x.get("target_mean_prediction") for x in d]
                ess = [x.get("target_mean_prediction_ess") for x in d]
                pair = ("–", "–") if None in smp or None in tgt else (
                    f"{np.mean(smp):.2f} ({min(smp):.2f}–{max(smp):.2f})",
                    f"{np.mean(tgt):.2f} ({min(tgt):.2f}–{max(tgt):.2f}), {np.mean(ess):.3f}")
                fit = np.mean([r["timings"]["fit"] for r in rs])
                seeds = ",".join(str(r["seed"]) for r in rs)
                print(f"| {tag if label not in base else 'baseline'} | {label} | {seeds} | "
                      f"{best.mean():.3f} ± {best.std():.3f} | {med.mean():.3f} ± {med.std():.3f} | {pair[0]} | "
                      f"{pair[1]} | {fit:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="results/nem")
    ap.add_argument("--after", default="results/nem/scaled")
    ap.add_argument("--results-dir", default="results")
    ap.add_argument("--variant", default="ema_reference_epochs=250")
    args = ap.parse_args()
    if not os.path.isdir(args.after):
        raise SystemExit(f"{args.after} does not exist: run the scaled evidence first")
    boltzmann(args.before, args.after)
    mbo(args.results_dir, args.variant)


if __name__ == "__main__":
    main()

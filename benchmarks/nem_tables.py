"""Print the NEM/BNEM Boltzmann-target tables (markdown) from the JSON files written by
``benchmarks/nem_boltzmann.py``: one row per (target, method, seed), online network (as the reference
code) and the EMA network. The MBO tables are ``experiments/nem.toml``'s (``mbo report``).

Usage:
    python benchmarks/nem_tables.py --results-dir results/nem
"""
from __future__ import annotations

import argparse
import glob
import json


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
    boltzmann_table(args.results_dir)


if __name__ == "__main__":
    main()

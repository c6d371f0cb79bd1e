"""Where TF-Bind-8 candidates come from: copies of offline designs or new ones, and what each scores.

Usage:
    python benchmarks/tfbind8_new_designs.py --results-dir results [--budget 256]

TF-Bind-8's offline set is exactly the lower half of all 4^8 = 65,536 sequences (32,768 distinct designs;
the oracle's maximum on it normalizes to 0.439), so every design outside it scores above every design in
it. A run's median therefore exceeds dataset-best's only when more than half of its candidates are new, and
how far it exceeds it depends on how good those new designs are. For every label of a method's default
(paper) settings (a label without ``[...]``: no profile, override or bf16) at the given budget, the nulls
included, this prints the share of new
designs, the median normalized score of the copies and of the new designs, and, as the reference for
"no guidance", the median over all unseen sequences (the oracle on the whole space; an analysis of
finished runs, never an input to one). Needs ``MBO_DATA_DIR``.
"""
from __future__ import annotations

import argparse
import glob
import itertools
import json
from collections import defaultdict

import numpy as np

import mbo

NULLS = ("random", "dataset-best")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results-dir", default="results")
    ap.add_argument("--budget", type=int, default=256)
    args = ap.parse_args()

    task = mbo.make_task("tfbind8")
    data = task.offline_data()
    offline = {tuple(x) for x in np.asarray(data.x).astype(int).tolist()}
    space = np.array(list(itertools.product(range(4), repeat=8)))
    scores = np.asarray(task.score(space), dtype=float).ravel()
    unseen = np.array([tuple(x) not in offline for x in space.tolist()])

    runs: dict = defaultdict(list)
    for path in sorted(glob.glob(f"{args.results_dir}/records/tfbind8/**/*.json", recursive=True)):
        r = json.load(open(path))
        if r.get("status") != "ok" or r.get("budget") != args.budget or "[" in r["label"]:
            continue
        cands = np.asarray(r["candidates"]).astype(int)
        norm = np.asarray(r["scores"]["normalized"], dtype=float).ravel()
        new = np.array([tuple(c) not in offline for c in cands.tolist()])
        runs[r["label"]].append((r["seed"], new.mean(), norm[~new], norm[new]))

    def med(parts: list) -> str:
        pooled = np.concatenate(parts)
        return f"{np.median(pooled):.3f}" if pooled.size else "–"

    print(f"TF-Bind-8, Q = {args.budget}, default (paper) settings beside the nulls; normalized scores.")
    print(f"Offline set: {len(offline):,} distinct designs; all {unseen.sum():,} others score above its best "
          f"({scores[~unseen].max():.5f} < {scores[unseen].min():.5f}).\n")
    print("| label | seeds | new designs (share, mean over seeds) | median score of copies | "
          "median score of new designs |")
    print("|---|---|---|---|---|")
    for label, rows in sorted(runs.items(), key=lambda kv: (kv[0] in NULLS, kv[0])):
        rows.sort()
        print(f"| {label} | {','.join(str(s) for s, *_ in rows)} | {np.mean([n for _, n, _, _ in rows]):.3f} | "
              f"{med([c for *_, c, _ in rows])} | {med([n for *_, n in rows])} |")
    print(f"| every unseen sequence (uniform) | – | 1 | – | {np.median(scores[unseen]):.3f} |")
    print("\nMedians pool the candidates of all seeds of a label.")


if __name__ == "__main__":
    main()

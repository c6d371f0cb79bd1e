"""Figure for the N²CE Branin run: contours of the negative Branin function, the offline points
(top 10 % held out) and the Q candidates of one recorded run.

Usage:
    python benchmarks/n2ce_branin_figure.py --results-dir results/n2ce --seed 0 --out results/n2ce/branin.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results-dir", default="results/n2ce")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--label", default=None, help="record label to use (default: first n2ce record)")
    ap.add_argument("--out", default="results/n2ce/branin.png")
    args = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mbo import store
    from mbo.tasks.synthetic import Branin, branin

    recs = [r for r in store.iter_records(store.results_dir(args.results_dir))
            if r["task"] == "branin" and r["optimizer"] == "n2ce"
            and r["seed"] == args.seed and r["status"] == "ok"
            and (args.label is None or r["label"] == args.label)]
    if not recs:
        raise SystemExit(f"no ok n2ce Branin record for seed {args.seed} under {args.results_dir}")
    rec = recs[0]
    cands = np.asarray(rec["candidates"], dtype=np.float64)
    task = Branin()
    data = task.offline_data()
    g1, g2 = np.meshgrid(np.linspace(-5, 10, 300), np.linspace(0, 15, 300))
    f = -branin(np.stack([g1.ravel(), g2.ravel()], 1)).reshape(g1.shape)

    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    cs = ax.contourf(g1, g2, f, levels=np.linspace(-310, 0, 32), cmap="viridis")
    ax.contour(g1, g2, f, levels=[-6.1, -2.0, -0.6], colors="white", linewidths=0.6)
    fig.colorbar(cs, ax=ax, label="−Branin (to maximise)")
    ax.scatter(data.x[:, 0], data.x[:, 1], s=3, c="lightgrey", alpha=0.5, label=f"offline ({len(data)} pts)")
    ax.scatter(cands[:, 0], cands[:, 1], s=14, c="red", edgecolors="k", linewidths=0.3,
               label=f"N²CE candidates (Q={len(cands)})")
    opt = np.array([[-np.pi, 12.275], [np.pi, 2.275], [9.42478, 2.475]])
    ax.scatter(opt[:, 0], opt[:, 1], marker="*", s=160, c="gold", edgecolors="k", label="global maxima")
    best = rec["summary"]["raw"]["p100"]
    ax.set_title(f"Branin, n2ce [{rec['profile']}] seed {rec['seed']}: best {best:.3f} (opt −0.398)")
    ax.set_xlim(-5, 10)
    ax.set_ylim(0, 15)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(loc="upper right", fontsize=7)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(args.out, dpi=130)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

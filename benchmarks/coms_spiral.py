"""The spiral toy of Beckham & Pal (COMs as energy models, §3, Figs 2–4): one figure per variant.

Each figure shows the sampled designs (black crosses) over the ground-truth reward, with the
offline training points in orange, and prints the metrics of notes §6.4 in each panel title:
mean reward, fraction on the spiral (distance < 0.1 to a fresh noisy spiral draw), mean reward of
the on-spiral samples, and diversity (mean pairwise distance). The notes' on-spiral test accepts
most of the annulus the noisy arms sweep, so the JSON also has ``near_curve``: the fraction within
0.1 of the noiseless curve (drawn as a white line), and the mean reward of those samples.

* ``coms``: α = 0 (50 epochs) and α = 50 (200 epochs), ascent on the decaying ε²/2 schedule, no noise;
* ``coms-stochastic``: the same two models, Langevin (the only change is the noise);
* ``coms-decoupled``: EBM = stochastic COM with α = 50 (200 epochs) + regressor (lr 2e-4), w ∈ {0, 5, 10}.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/coms_spiral.py --out results/coms [--seeds 0,1] [--max-epochs 50]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

PANELS = {
    "coms": [("α = 0", {"alpha": 0.0, "epochs": 50}, None), ("α = 50", {"alpha": 50.0, "epochs": 200}, None)],
    "coms-stochastic": [("α = 0", {"alpha": 0.0, "epochs": 50}, None),
                        ("α = 50", {"alpha": 50.0, "epochs": 200}, None)],
    "coms-decoupled": [(f"w = {w:g}", {}, w) for w in (0.0, 5.0, 10.0)],
}


def metrics(task, x: np.ndarray) -> dict[str, float]:
    y = task.score(np.clip(x, *task.space.bounds))
    on = task.distance_to_spiral(x) < 0.1
    near_curve = task.distance_to_spiral(x, noise=0.0) < 0.1
    diff = x[:, None, :] - x[None]
    pair = np.sqrt((diff**2).sum(-1))
    return {"mean_reward": float(y.mean()), "on_spiral": float(on.mean()),
            "reward_on_spiral": float(y[on].mean()) if on.any() else float("nan"),
            "near_curve": float(near_curve.mean()),
            "reward_near_curve": float(y[near_curve].mean()) if near_curve.any() else float("nan"),
            "diversity": float(pair.sum() / (len(x) * (len(x) - 1))),
            "outside_box": float((~((x >= task.space.bounds[0]) & (x <= task.space.bounds[1])).all(1)).mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/coms")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--variants", default=",".join(PANELS))
    ap.add_argument("--num-samples", type=int, default=512)
    ap.add_argument("--num-sample-steps", type=int, default=50_000)
    ap.add_argument("--max-epochs", type=int, default=None, help="cap every epoch count (CPU time)")
    args = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mbo.harness import make_optimizer
    from mbo.nn import seed_everything
    from mbo.tasks.synthetic import Spiral

    task = Spiral()
    data = task.offline_data()
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lo, hi = task.space.bounds
    g = np.linspace(lo[0], hi[0], 200)
    gx, gy = np.meshgrid(g, g)
    reward = task.score(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)).reshape(gx.shape)
    t = np.linspace(1.5 * np.pi, 4.5 * np.pi, 500)
    curve = np.stack([t * np.cos(t), t * np.sin(t)], 1) / 10
    all_metrics = {}
    for variant in args.variants.split(","):
        panels = PANELS[variant]
        fig, axes = plt.subplots(len(seeds), len(panels), figsize=(4.2 * len(panels), 4.0 * len(seeds)),
                                 squeeze=False)
        fitted = {}
        for r, seed in enumerate(seeds):
            for c, (label, over, w) in enumerate(panels):
                t0 = time.perf_counter()
                over = {**over, "num_sample_steps": args.num_sample_steps}
                if variant == "coms-decoupled":
                    over["epochs"] = 200
                if args.max_epochs:
                    over["epochs"] = min(over["epochs"], args.max_epochs)
                key = (seed, json.dumps(over, sort_keys=True))
                if key not in fitted:  # the decoupled panels share one fitted model per seed
                    seed_everything(seed)
                    opt = make_optimizer(variant, profile="spiral", seed=seed, device="cpu", **over)
                    opt.fit(data)
                    fitted = {key: opt}
                opt = fitted[key]
                if w is not None:
                    opt.config = dataclasses.replace(opt.config, guidance_weight=w)
                x = opt.propose(args.num_samples)
                m = metrics(task, x)
                m["seconds"] = time.perf_counter() - t0
                all_metrics[f"{variant} {label} seed {seed}"] = m
                print(f"{variant} {label} seed {seed}: {m}", flush=True)
                ax = axes[r, c]
                ax.contourf(gx, gy, reward, levels=30, cmap="viridis")
                ax.scatter(data.x[:, 0], data.x[:, 1], s=2, c="orange", alpha=0.4, linewidths=0)
                ax.plot(curve[:, 0], curve[:, 1], c="white", lw=0.6)
                ax.scatter(x[:, 0], x[:, 1], s=10, c="black", marker="x", linewidths=0.7)
                ax.set_xlim(lo[0], hi[0])
                ax.set_ylim(lo[1], hi[1])
                ax.set_title(f"{label}, seed {seed}\nreward {m['mean_reward']:.2f}, on-spiral "
                             f"{m['on_spiral']:.0%}, near curve {m['near_curve']:.0%} (reward "
                             f"{m['reward_near_curve']:.2f}), div {m['diversity']:.2f}", fontsize=8)
        cap = f", epochs capped at {args.max_epochs}" if args.max_epochs else ""
        fig.suptitle(f"{variant} on the spiral toy ({args.num_sample_steps} sampling steps, "
                     f"{args.num_samples} samples{cap})", fontsize=10)
        fig.tight_layout()
        fig.savefig(out / f"spiral_{variant}.png", dpi=110)
        plt.close(fig)
    (out / "spiral_metrics.json").write_text(json.dumps(all_metrics, indent=1))


if __name__ == "__main__":
    main()

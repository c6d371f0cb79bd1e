"""Why DEMO's Levy candidates score like uniform sampling: two diagnostics (no setting is chosen by them).

1. Held-out fit on the split of ``demo_select_quick.py`` (seeded 90/10 of the 15,000 offline rows) of three
   ridge regressions on z-scored x: linear, quadratic, and additive (40 bins per coordinate). Beside
   the MLP surrogates in ``results/demo/quick_selection.json`` and ``paper_surrogate_fit.json``, this
   says whether the data can be learned and whether the MLP learns it.
2. The ceiling of Stage 1 (uses the oracle; a diagnostic only): the top-128 offline designs ascended
   with DEMO's Adam (η = 1e-3 in z-units, T = 100) on the *exact* gradient of -Levy, scored like a run.

Usage: python benchmarks/demo_levy_analysis.py [--out results/demo/levy_analysis.json]
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from mbo.registry import load_class
from mbo.tasks.synthetic import levy


def levy_grad(x: np.ndarray) -> np.ndarray:
    """∂ Levy / ∂x, ``[n, d]`` (float64)."""
    w = 1 + (x - 1) / 4
    g = np.zeros_like(w)
    g[:, 0] += np.pi * np.sin(2 * np.pi * w[:, 0])
    a, s = w[:, :-1] - 1, np.pi * w[:, :-1] + 1
    g[:, :-1] += 2 * a * (1 + 10 * np.sin(s) ** 2) + 10 * np.pi * a**2 * np.sin(2 * s)
    b = w[:, -1] - 1
    g[:, -1] += 2 * b * (1 + np.sin(2 * np.pi * w[:, -1]) ** 2) + 2 * np.pi * b**2 * np.sin(4 * np.pi * w[:, -1])
    return g / 4


def ridge(features: np.ndarray, y: np.ndarray, train: np.ndarray, held: np.ndarray, lam: float) -> dict:
    a = features[train]
    w = np.linalg.solve(a.T @ a + lam * len(train) * np.eye(a.shape[1]), a.T @ y[train])
    pred = features[held] @ w
    return {"heldout_mse": float(((pred - y[held]) ** 2).mean()),
            "heldout_pearson": float(np.corrcoef(pred, y[held])[0, 1])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="results/demo/levy_analysis.json")
    args = ap.parse_args()
    task = load_class("task", "levy")()
    data = task.offline_data()
    x, y = data.x.astype(np.float64), data.y.astype(np.float64)
    perm = np.random.default_rng(0).permutation(len(y))  # the split of demo_select_quick.py
    k = int(round(0.1 * len(y)))
    held, train = perm[:k], perm[k:]
    mu, sd = x[train].mean(0), x[train].std(0)
    z = (x - mu) / sd
    yz = (y - y[train].mean()) / y[train].std()
    one = np.ones((len(y), 1))
    edges = np.linspace(-10, 10, 41)[1:-1]
    bins = np.hstack([np.eye(40)[np.digitize(x[:, j], edges)] for j in range(x.shape[1])])
    fits = {"linear": ridge(np.hstack([one, z]), yz, train, held, 1e-3),
            "quadratic": ridge(np.hstack([one, z, z**2]), yz, train, held, 1e-3),
            "additive_40_bins": ridge(np.hstack([one, bins]), yz, train, held, 1e-3)}
    for name, r in fits.items():
        print(f"held-out fit, ridge {name}: MSE {r['heldout_mse']:.3f} (standardized y), "
              f"Pearson {r['heldout_pearson']:.3f}")

    # the gradient is right: compare with central differences at a few designs
    probe = x[:4]
    eps = 1e-5
    fd = np.stack([(levy(probe + eps * e) - levy(probe - eps * e)) / (2 * eps) for e in np.eye(x.shape[1])], 1)
    assert np.allclose(fd, levy_grad(probe), rtol=1e-4, atol=1e-4)

    top = np.argsort(-y, kind="stable")[:128]
    sd_all, mu_all = x.std(0), x.mean(0)  # DEMO z-scores with all offline rows
    u = torch.tensor((x[top] - mu_all) / sd_all, requires_grad=True)
    opt = torch.optim.Adam([u], lr=1e-3)
    for _ in range(100):
        xs = u.detach().numpy() * sd_all + mu_all
        opt.zero_grad()
        u.grad = torch.as_tensor(levy_grad(xs) * sd_all)  # ascent on -Levy = descent on Levy
        opt.step()
    xs = u.detach().numpy() * sd_all + mu_all
    scores = task.normalize(task.score(xs.astype(np.float32)))  # the harness path: validated, clipped
    lo, hi = task.space.bounds
    ceiling = {"best": float(scores.max()), "median": float(np.median(scores)),
               "rows_outside_box": int(((xs < lo) | (xs > hi)).any(1).sum())}
    print(f"Stage-1 ceiling (exact gradient, Adam 1e-3 x 100 from the top 128): 100th {ceiling['best']:.3f}, "
          f"50th {ceiling['median']:.3f}, rows outside the box {ceiling['rows_outside_box']}")
    with open(args.out, "w") as fh:
        json.dump({"split": {"train": len(train), "held_out": len(held)}, "ridge": fits,
                   "stage1_exact_gradient": ceiling}, fh, indent=1)


if __name__ == "__main__":
    main()

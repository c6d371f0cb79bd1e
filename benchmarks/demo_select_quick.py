"""Choose DEMO's ``quick`` training lengths by held-out fit on the offline data (never by oracle scores).

For each task: a seeded 90 / 10 split of the offline rows. The quick-width surrogate (256 × 2,
ReLU) is trained on the 90 % with several learning rates / schedules / epoch counts (the paper's
5e-5 cosine over 200 epochs among them) and scored by held-out MSE (standardized y); the
quick-width score model (DDOM's, 256 × 3, ReLU) is trained for several epoch counts and scored by
the held-out conditional DSM loss (unweighted, the same 16 (t, ε) draws per held-out row for every
candidate). Writes a JSON and prints the choice.

Rule (fixed before the runs): per design space (TF-Bind-8 for discrete, Levy for continuous) the
surrogate with the lowest held-out MSE among those that fit in ≤ 150 s here, and the score-model
epochs with the lowest held-out DSM loss (optimizers/demo.py: QUICK_DISCRETE, QUICK_CONTINUOUS).

Usage: python benchmarks/demo_select_quick.py --tasks tfbind8 levy --out results/demo/quick_selection.json
The paper's surrogate on the same split (width 2048, 5e-5 cosine, 200 epochs; a GPU helps):
       python benchmarks/demo_select_quick.py --tasks levy --grid paper --device cuda --out paper_fit.json
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from mbo.core import OfflineData
from mbo.diffusion import dsm_loss
from mbo.nn import DesignEncoder, Standardizer, fit_regressor, mlp
from mbo.optimizers.demo import DEMO
from mbo.optimizers.ddom import DDOM
from mbo.registry import load_class


def split(data: OfflineData, seed: int = 0, frac: float = 0.1) -> tuple[OfflineData, OfflineData]:
    perm = np.random.default_rng(seed).permutation(len(data))
    k = int(round(frac * len(data)))
    held, train = perm[:k], perm[k:]
    return (OfflineData(data.x[train], data.y[train], data.space, data.task),
            OfflineData(data.x[held], data.y[held], data.space, data.task))


def surrogate_fits(train: OfflineData, held: OfflineData, grid: list[tuple[float, str, int]], hidden: int,
                   device: str = "cpu"):
    enc = DesignEncoder(train.space, train.x, standardize_discrete=True)
    ys = Standardizer(train.y)
    x, y = enc.encode(train.x, device), torch.as_tensor(ys.transform(train.y), device=device)
    xh, yh = enc.encode(held.x, device), torch.as_tensor(ys.transform(held.y), device=device)
    rows = []
    for lr, schedule, epochs in grid:
        torch.manual_seed(0)
        model = mlp(enc.dim, 1, hidden, 2, "relu").to(device)
        t0 = time.time()
        hist = fit_regressor(model, x, y, epochs=epochs, batch_size=128, learning_rate=lr, lr_schedule=schedule,
                             generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            pred = model(xh).reshape(-1)
        rows.append({"hidden": hidden, "lr": lr, "schedule": schedule, "epochs": epochs, "train_mse": hist[-1],
                     "heldout_mse": float(((pred - yh) ** 2).mean()),
                     "heldout_pearson": float(np.corrcoef(pred.cpu().numpy(), yh.cpu().numpy())[0, 1]),
                     "seconds": time.time() - t0})
        print("surrogate", rows[-1], flush=True)
    return rows


def diffusion_fits(train: OfflineData, held: OfflineData, epochs_grid: list[int], base: dict):
    rows = []
    for epochs in epochs_grid:
        cfg = DEMO.Config(**{**base, "diffusion_epochs": epochs}).prior_config()
        prior = DDOM(cfg, seed=0)
        t0 = time.time()
        prior.fit(train)
        secs = time.time() - t0
        xh = prior.encoder_.encode(held.x)
        yh = torch.as_tensor(prior.y_scaler_.transform(held.y))
        gen = torch.Generator().manual_seed(123)
        losses = []
        with torch.no_grad():
            for _ in range(16):
                losses.append(float(dsm_loss(lambda u, t: prior._score(u, t, yh), xh, prior.sde_, generator=gen)))
        rows.append({"epochs": epochs, "train_loss": prior.history_[-1], "heldout_dsm": float(np.mean(losses)),
                     "seconds": secs})
        print("diffusion", rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", nargs="+", default=["tfbind8", "levy"])
    ap.add_argument("--out", default="results/demo/quick_selection.json")
    ap.add_argument("--grid", choices=["quick", "paper"], default="quick",
                    help="quick: the selection grid at quick width; paper: the paper's surrogate only")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    quick = DEMO.profiles["quick"]
    if args.grid == "paper":
        paper = DEMO.Config()
        grid = [(paper.surrogate_lr, paper.surrogate_lr_schedule, paper.surrogate_epochs)]
        hidden = paper.surrogate_hidden
    else:
        grid = [(5e-5, "cosine", 20), (1e-3, "cosine", 10), (1e-3, "cosine", 20), (1e-3, "cosine", 40),
                (1e-3, "constant", 20), (3e-4, "cosine", 30), (1e-4, "cosine", 50), (1e-4, "cosine", 100),
                (5e-5, "cosine", 100), (5e-5, "cosine", 200)]
        hidden = quick["surrogate_hidden"]
    out = {}
    for name in args.tasks:
        train, held = split(load_class("task", name)().offline_data())
        print(f"== {name}: {len(train)} train / {len(held)} held-out rows", flush=True)
        out[name] = {"surrogate": surrogate_fits(train, held, grid, hidden, args.device)}
        if args.grid == "paper":
            continue
        out[name]["diffusion"] = diffusion_fits(train, held, [15, 30, 60], quick)
        best = min((r for r in out[name]["surrogate"] if r["seconds"] <= 150), key=lambda r: r["heldout_mse"])
        print(f"{name}: surrogate chosen lr {best['lr']:g} {best['schedule']} {best['epochs']} epochs "
              f"(held-out MSE {best['heldout_mse']:.3f}, Pearson {best['heldout_pearson']:.2f}); score model "
              f"{min(out[name]['diffusion'], key=lambda r: r['heldout_dsm'])['epochs']} epochs", flush=True)
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()

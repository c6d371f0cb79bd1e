"""Estimate the wall time of each Design-Bench baseline's ``paper`` profile on a task, before running it.

Times a few real training steps of every model at its ``paper`` size on the task's data (and one
BO round for ``bo-qei``), then multiplies by the number of steps the profile takes. Prints one
line per method: the estimate and whether it fits the per-run limit (``--limit-min``).

    python benchmarks/baselines_paper_cost.py --task tfbind8 --limit-min 20
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from mbo.harness import make_optimizer, make_task, optimizer_class
from mbo.nn import DesignEncoder, Standardizer
from mbo.nn.pnn import PNNEnsemble, ensemble_nll, keras_adam
from mbo.optimizers.generative import VAE, ConditionalNet, TokenData, vae_loss


def per_step(fn, steps: int = 30) -> float:
    fn()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps


def ensemble_step(x: torch.Tensor, y: torch.Tensor, k: int, batch: int, **kw) -> float:
    ens = PNNEnsemble(x.shape[1], k, **kw)
    opt = keras_adam(ens.parameters(), 1e-3)
    idx = torch.arange(batch)
    counts = torch.ones(batch, k)

    def step():
        loss = ensemble_nll(ens(x[idx]), y[idx], counts)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return per_step(step)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="tfbind8")
    ap.add_argument("--limit-min", type=float, default=20.0)
    args = ap.parse_args()
    torch.manual_seed(0)
    data = make_task(args.task).offline_data()
    n_train = len(data) - 200
    td = TokenData(data, "cpu")
    u = DesignEncoder(data.space, data.x, standardize_discrete=True).encode(data.x)
    y = torch.as_tensor(Standardizer(data.y).transform(data.y))
    tok = dict(vocab_size=td.vocab, embedding_size=256) if td.vocab else {}
    est: dict[str, float] = {}

    def steps(batch: int, epochs: int) -> int:
        return math.ceil(n_train / batch) * epochs

    cb = optimizer_class("cbas").Config()
    t_tok = ensemble_step(td.x, td.y, 5, 100, hidden=256, num_layers=1, **tok)
    est["reinforce"] = t_tok * steps(100, 100)
    vae = VAE(td.dim, td.vocab, cb.latent_size, 256, 1, 256, 0.1, 0.2)
    vopt = keras_adam(vae.parameters(), 3e-4)
    w = torch.ones(100)

    def vae_step():
        loss = vae_loss(1.0)(vae(td.x[:100]), None, w)
        vopt.zero_grad()
        loss.backward()
        vopt.step()
    t_vae = per_step(vae_step)
    rounds = cb.rounds * cb.round_epochs * math.ceil(800 / 100)
    est["cbas"] = t_tok * steps(100, 100) + t_vae * (steps(100, cb.offline_epochs) + rounds)
    est["autofocused-cbas"] = est["cbas"] + t_tok * steps(100, 10) * cb.rounds
    t_grad = ensemble_step(u, y, 5, 128, hidden=2048, num_layers=2)
    est["grad-ascent-min"] = est["grad-ascent-mean"] = t_grad * steps(128, 100)
    t_bo_ens = ensemble_step(u, y, 5, 100, hidden=256, num_layers=1)

    d = int(np.prod(data.x.shape[1:])) * (td.vocab or 1)
    G = ConditionalNet(32, d, 1024)
    D = ConditionalNet(d, 1, 1024)
    gopt, dopt = keras_adam(G.parameters(), 2e-4, (0.0, 0.9)), keras_adam(D.parameters(), 2e-4, (0.0, 0.9))
    yb = torch.randn(128)

    def critic_step():
        xf = G(torch.randn(128, 32), yb).detach()
        xh = xf.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(D(xh, yb).sum(), xh, create_graph=True)
        loss = (-D(xf, yb) + D(xf, yb)).mean() + ((1 - g.norm(dim=1)) ** 2).mean()
        dopt.zero_grad()
        loss.backward()
        dopt.step()

    def gen_step():
        loss = -D(G(torch.randn(128, 32), yb), yb).mean()
        gopt.zero_grad()
        loss.backward()
        gopt.step()
    mins_steps = steps(128, 200)
    est["mins"] = per_step(critic_step, 10) * mins_steps + per_step(gen_step, 10) * mins_steps / 10

    # one BO round at paper settings, on an untrained ensemble (the round's cost does not depend on it)
    bo = make_optimizer("bo-qei", "paper", seed=0, device="cpu", ensemble_epochs=0, rounds=1)
    t = time.perf_counter()
    bo.fit(data)
    t_round = time.perf_counter() - t
    est["bo-qei"] = t_bo_ens * steps(100, 100) + 10 * t_round * 1.3  # the GP grows from 500 to 820 points

    for name, sec in est.items():
        fits = "fits" if sec <= args.limit_min * 60 else "does NOT fit"
        print(f"{args.task}\t{name}\tpaper ≈ {sec / 60:.1f} min\t{fits} in {args.limit_min:g} min", flush=True)


if __name__ == "__main__":
    main()

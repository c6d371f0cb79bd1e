"""Held-out fit per epoch of the models the Design-Bench baselines train, to pick ``quick`` epochs.

On a random 90/10 split of a task's offline data (never the oracle), trains one member of each
model family at its ``quick`` width and prints, after every epoch, the held-out Gaussian NLL and
Spearman ρ (forward models) or the held-out negative ELBO (CbAS's VAE). The ``quick`` epochs are
the point where the held-out curve flattens.

    python benchmarks/baselines_quick_fit.py --task tfbind8 --epochs 20
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mbo.harness import make_task
from mbo.nn import DesignEncoder, Standardizer
from mbo.nn.pnn import PNNEnsemble, fit_ensemble, keras_adam
from mbo.nn.surrogate import fit_regressor, training_spearman
from mbo.optimizers.generative import VAE, TokenData, vae_loss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="tfbind8")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    data = make_task(args.task).offline_data()
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(data))
    cut = len(data) // 10
    val, tr = torch.as_tensor(perm[:cut]), torch.as_tensor(perm[cut:])
    gen = torch.Generator().manual_seed(args.seed)
    td = TokenData(data, "cpu")
    enc = DesignEncoder(data.space, data.x, standardize_discrete=True)
    u = enc.encode(data.x)
    y = torch.as_tensor(Standardizer(data.y).transform(data.y))

    def forward_curve(label, x, **kw):
        lr, batch = kw.pop("lr"), kw.pop("batch")
        ens = PNNEnsemble(x.shape[1], 1, **kw)
        opt = keras_adam(ens.parameters(), lr)
        t0 = time.perf_counter()
        for e in range(args.epochs):
            fit_ensemble(ens, x[tr], y[tr], torch.ones(len(tr), 1), epochs=1, batch_size=batch, generator=gen,
                         optimizer=opt)
            ens.eval()
            with torch.no_grad():
                mu, sigma = ens(x[val])
                nll = -torch.distributions.Normal(mu[:, 0], sigma[:, 0]).log_prob(y[val]).mean().item()
            rho = training_spearman(ens.mean, x[val], y[val])
            print(f"{label}\tepoch {e + 1}\tval_nll {nll:.4f}\tval_spearman {rho:.4f}\t"
                  f"{time.perf_counter() - t0:.1f}s", flush=True)

    discrete = data.space.is_discrete
    tok = dict(vocab_size=td.vocab, embedding_size=64) if discrete else {}
    forward_curve("pnn-quick(lr1e-3,b256)", td.x, hidden=128, num_layers=1, lr=1e-3, batch=256, **tok)
    forward_curve("pnn-quick(lr3e-4,b256)", td.x, hidden=128, num_layers=1, lr=3e-4, batch=256, **tok)
    forward_curve("pnn-2x256(lr3e-4,b128)", u, hidden=256, num_layers=2, lr=3e-4, batch=128)
    forward_curve("pnn-256(lr1e-3,b100)", u, hidden=256, num_layers=1, lr=1e-3, batch=100)

    vae = VAE(td.dim, td.vocab, 32, 128, 1, 64, 0.1, 0.2)
    opt = keras_adam(vae.parameters(), 3e-4)
    t0 = time.perf_counter()
    for e in range(args.epochs):
        fit_regressor(vae, td.x[tr], torch.zeros(len(tr)), epochs=1, batch_size=100, generator=gen,
                      loss=vae_loss(1.0), extras=(torch.ones(len(tr)),), optimizer=opt)
        with torch.no_grad():
            nll, kl = vae(td.x[val])
        print(f"vae-quick\tepoch {e + 1}\tval_neg_elbo {(nll + kl).mean().item():.4f}\t"
              f"{time.perf_counter() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()

"""Probabilistic forward models ("PNNs") and their bootstrap ensembles, as design-baselines builds them.

A PNN is an MLP whose head gives ``(μ, s)``; ``s`` is soft-clamped between two *trainable* log-σ
bounds and ``σ = exp(s)``. An ensemble of ``K`` PNNs is a uniform mixture: its mean is the mean of
the ``μ``'s and its CDF the mean of the members' CDFs. Members train on the same minibatches, each
on its own bootstrap counts (one Adam over all members equals one Adam per member: Adam is
elementwise). Keras defaults the reference relied on are reproduced here: Glorot-uniform weights
with zero bias, embeddings U(±0.05), LeakyReLU slope 0.3, Adam ε = 1e-7.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mbo.nn.optim import adam
from mbo.nn.surrogate import fit_regressor

KERAS_LEAKY_SLOPE = 0.3
KERAS_ADAM_EPS = 1e-7


def keras_init_(module: nn.Module) -> nn.Module:
    """Re-initialize ``module``'s layers as Keras does: Glorot-uniform Linear weights, zero biases,
    U(−0.05, 0.05) embeddings. Returns ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.uniform_(m.weight, -0.05, 0.05)
    return module


def keras_adam(params: Iterable[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999)):
    """Adam with Keras' ε = 1e-7 (:func:`mbo.nn.optim.adam`)."""
    return adam(params, lr=lr, betas=betas, eps=KERAS_ADAM_EPS)


def soft_clamp(s: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Smoothly keep ``s`` within ``[lo, hi]``: ``hi − softplus(hi − s)``, then ``lo + softplus(· − lo)``."""
    s = hi - F.softplus(hi - s)
    return lo + F.softplus(s - lo)


class LogStdBounds(nn.Module):
    """Trainable soft-clamp bounds of a log-σ, initialised to ``log min_std`` and ``log max_std``."""

    def __init__(self, shape: tuple[int, ...] = (1,), min_std: float = 0.1, max_std: float = 0.2) -> None:
        super().__init__()
        self.max_logstd = nn.Parameter(torch.full(shape, math.log(max_std)))
        self.min_logstd = nn.Parameter(torch.full(shape, math.log(min_std)))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return soft_clamp(s, self.min_logstd, self.max_logstd)


def body(in_dim: int, hidden: int, num_layers: int, vocab_size: int = 0, embedding_size: int = 0,
         slope: float = KERAS_LEAKY_SLOPE) -> tuple[nn.Sequential, int]:
    """``[Embedding(vocab, e) →] Flatten → num_layers × [Linear(hidden), LeakyReLU]``; returns (net, width).

    With ``vocab_size`` the input is integer tokens ``[b, in_dim]``; otherwise floats ``[b, in_dim]``.
    """
    layers: list[nn.Module] = []
    width = in_dim
    if vocab_size:
        layers.append(nn.Embedding(vocab_size, embedding_size))
        width = in_dim * embedding_size
    layers.append(nn.Flatten())
    for _ in range(num_layers):
        layers += [nn.Linear(width, hidden), nn.LeakyReLU(slope)]
        width = hidden
    return nn.Sequential(*layers), width


class PNN(nn.Module):
    """One probabilistic MLP: ``x → (μ [b], σ [b])`` with soft-clamped, trainable log-σ bounds."""

    def __init__(self, in_dim: int, hidden: int = 256, num_layers: int = 1, vocab_size: int = 0,
                 embedding_size: int = 256, min_std: float = 0.1, max_std: float = 0.2) -> None:
        super().__init__()
        self.body, width = body(in_dim, hidden, num_layers, vocab_size, embedding_size)
        self.head = nn.Linear(width, 2)
        self.bounds = LogStdBounds((1,), min_std, max_std)
        keras_init_(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.head(self.body(x))
        return out[:, 0], self.bounds(out[:, 1]).exp()


class PNNEnsemble(nn.Module):
    """``K`` PNNs as a uniform mixture (design-baselines' bootstrap ensemble).

    ``forward(x)`` gives ``(μ [b, K], σ [b, K])``; :meth:`mean` the mixture mean; :meth:`reduce`
    the mean or the min of the members' ``μ``; :meth:`cdf` the mixture CDF at a threshold.
    """

    def __init__(self, in_dim: int, k: int = 5, **pnn_kwargs) -> None:
        super().__init__()
        self.members = nn.ModuleList([PNN(in_dim, **pnn_kwargs) for _ in range(k)])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mus, sigmas = zip(*(m(x) for m in self.members))
        return torch.stack(mus, 1), torch.stack(sigmas, 1)

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """Mixture mean ``[b]`` (the average of the members' μ)."""
        return self(x)[0].mean(1)

    def reduce(self, x: torch.Tensor, how: str) -> torch.Tensor:
        """``"mean"`` or ``"min"`` over the members' μ, per design ``[b]``."""
        mu = self(x)[0]
        if how == "mean":
            return mu.mean(1)
        if how == "min":
            return mu.min(1).values
        raise ValueError(f"how must be 'mean' or 'min', got {how!r}")

    def cdf(self, gamma: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Mixture CDF ``P(y ≤ γ | x)`` ``[b]``: the mean of ``Φ((γ − μ_k)/σ_k)``."""
        mu, sigma = self(x)
        return torch.distributions.Normal(mu, sigma).cdf(torch.as_tensor(gamma, dtype=mu.dtype)).mean(1)


def ensemble_nll(out: tuple[torch.Tensor, torch.Tensor], y: torch.Tensor, counts: torch.Tensor,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """Σ over members of ``Σ_rows(w · b_k · NLL_k) / Σ_rows b_k`` (Gaussian NLL; 0 where Σ b_k = 0)."""
    mu, sigma = out
    nll = -torch.distributions.Normal(mu, sigma).log_prob(y.reshape(-1, 1))
    w = counts if weights is None else counts * weights.reshape(-1, 1)
    denom = counts.sum(0)
    per_model = torch.where(denom > 0, (w * nll).sum(0) / denom.clamp_min(1e-12), torch.zeros_like(denom))
    return per_model.sum()


def bootstrap_split(n: int, k: int, val_size: int, rng: np.random.Generator, *, bootstrap: bool = True,
                    per_model_split: bool = False, return_held_out: bool = False):
    """Rows to train on and per-member bootstrap counts, drawn once per run (design-baselines' pipeline).

    Shared split (default): one random permutation; its first ``val_size`` rows are held out (they
    only served logging in the reference), and each member draws ``n − val_size`` training rows
    with replacement, the counts being its loss weights. ``per_model_split``: every member holds
    out its own ``val_size`` rows (gradient-ascent ensembles); all rows are returned and a member's
    held-out rows get count 0.

    Returns:
        ``(rows [m], counts [m, k])`` float32 counts (all ones without ``bootstrap``); with
        ``return_held_out`` also ``held_out [n, k]`` bool, each member's validation rows (indices
        into the ``n`` rows, not into ``rows``). The random stream does not depend on it.
    """
    val_size = min(val_size, max(n - 1, 0))
    held_out = np.zeros((n, k), bool)
    if not per_model_split:
        perm = rng.permutation(n)
        rows = perm[val_size:]
        held_out[perm[:val_size]] = True
        m = len(rows)
        if not bootstrap:
            counts = np.ones((m, k), np.float32)
        else:
            counts = np.stack([np.bincount(rng.integers(0, m, m), minlength=m) for _ in range(k)],
                              1).astype(np.float32)
        return (rows, counts, held_out) if return_held_out else (rows, counts)
    counts = np.zeros((n, k), np.float32)
    for i in range(k):
        perm = rng.permutation(n)
        train = perm[val_size:]
        held_out[perm[:val_size], i] = True
        if bootstrap:
            counts[:, i] = np.bincount(train[rng.integers(0, len(train), len(train))], minlength=n)
        else:
            counts[train, i] = 1.0
    rows = np.arange(n)
    return (rows, counts, held_out) if return_held_out else (rows, counts)


def fit_ensemble(ens: PNNEnsemble, x: torch.Tensor, y: torch.Tensor, counts: torch.Tensor, *,
                 epochs: int, batch_size: int, generator: torch.Generator | None = None,
                 weights: torch.Tensor | None = None, optimizer: torch.optim.Optimizer | None = None,
                 learning_rate: float = 1e-3, desc: str = "ensemble") -> list[float]:
    """Train an ensemble on ``(x, y)`` with bootstrap ``counts [n, K]`` and optional row ``weights [n]``.

    The loop is :func:`mbo.nn.fit_regressor` with :func:`ensemble_nll`; pass ``optimizer`` to
    continue with its Adam state (Autofocused CbAS), else a fresh Keras-style Adam is used.
    """
    opt = optimizer or keras_adam(ens.parameters(), learning_rate)
    extras = (counts,) if weights is None else (counts, weights)
    return fit_regressor(ens, x, y, epochs=epochs, batch_size=batch_size, generator=generator, desc=desc,
                         loss=ensemble_nll, extras=extras, optimizer=opt)

"""Classic baselines of Design-Bench (Trabucco et al., 2022) and two reference points.

* ``dataset-best``: the top-Q designs of the offline set (the D(best) row of every table).
* ``random``: Q designs drawn uniformly from the design space.
* ``grad-ascent``: an MLP surrogate on normalized x / y (discrete designs as Design-Bench logits),
  then 200 plain gradient-ascent steps of size 0.01·√d from the top-Q designs.
* ``cma-es``: CMA-ES (the ``cma`` package) on the same surrogate, one strategy per top-Q design,
  σ0 = 0.5, 100 generations, all strategies evaluated in one batch per generation.

Defaults follow design-baselines' command-line defaults (hidden 2048 × 2 leaky-ReLU, Adam 1e-3,
batch 128, 50 epochs). Design-baselines trains a probabilistic (Gaussian) forward model; ours
uses the mean with an MSE loss. ``quick`` profiles shrink the network and epochs for CPU.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mbo.core import OfflineData, Optimizer
from mbo.errors import ConfigError, require
from mbo.nn.surrogate import Surrogate
from mbo.samplers import gradient_ascent


class DatasetBest(Optimizer):
    """The ``n`` best designs of the offline set (D(best) when scored at the 100th percentile)."""

    name = "dataset-best"
    description = "top-Q designs of the offline dataset (reference row)"

    def fit(self, data: OfflineData) -> None:
        self.data_ = data

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted()
        x, _ = self.data_.top(n)
        if len(x) < n:  # fewer rows than the budget: repeat the best ones
            x = np.resize(x, (n,) + x.shape[1:])
        return x


class RandomSearch(Optimizer):
    """``n`` designs drawn uniformly from the design space."""

    name = "random"
    description = "uniform samples from the design space (reference row)"

    def fit(self, data: OfflineData) -> None:
        self.data_ = data

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted()
        return self.data_.space.sample(n, np.random.default_rng(self.seed))


@dataclass
class SurrogateConfig:
    """Surrogate settings shared by ``grad-ascent`` and ``cma-es``."""

    hidden_size: int = 2048
    num_layers: int = 2
    activation: str = "leaky_relu"
    learning_rate: float = 1e-3
    batch_size: int = 128
    epochs: int = 50

    def __post_init__(self) -> None:
        if min(self.hidden_size, self.batch_size, self.epochs) < 1 or self.learning_rate <= 0:
            raise ConfigError("hidden_size, batch_size, epochs must be ≥ 1 and learning_rate > 0")

    def fit_surrogate(self, data: OfflineData, device, seed: int) -> Surrogate:
        return Surrogate.fit(data, hidden=self.hidden_size, num_layers=self.num_layers,
                             activation=self.activation, epochs=self.epochs, batch_size=self.batch_size,
                             learning_rate=self.learning_rate, device=device, seed=seed)


QUICK_SURROGATE = {"hidden_size": 256, "epochs": 20}


class GradientAscent(Optimizer):
    """Gradient ascent on a learned surrogate from the top-Q offline designs (Design-Bench baseline).

    ``x ← x + η √d ∇f(x)`` for ``num_steps`` steps in the encoded space, then decoded (argmax
    tokens for discrete tasks).
    """

    name = "grad-ascent"
    description = "MLP surrogate + gradient ascent from the top-Q designs (Design-Bench)"

    @dataclass
    class Config(SurrogateConfig):
        step_size: float = 0.01
        num_steps: int = 200

    profiles = {"quick": QUICK_SURROGATE, "paper": {}}
    slow_on_cpu = ("paper",)  # a 2×2048 MLP, 50 epochs: minutes per run on a CPU

    def fit(self, data: OfflineData) -> None:
        self.data_ = data
        self.surrogate_ = self.config.fit_surrogate(data, self.device, self.seed)

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted("surrogate_")
        s = self.surrogate_
        x0, _ = self.data_.top(n)
        u0 = s.encoder.encode(np.resize(x0, (n,) + x0.shape[1:]), self.device)
        eta = self.config.step_size * np.sqrt(s.encoder.dim)
        u = gradient_ascent(s.predict, u0, step_size=eta, num_steps=self.config.num_steps)
        return s.encoder.decode(u)


class CMAES(Optimizer):
    """CMA-ES on a learned surrogate, one strategy started at each of the top-Q designs."""

    name = "cma-es"
    description = "CMA-ES (cma package) on an MLP surrogate from the top-Q designs (Design-Bench)"

    @dataclass
    class Config(SurrogateConfig):
        sigma: float = 0.5
        max_iterations: int = 100

    profiles = {"quick": {**QUICK_SURROGATE, "max_iterations": 50}, "paper": {}}
    slow_on_cpu = ("paper",)

    def fit(self, data: OfflineData) -> None:
        self.data_ = data
        self.surrogate_ = self.config.fit_surrogate(data, self.device, self.seed)

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted("surrogate_")
        cma = require("cma")
        s = self.surrogate_
        x0, _ = self.data_.top(n)
        u0 = s.encoder.encode(np.resize(x0, (n,) + x0.shape[1:])).numpy().astype(np.float64)
        opts = {"seed": self.seed + 1, "verbose": -9, "maxiter": self.config.max_iterations}
        strategies = [cma.CMAEvolutionStrategy(u, self.config.sigma, {**opts, "seed": self.seed * 1000 + i + 1})
                      for i, u in enumerate(u0)]
        for _ in range(self.config.max_iterations):
            live = [es for es in strategies if not es.stop()]
            if not live:
                break
            asks = [es.ask() for es in live]
            flat = torch.as_tensor(np.concatenate([np.asarray(a) for a in asks]), dtype=torch.float32,
                                   device=self.device)
            with torch.no_grad():
                f = s.predict(flat).cpu().numpy().astype(np.float64)
            start = 0
            for es, a in zip(live, asks):
                es.tell(a, list(-f[start:start + len(a)]))
                start += len(a)
        best = np.stack([es.result.xbest if es.result.xbest is not None else u
                         for es, u in zip(strategies, u0)])
        return s.encoder.decode(best.astype(np.float32))

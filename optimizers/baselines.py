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

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from mbo.core import OfflineData, Optimizer
from mbo.cost import metered
from mbo.errors import ConfigError, require
from mbo.nn import DesignEncoder, Standardizer
from mbo.nn.pnn import PNNEnsemble, bootstrap_split, fit_ensemble
from mbo.nn.surrogate import Surrogate, training_spearman
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

    def diagnostics(self) -> dict:
        self._check_fitted("surrogate_")
        return {"surrogate_spearman_train": self.surrogate_.spearman(self.data_)}


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
        for _ in metered(range(self.config.max_iterations), "cma-es"):
            live = [es for es in strategies if not es.stop()]
            if not live:
                break
            asks = [es.ask() for es in live]
            flat = torch.as_tensor(np.concatenate([np.asarray(a) for a in asks]), dtype=torch.float32,
                                   device=self.device)
            with torch.no_grad():
                f = s.predict(flat).float().cpu().numpy().astype(np.float64)
            start = 0
            for es, a in zip(live, asks):
                es.tell(a, list(-f[start:start + len(a)]))
                start += len(a)
        best = np.stack([es.result.xbest if es.result.xbest is not None else u
                         for es, u in zip(strategies, u0)])
        return s.encoder.decode(best.astype(np.float32))

    def diagnostics(self) -> dict:
        self._check_fitted("surrogate_")
        return {"surrogate_spearman_train": self.surrogate_.spearman(self.data_)}


class GradAscentEnsemble(Optimizer):
    """Gradient ascent on an ensemble of PNNs aggregated per design (design-baselines §7).

    ``ensemble_size`` PNNs (``num_layers`` × ``hidden_size`` LeakyReLU(0.3), Gaussian NLL, Keras
    initialisation and Adam), each with its own held-out rows and bootstrap counts, on z-scored
    Design-Bench logits (discrete) or z-scored x. From the top-Q designs, ``num_steps`` plain steps
    ``x ← x + η ∇ agg_k μ_k(x)`` with η = ``step_size``·√d; the final iterates, unranked.
    """

    aggregate = "min"

    @dataclass
    class Config:
        ensemble_size: int = 5
        hidden_size: int = 2048
        num_layers: int = 2
        learning_rate: float = 3e-4
        batch_size: int = 128
        val_size: int = 200
        epochs: int = 100
        step_size: float = 0.01
        num_steps: int = 200
        initial_max_std: float = 0.2
        initial_min_std: float = 0.1

        def __post_init__(self) -> None:
            if min(self.ensemble_size, self.hidden_size, self.batch_size, self.epochs) < 1:
                raise ConfigError("ensemble_size, hidden_size, batch_size, epochs must be ≥ 1")

    profiles = {
        "paper": {},
        "quick": {"hidden_size": 256, "epochs": 10},
        "smoke": {"ensemble_size": 2, "hidden_size": 16, "epochs": 2, "num_steps": 10, "val_size": 10},
    }

    def reduction(self) -> str:
        return self.aggregate

    def fit(self, data: OfflineData) -> None:
        cfg = self.config
        self.encoder_ = enc = DesignEncoder(data.space, data.x, standardize_discrete=True)
        self.y_scaler_ = Standardizer(data.y)
        self.data_ = data
        u = enc.encode(data.x, self.device)
        y = torch.as_tensor(self.y_scaler_.transform(data.y), device=self.device)
        rng = np.random.default_rng(self.seed)
        rows, counts = bootstrap_split(len(y), cfg.ensemble_size, cfg.val_size, rng, per_model_split=True)
        self.ensemble_ = ens = PNNEnsemble(enc.dim, cfg.ensemble_size, hidden=cfg.hidden_size,
                                           num_layers=cfg.num_layers, min_std=cfg.initial_min_std,
                                           max_std=cfg.initial_max_std).to(self.device)
        fit_ensemble(ens, u[rows], y[rows], torch.as_tensor(counts, device=self.device), epochs=cfg.epochs,
                     batch_size=cfg.batch_size, generator=torch.Generator().manual_seed(self.seed),
                     learning_rate=cfg.learning_rate)
        ens.eval()

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted("ensemble_")
        x0, _ = self.data_.top(n)
        u0 = self.encoder_.encode(np.resize(x0, (n,) + x0.shape[1:]), self.device)
        eta = self.config.step_size * np.sqrt(self.encoder_.dim)
        how = self.reduction()
        u = gradient_ascent(lambda v: self.ensemble_.reduce(v, how), u0, step_size=eta,
                            num_steps=self.config.num_steps)
        return self.encoder_.decode(u)

    def diagnostics(self) -> dict:
        self._check_fitted("ensemble_")
        u = self.encoder_.encode(self.data_.x, self.device)
        return {"surrogate_spearman_train": training_spearman(lambda v: self.ensemble_.reduce(v, self.reduction()),
                                                              u, self.data_.y),
                "aggregate": self.reduction()}


class GradAscentMin(GradAscentEnsemble):
    """Design-Bench's "Grad. Min": gradient ascent on the min over the ensemble's means."""

    name = "grad-ascent-min"
    description = "gradient ascent on the min over a 5-PNN ensemble (Design-Bench Grad. Min)"
    aggregate = "min"


class GradAscentMean(GradAscentEnsemble):
    """Design-Bench's "Grad. Mean". The reference's mean branch calls the min reduction
    (``use_ref_mean_is_min``, on in every profile): set it ``False`` for a true mean."""

    name = "grad-ascent-mean"
    description = "gradient ascent on the mean of a 5-PNN ensemble (Design-Bench Grad. Mean; ref: min)"
    aggregate = "mean"

    @dataclass
    class Config(GradAscentEnsemble.Config):
        use_ref_mean_is_min: bool = True

    profiles = {**GradAscentEnsemble.profiles, "fixed": {"use_ref_mean_is_min": False}}

    def reduction(self) -> str:
        return "min" if self.config.use_ref_mean_is_min else "mean"


class BOqEI(Optimizer):
    """Batch Bayesian optimisation with q-Expected Improvement on BoTorch (design-baselines §6).

    A GP on the top-``gp_samples`` training designs (true labels) in z-scored x (discrete:
    z-scored Design-Bench logits), box = the data's min/max. Each round: fit the GP (Matérn-5/2
    ARD with BoTorch's legacy Gamma priors, fixed noise ``noise_std²``, no transforms; warm-started),
    maximise qEI (Sobol QMC) jointly over ``q`` points, label them with the PNN ensemble's mean plus
    N(0, noise_std²) noise. Output: the top-Q of all labelled points, dataset designs included.
    The GP runs in float64 (the reference used float32).
    """

    name = "bo-qei"
    description = "BoTorch qEI on a GP of the top designs, labelled by a PNN ensemble (Design-Bench)"

    @dataclass
    class Config:
        ensemble_size: int = 5
        val_size: int = 200
        ensemble_batch_size: int = 100
        hidden_size: int = 256
        num_layers: int = 1
        ensemble_lr: float = 1e-3
        ensemble_epochs: int = 100
        initial_max_std: float = 0.2
        initial_min_std: float = 0.1
        gp_samples: int = 500
        noise_std: float = 0.1
        q: int = 32
        rounds: int = 10
        mc_samples: int = 128
        num_restarts: int = 10
        raw_samples: int = 128
        batch_limit: int = 5
        maxiter: int = 200

        def __post_init__(self) -> None:
            if min(self.ensemble_size, self.gp_samples, self.q, self.mc_samples, self.num_restarts,
                   self.raw_samples, self.batch_limit, self.maxiter) < 1 or self.rounds < 0:
                raise ConfigError("bo-qei sizes must be ≥ 1 (rounds ≥ 0)")

    profiles = {
        "paper": {},
        "quick": {"ensemble_epochs": 10, "gp_samples": 200, "rounds": 3, "num_restarts": 2, "raw_samples": 32,
                  "maxiter": 50, "mc_samples": 64},
        "smoke": {"ensemble_size": 2, "hidden_size": 16, "ensemble_epochs": 2, "gp_samples": 20, "rounds": 2,
                  "q": 4, "num_restarts": 1, "raw_samples": 8, "maxiter": 5, "mc_samples": 16, "val_size": 10},
    }

    def fit(self, data: OfflineData) -> None:
        require("botorch", extra="bo")  # before any training
        cfg = self.config
        self.data_ = data
        self.encoder_ = enc = DesignEncoder(data.space, data.x, standardize_discrete=True)
        self.y_scaler_ = Standardizer(data.y)
        u = enc.encode(data.x, self.device)
        y = torch.as_tensor(self.y_scaler_.transform(data.y), device=self.device)
        rng = np.random.default_rng(self.seed)
        rows, counts = bootstrap_split(len(y), cfg.ensemble_size, cfg.val_size, rng)
        self.ensemble_ = ens = PNNEnsemble(enc.dim, cfg.ensemble_size, hidden=cfg.hidden_size,
                                           num_layers=cfg.num_layers, min_std=cfg.initial_min_std,
                                           max_std=cfg.initial_max_std).to(self.device)
        fit_ensemble(ens, u[rows], y[rows], torch.as_tensor(counts, device=self.device), epochs=cfg.ensemble_epochs,
                     batch_size=cfg.ensemble_batch_size, generator=torch.Generator().manual_seed(self.seed),
                     learning_rate=cfg.ensemble_lr)
        ens.eval()
        self.u_, self.y_ = u, y
        self.pool_x_, self.pool_y_ = self._search(u, y)

    def _search(self, u: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The BO loop; returns all labelled points (initial + acquired) and their labels."""
        from botorch.acquisition import qExpectedImprovement
        from botorch.exceptions.warnings import NumericsWarning
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.utils.gpytorch_modules import get_matern_kernel_with_gamma_prior
        from botorch.optim import optimize_acqf
        from botorch.sampling import SobolQMCNormalSampler
        from gpytorch.mlls import ExactMarginalLogLikelihood

        cfg = self.config
        dt = torch.float64
        top = torch.argsort(y, descending=True, stable=True)[:cfg.gp_samples]
        xs = u[top].to(dt)
        ys = y[top].to(dt).reshape(-1, 1)
        bounds = torch.stack([u.min(0).values, u.max(0).values]).to(dt)
        gen = torch.Generator(device=u.device).manual_seed(self.seed + 1)
        state = None
        for round_ in metered(range(cfg.rounds), "bo round"):
            gp = SingleTaskGP(xs, ys, train_Yvar=torch.full_like(ys, cfg.noise_std ** 2),
                              covar_module=get_matern_kernel_with_gamma_prior(xs.shape[-1]),
                              outcome_transform=None, input_transform=None)
            if state is not None:
                gp.load_state_dict(state, strict=False)
            fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
            state = {k: v for k, v in gp.state_dict().items() if "noise" not in k}
            sampler = SobolQMCNormalSampler(sample_shape=torch.Size([cfg.mc_samples]), seed=self.seed + round_)
            with warnings.catch_warnings():  # qEI on purpose (the reference's), not BoTorch's advised qLogEI
                warnings.simplefilter("ignore", NumericsWarning)
                acq = qExpectedImprovement(gp, best_f=ys.max(), sampler=sampler)
            try:
                cand, _ = optimize_acqf(acq, bounds=bounds, q=cfg.q, num_restarts=cfg.num_restarts,
                                        raw_samples=cfg.raw_samples,
                                        options={"batch_limit": cfg.batch_limit, "maxiter": cfg.maxiter,
                                                 "seed": self.seed + round_})
            except RuntimeError:  # the reference stops the loop when the optimiser fails
                break
            with torch.no_grad():
                label = self.ensemble_.mean(cand.to(u.dtype)).to(dt)
            noise = torch.randn(len(label), generator=gen, dtype=dt, device=u.device) * cfg.noise_std
            xs = torch.cat([xs, cand])
            ys = torch.cat([ys, (label + noise).reshape(-1, 1)])
        return xs.to(u.dtype), ys.reshape(-1).to(u.dtype)

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted("pool_x_")
        order = torch.argsort(self.pool_y_, descending=True, stable=True)[:n]
        x = self.pool_x_[order]
        if len(x) < n:
            x = x[torch.arange(n) % len(x)]
        return self.encoder_.decode(x)

    def diagnostics(self) -> dict:
        self._check_fitted("ensemble_")
        n0 = min(self.config.gp_samples, len(self.y_))
        return {"surrogate_spearman_train": training_spearman(self.ensemble_.mean, self.u_, self.data_.y),
                "acquired": int(len(self.pool_y_) - n0)}

"""Classic baselines of Design-Bench (Trabucco et al., 2022) and two reference points.

* ``dataset-best``: the top-Q designs of the offline set (the D(best) row of every table).
* ``random``: Q designs drawn uniformly from the design space.
* ``grad-ascent``, ``grad-ascent-min``, ``grad-ascent-mean``: design-baselines' ``gradient_ascent``
  (one or five Gaussian-NLL PNNs, 200 plain steps of 0.01·√d from the top-Q designs).
* ``cma-es``: design-baselines' ``cma_es`` (one CMA-ES per top-Q design on a 5-PNN ensemble mean).
* ``bo-qei``: design-baselines' ``bo_qei`` (BoTorch qEI on a GP of the top designs).

All of them share design-baselines' surrogate pipeline (:func:`fit_pnn_ensemble`: discrete designs
as z-scored Design-Bench logits, y z-scored, PNNs from :mod:`mbo.nn.pnn`). Defaults are the
reference's TF-Bind-8 command lines; each class says which lines. ``quick`` profiles shrink the
width and the epochs only.
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
from mbo.nn.surrogate import training_spearman
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


def fit_pnn_ensemble(data: OfflineData, *, ensemble_size: int, hidden_size: int, num_layers: int,
                     learning_rate: float, batch_size: int, val_size: int, epochs: int, initial_min_std: float,
                     initial_max_std: float, per_model_split: bool, seed: int, device,
                     desc: str = "ensemble") -> tuple[DesignEncoder, Standardizer, PNNEnsemble, np.ndarray]:
    """design-baselines' surrogate pipeline: ``map_normalize_y``; discrete x ``map_to_logits`` then
    ``map_normalize_x`` (continuous x z-scored); ``build_pipeline`` (``val_size`` held-out rows,
    bootstrap counts); ``K`` PNNs trained with Gaussian NLL and Keras' Adam.

    Returns ``(encoder, y_scaler, ensemble, held_out [n, K] bool)``; ``held_out`` marks each member's
    validation rows (they only served logging in the reference; here a held-out fit diagnostic).
    """
    encoder = DesignEncoder(data.space, data.x, standardize_discrete=True)
    y_scaler = Standardizer(data.y)
    u = encoder.encode(data.x, device)
    y = torch.as_tensor(y_scaler.transform(data.y), device=device)
    rng = np.random.default_rng(seed)
    rows, counts, held_out = bootstrap_split(len(y), ensemble_size, val_size, rng,
                                             per_model_split=per_model_split, return_held_out=True)
    ens = PNNEnsemble(encoder.dim, ensemble_size, hidden=hidden_size, num_layers=num_layers,
                      min_std=initial_min_std, max_std=initial_max_std).to(device)
    fit_ensemble(ens, u[rows], y[rows], torch.as_tensor(counts, device=device), epochs=epochs,
                 batch_size=batch_size, generator=torch.Generator().manual_seed(seed),
                 learning_rate=learning_rate, desc=desc)
    ens.eval()
    return encoder, y_scaler, ens, held_out


def held_out_spearman(ensemble: PNNEnsemble, u: torch.Tensor, y: np.ndarray, held_out: np.ndarray) -> float | None:
    """Mean over members of the Spearman correlation of member ``k``'s μ with y on its own held-out rows."""
    from scipy.stats import spearmanr

    if not held_out.any():
        return None
    with torch.no_grad():
        mu = torch.cat([ensemble(u[i:i + 8192])[0].cpu() for i in range(0, len(u), 8192)]).numpy()
    rhos = [spearmanr(mu[held_out[:, k], k], y[held_out[:, k]]).statistic for k in range(mu.shape[1])
            if held_out[:, k].sum() > 2]
    return float(np.mean(rhos)) if rhos else None


class CMAES(Optimizer):
    """Design-Bench's CMA-ES (design-baselines ``cma_es``): one CMA-ES per top-Q design on the mean
    of a PNN ensemble.

    Encoding and surrogate as :func:`fit_pnn_ensemble` with one shared split (``cma_es/__init__.py``
    ~26–32, 73–97): ``ensemble_size`` PNNs of ``num_layers`` × ``hidden_size`` LeakyReLU(0.3).
    From each of the top-Q designs (~99–102) an independent ``cma.CMAEvolutionStrategy`` with
    σ0 = ``sigma`` in the z-scored space and pycma's default population (4 + ⌊3 ln d⌋), fitness
    = −(mixture mean of the μ's) (~105–113), until ``max_iterations`` generations or pycma's own
    stop (~117–124); each strategy's ``xbest`` is the candidate. Defaults: TF-Bind-8's command line
    (``cma_es/experiments.py`` ~315–343: bootstraps 5, val 200, batch 100, hidden 256, 1 layer,
    lr 1e-3, 100 epochs, σ0 0.5, 100 generations). Unlike the reference, every live strategy's
    generation is scored in one batch, and each strategy's RNG is seeded from the run seed.
    ``quick`` trains 10 epochs.
    """

    name = "cma-es"
    description = "CMA-ES (cma package) on a 5-PNN ensemble mean from the top-Q designs (Design-Bench)"

    @dataclass
    class Config:
        ensemble_size: int = 5
        hidden_size: int = 256
        num_layers: int = 1
        learning_rate: float = 1e-3
        batch_size: int = 100
        val_size: int = 200
        epochs: int = 100
        initial_max_std: float = 0.2
        initial_min_std: float = 0.1
        sigma: float = 0.5
        max_iterations: int = 100

        def __post_init__(self) -> None:
            if min(self.ensemble_size, self.hidden_size, self.num_layers, self.batch_size, self.epochs,
                   self.max_iterations) < 1 or self.val_size < 0:
                raise ConfigError("cma-es: ensemble_size, hidden_size, num_layers, batch_size, epochs, "
                                  "max_iterations must be ≥ 1 and val_size ≥ 0")
            if self.learning_rate <= 0 or self.sigma <= 0:
                raise ConfigError("cma-es: learning_rate and sigma must be > 0")

    profiles = {
        "paper": {},
        "quick": {"epochs": 10},
        "smoke": {"ensemble_size": 2, "hidden_size": 16, "epochs": 2, "max_iterations": 3, "val_size": 10},
    }

    def fit(self, data: OfflineData) -> None:
        require("cma")  # before any training
        cfg = self.config
        self.data_ = data
        self.encoder_, self.y_scaler_, self.ensemble_, self.held_out_ = fit_pnn_ensemble(
            data, ensemble_size=cfg.ensemble_size, hidden_size=cfg.hidden_size, num_layers=cfg.num_layers,
            learning_rate=cfg.learning_rate, batch_size=cfg.batch_size, val_size=cfg.val_size,
            epochs=cfg.epochs, initial_min_std=cfg.initial_min_std, initial_max_std=cfg.initial_max_std,
            per_model_split=False, seed=self.seed, device=self.device)

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted("ensemble_")
        cma = require("cma")
        x0, _ = self.data_.top(n)
        u0 = self.encoder_.encode(np.resize(x0, (n,) + x0.shape[1:])).numpy().astype(np.float64)
        opts = {"verbose": -9, "maxiter": self.config.max_iterations}
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
                f = self.ensemble_.mean(flat).float().cpu().numpy().astype(np.float64)  # .float(): bf16 under autocast
            start = 0
            for es, a in zip(live, asks):
                es.tell(a, list(-f[start:start + len(a)]))
                start += len(a)
        self.generations_ = [int(es.countiter) for es in strategies]
        best = np.stack([es.result.xbest if es.result.xbest is not None else u
                         for es, u in zip(strategies, u0)])
        return self.encoder_.decode(best.astype(np.float32))

    def diagnostics(self) -> dict:
        self._check_fitted("ensemble_")
        u = self.encoder_.encode(self.data_.x, self.device)
        out = {"surrogate_spearman_train": training_spearman(self.ensemble_.mean, u, self.data_.y),
               "surrogate_spearman_heldout": held_out_spearman(self.ensemble_, u, self.data_.y, self.held_out_)}
        if hasattr(self, "generations_"):
            out["cma_generations_mean"] = float(np.mean(self.generations_))
        return out


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
        self.data_ = data
        self.encoder_, self.y_scaler_, self.ensemble_, self.held_out_ = fit_pnn_ensemble(
            data, ensemble_size=cfg.ensemble_size, hidden_size=cfg.hidden_size, num_layers=cfg.num_layers,
            learning_rate=cfg.learning_rate, batch_size=cfg.batch_size, val_size=cfg.val_size,
            epochs=cfg.epochs, initial_min_std=cfg.initial_min_std, initial_max_std=cfg.initial_max_std,
            per_model_split=True, seed=self.seed, device=self.device)

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
                "surrogate_spearman_heldout": held_out_spearman(self.ensemble_, u, self.data_.y, self.held_out_),
                "aggregate": self.reduction()}

    def surrogate_gradient(self, x: np.ndarray) -> np.ndarray | None:
        """∇_x of the aggregated ensemble prediction at continuous designs ``x`` (what the ascent follows)."""
        if self.data_.space.is_discrete:
            return None
        return self.encoder_.input_gradient(lambda v: self.ensemble_.reduce(v, self.reduction()), x, self.device)


class GradientAscent(GradAscentEnsemble):
    """Design-Bench's "Grad." (design-baselines ``gradient_ascent``): the ensemble ascent with one PNN.

    Defaults are TF-Bind-8's command line (``gradient_ascent/experiments.py`` ~315–343): one model
    (``activations`` has one entry) of 2 × 2048 LeakyReLU(0.3) with Glorot-uniform init
    (``nets.py`` ~150–189), Gaussian NLL (``trainers.py`` ~305–324), Adam 3e-4, batch 128,
    100 epochs, 200 held-out rows and one bootstrap-count column (``__init__.py`` ~84–102);
    x as z-scored logits, y z-scored (~27–32); 200 plain steps of η = 0.01·√d on μ from the
    top-128 designs (~82, 104–147). ``quick`` shrinks the width to 256 and the epochs to 10.
    """

    name = "grad-ascent"
    description = "gradient ascent on one Gaussian-NLL PNN from the top-Q designs (Design-Bench Grad.)"
    aggregate = "mean"  # the reference's TF-Bind-8 setting; with one model mean = min = μ

    @dataclass
    class Config(GradAscentEnsemble.Config):
        ensemble_size: int = 1

    profiles = {
        "paper": {},
        "quick": {"hidden_size": 256, "epochs": 10},
        "smoke": {"hidden_size": 16, "epochs": 2, "num_steps": 10, "val_size": 10},
    }
    slow_on_cpu = ("paper",)  # a 2 × 2048 PNN, 100 epochs: about 20 min per TF-Bind-8 run on one CPU core


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
        self.encoder_, self.y_scaler_, self.ensemble_, _ = fit_pnn_ensemble(
            data, ensemble_size=cfg.ensemble_size, hidden_size=cfg.hidden_size, num_layers=cfg.num_layers,
            learning_rate=cfg.ensemble_lr, batch_size=cfg.ensemble_batch_size, val_size=cfg.val_size,
            epochs=cfg.ensemble_epochs, initial_min_std=cfg.initial_min_std, initial_max_std=cfg.initial_max_std,
            per_model_split=False, seed=self.seed, device=self.device)
        u = self.encoder_.encode(data.x, self.device)
        y = torch.as_tensor(self.y_scaler_.transform(data.y), device=self.device)
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

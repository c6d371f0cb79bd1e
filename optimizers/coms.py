"""Conservative objective models as contrastive-divergence energy models: three variants.

Papers: Trabucco et al., *Conservative Objective Models for Effective Offline Model-Based
Optimization* (ICML 2021), and Beckham & Pal, *Conservative objective models are a special kind
of contrastive divergence-based energy model* (seed 001). Notes: ``shared/methods/coms.md``.

One scalar MLP ``f_θ`` is both the reward model and the negative energy, ``p_θ(x) ∝ exp f_θ(x)``.
It minimises ``c·mean (y − f_θ(x))² + α·[mean f_θ(x') − mean f_θ(x)]``, where the negatives ``x'``
come from ``k`` MCMC steps started at the minibatch and are constants for the loss (CD-k). α is
either fixed or a Lagrange multiplier that keeps the overestimation gap near the limit τ.

* ``coms`` (original COMs, [R] settings): gradient-ascent negatives and test-time ascent with
  η = 0.05·√d (continuous, z-scored x) or 2.0·√d (discrete, Design-Bench logits), 50 steps each,
  dual α (initial 0.1, lr 0.01, τ = 2.0 discrete / 0.5 continuous), MLP 2×2048 ReLU, Adam 3e-4,
  batch 128, 50 epochs, plain MSE; candidates start at the top-Q designs.
* ``coms-stochastic`` (Beckham & Pal §2.2): Langevin negatives and Langevin sampling,
  ``x ← x + (ε_t²/2)∇f_θ + ε_t z`` on a geometric ε schedule, fixed α, ½·MSE.
* ``coms-decoupled`` (§2.3): an energy model for p(x) (a stochastic COM with large α) and an
  independent MSE regressor ``f_ω``; Langevin on ``∇f_θ + w·∇f_ω``.

``coms`` also follows [R] in two details that do not change the algorithm: a Keras-style
initialisation (Glorot-uniform weights, zero biases; [R] is Keras) and a 500-row validation
hold-out left out of training (``holdout_size``; [R]'s ``build_pipeline(val_size=500)``), whose
fit is reported in ``diagnostics()``; the top-Q starting pool is still drawn from every row.

The stochastic and decoupled settings on Design-Bench are toolkit choices (notes §7.14): start
at the top-Q designs, drift η_t = ε_t²/2 with ε from √(2η) down to √(2η)/100 (so the first
drift step is COMs' step), 50 steps. The injected noise is scaled to the data, not to η: each
step adds κ·ε_t·z with κ chosen so that the chain's total noise std √Σ(κε_t)² is ``noise_frac``
(0.1) times the per-coordinate std of the encoded training designs (see :class:`COMsConfig`).

Profile ``spiral`` runs the paper's toy settings (§3: 1×256 MLP, k = 100, ε 0.02→0.001,
50,000 sampling steps from the uniform prior, raw coordinates, exact Langevin κ = 1);
``paper`` is the defaults; ``quick`` shrinks only the network (2×256) and the epochs (10) and
keeps every setting of the conservative penalty (50 chain steps, η, α/τ); ``smoke`` is a test size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from mbo.core import OfflineData, Optimizer
from mbo.errors import ConfigError
from mbo.nn import DesignEncoder, Standardizer, fit_regressor, mlp, same_device
from mbo.nn.optim import adam
from mbo.nn.surrogate import minibatch_loop, training_spearman
from mbo.samplers import gradient_ascent, langevin


@dataclass
class COMsConfig:
    """Settings shared by the three variants; each variant changes only defaults.

    ``None`` means "by design space": ``step_size`` 2.0 (discrete) / 0.05 (continuous), with
    η = step_size·√d; ``tau`` 2.0 / 0.5; ``neg_eps``/``sample_eps`` (ε_start, ε_end) default to
    (√(2η), √(2η)/100). With an ε schedule the ascent kernel steps by ε_t²/2 without noise.

    Noise of the Langevin kernels (``neg_kernel``/``sampler`` = ``"langevin"``): step t moves by
    ``(ε_t²/2)·∇log p + κ·ε_t·z``. ``noise_frac = None`` is exact Langevin (κ = 1), the paper's
    kernel, which the ``spiral`` profile uses with the paper's ε. A number sets κ so that the
    chain's total injected noise std per coordinate, ``κ·√Σε_t²``, equals ``noise_frac`` × the
    RMS per-coordinate std of the encoded offline designs (i.e. a temperature κ² on the target).
    Why: with κ = 1, the Design-Bench ε = √(2η) → √(2η)/100 puts a total noise of std 10.7 on every
    TF-Bind-8 logit (data logits are 0 or ±1.95, per-coordinate std 1.34), so chains that start at
    the data end as near-random re-draws. The default 0.1 is the ratio of the paper's toy training
    chain (√Σε_t² = 0.082 for ε 0.02 → 0.001 over 100 steps) to the spiral data's per-coordinate std
    (0.83); it was not chosen by oracle scores. The drift is left unchanged.

    ``init``: ``"keras"`` (Glorot-uniform, zero bias; [R] is Keras) or ``"torch"`` (``nn.Linear``).
    ``holdout_size``: rows (a seeded random subset) left out of training, as [R]'s 500-row
    validation set; their fit is reported in ``diagnostics()``; the top-Q pool still uses all rows.
    """

    hidden_size: int = 2048
    num_layers: int = 2
    activation: str = "relu"
    learning_rate: float = 3e-4
    batch_size: int = 128
    epochs: int = 50
    mse_coef: float = 1.0
    alpha_mode: Literal["dual", "fixed"] = "dual"
    alpha: float = 0.1
    alpha_learning_rate: float = 0.01
    tau: float | None = None
    step_size: float | None = None
    neg_kernel: Literal["ascent", "langevin"] = "ascent"
    num_neg_steps: int = 50
    neg_eps: tuple[float, float] | None = None
    neg_init_noise_std: float = 0.0
    sampler: Literal["ascent", "langevin"] = "ascent"
    num_sample_steps: int = 50
    sample_eps: tuple[float, float] | None = None
    sample_init: Literal["top", "uniform"] = "top"
    temperature: float = 1.0
    use_standardize: bool = True
    use_decoupled: bool = False
    guidance_weight: float = 5.0
    regressor_learning_rate: float = 3e-4
    regressor_epochs: int | None = None
    noise_frac: float | None = 0.1
    init: Literal["torch", "keras"] = "torch"
    holdout_size: int = 0

    def __post_init__(self) -> None:
        if min(self.hidden_size, self.batch_size, self.epochs) < 1 or self.num_layers < 0:
            raise ConfigError("hidden_size, batch_size and epochs must be ≥ 1, num_layers ≥ 0; got "
                              f"{self.hidden_size}, {self.batch_size}, {self.epochs}, {self.num_layers}")
        if min(self.num_neg_steps, self.num_sample_steps) < 0 or self.temperature <= 0:
            raise ConfigError("num_neg_steps/num_sample_steps must be ≥ 0 and temperature > 0")
        if self.alpha < 0 or (self.alpha_mode == "dual" and self.alpha == 0):
            raise ConfigError(f"alpha must be ≥ 0 (> 0 with alpha_mode='dual'), got {self.alpha}")
        for key in ("neg_eps", "sample_eps"):
            eps = getattr(self, key)
            if eps is not None and (len(eps) != 2 or min(eps) <= 0):
                raise ConfigError(f"{key} must be two positive numbers (start, end), got {eps}")
        if self.noise_frac is not None and self.noise_frac <= 0:
            raise ConfigError(f"noise_frac must be > 0 or None (exact Langevin), got {self.noise_frac}")
        if self.init not in ("torch", "keras"):
            raise ConfigError(f"init must be 'torch' or 'keras', got {self.init!r}")
        if self.holdout_size < 0:
            raise ConfigError(f"holdout_size must be ≥ 0, got {self.holdout_size}")


class _COMs(Optimizer):
    """Shared fit/propose; the public classes below only set name, description and defaults."""

    Config = COMsConfig
    slow_on_cpu = ("paper",)  # a 2×2048 MLP, 50 epochs: hours per Design-Bench run on a CPU

    def fit(self, data: OfflineData) -> None:
        cfg, dev = self.config, self.device
        self.data_ = data
        n = len(data)
        if cfg.holdout_size > n // 2:
            raise ConfigError(f"holdout_size {cfg.holdout_size} leaves too few of the {n} offline rows to "
                              "train on (at most half may be held out); set holdout_size=0")
        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        perm = np.random.default_rng(self.seed).permutation(n)
        self.holdout_idx_, self.train_idx_ = np.sort(perm[:cfg.holdout_size]), np.sort(perm[cfg.holdout_size:])
        self.encoder_ = _encoder(data, cfg.use_standardize)
        self.y_scaler_ = Standardizer(data.y) if cfg.use_standardize else None
        u_all = self.encoder_.encode(data.x, dev)
        y_all = torch.as_tensor(self.y_scaler_.transform(data.y) if self.y_scaler_ else np.array(data.y), device=dev)
        train = torch.as_tensor(self.train_idx_, device=dev)
        u, y = u_all[train], y_all[train]
        d = u.shape[1]
        discrete = data.space.is_discrete
        self.eta_ = (cfg.step_size if cfg.step_size is not None else 2.0 if discrete else 0.05) * d ** 0.5
        self.data_std_ = float(u_all.std(0).pow(2).mean().sqrt()) if n > 1 else 1.0
        tau = cfg.tau if cfg.tau is not None else 2.0 if discrete else 0.5
        chain_gen = torch.Generator(device=dev).manual_seed(self.seed + 2)
        kernel = self._chain(cfg.neg_eps, cfg.neg_kernel, cfg.num_neg_steps, chain_gen)
        self.neg_noise_std_ = kernel.noise_total
        self.energy_ = mlp(d, 1, cfg.hidden_size, cfg.num_layers, cfg.activation, init=cfg.init).to(dev)
        self.history_ = train_energy(self.energy_, u, y, kernel, cfg, tau, gen)
        if cfg.use_decoupled:
            self.regressor_ = mlp(d, 1, cfg.hidden_size, cfg.num_layers, cfg.activation, init=cfg.init).to(dev)
            fit_regressor(self.regressor_, u, y, epochs=cfg.regressor_epochs or cfg.epochs,
                          batch_size=cfg.batch_size, learning_rate=cfg.regressor_learning_rate,
                          generator=gen, desc="regressor f_ω")

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted("energy_")
        cfg = self.config
        rng = np.random.default_rng(self.seed)
        if cfg.sample_init == "top":
            x0, _ = self.data_.top(n)
            x0 = np.resize(x0, (n,) + x0.shape[1:])
        else:
            x0 = self.data_.space.sample(n, rng)
        u0 = self.encoder_.encode(x0, self.device)
        gen = torch.Generator(device=u0.device).manual_seed(self.seed + 1)
        chain = self._chain(cfg.sample_eps, cfg.sampler, cfg.num_sample_steps, gen)
        u = chain(self.log_prob, u0)
        return self.encoder_.decode(u)

    def diagnostics(self) -> dict:
        """Fit and training-chain facts, per run.

        * ``surrogate_spearman_train``: the surrogate's Spearman correlation with y on its training
          rows: ``f_ω`` for the decoupled variant, else ``f_θ`` (both reward model and energy);
          ``surrogate_spearman_holdout`` / ``surrogate_mse_holdout`` (z-scored y) on the
          ``holdout_size`` held-out rows, when there are any.
        * ``gap_history``, ``alpha_history``, ``mse_history``: per-epoch means of the overestimation
          gap ``f(x') − f(x)``, of α and of the squared error while ``f_θ`` trained.
        * ``eta``: η = step_size·√d; ``data_std``: RMS per-coordinate std of the encoded designs;
          ``neg_noise_std`` / ``sample_noise_std``: total injected noise std per coordinate of the
          training chain and of the sampling chain (0 for ascent).
        """
        self._check_fitted("energy_")
        cfg = self.config
        model = self.regressor_ if cfg.use_decoupled else self.energy_
        out = {"surrogate_spearman_train": training_spearman(model, self._encode_rows(self.train_idx_),
                                                             self.data_.y[self.train_idx_])}
        if len(self.holdout_idx_) > 1:
            u = self._encode_rows(self.holdout_idx_)
            y = self.data_.y[self.holdout_idx_]
            y_z = self.y_scaler_.transform(y) if self.y_scaler_ else np.asarray(y)
            with torch.no_grad():
                pred = model(u).reshape(-1).cpu().numpy()
            out["surrogate_spearman_holdout"] = training_spearman(model, u, y)
            out["surrogate_mse_holdout"] = float(((pred - y_z) ** 2).mean())
        sample_chain = self._chain(cfg.sample_eps, cfg.sampler, cfg.num_sample_steps, torch.Generator())
        out.update(gap_history=self.history_["gap"], alpha_history=self.history_["alpha"],
                   mse_history=self.history_["mse"], eta=self.eta_, data_std=self.data_std_,
                   neg_noise_std=self.neg_noise_std_, sample_noise_std=sample_chain.noise_total)
        return out

    def _encode_rows(self, idx: np.ndarray) -> torch.Tensor:
        return self.encoder_.encode(self.data_.x[idx], self.device)

    def _chain(self, eps: tuple[float, float] | None, kernel: str, num_steps: int,
               generator: torch.Generator) -> _Chain:
        """The training (negatives) or sampling chain: by-design-space ε for Langevin when ``eps`` is
        None, noise scaled to ``noise_frac``·``data_std_`` unless ``noise_frac`` is None."""
        cfg = self.config
        langevin_kernel = kernel == "langevin"
        if eps is None and langevin_kernel:
            eps = self._default_eps()
        noise_total = cfg.noise_frac * self.data_std_ if cfg.noise_frac is not None else None
        return _Chain(self.eta_, eps, num_steps, langevin_kernel, generator, noise_total=noise_total)

    def log_prob(self, u: torch.Tensor) -> torch.Tensor:
        """Unnormalised log-density ``[n]`` of encoded designs ``[n, d]`` that sampling targets:
        ``f_θ(u)/T``, plus ``w·f_ω(u)/T`` for the decoupled variant."""
        out = self.energy_(u).reshape(-1)
        if self.config.use_decoupled:
            out = out + self.config.guidance_weight * self.regressor_(u).reshape(-1)
        return out / self.config.temperature

    def _default_eps(self) -> tuple[float, float]:
        start = (2.0 * self.eta_) ** 0.5
        return start, start / 100.0


# Toy settings of the paper (§3) and notebook [N]: raw coordinates, uniform prior over the box.
_SPIRAL = {"hidden_size": 256, "num_layers": 1, "learning_rate": 1e-3, "batch_size": 128,
           "mse_coef": 0.5, "alpha_mode": "fixed", "num_neg_steps": 100, "neg_eps": (0.02, 0.001),
           "neg_init_noise_std": 0.1, "num_sample_steps": 50_000, "sample_eps": (0.1, 1e-5),
           "sample_init": "uniform", "use_standardize": False, "noise_frac": None, "init": "torch",
           "holdout_size": 0}
# quick: a CPU-sized network and fewer epochs; the penalty (50 chain steps, η, α/τ) is the paper's.
_QUICK = {"hidden_size": 256, "epochs": 10}
_SMOKE = {"hidden_size": 32, "epochs": 2, "batch_size": 64, "num_neg_steps": 3, "num_sample_steps": 5,
          "holdout_size": 0}


class COMs(_COMs):
    """Original COMs (Trabucco et al., 2021): gradient-ascent negatives, learned α, ascent from top-Q.

    Example:
        >>> from mbo.tasks.synthetic import Branin
        >>> opt = COMs(COMs.Config(**COMs.profiles["smoke"]), seed=0)
        >>> opt.fit(Branin().offline_data()); opt.propose(8).shape
        (8, 2)
    """

    name = "coms"
    description = "conservative objective models: CD-style conservative MLP + gradient ascent from top-Q"

    @dataclass
    class Config(COMsConfig):
        init: Literal["torch", "keras"] = "keras"  # [R] is Keras: Glorot-uniform weights, zero biases
        holdout_size: int = 500  # [R]: build_pipeline(val_size=500)
    profiles = {"paper": {}, "quick": _QUICK, "smoke": _SMOKE,
                "spiral": {**_SPIRAL, "epochs": 50, "alpha": 0.0}}


class StochasticCOMs(_COMs):
    """Stochastic COMs (Beckham & Pal §2.2): Langevin negatives and Langevin sampling of exp(f_θ)."""

    name = "coms-stochastic"
    description = "stochastic COMs: conservative energy model trained and sampled with Langevin MCMC"

    @dataclass
    class Config(COMsConfig):
        mse_coef: float = 0.5
        alpha_mode: Literal["dual", "fixed"] = "fixed"
        alpha: float = 1.0
        neg_kernel: Literal["ascent", "langevin"] = "langevin"
        sampler: Literal["ascent", "langevin"] = "langevin"

    profiles = {"paper": {}, "quick": _QUICK, "smoke": _SMOKE,
                "spiral": {**_SPIRAL, "epochs": 50, "alpha": 0.0}}


class DecoupledCOMs(_COMs):
    """Decoupled COMs (Beckham & Pal §2.3): Langevin on ∇f_θ (EBM, large α) + w·∇f_ω (regressor)."""

    name = "coms-decoupled"
    description = "decoupled COMs: Langevin on an energy model of p(x) tilted by w × a separate regressor"

    @dataclass
    class Config(COMsConfig):
        mse_coef: float = 0.5
        alpha_mode: Literal["dual", "fixed"] = "fixed"
        alpha: float = 50.0
        neg_kernel: Literal["ascent", "langevin"] = "langevin"
        sampler: Literal["ascent", "langevin"] = "langevin"
        use_decoupled: bool = True

    profiles = {"paper": {}, "quick": _QUICK, "smoke": _SMOKE,
                "spiral": {**_SPIRAL, "epochs": 200, "regressor_learning_rate": 2e-4}}


class _Chain:
    """k MCMC steps on a log-density: constant-η ascent, or per-step η_t = ε_t²/2 (ε geometric)
    with noise κ·ε_t·z (Langevin) or without (the toy's original-COMs sampler, [N]).

    ``noise_total`` sets κ so that the total injected noise std per coordinate, κ·√Σε_t², equals
    it; ``None`` gives κ = 1 (exact Langevin on the log-density).
    """

    def __init__(self, eta: float, eps: tuple[float, float] | None, num_steps: int, use_noise: bool,
                 generator: torch.Generator, noise_total: float | None = None) -> None:
        self.num_steps, self.use_noise, self.generator = num_steps, use_noise, generator
        self.eta = eta
        self.etas = None if eps is None else np.geomspace(eps[0], eps[1], num=max(num_steps, 1)) ** 2 / 2
        steps = self.etas if self.etas is not None else np.full(max(num_steps, 1), eta)
        raw_total = float(np.sqrt(2.0 * steps.sum())) if num_steps > 0 else 0.0  # √Σε_t² at κ = 1
        if not use_noise:
            self.noise_scale = 0.0
        elif noise_total is None or raw_total == 0.0:
            self.noise_scale = 1.0
        else:
            self.noise_scale = noise_total / raw_total
        self.noise_total = self.noise_scale * raw_total

    def __call__(self, log_prob, u0: torch.Tensor) -> torch.Tensor:
        """Run the chain from ``u0`` ``[n, d]``; the result ``[n, d]`` is detached (no gradient to θ)."""
        if self.num_steps == 0:
            return u0.detach().clone()
        if self.etas is None and not self.use_noise:
            return gradient_ascent(log_prob, u0, step_size=self.eta, num_steps=self.num_steps)
        if self.use_noise and not same_device(self.generator.device, u0.device):
            raise ValueError(f"the chain's generator is on {self.generator.device}, the particles on {u0.device}")
        etas = self.etas if self.etas is not None else np.full(self.num_steps, self.eta)
        return langevin(log_prob, u0, step_size=etas, num_steps=self.num_steps, noise_scale=self.noise_scale,
                        generator=self.generator)


def conservative_loss(f_pos: torch.Tensor, f_neg: torch.Tensor, y: torch.Tensor, alpha: float,
                      mse_coef: float) -> tuple[torch.Tensor, torch.Tensor]:
    """COMs / CD-k loss ``c·mean (y − f_pos)² + α·(mean f_neg − mean f_pos)``.

    Args:
        f_pos: predictions on data ``[b]``.
        f_neg: predictions on the (detached) negatives ``[b]``.
        y: targets ``[b]``.
        alpha: weight of the conservative term (a constant here).
        mse_coef: 1.0 ([R]) or 0.5 (−log N(y; f, 1), Eq. 13).

    Returns:
        ``(loss, gap)``: the scalar loss and the overestimation gap ``mean f_neg − mean f_pos``.
    """
    gap = f_neg.mean() - f_pos.mean()
    return mse_coef * ((y - f_pos) ** 2).mean() + alpha * gap, gap


def dual_alpha_loss(log_alpha: torch.Tensor, gap: torch.Tensor, tau: float) -> torch.Tensor:
    """Lagrangian ``α·(τ − gap)`` minimised over ``log α``: α grows while gap > τ, shrinks while gap < τ."""
    return log_alpha.exp() * (tau - gap.detach())


def train_energy(model: nn.Module, u: torch.Tensor, y: torch.Tensor, chain: _Chain, cfg: COMsConfig,
                 tau: float, generator: torch.Generator) -> dict[str, list[float]]:
    """Train ``model`` (``[b, d] → [b, 1]``) with :func:`conservative_loss` on ``u`` ``[n, d]``, ``y`` ``[n]``.

    Negatives start at the minibatch (plus ``neg_init_noise_std`` Gaussian noise) and run
    ``chain`` with the network in eval mode; they are detached, so θ gets no gradient through
    the chain. With ``alpha_mode="dual"``, ``log α`` takes an Adam step on :func:`dual_alpha_loss`.

    Returns:
        Per-epoch means of ``mse``, ``gap`` (f(x') − f(x)) and ``alpha``.
    """
    opt = adam(model.parameters(), lr=cfg.learning_rate)
    log_alpha = torch.tensor(float(np.log(max(cfg.alpha, 1e-30))), device=u.device, requires_grad=True)
    alpha_opt = adam([log_alpha], lr=cfg.alpha_learning_rate)
    log_prob = lambda v: model(v).reshape(-1)  # noqa: E731
    sums = np.zeros((cfg.epochs, 3))  # per epoch: Σ over rows of mse, gap, alpha

    def step(idx: torch.Tensor, epoch: int, batch: int) -> float:
        xb, yb = u[idx], y[idx]
        alpha = log_alpha.exp().item() if cfg.alpha_mode == "dual" else cfg.alpha
        use_negatives = alpha > 0 or cfg.alpha_mode == "dual"  # α = 0: pure regression, no chain needed
        if use_negatives:
            x0 = xb
            if cfg.neg_init_noise_std > 0:
                x0 = xb + cfg.neg_init_noise_std * torch.randn(xb.shape, generator=generator).to(xb.device)
            model.eval()
            neg = chain(log_prob, x0)
            model.train()
            f_neg = model(neg).reshape(-1)
        f_pos = model(xb).reshape(-1)
        if not use_negatives:
            f_neg = f_pos.detach()
        loss, gap = conservative_loss(f_pos, f_neg, yb, alpha, cfg.mse_coef)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if cfg.alpha_mode == "dual":
            alpha_opt.zero_grad(set_to_none=True)
            dual_alpha_loss(log_alpha, gap, tau).backward()
            alpha_opt.step()
        sums[epoch] += len(idx) * np.array([((yb - f_pos) ** 2).mean().item(), gap.item(), alpha])
        return loss.item()

    model.train()
    minibatch_loop(u.shape[0], step, epochs=cfg.epochs, batch_size=cfg.batch_size, generator=generator,
                   device=u.device, desc="energy f_θ",
                   state={"model": model, "optimizer": opt, "log_alpha": log_alpha, "alpha_optimizer": alpha_opt,
                          "sums": sums, "chain_generator": chain.generator})
    model.eval()
    means = sums / max(u.shape[0], 1)
    return {key: [float(v) for v in means[:, i]] for i, key in enumerate(("mse", "gap", "alpha"))}


class _RawEncoder:
    """Identity encoding of continuous designs (the toy works in raw coordinates)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def encode(self, x: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.as_tensor(np.array(x, np.float32), device=device)

    def decode(self, u: torch.Tensor) -> np.ndarray:
        return u.detach().cpu().numpy().astype(np.float32)


def _encoder(data: OfflineData, use_standardize: bool):
    if use_standardize or data.space.is_discrete:
        return DesignEncoder(data.space, data.x)
    return _RawEncoder(data.space.dim)


__all__ = ["COMs", "StochasticCOMs", "DecoupledCOMs", "COMsConfig", "conservative_loss",
           "dual_alpha_loss", "train_energy"]

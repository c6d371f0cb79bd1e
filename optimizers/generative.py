"""Generative Design-Bench baselines: REINFORCE, CbAS, Autofocused CbAS and MINs.

PyTorch ports of design-baselines (Trabucco et al., Design-Bench, ICML 2022); notes in
``shared/methods/baselines.md`` (§2–§5). Defaults (``paper``) are the reference's TF-Bind-8
settings; TF-Bind-10 overrides are applied by task name. Every known defect of the reference is
reproduced and sits behind a ``use_ref_*`` switch that is ``True`` by default and in ``quick``
and ``smoke``; profile ``fixed`` (the paper sizes with every switch off) has no published target:

* ``use_ref_reinforce_broadcast``: the discrete REINFORCE loss broadcasts ``[B, 1, L] × [B, 1]``
  to ``[B, B, L]``, so its gradient is ≈ 0 and the policy stays at the top-128 marginals (§2.4).
* ``use_ref_cbas_conditional_ratio``: CbAS weights use ``p(x|z)/q(x|z)`` at the sampling ``z``,
  not the marginal ratio ``p₀(x)/q_t(x)`` (§3.4); ``False`` uses importance-sampled marginals
  (``marginal_samples`` draws from each encoder), self-normalized in log space.
* ``use_ref_autofocus_random_z``: Autofocused CbAS reweights the data with ``q(x|z)/p(x|z)`` at a
  random ``z`` independent of ``x`` (§4.4); ``False`` uses the marginal ratio, self-normalized.

MINs skips the reference's unused forward model and second ("explore") GAN (§5.4): they never
influence the output. Designs: REINFORCE/CbAS use integer tokens through an embedding, MINs
exact one-hots; continuous designs are z-scored and never clipped (the harness clips).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mbo.core import OfflineData, Optimizer
from mbo.errors import ConfigError
from mbo.nn import Standardizer
from mbo.nn.pnn import (KERAS_LEAKY_SLOPE, LogStdBounds, PNNEnsemble, body, bootstrap_split, fit_ensemble,
                        keras_adam, keras_init_)
from mbo.nn.surrogate import fit_regressor, minibatch_loop, training_spearman
from mbo.cost import metered


def nearest_percentile(values: torch.Tensor, q: float) -> float:
    """The ``q``-th percentile with "nearest" interpolation (TFP's default)."""
    return float(np.percentile(values.detach().float().cpu().numpy(), q, method="nearest"))


class TokenData:
    """Designs as the token-based baselines see them: int tokens (discrete) or z-scored floats."""

    def __init__(self, data: OfflineData, device) -> None:
        self.space = data.space
        self.discrete = data.space.is_discrete
        self.x_scaler = None if self.discrete else Standardizer(data.x)
        self.y_scaler = Standardizer(data.y)
        self.x = self.encode(data.x, device)
        self.y = torch.as_tensor(self.y_scaler.transform(data.y), device=device)
        self.dim = data.space.dim
        self.vocab = data.space.vocab_size if self.discrete else 0

    def encode(self, x: np.ndarray, device) -> torch.Tensor:
        if self.discrete:
            return torch.as_tensor(np.array(x), dtype=torch.long, device=device)
        return torch.as_tensor(self.x_scaler.transform(x), device=device)

    def decode(self, u: torch.Tensor) -> np.ndarray:
        u = u.detach().float().cpu().numpy()
        return u.astype(np.int64) if self.discrete else self.x_scaler.inverse(u)


@dataclass
class EnsembleConfig:
    """The bootstrap PNN ensemble of REINFORCE / CbAS (design-baselines §1.4)."""

    ensemble_size: int = 5
    val_size: int = 200
    ensemble_batch_size: int = 100
    ensemble_epochs: int = 100
    ensemble_lr: float = 1e-3
    embedding_size: int = 256
    hidden_size: int = 256
    num_layers: int = 1
    initial_max_std: float = 0.2
    initial_min_std: float = 0.1

    def __post_init__(self) -> None:
        if min(self.ensemble_size, self.ensemble_batch_size, self.hidden_size, self.embedding_size) < 1:
            raise ConfigError("ensemble_size, ensemble_batch_size, hidden_size, embedding_size must be ≥ 1")
        if self.ensemble_epochs < 0 or self.val_size < 0 or self.ensemble_lr <= 0:
            raise ConfigError("ensemble_epochs and val_size must be ≥ 0 and ensemble_lr > 0")
        if not 0 < self.initial_min_std < self.initial_max_std:
            raise ConfigError("need 0 < initial_min_std < initial_max_std")


def build_ensemble(cfg: EnsembleConfig, td: TokenData, device) -> PNNEnsemble:
    return PNNEnsemble(td.dim, cfg.ensemble_size, hidden=cfg.hidden_size, num_layers=cfg.num_layers,
                       vocab_size=td.vocab, embedding_size=cfg.embedding_size,
                       min_std=cfg.initial_min_std, max_std=cfg.initial_max_std).to(device)


def train_ensemble(ens: PNNEnsemble, cfg: EnsembleConfig, td: TokenData, rng: np.random.Generator,
                   gen: torch.Generator, *, epochs: int, weights: torch.Tensor | None = None,
                   optimizer=None) -> list[float]:
    """One pass of the reference pipeline: a fresh val split and bootstrap, then ``epochs`` of training."""
    rows, counts = bootstrap_split(len(td.y), cfg.ensemble_size, cfg.val_size, rng)
    idx = torch.as_tensor(rows, device=td.y.device)
    return fit_ensemble(ens, td.x[idx], td.y[idx], torch.as_tensor(counts, device=td.y.device),
                        epochs=epochs, batch_size=cfg.ensemble_batch_size, generator=gen,
                        weights=None if weights is None else weights[idx], optimizer=optimizer,
                        learning_rate=cfg.ensemble_lr)


def with_task_overrides(config, task: str, overrides: dict[str, dict]) -> tuple[object, dict]:
    """``config`` with the reference's per-task settings applied where the value is still the default.

    Returns the new config and the applied ``{field: value}`` (reported in ``diagnostics``).
    """
    defaults = type(config)()
    applied = {k: v for k, v in overrides.get(task, {}).items() if getattr(config, k) == getattr(defaults, k)}
    return dataclasses.replace(config, **applied), applied


# ---------------------------------------------------------------------------------------------
# REINFORCE
# ---------------------------------------------------------------------------------------------


class REINFORCE(Optimizer):
    """REINFORCE (Williams 1992) on a bootstrap PNN ensemble, as in design-baselines (§2).

    Policy: independent categoricals per position initialised at the log token frequencies of the
    top-``num_top`` designs (discrete), or a Gaussian with trainable mean and fixed
    ``exploration_std`` (continuous). Reward: the ensemble's mixture mean; advantage: the z-scored
    reward. Output: fresh samples of the final policy.
    """

    name = "reinforce"
    description = "REINFORCE policy on a bootstrap PNN ensemble (Design-Bench)"

    @dataclass
    class Config(EnsembleConfig):
        policy_lr: float = 0.01
        iterations: int = 200
        samples_per_iteration: int | None = None  # 256 discrete, 2048 continuous
        exploration_std: float = 0.1
        num_top: int = 128
        use_ref_reinforce_broadcast: bool = True

    profiles = {
        "paper": {},
        "quick": {"ensemble_epochs": 10, "ensemble_batch_size": 256, "embedding_size": 64, "hidden_size": 128},
        "smoke": {"ensemble_epochs": 2, "embedding_size": 8, "hidden_size": 16, "iterations": 5,
                  "ensemble_size": 2, "val_size": 10},
        "fixed": {"use_ref_reinforce_broadcast": False},
    }

    def fit(self, data: OfflineData) -> None:
        cfg = self.config
        self.td_ = td = TokenData(data, self.device)
        rng = np.random.default_rng(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        self.ensemble_ = ens = build_ensemble(cfg, td, self.device)
        train_ensemble(ens, cfg, td, rng, gen, epochs=cfg.ensemble_epochs)
        ens.eval()
        order = torch.argsort(td.y, descending=True, stable=True)[:cfg.num_top]
        top = td.x[order]
        if td.discrete:
            freq = F.one_hot(top, td.vocab).float().mean(0)  # [L, C]
            self.policy_ = nn.Parameter(freq.log())  # a token never seen gets −∞: never sampled
        else:
            self.policy_ = nn.Parameter(top.mean(0))
        batch = cfg.samples_per_iteration or (256 if td.discrete else 2048)
        opt = keras_adam([self.policy_], cfg.policy_lr)
        for _ in metered(range(cfg.iterations), "reinforce"):
            dist = self._dist()
            x = dist.sample((batch,))
            with torch.no_grad():
                r = ens.mean(x)
                adv = ((r - r.mean()) / r.std(unbiased=False).clamp_min(1e-12)).reshape(-1, 1)  # [B, 1]
            logp = dist.log_prob(x)  # [B, L] discrete, [B] continuous
            loss = self._loss(logp, adv, td.discrete)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def _dist(self):
        if self.td_.discrete:
            return torch.distributions.Categorical(logits=self.policy_)
        scale = torch.full_like(self.policy_, self.config.exploration_std)
        return torch.distributions.Independent(torch.distributions.Normal(self.policy_, scale), 1)

    def _loss(self, logp: torch.Tensor, adv: torch.Tensor, discrete: bool) -> torch.Tensor:
        if not discrete:
            return -(logp * adv[:, 0]).mean()
        if self.config.use_ref_reinforce_broadcast:  # [B, 1, L] × [B, 1] → [B, B, L]
            return -(logp[:, None, :] * adv).mean()
        return -(logp.sum(-1) * adv[:, 0]).mean()

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted("policy_")
        with torch.no_grad():
            return self.td_.decode(self._dist().sample((n,)))

    def diagnostics(self) -> dict:
        self._check_fitted("ensemble_")
        return {"surrogate_spearman_train": training_spearman(self.ensemble_.mean, self.td_.x, self.td_.y)}


# ---------------------------------------------------------------------------------------------
# CbAS and Autofocused CbAS
# ---------------------------------------------------------------------------------------------


class VAE(nn.Module):
    """design-baselines' CbAS VAE: tokens (through an embedding) or z-scored floats, latent Gaussian.

    Encoder σ_z = softplus(soft-clamped s); discrete decoder: a categorical per position;
    continuous decoder: a diagonal Gaussian with per-dimension trainable log-σ bounds.
    """

    def __init__(self, dim: int, vocab_size: int, latent: int, hidden: int, num_layers: int,
                 embedding_size: int, min_std: float, max_std: float) -> None:
        super().__init__()
        self.dim, self.vocab, self.latent = dim, vocab_size, latent
        self.enc_body, width = body(dim, hidden, num_layers, vocab_size, embedding_size)
        self.enc_head = nn.Linear(width, 2 * latent)
        self.enc_bounds = LogStdBounds((1,), min_std, max_std)
        layers: list[nn.Module] = []
        width = latent
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(KERAS_LEAKY_SLOPE)]
            width = hidden
        out = dim * vocab_size if vocab_size else dim * 2
        self.dec = nn.Sequential(*layers, nn.Linear(width, out))
        self.dec_bounds = None if vocab_size else LogStdBounds((dim,), min_std, max_std)
        keras_init_(self)

    def posterior(self, x: torch.Tensor) -> torch.distributions.Normal:
        mu, s = self.enc_head(self.enc_body(x)).chunk(2, -1)
        return torch.distributions.Normal(mu, F.softplus(self.enc_bounds(s)))

    def likelihood(self, z: torch.Tensor) -> torch.distributions.Distribution:
        """p(x | z); its ``log_prob`` is per position / dimension."""
        out = self.dec(z)
        if self.vocab:
            return torch.distributions.Categorical(logits=out.reshape(-1, self.dim, self.vocab))
        out = out.reshape(-1, self.dim, 2)
        return torch.distributions.Normal(out[..., 0], self.dec_bounds(out[..., 1]).exp())

    def log_px_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x | z)`` summed over positions / dimensions ``[b]``."""
        return self.likelihood(z).log_prob(x).sum(-1)

    def log_marginal(self, x: torch.Tensor, samples: int) -> torch.Tensor:
        """Importance-sampled ``log p(x)`` ``[b]`` with the encoder as proposal."""
        post = self.posterior(x)
        z = post.sample((samples,))  # [S, b, latent]
        prior = torch.distributions.Normal(0.0, 1.0)
        terms = torch.stack([self.log_px_z(x, z[s]) for s in range(samples)])
        terms = terms + prior.log_prob(z).sum(-1) - post.log_prob(z).sum(-1)
        return torch.logsumexp(terms, 0) - math.log(samples)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-row reconstruction NLL and KL to N(0, I) (one reparameterized z)."""
        post = self.posterior(x)
        z = post.rsample()
        nll = -self.log_px_z(x, z)
        kl = torch.distributions.kl_divergence(post, torch.distributions.Normal(0.0, 1.0)).sum(-1)
        return nll, kl


def vae_loss(beta: float):
    """``mean(w · (NLL + β·KL))`` (the reference's weighted ELBO; weights not self-normalized)."""
    def loss(out, _y, w):
        nll, kl = out
        return (w * (nll + beta * kl)).mean()
    return loss


class CbAS(Optimizer):
    """Conditioning by Adaptive Sampling (Brookes et al. 2019), as in design-baselines (§3).

    A prior VAE p is fit to the data; a search VAE q (initialised from p) is refit for ``rounds``
    rounds on its own samples weighted by ``p/q × P(y > γ)``, with γ the ``percentile`` of the
    ensemble's predictions of the round's samples. Output: samples of the final q.
    """

    name = "cbas"
    description = "Conditioning by Adaptive Sampling: weighted VAE refits on a PNN ensemble (Design-Bench)"

    @dataclass
    class Config(EnsembleConfig):
        ensemble_lr: float = 3e-4
        latent_size: int = 32
        vae_lr: float = 3e-4
        vae_beta: float = 1.0
        vae_batch_size: int = 100
        offline_epochs: int = 200
        rounds: int = 20
        batches_per_round: int = 10
        round_epochs: int = 10
        percentile: float = 80.0
        marginal_samples: int = 16
        use_ref_cbas_conditional_ratio: bool = True

    task_overrides = {"tfbind10": {"offline_epochs": 100}}
    profiles = {
        "paper": {},
        "quick": {"ensemble_epochs": 10, "offline_epochs": 20, "rounds": 10, "round_epochs": 5,
                  "ensemble_batch_size": 256, "embedding_size": 64, "hidden_size": 128},
        "smoke": {"ensemble_epochs": 2, "offline_epochs": 2, "rounds": 2, "round_epochs": 1,
                  "batches_per_round": 2, "ensemble_size": 2, "embedding_size": 8, "hidden_size": 16,
                  "latent_size": 4, "val_size": 10, "marginal_samples": 2},
        "fixed": {"use_ref_cbas_conditional_ratio": False},
    }

    def fit(self, data: OfflineData) -> None:
        self.config, self.task_overrides_ = with_task_overrides(self.config, data.task, self.task_overrides)
        cfg = self.config
        self.td_ = td = TokenData(data, self.device)
        self.rng_ = rng = np.random.default_rng(self.seed)
        self.gen_ = gen = torch.Generator().manual_seed(self.seed)
        self.ensemble_ = ens = build_ensemble(cfg, td, self.device)
        self.ensemble_opt_ = keras_adam(ens.parameters(), cfg.ensemble_lr)
        train_ensemble(ens, cfg, td, rng, gen, epochs=cfg.ensemble_epochs, optimizer=self.ensemble_opt_)
        ens.eval()
        self.p_ = p = self._vae()
        rows = torch.as_tensor(rng.permutation(len(td.y))[min(cfg.val_size, len(td.y) - 1):], device=self.device)
        ones = torch.ones(len(rows), device=self.device)
        self._train_vae(p, td.x[rows], ones, keras_adam(p.parameters(), cfg.vae_lr), cfg.offline_epochs)
        self.q_ = q = self._vae()
        q.load_state_dict(p.state_dict())
        q_opt = keras_adam(q.parameters(), cfg.vae_lr)  # its state carries over between rounds
        for round_ in metered(range(cfg.rounds), self.name):
            x, w = self.round_samples()
            keep = torch.as_tensor(rng.permutation(len(w))[min(cfg.val_size, len(w) - 1):], device=self.device)
            self._train_vae(q, x[keep], w[keep], q_opt, cfg.round_epochs)
            self._after_round(round_)

    def _vae(self) -> VAE:
        cfg, td = self.config, self.td_
        return VAE(td.dim, td.vocab, cfg.latent_size, cfg.hidden_size, cfg.num_layers, cfg.embedding_size,
                   cfg.initial_min_std, cfg.initial_max_std).to(self.device)

    def _train_vae(self, vae: VAE, x: torch.Tensor, w: torch.Tensor, opt, epochs: int) -> None:
        fit_regressor(vae, x, torch.zeros(len(x), device=self.device), epochs=epochs,
                      batch_size=self.config.vae_batch_size, generator=self.gen_, desc="vae",
                      loss=vae_loss(self.config.vae_beta), extras=(w,), optimizer=opt)

    @torch.no_grad()
    def round_samples(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One round's samples of q and their CbAS weights ``[N]`` (float32, not normalized)."""
        cfg, p, q, ens = self.config, self.p_, self.q_, self.ensemble_
        p.eval()
        q.eval()
        z = torch.randn(cfg.batches_per_round * cfg.vae_batch_size, cfg.latent_size, device=self.device)
        x = q.likelihood(z).sample()
        y = ens.mean(x)
        gamma = nearest_percentile(y, cfg.percentile)
        if cfg.use_ref_cbas_conditional_ratio:
            w = capped_exp(p.log_px_z(x, z) - q.log_px_z(x, z))
        else:
            log_w = p.log_marginal(x, cfg.marginal_samples) - q.log_marginal(x, cfg.marginal_samples)
            w = torch.softmax(log_w, 0) * len(log_w)
        return x, w * (1.0 - ens.cdf(gamma, x))

    def _after_round(self, round_: int) -> None:
        """Hook for Autofocused CbAS."""

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted("q_")
        with torch.no_grad():
            z = torch.randn(n, self.config.latent_size, device=self.device)
            return self.td_.decode(self.q_.likelihood(z).sample())

    def diagnostics(self) -> dict:
        self._check_fitted("ensemble_")
        return {"surrogate_spearman_train": training_spearman(self.ensemble_.mean, self.td_.x, self.td_.y),
                "task_overrides": self.task_overrides_}


LOG_WEIGHT_CAP = 60.0


def capped_exp(log_w: torch.Tensor) -> torch.Tensor:
    """``exp(log_w)`` with ``log_w`` capped at 60, so unnormalised density-ratio weights stay finite.

    The reference's single-sample ratios exp(log p(x|z) − log q(x|z)) overflow float32 on
    continuous tasks with many dimensions (Levy's 60): one inf weight turns the weighted refit into
    NaN. e^60 ≈ 1e26 keeps a weighted batch sum far below float32's 3.4e38, and Adam's steps are
    nearly invariant to the weights' overall scale, so below the cap nothing changes.
    """
    return torch.exp(log_w.clamp(max=LOG_WEIGHT_CAP))


class AutofocusedCbAS(CbAS):
    """Autofocused CbAS (Fannjiang & Listgarten 2020), as in design-baselines (§4).

    After each round's q update the ensemble keeps training (same models, same Adam state) for
    ``autofocus_epochs`` on the offline data reweighted by ``q/p``, with a fresh split and bootstrap.
    """

    name = "autofocused-cbas"
    description = "CbAS whose PNN ensemble is refit on data reweighted by q/p every round (Design-Bench)"

    @dataclass
    class Config(CbAS.Config):
        autofocus_epochs: int = 10
        use_ref_autofocus_random_z: bool = True

    profiles = {
        "paper": {},
        "quick": {**CbAS.profiles["quick"], "autofocus_epochs": 1},
        "smoke": {**CbAS.profiles["smoke"], "autofocus_epochs": 1},
        "fixed": {"use_ref_cbas_conditional_ratio": False, "use_ref_autofocus_random_z": False},
    }

    @torch.no_grad()
    def autofocus_weights(self) -> torch.Tensor:
        """Weights ``v [n]`` of the offline rows: ``q(x|z)/p(x|z)`` at a random z, or the marginal ratio."""
        cfg, p, q, x = self.config, self.p_, self.q_, self.td_.x
        p.eval()
        q.eval()
        out = []
        for i in range(0, len(x), cfg.vae_batch_size):
            xb = x[i:i + cfg.vae_batch_size]
            if cfg.use_ref_autofocus_random_z:
                z = torch.randn(len(xb), cfg.latent_size, device=self.device)
                out.append(q.log_px_z(xb, z) - p.log_px_z(xb, z))
            else:
                out.append(q.log_marginal(xb, cfg.marginal_samples) - p.log_marginal(xb, cfg.marginal_samples))
        log_v = torch.cat(out)
        if cfg.use_ref_autofocus_random_z:
            return capped_exp(log_v)
        return torch.softmax(log_v, 0) * len(log_v)

    def _after_round(self, round_: int) -> None:
        if self.config.autofocus_epochs < 1:
            return
        v = self.autofocus_weights()
        train_ensemble(self.ensemble_, self.config, self.td_, self.rng_, self.gen_,
                       epochs=self.config.autofocus_epochs, weights=v, optimizer=self.ensemble_opt_)
        self.ensemble_.eval()


# ---------------------------------------------------------------------------------------------
# MINs
# ---------------------------------------------------------------------------------------------


def mins_weights(y: np.ndarray, bins: int = 20, temperature: float = 0.1) -> np.ndarray:
    """MINs' reweighting of rows by a 20-bin histogram of (z-scored) y (design-baselines §5.1)."""
    hist, edges = np.histogram(y, bins=bins)
    hist = hist / hist.sum()
    logits = edges[1:] / temperature
    soft = np.exp(logits - logits.max())
    soft = soft / soft.sum()
    target = soft * (hist / (hist + 1e-3))
    target = target / (target.sum() + 1e-7)
    idx = np.minimum(np.digitize(y, edges[1:]), bins - 1)
    return np.clip(target[idx] / (hist[idx] + 1e-7), 0.0, 5.0).astype(np.float32)


class ConditionalNet(nn.Module):
    """MINs' conditional MLP: a linear y-embedding fed to three [Linear → LayerNorm → LeakyReLU(0.2)]
    blocks and to the output layer."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int) -> None:
        super().__init__()
        self.embed_y = nn.Linear(1, hidden)
        self.blocks = nn.ModuleList([nn.Linear(in_dim + hidden, hidden)]
                                    + [nn.Linear(2 * hidden, hidden) for _ in range(2)])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden, eps=1e-3) for _ in range(3)])
        self.out = nn.Linear(2 * hidden, out_dim)
        keras_init_(self)

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        e = self.embed_y(y.reshape(-1, 1))
        h = h.flatten(1)
        for lin, norm in zip(self.blocks, self.norms):
            h = F.leaky_relu(norm(lin(torch.cat([h, e], 1))), 0.2)
        return self.out(torch.cat([h, e], 1))


def gumbel_softmax(logits: torch.Tensor, tau: float) -> torch.Tensor:
    """A RelaxedOneHotCategorical(τ) sample: softmax((logits + Gumbel) / τ)."""
    u = torch.rand_like(logits).clamp(1e-20, 1.0)
    g = -torch.log((-torch.log(u)).clamp_min(1e-20))
    return torch.softmax((logits + g) / tau, -1)


class MINs(Optimizer):
    """Model Inversion Networks (Kumar & Levine 2020), as in design-baselines (§5).

    A conditional WGAN-GP G(z, y) / D(x, y) trained on rows reweighted towards high y; candidates
    are G(z, y*) with y* the best training score (the reference does not optimise y or z).
    Discrete designs are one-hots relaxed by Gumbel-softmax at a temperature falling 5 → 1.
    """

    name = "mins"
    description = "Model Inversion Networks: reweighted conditional WGAN-GP sampled at the best y (Design-Bench)"

    @dataclass
    class Config:
        hidden_size: int = 1024
        latent_size: int = 32
        batch_size: int = 128
        val_size: int = 200
        epochs: int = 200
        learning_rate: float = 2e-4
        beta_1: float = 0.0
        beta_2: float = 0.9
        gp_weight: float = 10.0
        critic_frequency: int = 10
        weight_temperature: float = 0.1
        keep: float = 0.99
        start_temp: float = 5.0
        final_temp: float = 1.0

        def __post_init__(self) -> None:
            if min(self.hidden_size, self.latent_size, self.batch_size, self.epochs, self.critic_frequency) < 1:
                raise ConfigError("hidden_size, latent_size, batch_size, epochs, critic_frequency must be ≥ 1")

    task_overrides = {"tfbind10": {"epochs": 100}}
    profiles = {
        "paper": {},
        "quick": {"hidden_size": 128, "epochs": 20},
        "smoke": {"hidden_size": 16, "latent_size": 4, "epochs": 2, "val_size": 10},
    }

    def fit(self, data: OfflineData) -> None:
        self.config, self.task_overrides_ = with_task_overrides(self.config, data.task, self.task_overrides)
        cfg = self.config
        space = data.space
        self.discrete_ = space.is_discrete
        self.shape_ = (space.length, space.vocab_size) if self.discrete_ else (space.dim,)
        self.y_scaler_ = Standardizer(data.y)
        y = self.y_scaler_.transform(data.y)
        if self.discrete_:
            x = F.one_hot(torch.as_tensor(np.array(data.x)), space.vocab_size).float()
        else:
            self.x_scaler_ = Standardizer(data.x)
            x = torch.as_tensor(self.x_scaler_.transform(data.x))
        rng = np.random.default_rng(self.seed)
        rows = torch.as_tensor(rng.permutation(len(y))[min(cfg.val_size, len(y) - 1):])
        x = x[rows].to(self.device)
        w = torch.as_tensor(mins_weights(y[rows], temperature=cfg.weight_temperature), device=self.device)
        y_t = torch.as_tensor(y[rows], device=self.device)
        self.y_star_ = float(y.max())
        d = int(np.prod(self.shape_))
        self.generator_ = G = ConditionalNet(cfg.latent_size, d, cfg.hidden_size).to(self.device)
        D = ConditionalNet(d, 1, cfg.hidden_size).to(self.device)
        g_opt = keras_adam(G.parameters(), cfg.learning_rate, (cfg.beta_1, cfg.beta_2))
        d_opt = keras_adam(D.parameters(), cfg.learning_rate, (cfg.beta_1, cfg.beta_2))
        gen = torch.Generator().manual_seed(self.seed)

        def temperature(epoch: int) -> float:
            if cfg.epochs == 1:
                return cfg.start_temp
            return cfg.start_temp + (cfg.final_temp - cfg.start_temp) * epoch / (cfg.epochs - 1)

        def step(idx: torch.Tensor, epoch: int, batch: int) -> float:
            xr, yb, wb = x[idx], y_t[idx], w[idx]
            tau = temperature(epoch)
            if self.discrete_:
                smooth = cfg.keep * xr + (1 - cfg.keep) / self.shape_[-1]
                xr = gumbel_softmax(smooth.log(), tau)
            with torch.no_grad():
                xf = self._generate(yb, tau)
            e = torch.rand((len(idx),) + (1,) * (xr.dim() - 1), device=self.device)
            xh = (e * xr + (1 - e) * xf).requires_grad_(True)
            (grad,) = torch.autograd.grad(D(xh, yb).sum(), xh, create_graph=True)
            penalty = (1.0 - grad.flatten(1).norm(dim=1)) ** 2
            d_loss = (wb * (-D(xr, yb)[:, 0] + D(xf, yb)[:, 0] + cfg.gp_weight * penalty)).mean()
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            if batch % cfg.critic_frequency == 0:
                g_loss = (wb * -D(self._generate(yb, tau), yb)[:, 0]).mean()
                g_opt.zero_grad(set_to_none=True)
                g_loss.backward()
                g_opt.step()
            return d_loss.item()

        G.train()
        D.train()
        minibatch_loop(len(rows), step, epochs=cfg.epochs, batch_size=cfg.batch_size, generator=gen,
                       shuffle=False, device=self.device, desc="mins", period=cfg.critic_frequency,
                       state={"generator": G, "critic": D, "g_opt": g_opt, "d_opt": d_opt})
        G.eval()

    def _generate(self, y: torch.Tensor, tau: float | None) -> torch.Tensor:
        """G(z, y) with fresh z: Gumbel-softmax one-hots at ``tau`` (discrete) or z-scored x.

        ``tau=None`` (discrete): the generator's logits ``[b, L, C]``.
        """
        z = torch.randn(len(y), self.config.latent_size, device=self.device)
        out = self.generator_(z, y).reshape((len(y),) + self.shape_)
        if self.discrete_ and tau is not None:
            return gumbel_softmax(out, tau)
        return out

    def conditioning(self, n: int) -> torch.Tensor:
        """The y fed to G at inference: the best training score (z-scored), ``[n]``."""
        return torch.full((n,), self.y_star_, device=self.device)

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted("generator_")
        with torch.no_grad():
            out = self._generate(self.conditioning(n), None)
            if self.discrete_:  # Gumbel-softmax at τ → 0 then argmax = a categorical sample
                return torch.distributions.Categorical(logits=out).sample().cpu().numpy().astype(np.int64)
            return self.x_scaler_.inverse(out.float().cpu().numpy())

    def diagnostics(self) -> dict:
        return {"task_overrides": getattr(self, "task_overrides_", {})}

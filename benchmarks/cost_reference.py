"""Measured references for ``mbo run --estimate``: a short real run of each method's loops, extrapolated.

Nothing here runs under :func:`mbo.cost.estimating`. For each method the long training loops are
timed for a few real steps at the profile's size on the task's data, after one warm-up step, and
multiplied by the number of steps the profile takes, written out per method below
(``ceil(rows / batch) · epochs``). What is left of ``fit`` and ``propose`` (REINFORCE's policy
iterations, CbAS's rounds, the BO rounds, the test-time chains and ascent) runs for real: with the
timed loops' epochs set to 0, or on a small slice of the data where a profile needs ≥ 1 epoch
(that slice's few training steps are counted once more, < 0.1 % of a paper fit). This is how the
one-off cost scripts it replaces (``coms_paper_cost.py``, ``baselines_paper_cost.py``) measured,
with every loop of the method counted.

Methods covered: the COMs variants and the Design-Bench baselines (``REFERENCES``).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mbo.core import OfflineData
from mbo.nn import DesignEncoder, Standardizer, fit_regressor, mlp, seed_everything
from mbo.nn.pnn import PNNEnsemble, fit_ensemble, keras_adam


def per_step(run: Callable[[int], Any], seconds: float, multiple: int = 1) -> float:
    """Seconds per step of ``run(k)`` (which does ``k`` steps): after a one-step warm-up, ``k`` timed steps,
    about ``seconds`` of them (3 to 200; a multiple of ``multiple``)."""
    t = time.perf_counter()
    run(1)
    k = min(max(round(seconds / max(time.perf_counter() - t, 1e-6)), 3), 200)
    k = max(multiple, k // multiple * multiple)
    t = time.perf_counter()
    run(k)
    return (time.perf_counter() - t) / k


def _real(cls, cfg, data: OfflineData, budget: int, **overrides) -> tuple[float, float, Any]:
    """Wall seconds of a real ``fit`` and ``propose(budget)`` of ``cls`` at ``cfg`` with ``overrides``, and
    the fitted optimizer."""
    seed_everything(0)
    opt = cls(config=dataclasses.replace(cfg, **overrides), seed=0, device=torch.device("cpu"))
    t0 = time.perf_counter()
    opt.fit(data)
    t1 = time.perf_counter()
    opt.propose(budget)
    return t1 - t0, time.perf_counter() - t1, opt


def _rows(data: OfflineData, m: int) -> OfflineData:
    """The first ``m`` rows (a slice for a real run whose training loop must have ≥ 1 epoch)."""
    return OfflineData(data.x[:m], data.y[:m], data.space, data.task)


def _ensemble_step(ens: PNNEnsemble, x: torch.Tensor, y: torch.Tensor, batch: int, lr: float, seconds: float) -> float:
    counts = torch.ones(len(x), len(ens.members))
    opt = keras_adam(ens.parameters(), lr)
    return per_step(lambda k: fit_ensemble(ens, x[:k * batch], y[:k * batch], counts[:k * batch], epochs=1,
                                           batch_size=batch, optimizer=opt), seconds)


def _batches(n: int, batch: int) -> int:
    return math.ceil(n / batch)


def _logit_ensemble(cfg, data: OfflineData, *, hidden: int, layers: int, batch: int, lr: float,
                    seconds: float) -> float:
    """s/step of design-baselines' PNN ensemble on z-scored logits (grad-ascent, bo-qei)."""
    u = DesignEncoder(data.space, data.x, standardize_discrete=True).encode(data.x)
    y = torch.as_tensor(Standardizer(data.y).transform(data.y))
    ens = PNNEnsemble(u.shape[1], cfg.ensemble_size, hidden=hidden, num_layers=layers,
                      min_std=cfg.initial_min_std, max_std=cfg.initial_max_std)
    return _ensemble_step(ens, u, y, batch, lr, seconds)


def _token_ensemble(cfg, data: OfflineData, seconds: float) -> float:
    """s/step of the REINFORCE / CbAS token ensemble."""
    from mbo.optimizers.generative import TokenData, build_ensemble

    td = TokenData(data, "cpu")
    return _ensemble_step(build_ensemble(cfg, td, "cpu"), td.x, td.y, cfg.ensemble_batch_size, cfg.ensemble_lr,
                          seconds)


def _vae_step(cfg, data: OfflineData, seconds: float) -> float:
    """s/step of CbAS's VAE refit (``CbAS._train_vae``)."""
    from mbo.optimizers.generative import VAE, TokenData, vae_loss

    td = TokenData(data, "cpu")
    vae = VAE(td.dim, td.vocab, cfg.latent_size, cfg.hidden_size, cfg.num_layers, cfg.embedding_size,
              cfg.initial_min_std, cfg.initial_max_std)
    opt = keras_adam(vae.parameters(), cfg.vae_lr)
    w = torch.ones(len(td.x))
    b = cfg.vae_batch_size
    return per_step(lambda k: fit_regressor(vae, td.x[:k * b], torch.zeros(k * b), epochs=1, batch_size=b,
                                            loss=vae_loss(cfg.vae_beta), extras=(w[:k * b],), optimizer=opt), seconds)


def reinforce(cls, cfg, data, budget, seconds):
    n = len(data) - min(cfg.val_size, len(data) - 1)
    t_ens = _token_ensemble(cfg, data, seconds)
    ens_steps = _batches(n, cfg.ensemble_batch_size) * cfg.ensemble_epochs
    fit_rest, propose, opt = _real(cls, cfg, data, budget, ensemble_epochs=0)
    return {"ensemble": (t_ens, ens_steps)}, fit_rest, propose


def cbas(cls, cfg, data, budget, seconds):
    n = len(data) - min(cfg.val_size, len(data) - 1)
    t_ens = _token_ensemble(cfg, data, seconds)
    t_vae = _vae_step(cfg, data, seconds)
    loops = {"ensemble": (t_ens, _batches(n, cfg.ensemble_batch_size) * cfg.ensemble_epochs),
             "vae (offline)": (t_vae, _batches(n, cfg.vae_batch_size) * cfg.offline_epochs)}
    rest = {"ensemble_epochs": 0, "offline_epochs": 0}
    if hasattr(cfg, "autofocus_epochs"):  # the ensemble refit of every round, on all offline rows
        loops["ensemble (autofocus)"] = (t_ens, _batches(n, cfg.ensemble_batch_size) * cfg.autofocus_epochs
                                         * cfg.rounds)
        rest["autofocus_epochs"] = 0
    fit_rest, propose, opt = _real(cls, cfg, data, budget, **rest)  # the rounds' samples and VAE refits, for real
    return loops, fit_rest, propose


def grad_ascent(cls, cfg, data, budget, seconds):
    t_ens = _logit_ensemble(cfg, data, hidden=cfg.hidden_size, layers=cfg.num_layers, batch=cfg.batch_size,
                            lr=cfg.learning_rate, seconds=seconds)
    # per-model split: every member trains on all rows (its held-out rows weigh 0)
    loops = {"ensemble": (t_ens, _batches(len(data), cfg.batch_size) * cfg.epochs)}
    fit_rest, propose, opt = _real(cls, cfg, _rows(data, cfg.val_size + 2 * cfg.batch_size), budget, epochs=1)
    return loops, fit_rest, propose  # propose: the real ascent from the slice's top-Q


def bo_qei(cls, cfg, data, budget, seconds):
    n = len(data) - min(cfg.val_size, len(data) - 1)
    t_ens = _logit_ensemble(cfg, data, hidden=cfg.hidden_size, layers=cfg.num_layers,
                            batch=cfg.ensemble_batch_size, lr=cfg.ensemble_lr, seconds=seconds)
    fit_rest, propose, opt = _real(cls, cfg, data, budget, ensemble_epochs=0)  # every BO round, for real
    acquired = opt.diagnostics()["acquired"]
    if acquired < cfg.rounds * cfg.q:
        print(f"# bo-qei reference: its BO loop stopped early ({acquired} of {cfg.rounds * cfg.q} points acquired)")
    return {"ensemble": (t_ens, _batches(n, cfg.ensemble_batch_size) * cfg.ensemble_epochs)}, fit_rest, propose


def mins(cls, cfg, data, budget, seconds):
    # MINs' step (a critic step, and a generator step every critic_frequency batches) is fit's own
    # closure: time real fits of 1 epoch on slices of `val_size + k·batch` rows, so that k steps run.
    n = len(data) - min(cfg.val_size, len(data) - 1)

    def run(k: int) -> None:
        seed_everything(0)
        cls(config=dataclasses.replace(cfg, epochs=1), seed=0).fit(_rows(data, cfg.val_size + k * cfg.batch_size))
    t_step = per_step(run, seconds, multiple=cfg.critic_frequency)  # its generator steps in their share
    fit_rest, propose, opt = _real(cls, cfg, _rows(data, cfg.val_size + cfg.batch_size), budget, epochs=1)
    return {"mins": (t_step, _batches(n, cfg.batch_size) * cfg.epochs)}, fit_rest, propose


def coms(cls, cfg, data, budget, seconds):
    from mbo.optimizers.coms import train_energy

    n = len(data) - cfg.holdout_size
    u = DesignEncoder(data.space, data.x).encode(data.x)
    y = torch.as_tensor(Standardizer(data.y).transform(data.y))
    opt = cls(config=cfg, seed=0)  # its chain, as fit builds it
    opt.eta_ = (cfg.step_size or (2.0 if data.space.is_discrete else 0.05)) * u.shape[1] ** 0.5
    opt.data_std_ = float(u.std(0).pow(2).mean().sqrt())
    tau = cfg.tau if cfg.tau is not None else 2.0 if data.space.is_discrete else 0.5
    gen = torch.Generator().manual_seed(0)
    chain = opt._chain(cfg.neg_eps, cfg.neg_kernel, cfg.num_neg_steps, gen)
    model = mlp(u.shape[1], 1, cfg.hidden_size, cfg.num_layers, cfg.activation, init=cfg.init)
    one = dataclasses.replace(cfg, epochs=1)
    b = cfg.batch_size
    t_energy = per_step(lambda k: train_energy(model, u[:k * b], y[:k * b], chain, one, tau, gen), seconds)
    loops = {"energy f_θ": (t_energy, _batches(n, b) * cfg.epochs)}
    if cfg.use_decoupled:
        reg = mlp(u.shape[1], 1, cfg.hidden_size, cfg.num_layers, cfg.activation, init=cfg.init)
        t_reg = per_step(lambda k: fit_regressor(reg, u[:k * b], y[:k * b], epochs=1, batch_size=b), seconds)
        loops["regressor f_ω"] = (t_reg, _batches(n, b) * (cfg.regressor_epochs or cfg.epochs))
    fit_rest, propose, opt = _real(cls, cfg, _rows(data, 2 * cfg.holdout_size + b), budget, epochs=1)
    return loops, fit_rest, propose  # propose: the real test-time chain from the slice's top-Q


REFERENCES: dict[str, Callable] = {
    "reinforce": reinforce, "cbas": cbas, "autofocused-cbas": cbas, "grad-ascent": grad_ascent,
    "grad-ascent-min": grad_ascent, "grad-ascent-mean": grad_ascent, "bo-qei": bo_qei, "mins": mins,
    "coms": coms, "coms-stochastic": coms, "coms-decoupled": coms,
}


def measure(spec: Any, seconds: float = 5.0) -> dict[str, Any]:
    """The measured reference of a planned run (:func:`mbo.harness.plan`): projected fit and propose seconds.

    Each timed loop runs about ``seconds`` of real steps.

    Returns ``fit_s``, ``propose_s``, ``loops`` (name → (s/step, steps)) and ``took_s`` (what it took).
    """
    ref = REFERENCES.get(spec.optimizer_name)
    if ref is None:
        raise KeyError(f"no measured reference for {spec.optimizer_name!r}; known: {', '.join(REFERENCES)}")
    t0 = time.perf_counter()
    torch.manual_seed(0)
    np.random.seed(0)
    loops, fit_rest, propose = ref(spec.optimizer_cls, spec.config, spec.task.offline_data(), spec.budget, seconds)
    fit = fit_rest + sum(s * k for s, k in loops.values())
    return {"fit_s": fit, "propose_s": propose, "loops": loops, "took_s": time.perf_counter() - t0}

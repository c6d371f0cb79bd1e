"""NEM/BNEM estimators against closed forms, the bootstrap grid, temperature calibration, the
exact Gaussian split, and the sampler's plumbing (a zero residual samples the prior exactly)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mbo.diffusion.ve import VESchedule
from mbo.errors import ConfigError
from mbo.optimizers.nem import (BNEM, NEM, BNEMConfig, EnergyMatchingSampler, NEMConfig, bootstrap_grid,
                                calibrate_temperature, log_mean_exp_target, mc_log_terms, posterior_params)
from mbo.samplers.targets import GMM40

GMM = GMM40()


def _gmm_energy(sigma=0.0):
    return lambda x: GMM.noised_energy(x.reshape(-1, 2), sigma).reshape(x.shape[:-1])


def _estimates(energy, x, var_t, k, repeats, seed, var_s=0.0):
    gen = torch.Generator().manual_seed(seed)
    rows = x.expand(repeats, -1)
    terms = mc_log_terms(energy, rows, torch.full((repeats,), var_t), var_s, None, k, gen)
    return log_mean_exp_target(terms)


def test_ek_matches_closed_form_gmm_with_bias_shrinking_like_one_over_k():
    """Raw units, x = (0, 0), σ = 10: exact E_t = 8.823; E_K is biased upward ≈ r²/(2K)."""
    x = torch.zeros(1, 2, dtype=torch.float64)
    exact = float(GMM.noised_energy(x, 10.0))
    stats = {}
    for k in (10, 100, 1000):
        est = _estimates(_gmm_energy(), x, 100.0, k, 400, seed=k)
        stats[k] = (float(est.mean()) - exact, float(est.std()) / math.sqrt(400), float(est.var()))
    r2 = 1000 * stats[1000][2]                                             # delta method: Var[E_K] ≈ r²/K
    assert stats[10][0] > 5 * stats[10][1]                                   # clearly positive at K = 10
    assert 3 < stats[10][0] / stats[100][0] < 30                             # ≈ 10× smaller per decade of K
    assert abs(stats[100][0] - r2 / 200) < 4 * stats[100][1] + 0.01
    assert abs(stats[1000][0] - r2 / 2000) < 4 * stats[1000][1]


def test_ek_matches_closed_form_gaussian():
    m, s2, var_t = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), 0.5, 0.3
    x = torch.tensor([[0.2, -1.0, 1.0]], dtype=torch.float64)
    exact = float(((x - m) ** 2).sum() / (2 * (s2 + var_t)) + 1.5 * math.log((s2 + var_t) / s2))
    est = _estimates(lambda u: ((u - m) ** 2).sum(-1) / (2 * s2), x, var_t, 2000, 200, seed=0)
    assert float(est.mean()) == pytest.approx(exact, abs=4 * float(est.std()) / math.sqrt(200) + 2e-3)


def test_bootstrap_identity_with_exact_teacher_is_unbiased_and_less_noisy():
    """E_K(x_t, t, s) with the exact E_s as teacher estimates E_t, with less variance than E_K at equal K."""
    x = torch.tensor([[5.0, 3.0]], dtype=torch.float64)
    var_t, var_s = 100.0, 81.0
    exact = float(GMM.noised_energy(x, 10.0))
    boot = _estimates(_gmm_energy(9.0), x, var_t, 50, 400, seed=1, var_s=var_s)
    plain = _estimates(_gmm_energy(), x, var_t, 50, 400, seed=2)
    assert float(boot.mean()) == pytest.approx(exact, abs=4 * float(boot.std()) / 20 + 5e-3)
    assert float(boot.var()) < 0.5 * float(plain.var())


def test_gaussian_split_matches_closed_form_for_linear_surrogate():
    """R_0(u) = −aᵀu/T under N(0, τ² I): R_t(u) = −(aᵀm/T + v‖a‖²/(2T²)); the plain estimator on the
    full energy ‖u‖²/(2τ²) + R_0 agrees after removing the Gaussian part."""
    a, temp, tau2, var_t = torch.tensor([0.5, -1.0], dtype=torch.float64), 0.7, 1.0, 2.0
    u = torch.tensor([[0.3, 0.8]], dtype=torch.float64)
    m, v = posterior_params(u, torch.tensor([var_t]), 0.0, tau2)
    closed = float(-((a * m).sum() / temp + v.squeeze() * (a @ a) / (2 * temp**2)))
    gen = torch.Generator().manual_seed(0)
    split = log_mean_exp_target(mc_log_terms(lambda z: -(z @ a) / temp, u.expand(50, -1), torch.full((50,), var_t),
                                             0.0, tau2, 4000, gen))
    assert float(split.mean()) == pytest.approx(closed, abs=4 * float(split.std()) / math.sqrt(50) + 1e-3)
    full = lambda z: (z**2).sum(-1) / (2 * tau2) - (z @ a) / temp  # noqa: E731
    plain = _estimates(full, u, var_t, 4000, 50, seed=3).mean()
    gauss_part = float((u**2).sum() / (2 * (tau2 + var_t)) + math.log((tau2 + var_t) / tau2))  # d/2 · log(…), d = 2
    assert float(plain) - gauss_part == pytest.approx(closed, abs=0.05)


def test_constant_surrogate_gives_zero_targets_and_prior_samples():
    cfg = NEMConfig(prior_var=2.0, sde_steps=200, samples_per_epoch=8, epochs=1, steps_per_epoch=1)
    gen = torch.Generator().manual_seed(0)

    def zero(u):
        return torch.zeros(u.shape[:-1], dtype=u.dtype)

    sampler = EnergyMatchingSampler(zero, 3, cfg, device="cpu", generator=gen)
    _, target = sampler.step_targets(torch.randn(64, 3, generator=gen), torch.rand(64, generator=gen), False)
    torch.testing.assert_close(target, torch.zeros(64), atol=1e-5, rtol=0)

    class Zero(torch.nn.Module):
        def forward(self, u, t):
            return 0.0 * u.sum(-1)

    sampler.ema = Zero()
    x = sampler.sample(4000)
    assert float(x.var(0).mean()) == pytest.approx(2.0, rel=0.08)
    assert float(x.mean(0).abs().max()) < 0.1


def test_bootstrap_grid_matches_reference_gmm_grid():
    taus = bootstrap_grid(VESchedule("geometric", 1e-3, 1.0), 0.1)
    expected = [0, .834, .884, .914, .935, .951, .964, .976, .986, .995, 1]
    np.testing.assert_allclose(taus.numpy(), expected, atol=2e-3)


def test_bootstrap_targets_are_finite_and_only_past_the_first_interval():
    cfg = BNEMConfig(**{**BNEM.profiles["smoke"], "prior_var": None, "bootstrap_kappa": 0.1, "sigma_max": 1.0,
                        "accept_rule": False})
    gen = torch.Generator().manual_seed(0)
    sampler = EnergyMatchingSampler(_gmm_energy(), 2, cfg, device="cpu", generator=gen)
    t = torch.linspace(0.01, 1.0, 200)
    _, target = sampler.step_targets(torch.zeros(200, 2), t, True)
    assert torch.isfinite(target).all()
    eligible = int((t > sampler.taus[1]).sum())
    assert sampler.counts["bootstrap_eligible"] == eligible == sampler.counts["bootstrap_accepted"]


def test_temperature_calibration_hits_the_ess_target():
    f = torch.randn(20000, generator=torch.Generator().manual_seed(0))
    temp = calibrate_temperature(f, 0.05)
    assert temp == pytest.approx(1 / math.sqrt(-math.log(0.05)), rel=0.05)   # Gaussian f: ESS/n = exp(−1/T²)


def test_configs_validate():
    with pytest.raises(ConfigError, match="num_mc_bootstrap"):
        BNEMConfig(num_mc=10, num_mc_bootstrap=10)
    with pytest.raises(ConfigError, match="schedule"):
        NEMConfig(schedule="exp")
    with pytest.raises(ConfigError, match="selection"):
        NEMConfig(selection="best")
    assert BNEMConfig().t0_weight == 0.5 and NEMConfig().t0_weight == 0.0
    assert set(NEM.profiles) == set(BNEM.profiles) == {"paper", "quick", "smoke"}


def test_optimizer_logs_temperature_and_prior_and_moves_towards_higher_predictions():
    from tests.conftest import TinyContinuous

    data = TinyContinuous().offline_data()
    opt = BNEM(BNEMConfig(**{**BNEM.profiles["smoke"], "epochs": 4, "steps_per_epoch": 10}), seed=0)
    with pytest.raises(Exception, match="before fit"):
        opt.propose(4)
    opt.fit(data)
    x = opt.propose(64)
    lo, hi = data.space.bounds
    assert x.shape == (64, 2) and np.all(x >= lo) and np.all(x <= hi)
    diag = opt.diagnostics()
    assert diag["temperature"] > 0 and diag["prior_var"] == 1.0
    assert 0 <= diag["bootstrap_acceptance"] <= 1 and diag["nonfinite_targets"] == 0
    with torch.no_grad():
        pred_data = opt.surrogate_.predict(opt.surrogate_.encoder.encode(data.x)).mean()
    assert diag["proposal_mean_prediction"] > float(pred_data)      # the tilt exp(f̂/T) shifts the samples up
    assert np.isfinite(diag["sample_mean_prediction"]) and np.isfinite(diag["target_mean_prediction"])
    assert 0 < diag["target_mean_prediction_ess"] <= 1


def test_buffer_energy_filter_and_prior_refresh():
    cfg = NEMConfig(**{**NEM.profiles["smoke"], "prior_var": None, "sigma_max": 1.0, "epochs": 1,
                       "samples_per_epoch": 40, "buffer_turnover": None})
    gen = torch.Generator().manual_seed(0)
    sampler = EnergyMatchingSampler(lambda u: (u**2).sum(-1) * 1e3, 2, cfg, device="cpu", generator=gen,
                                    buffer_energy_max=1.0, prior_refresh=0.5)
    start = len(sampler.buffer)
    sampler.train()
    added = sampler.counts["buffer_added"]
    assert added < 40 and len(sampler.buffer) == start + added + 20   # filtered SDE samples, plus 20 prior draws


def test_ema_and_buffer_scale_with_the_run_length():
    """Per-epoch β = 0.95^(250/epochs) leaves the initial weights the reference's share 0.95²⁵⁰ after any
    run; the buffer holds ``samples_per_epoch · epochs / turnover`` rows, capped by ``buffer_size``."""
    for epochs in (10, 30, 250, 1000):
        cfg = NEMConfig(epochs=epochs)
        assert cfg.ema_beta_per_epoch ** epochs == pytest.approx(0.95**250, rel=1e-9)
    assert NEMConfig(epochs=250).ema_beta_per_epoch == pytest.approx(0.95)
    assert NEMConfig(epochs=30, ema_reference_epochs=None).ema_beta_per_epoch == 0.95
    assert NEMConfig().buffer_capacity == 10_000                              # reference: 1024 × 250 into 10,000
    assert NEMConfig(epochs=30, samples_per_epoch=256, batch_size=128).buffer_capacity == 1536
    assert NEMConfig(epochs=2, samples_per_epoch=8, batch_size=32).buffer_capacity == 32   # at least a batch
    assert NEMConfig(epochs=30, samples_per_epoch=256, buffer_turnover=None).buffer_capacity == 10_000
    with pytest.raises(ConfigError, match="buffer_turnover"):
        NEMConfig(buffer_turnover=0.0)
    with pytest.raises(ConfigError, match="ema_reference_epochs"):
        NEMConfig(ema_reference_epochs=0)


def test_sampler_applies_the_scaled_ema_and_drops_the_initial_rows_by_epochs_over_turnover():
    cfg = NEMConfig(**{**NEM.profiles["smoke"], "prior_var": None, "sigma_max": 1.0, "epochs": 4,
                       "samples_per_epoch": 16, "batch_size": 8, "buffer_turnover": 2.0})
    assert cfg.buffer_capacity == 32
    gen = torch.Generator().manual_seed(0)
    initial = torch.full((100, 2), 50.0)                               # marked rows, far from any sample
    sampler = EnergyMatchingSampler(lambda u: (u**2).sum(-1), 2, cfg, device="cpu", generator=gen,
                                    initial_buffer=initial)
    assert len(sampler.buffer) == 32
    prev = [p.detach().clone() for p in sampler.ema.parameters()]
    seen = []

    def check(epoch, s):
        beta = cfg.ema_beta_per_epoch
        for p_ema, p_old, p in zip(s.ema.parameters(), prev, s.net.parameters()):
            torch.testing.assert_close(p_ema, beta * p_old + (1 - beta) * p)
            p_old.copy_(p_ema)
        seen.append(int((s.buffer == 50.0).all(-1).sum()))

    sampler.train(callback=check)
    assert seen == [16, 0, 0, 0]                     # gone by epoch epochs / turnover = 2
    assert sampler.stats()["buffer_capacity"] == 32


def test_target_mean_prediction_matches_the_tilted_gaussian():
    """f̂(u) = aᵀu, prior N(0, τ² I), T: π_T = N(τ² a / T, τ² I), so E_π[f̂] = τ²‖a‖²/T."""
    from types import SimpleNamespace

    a, tau2, temp = torch.tensor([0.6, -0.3, 0.2]), 1.0, 0.8
    opt = NEM(NEMConfig(prior_var=tau2), seed=0)
    opt.surrogate_ = SimpleNamespace(predict=lambda u: u @ a, encoder=SimpleNamespace(dim=3))
    opt.temperature_, opt.box_ = temp, None
    est, ess = opt.target_mean_prediction(num=200_000)
    assert est == pytest.approx(tau2 * float(a @ a) / temp, rel=0.03)
    assert 0.3 < ess < 1

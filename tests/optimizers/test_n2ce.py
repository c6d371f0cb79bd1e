"""N²CE: the loss against hand computations and theory, the stage construction, the sampling
log-density, and end-to-end smoke runs of every ablation switch."""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
import torch

from mbo.harness import execute, plan
from mbo.optimizers.n2ce import (N2CE, LogRatioNet, level_coefficients, n2ce_loss, sigma_schedule, stage_sum,
                             stage_weights)

from ..conftest import TinyContinuous, TinyDiscrete


def _softplus(t: float) -> float:
    return math.log1p(math.exp(t))


# -- the loss ---------------------------------------------------------------------------------
def test_loss_matches_hand_computation():
    f_pos = torch.tensor([0.5, -1.0])
    f_neg = torch.tensor([[0.2, 1.0], [-0.3, 0.4]])
    w = torch.tensor([1.0, 2.0])
    M, lm = 4.0, math.log(4.0)
    rows = []
    for i in range(2):
        pos = -math.log(1 / (1 + math.exp(-(f_pos[i].item() - lm))))          # −log σ(f − log M)
        neg = sum(-math.log(1 - 1 / (1 + math.exp(-(v - lm)))) for v in f_neg[i].tolist())
        rows.append(w[i].item() * (pos + (M / 2) * neg))
    assert n2ce_loss(f_pos, f_neg, M, w).item() == pytest.approx(sum(rows) / 2, rel=1e-6)
    # averaging over the negatives (the bug) drops the factor M
    avg = sum(_softplus(lm - f_pos[i].item()) + 0.5 * sum(_softplus(v - lm) for v in f_neg[i].tolist())
              for i in range(2)) / 2
    assert n2ce_loss(f_pos, f_neg, M, average_negatives=True).item() == pytest.approx(avg, rel=1e-6)


def test_fewer_negatives_per_positive_is_unbiased():
    g = torch.Generator().manual_seed(0)
    f_pos = torch.randn(4000, generator=g)
    f_neg = torch.randn(4000, 100, generator=g) + 2.0
    full = n2ce_loss(f_pos, f_neg, 100.0).item()
    assert n2ce_loss(f_pos, f_neg[:, :5], 100.0).item() == pytest.approx(full, rel=0.02)
    assert n2ce_loss(f_pos, f_neg[:, :1], 100.0).item() == pytest.approx(full, rel=0.05)


def _quantile_sample(mean: float, n: int) -> torch.Tensor:
    """Deterministic N(mean, 1) 'sample': the n mid-quantiles (exact expectations to ~1e-4)."""
    nd = NormalDist(mean, 1.0)
    return torch.tensor([nd.inv_cdf((i + 0.5) / n) for i in range(n)], dtype=torch.float64)


MU = 1.0
Z_POS = _quantile_sample(MU, 4000)          # q_* = N(μ, 1)
Z_NEG = _quantile_sample(0.0, 20000).view(4000, 5)   # q_0 = N(0, 1), 5 per positive


def _loss(params: torch.Tensor, M: float, average: bool = False) -> torch.Tensor:
    a, b = params
    return n2ce_loss(a * Z_POS + b, a * Z_NEG + b, M, average_negatives=average)


def _fit(M: float, average: bool) -> tuple[float, float]:
    params = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], lr=1, max_iter=200, tolerance_grad=1e-10, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = _loss(params, M, average)
        loss.backward()
        return loss
    opt.step(closure)
    return params[0].item(), params[1].item()


@pytest.mark.parametrize("M", [1.0, 100.0])
def test_optimum_is_the_log_ratio_without_offset(M):
    # log N(z; μ, 1)/N(z; 0, 1) = μ z − μ²/2 for every M: the log M shift removes the offset
    a, b = _fit(M, average=False)
    assert a == pytest.approx(MU, abs=0.02)
    assert b == pytest.approx(-MU ** 2 / 2, abs=0.02)


def test_averaging_negatives_turns_n2ce_into_shifted_nce():
    # mean instead of sum over the negatives = ordinary NCE on f − log M: b is off by +log M
    a, b = _fit(100.0, average=True)
    assert a == pytest.approx(MU, abs=0.02)
    assert b == pytest.approx(-MU ** 2 / 2 + math.log(100.0), abs=0.05)


def test_gradient_approaches_mle_gradient_as_m_grows():
    # f(z) = a z + b, q0 = N(0, 1): exp(f) q0 = e^{b + a²/2} N(a, 1), so the (unnormalised) MLE
    # gradient E_q*[∇f] − ∫ e^f q0 ∇f is (μ − e^{b+a²/2} a, 1 − e^{b+a²/2})  (Prop. 3.1).
    a, b = 0.3, -0.2
    s = math.exp(b + a * a / 2)
    mle = torch.tensor([MU - s * a, 1 - s], dtype=torch.float64)
    errors = []
    for M in (1.0, 10.0, 100.0, 1000.0):
        params = torch.tensor([a, b], dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(-_loss(params, M), params)   # ∇L_M (ascent direction)
        errors.append(((grad - mle).norm() / mle.norm()).item())
    assert errors == sorted(errors, reverse=True), errors
    assert errors[-1] < 0.02 and errors[0] > 0.3, errors
    # averaging the negatives keeps the gradient far from MLE however large M is
    params = torch.tensor([a, b], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(-_loss(params, 1000.0, average=True), params)
    assert ((grad - mle).norm() / mle.norm()).item() > 0.3


# -- stages ------------------------------------------------------------------------------------
def test_schedule_reproduces_the_printed_lists():
    np.testing.assert_allclose(sigma_schedule(3), [0.01, 0.69175489, 0.92238785, 0.99974058], atol=1e-8)
    np.testing.assert_allclose(sigma_schedule(6), [0.01, 0.3237, 0.5165, 0.6322, 0.7132, 0.7734, 0.9997],
                               atol=1e-4)


def test_levels_and_weights():
    a, c = level_coefficients(6)
    # level 0 is exactly N(0, I); noise variance falls toward the data end (methods note §3.3)
    np.testing.assert_allclose(c ** 2, [1.0, 0.9222, 0.8064, 0.6060, 0.3437, 0.1049, 0.0001], atol=1e-4)
    np.testing.assert_allclose(a ** 2 + c ** 2, 1.0, atol=1e-12)
    assert a[0] == 0.0 and c[0] == 1.0
    np.testing.assert_allclose(stage_weights(6), [1.000, 1.137, 1.346, 1.693, 2.356, 4.142], atol=1e-3)
    np.testing.assert_allclose(stage_weights(6, "ldebm"), [0.324, 0.419, 0.454, 0.512, 0.627, 1.0], atol=1e-3)
    a1, c1 = level_coefficients(1)
    np.testing.assert_array_equal(a1, [0, 1])
    np.testing.assert_array_equal(c1, [1, 0])
    assert stage_weights(1).tolist() == [1.0]


def _fitted(task_cls=TinyContinuous, **overrides) -> N2CE:
    cfg = N2CE.Config(**{**N2CE.profiles["smoke"], "num_iterations": 0, **overrides})
    opt = N2CE(cfg, seed=0, device="cpu")
    opt.fit(task_cls().offline_data())
    return opt


def test_stage_pairs_have_the_level_variances():
    opt = _fitted()
    n, m, v = 3000, 20, 0.25
    k = torch.arange(n) % 6
    mu, logvar = torch.zeros(n, 20), torch.full((n, 20), math.log(v))
    z_pos, z_neg = opt.stage_pairs(mu, logvar, k, m)
    assert z_pos.shape == (n, 20) and z_neg.shape == (n, m, 20)
    for stage in range(6):
        sel = k == stage
        want_pos = opt.level_a_[stage + 1] ** 2 * v + opt.level_c_[stage + 1] ** 2
        want_neg = opt.level_a_[stage] ** 2 * v + opt.level_c_[stage] ** 2
        assert z_pos[sel].var().item() == pytest.approx(want_pos.item(), rel=0.05)
        assert z_neg[sel].var().item() == pytest.approx(want_neg.item(), rel=0.03)


# -- sampling log-density ---------------------------------------------------------------------
@pytest.mark.parametrize("prior,stages", [("n2ce", 6), ("mle", 1), ("gaussian", 0)])
def test_log_density_matches_formula(prior, stages):
    opt = _fitted(prior=prior, lambda1=20.0, lambda2=1.0)
    z = torch.randn(7, 20, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        _, y_hat = opt.model_.decode(z)
        f = sum(opt.ratio_(z, torch.full((7,), k, dtype=torch.long)) for k in range(stages)) if stages else 0
        want = -20.0 * (1.0 - y_hat) ** 2 + (f - 0.5 * (z ** 2).sum(1))
        got = opt.log_density(z)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    if stages:
        torch.testing.assert_close(stage_sum(opt.ratio_, z, stages), f, rtol=1e-5, atol=1e-5)


def test_switches_resolve():
    assert N2CE.Config().negatives_per_positive == 100
    nce = N2CE.Config(prior="nce")
    assert nce.noise_magnitude == 1.0 and nce.negatives_per_positive == 1
    assert N2CE.Config(n_negatives=10).negatives_per_positive == 10
    with pytest.raises(ValueError):
        N2CE.Config(M=0)


# -- end to end ---------------------------------------------------------------------------------
@pytest.mark.parametrize("task_cls", [TinyDiscrete, TinyContinuous], ids=lambda c: c.name)
@pytest.mark.parametrize("overrides", [{}, {"prior": "nce"}, {"prior": "mle"}, {"prior": "gaussian"},
                                       {"sampler": "langevin", "K": 1}, {"init": "posterior_topq"}],
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_smoke_run(task_cls, overrides, tmp_path):
    task = task_cls()
    rec = execute(plan(task, "n2ce", seed=1, budget=16, profile="smoke", overrides=overrides, device="cpu"),
                  tmp_path)
    assert rec["status"] == "ok", rec.get("error")
    cands = np.asarray(rec["candidates"])
    assert cands.shape == (16, task.space.dim)
    if task.space.is_discrete:
        assert np.issubdtype(cands.dtype, np.integer) and cands.min() >= 0 and cands.max() < 4


def test_training_reduces_the_vae_loss():
    opt = _fitted(TinyDiscrete, num_iterations=150)
    first, last = opt.history_[0][2], opt.history_[-1][2]
    assert last < first


# -- fidelity pass: speed rewrite, likelihood stds, diagnostics -------------------------------
def test_ratio_net_split_merge_equals_concatenated_merge():
    torch.manual_seed(0)
    net = LogRatioNet(nz=5, hidden=16, num_blocks=2, num_stages=4)
    z, k = torch.randn(50, 5), torch.randint(4, (50,))
    reference = net.head(net.trunk(net.merge(torch.cat([net.inp(z), net.stage(k)], 1)))).squeeze(-1)
    torch.testing.assert_close(net(z, k), reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("task_cls,key", [(TinyContinuous, "sigma_x"), (TinyDiscrete, "sigma_y")])
def test_likelihood_std_scales_the_reconstruction_term(task_cls, key):
    """ψ loss = rec_weight·(nll_x/σ_x² + nll_y/σ_y²) + ...: halving σ multiplies its term by 4."""
    losses = {}
    for sigma in (1.0, 0.5):
        opt = _fitted(task_cls, prior="gaussian", kl_weight=0.0, ortho_weight=0.0, **{key: sigma})
        idx = torch.arange(8)
        with torch.no_grad():
            mu, logvar = opt.model_.encode(opt.x_[idx], opt.y_[idx])
            opt.gen_.manual_seed(3)
            losses[sigma] = float(opt._vae_loss(idx, mu, logvar))
            opt.gen_.manual_seed(3)
            z = mu + torch.exp(0.5 * logvar) * opt._randn(mu.shape)
            x_out, y_out = opt.model_.decode(z)
            if key == "sigma_x":
                other = 0.5 * (opt.y_[idx] - y_out).pow(2)
            else:
                other = torch.nn.functional.cross_entropy(x_out.reshape(-1, x_out.shape[-1]),
                                                          opt.x_[idx].reshape(-1), reduction="none").view(8, -1).sum(1)
            losses[sigma] -= float(opt.config.rec_weight * other.mean())
    assert losses[0.5] == pytest.approx(4 * losses[1.0], rel=1e-4)


def test_bad_sigma_and_holdout_are_refused():
    from mbo.errors import ConfigError
    with pytest.raises(ConfigError, match="sigma_x"):
        N2CE.Config(sigma_x=0.0)
    with pytest.raises(ConfigError, match="holdout_size"):
        _fitted(TinyDiscrete, holdout_size=10_000)


def test_diagnostics_report_fit_and_sampling_health():
    opt = _fitted(TinyDiscrete, num_iterations=30, holdout_size=10)
    assert len(opt.holdout_idx_) == 10 and len(opt.train_idx_) == len(opt.y_) - 10
    assert not set(opt.holdout_idx_.tolist()) & set(opt.train_idx_.tolist())
    before = opt.diagnostics()
    assert "train_copy_fraction" not in before
    for key in ("y_spearman", "y_bias", "y_mse", "y_var", "x_recon", "kl", "active_dims"):
        assert key + "_train" in before and key + "_holdout" in before
    assert 0.0 <= before["x_recon_train"] <= 1.0 and before["y_var_train"] > 0
    designs = opt.propose(8)
    after = opt.diagnostics()
    train = {tuple(r) for r in opt.data_.x[opt.train_idx_.numpy()]}
    assert after["train_copy_fraction"] == pytest.approx(np.mean([tuple(r) in train for r in designs]))
    assert after["y_to_prior_grad"] > 0 and np.isfinite(after["predicted_y_median"])


def test_lambda1_zero_removes_the_y_gradient():
    opt = _fitted(TinyDiscrete, num_iterations=10, lambda1=0.0)
    opt.propose(4)
    assert opt.diagnostics()["y_to_prior_grad"] == 0.0


def test_quick_resolves_per_design_space():
    """quick leaves the learning rates and sigma_y to the space (held-out selection: n2ce_select_quick.py)."""
    from mbo.optimizers.n2ce import QUICK_CONTINUOUS, QUICK_DISCRETE

    cfg = N2CE.Config(**N2CE.profiles["quick"])
    assert cfg.learning_rate is None and cfg.sigma_x == 0.03
    assert cfg.resolve(True).sigma_y == QUICK_DISCRETE["sigma_y"] == 0.15
    assert cfg.resolve(True).learning_rate == 1e-3 and cfg.resolve(False).learning_rate == 3e-4
    assert cfg.resolve(False).sigma_y == QUICK_CONTINUOUS["sigma_y"] == 0.1
    assert N2CE.Config(**{**N2CE.profiles["quick"], "sigma_y": 0.5}).resolve(True).sigma_y == 0.5  # --set wins
    paper = N2CE.Config()
    assert paper.resolve(True) == paper and (paper.sigma_x, paper.sigma_y, paper.learning_rate) == (1.0, 1.0, 1e-4)
    opt = _fitted(TinyDiscrete, **{k: None for k in QUICK_DISCRETE})
    assert opt.diagnostics()["resolved"] == QUICK_DISCRETE

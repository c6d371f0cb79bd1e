"""Exact checks of the Design-Bench baselines: CbAS / Autofocused CbAS weights by hand, MINs'
weights and conditioning, REINFORCE's reference loss, ensemble aggregation, qEI batches."""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch

from mbo.errors import MissingDependencyError
from mbo.harness import execute, make_optimizer, plan
from mbo.optimizers.baselines import BOqEI
from mbo.optimizers.generative import capped_exp, mins_weights

from ..conftest import TinyContinuous, TinyDiscrete


def _phi(t: float) -> float:
    return 0.5 * (1.0 + math.erf(t / math.sqrt(2.0)))


def _log_px_z_by_hand(vae, x: torch.Tensor, z: torch.Tensor) -> np.ndarray:
    """Σ_l log softmax(decoder logits)[x_l], computed without torch.distributions."""
    logits = vae.dec(z).reshape(len(z), vae.dim, vae.vocab).double()
    logp = logits - torch.logsumexp(logits, -1, keepdim=True)
    return logp.gather(-1, x.unsqueeze(-1)).squeeze(-1).sum(-1).detach().numpy()


@pytest.fixture(scope="module")
def fitted_cbas():
    data = TinyDiscrete().offline_data()
    torch.manual_seed(0)
    opt = make_optimizer("autofocused-cbas", "smoke", seed=0, device="cpu")
    opt.fit(data)
    return opt


def test_cbas_weights_match_hand_computation(fitted_cbas):
    opt = fitted_cbas
    cfg = opt.config
    torch.manual_seed(123)
    x, w = opt.round_samples()
    torch.manual_seed(123)
    z = torch.randn(cfg.batches_per_round * cfg.vae_batch_size, cfg.latent_size)
    with torch.no_grad():
        ratio = np.exp(_log_px_z_by_hand(opt.p_, x, z) - _log_px_z_by_hand(opt.q_, x, z))
        mu, sigma = opt.ensemble_(x)
    y_hat = mu.double().mean(1).numpy()
    k = int(round(0.8 * (len(y_hat) - 1)))  # "nearest" 80th percentile: an order statistic
    gamma = np.sort(y_hat)[k]
    cdf = np.array([np.mean([_phi((gamma - float(m)) / float(s)) for m, s in zip(mu[i], sigma[i])])
                    for i in range(len(x))])
    np.testing.assert_allclose(w.numpy(), ratio * (1.0 - cdf), rtol=2e-4, atol=1e-7)


def test_cbas_marginal_ratio_is_self_normalized(fitted_cbas):
    opt = fitted_cbas
    opt.config.use_ref_cbas_conditional_ratio = False
    try:
        torch.manual_seed(0)
        x, w = opt.round_samples()
    finally:
        opt.config.use_ref_cbas_conditional_ratio = True
    assert torch.isfinite(w).all() and (w >= 0).all()
    assert w.mean().item() <= 1.0 + 1e-5  # softmax·N has mean 1, times 1 − CDF ≤ 1


def test_autofocus_weights_use_random_z_ratio_q_over_p(fitted_cbas):
    opt = fitted_cbas
    torch.manual_seed(7)
    v = opt.autofocus_weights()
    torch.manual_seed(7)
    x = opt.td_.x
    want = []
    for i in range(0, len(x), opt.config.vae_batch_size):
        xb = x[i:i + opt.config.vae_batch_size]
        z = torch.randn(len(xb), opt.config.latent_size)
        with torch.no_grad():
            want.append(np.exp(_log_px_z_by_hand(opt.q_, xb, z) - _log_px_z_by_hand(opt.p_, xb, z)))
    np.testing.assert_allclose(v.numpy(), np.concatenate(want), rtol=2e-4)


def test_mins_weights_match_hand_computation():
    y = np.array([0.0, 0.1, 0.1, 0.5, 0.9, 1.0, 1.0, 1.0], np.float64)
    w = mins_weights(y, bins=2, temperature=0.5)
    # two bins [0, .5), [.5, 1]; right edges .5 and 1
    h = np.array([3, 5]) / 8
    soft = np.exp(np.array([0.5, 1.0]) / 0.5)
    soft /= soft.sum()
    target = soft * h / (h + 1e-3)
    target /= target.sum() + 1e-7
    per_bin = np.clip(target / (h + 1e-7), 0, 5)
    np.testing.assert_allclose(w, per_bin[[0, 0, 0, 1, 1, 1, 1, 1]], rtol=1e-5)


def test_mins_conditions_the_generator_on_the_best_training_score():
    data = TinyDiscrete().offline_data()
    torch.manual_seed(0)
    opt = make_optimizer("mins", "smoke", seed=0, device="cpu")
    opt.fit(data)
    y_star = (data.y.max() - data.y.mean()) / data.y.std()
    assert opt.conditioning(3).tolist() == pytest.approx([y_star] * 3, rel=1e-5)
    seen = []
    real = opt.generator_

    class Spy(torch.nn.Module):
        def forward(self, z, y):
            seen.append(y.clone())
            return real(z, y)

    opt.generator_ = Spy()
    cands = opt.propose(5)
    assert cands.shape == (5, 6) and cands.dtype == np.int64
    assert torch.allclose(seen[0], torch.full((5,), float(y_star)), rtol=1e-5)
    z = torch.randn(4, opt.config.latent_size)
    with torch.no_grad():  # the generator is conditional: another y gives other designs from the same z
        assert not torch.allclose(real(z, torch.full((4,), -2.0)), real(z, torch.full((4,), 2.0)))


def test_reinforce_reference_broadcast_has_near_zero_gradient():
    data = TinyDiscrete().offline_data()
    torch.manual_seed(0)
    opt = make_optimizer("reinforce", "smoke", seed=0, device="cpu")
    opt.fit(data)
    logits = opt.policy_.detach()
    top = torch.as_tensor(data.top(opt.config.num_top)[0])
    freq = torch.nn.functional.one_hot(top, 4).float().mean(0)
    unseen = freq == 0
    assert torch.isneginf(logits[unseen]).all()  # never-seen tokens stay at −∞ ...
    assert unseen.any()
    cands = torch.as_tensor(opt.propose(500))
    assert not unseen[torch.arange(6).expand_as(cands), cands].any()  # ... and are never sampled
    torch.testing.assert_close(logits[~unseen], freq[~unseen].log(), atol=1e-3, rtol=0)  # ... others barely move
    logp = torch.randn(16, 6, requires_grad=True)
    adv = torch.randn(16, 1)
    adv = adv - adv.mean()
    (g_ref,) = torch.autograd.grad(opt._loss(logp, adv, True), logp)
    opt.config.use_ref_reinforce_broadcast = False
    (g_fix,) = torch.autograd.grad(opt._loss(logp, adv, True), logp)
    assert g_ref.abs().max() < 1e-6  # −mean(log π)·mean(A) with mean(A) = 0
    torch.testing.assert_close(g_fix, -adv.expand(16, 6) / 16)


def test_grad_ascent_mean_is_min_unless_switched_off():
    data = TinyContinuous().offline_data()
    mean_ref = make_optimizer("grad-ascent-mean", "smoke", seed=0, device="cpu")
    assert mean_ref.reduction() == "min"
    mean_fixed = make_optimizer("grad-ascent-mean", "smoke", seed=0, device="cpu", use_ref_mean_is_min=False)
    assert mean_fixed.reduction() == "mean"
    assert make_optimizer("grad-ascent-min", "smoke", seed=0, device="cpu").reduction() == "min"
    torch.manual_seed(0)
    mean_fixed.fit(data)
    u = mean_fixed.encoder_.encode(data.x[:5])
    mu = mean_fixed.ensemble_(u)[0]
    torch.testing.assert_close(mean_fixed.ensemble_.reduce(u, mean_fixed.reduction()), mu.mean(1))


def test_qei_returns_distinct_in_box_batches_on_a_2d_toy():
    data = TinyContinuous().offline_data()
    torch.manual_seed(0)
    opt = make_optimizer("bo-qei", "smoke", seed=0, device="cpu", q=6, rounds=2)
    opt.fit(data)
    n0 = opt.config.gp_samples
    assert len(opt.pool_x_) == n0 + 2 * 6
    u = opt.encoder_.encode(data.x)
    lo, hi = u.min(0).values, u.max(0).values
    for r in range(2):
        batch = opt.pool_x_[n0 + 6 * r:n0 + 6 * (r + 1)]
        assert torch.cdist(batch, batch)[~torch.eye(6, dtype=bool)].min() > 1e-4  # 6 distinct points
        assert ((batch >= lo - 1e-6) & (batch <= hi + 1e-6)).all()  # inside the data box
    cands = opt.propose(8)
    order = torch.argsort(opt.pool_y_, descending=True)[:8]
    np.testing.assert_allclose(cands, opt.encoder_.decode(opt.pool_x_[order]), rtol=1e-6)


def test_bo_qei_without_botorch_fails_before_training(monkeypatch):
    monkeypatch.setitem(sys.modules, "botorch", None)
    opt = BOqEI(BOqEI.Config(), seed=0)
    with pytest.raises(MissingDependencyError, match=r"mbo\[bo\]"):
        opt.fit(TinyContinuous().offline_data())
    assert not hasattr(opt, "ensemble_")


@pytest.mark.parametrize("name", ["grad-ascent", "cma-es"])
def test_surrogate_spearman_lands_in_the_record(name, tmp_path):
    spec = plan(TinyContinuous(), name, seed=0, budget=4, profile="quick", device="cpu",
                overrides={"epochs": 2, "hidden_size": 16} | ({"max_iterations": 2} if name == "cma-es" else {}))
    rec = execute(spec, tmp_path)
    assert rec["status"] == "ok", rec.get("error")
    rho = rec["diagnostics"]["optimizer"]["surrogate_spearman_train"]
    assert -1.0 <= rho <= 1.0


def test_density_ratio_weights_stay_finite():
    # Regression: on 60-D Levy the reference's single-sample ratio exp(log q(x|z) - log p(x|z))
    # overflowed float32 to inf and Autofocused CbAS's weighted refit turned NaN.
    log_w = torch.tensor([-5.0, 0.0, 3.0, 500.0, 1e4])
    w = capped_exp(log_w)
    assert torch.isfinite(w).all()
    assert torch.allclose(w[:3], torch.exp(log_w[:3]))  # below the cap nothing changes
    assert torch.isfinite((w * 1e3).sum())  # a weighted batch sum stays finite in float32


@pytest.mark.parametrize("name,config", [("grad-ascent", {"hidden_size": 16, "epochs": 2}),
                                         ("grad-ascent-min", {"ensemble_size": 2, "hidden_size": 16, "epochs": 2,
                                                              "val_size": 10})])
def test_surrogate_gradient_follows_the_ascent_objective(name, config):
    """The gradient grad-ascent ascends, in raw x: one small plain step along it raises the objective."""
    from mbo.registry import load_class

    data = TinyContinuous().offline_data()
    cls = load_class("optimizer", name)
    opt = cls(cls.Config(**config), seed=0)
    opt.fit(data)
    x = data.top(6)[0].astype(np.float64)
    g = opt.surrogate_gradient(x)
    enc = opt.encoder_

    def f(u):  # grad-ascent is the one-member Grad. ensemble: both ascend the ensemble's reduction
        return opt.ensemble_.reduce(u, opt.reduction())
    with torch.no_grad():
        before = f(enc.encode(x.astype(np.float32))).numpy()
        after = f(enc.encode((x + 1e-3 * g / np.linalg.norm(g, axis=1, keepdims=True)).astype(np.float32))).numpy()
    assert g.shape == x.shape and np.all(after > before)

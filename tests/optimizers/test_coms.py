"""COMs family: the loss against hand computation, the dual α update, the stop-gradient through
the negative chain, the decoupled sampler's two gradients, and an end-to-end smoke run per variant."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mbo.harness import execute, plan
from mbo.optimizers.coms import (COMs, DecoupledCOMs, StochasticCOMs, _Chain, conservative_loss,
                             dual_alpha_loss)

from ..conftest import TinyContinuous, TinyDiscrete

VARIANTS = [COMs, StochasticCOMs, DecoupledCOMs]


def test_loss_matches_hand_computation():
    f_pos, f_neg = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 5.0])
    y = torch.tensor([0.0, 1.0])
    # mse = ((0-1)² + (1-2)²)/2 = 1; gap = (3+5)/2 - (1+2)/2 = 2.5
    loss, gap = conservative_loss(f_pos, f_neg, y, alpha=0.5, mse_coef=1.0)
    assert gap.item() == pytest.approx(2.5)
    assert loss.item() == pytest.approx(1.0 + 0.5 * 2.5)
    loss, _ = conservative_loss(f_pos, f_neg, y, alpha=0.5, mse_coef=0.5)
    assert loss.item() == pytest.approx(0.5 + 1.25)
    loss, _ = conservative_loss(f_pos, f_neg, y, alpha=0.0, mse_coef=0.5)  # α = 0: ½·MSE regression
    assert loss.item() == pytest.approx(0.5)


@pytest.mark.parametrize("gap,direction", [(3.0, +1), (1.0, -1)])
def test_dual_alpha_moves_against_tau(gap, direction):
    log_alpha = torch.tensor(np.log(0.1), dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([log_alpha], lr=0.01)
    for _ in range(5):
        opt.zero_grad()
        dual_alpha_loss(log_alpha, torch.tensor(gap, requires_grad=True), tau=2.0).backward()
        opt.step()
    change = log_alpha.exp().item() - 0.1
    assert np.sign(change) == direction  # α rises while gap > τ, falls while gap < τ


def test_negatives_are_constants_for_the_loss():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x = torch.randn(8, 3)
    y = torch.randn(8)
    chain = _Chain(eta=0.5, eps=None, num_steps=10, use_noise=False, generator=torch.Generator())
    neg = chain(lambda v: model(v).reshape(-1), x)
    assert not neg.requires_grad and neg.grad_fn is None
    assert all(p.grad is None for p in model.parameters())  # the chain leaves θ's gradients alone
    # ascent on a linear f moves every row by η·K·w
    np.testing.assert_allclose(neg - x, (0.5 * 10 * model.weight.detach()).expand(8, 3), rtol=1e-5)
    loss, _ = conservative_loss(model(x).reshape(-1), model(neg).reshape(-1), y, alpha=2.0, mse_coef=1.0)
    loss.backward()
    with torch.no_grad():
        resid = model(x).reshape(-1) - y
        expected = (2 * resid[:, None] * x).mean(0) + 2.0 * (neg.mean(0) - x.mean(0))
    # with gradients through the chain there would be an extra α·η·K term per weight
    np.testing.assert_allclose(model.weight.grad.reshape(-1), expected, rtol=1e-5, atol=1e-6)


def test_langevin_schedule_drift_and_noise():
    """On f(u) = a·u, the ε-schedule chain moves by Σ ε_t²/2 · a with variance Σ ε_t² per entry."""
    a = torch.tensor([1.0, -2.0])
    eps = (0.5, 0.05)
    chain = _Chain(eta=1.0, eps=eps, num_steps=40, use_noise=True, generator=torch.Generator().manual_seed(0))
    u = chain(lambda v: v @ a, torch.zeros(20_000, 2))
    e = np.geomspace(*eps, num=40)
    np.testing.assert_allclose(u.mean(0), (e**2 / 2).sum() * a.numpy(), atol=0.03)
    np.testing.assert_allclose(u.var(0), np.full(2, (e**2).sum()), rtol=0.05)
    quiet = _Chain(eta=1.0, eps=eps, num_steps=40, use_noise=False, generator=torch.Generator())
    np.testing.assert_allclose(quiet(lambda v: v @ a, torch.zeros(1, 2))[0], (e**2 / 2).sum() * a.numpy(),
                               rtol=1e-5)


def test_decoupled_sampling_uses_both_gradients():
    task = TinyContinuous()
    data = task.offline_data()
    a, b = torch.tensor([0.3, -0.1]), torch.tensor([-0.2, 0.4])

    def displacement(w):
        cfg = DecoupledCOMs.Config(**{**DecoupledCOMs.profiles["smoke"], "num_sample_steps": 1},
                                   guidance_weight=w, sampler="ascent", use_standardize=False, step_size=0.5)
        opt = DecoupledCOMs(cfg, seed=0)
        opt.fit(data)
        opt.energy_, opt.regressor_ = _linear(a), _linear(b)
        x0 = data.top(4)[0]
        return opt.propose(4) - x0, opt.eta_

    for w in (0.0, 3.0):
        moved, eta = displacement(w)
        np.testing.assert_allclose(moved, np.broadcast_to(eta * (a + w * b).numpy(), moved.shape), rtol=1e-5)


def _linear(weight: torch.Tensor) -> nn.Linear:
    layer = nn.Linear(len(weight), 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight[None])
    return layer


def test_step_size_and_tau_presets_follow_design_space():
    data = TinyDiscrete().offline_data()
    opt = COMs(COMs.Config(**COMs.profiles["smoke"]), seed=0)
    opt.fit(data)
    assert opt.eta_ == pytest.approx(2.0 * np.sqrt(6 * 3))  # d = L·(V−1) logits
    alphas = opt.history_["alpha"]
    assert alphas[0] != pytest.approx(0.1) and np.isfinite(alphas).all()  # α is learned (dual)
    cont = COMs(COMs.Config(**COMs.profiles["smoke"]), seed=0)
    cont.fit(TinyContinuous().offline_data())
    assert cont.eta_ == pytest.approx(0.05 * np.sqrt(2))


@pytest.mark.parametrize("task_cls", [TinyDiscrete, TinyContinuous], ids=lambda c: c.name)
@pytest.mark.parametrize("cls", VARIANTS, ids=lambda c: c.name)
def test_smoke_run_end_to_end(cls, task_cls, tmp_path):
    rec = execute(plan(task_cls(), cls.name, seed=1, budget=8, profile="smoke", device="cpu"), tmp_path)
    assert rec["status"] == "ok", rec.get("error")
    assert np.asarray(rec["candidates"]).shape == (8, task_cls.space.dim)
    assert np.isfinite(rec["scores"]["raw"]).all()
    assert -1.0 <= rec["diagnostics"]["optimizer"]["surrogate_spearman_train"] <= 1.0


@pytest.mark.parametrize("cls", VARIANTS, ids=lambda c: c.name)
def test_diagnostics_report_the_surrogates_training_spearman(cls):
    from scipy.stats import spearmanr

    data = TinyContinuous().offline_data()
    opt = cls(cls.Config(**{**cls.profiles["smoke"], "epochs": 20}), seed=0)
    opt.fit(data)
    u = opt.encoder_.encode(data.x)
    surrogate = opt.regressor_ if cls is DecoupledCOMs else opt.energy_  # f_ω guides the decoupled sampler
    with torch.no_grad():
        expected = spearmanr(surrogate(u).reshape(-1).numpy(), data.y).statistic
    rho = opt.diagnostics()["surrogate_spearman_train"]
    assert rho == pytest.approx(expected) and rho > 0.5  # a fitted quadratic ranks its own training data


def test_propose_before_fit_raises():
    with pytest.raises(RuntimeError, match="before fit"):
        StochasticCOMs(seed=0).propose(4)


# ---- fidelity pass: data-scaled Langevin noise, the penalty kept in `quick`, [R]'s init and hold-out ----

def test_quick_keeps_the_papers_penalty_and_shrinks_only_width_and_epochs():
    for cls in VARIANTS:
        paper, quick = cls.Config(), cls.Config(**cls.profiles["quick"])
        assert quick.num_neg_steps == paper.num_neg_steps == 50
        assert (quick.hidden_size, quick.epochs) == (256, 10)
        changed = {k for k in paper.__dataclass_fields__ if getattr(paper, k) != getattr(quick, k)}
        assert changed == {"hidden_size", "epochs"}, cls.name  # η, α/τ, chain lengths, init: the paper's


def test_reference_init_and_holdout_are_coms_defaults():
    cfg = COMs.Config()
    assert (cfg.init, cfg.holdout_size) == ("keras", 500)  # [R] is Keras, trains on n − 500 rows
    for cls in (StochasticCOMs, DecoupledCOMs):  # no Keras reference for these: torch init, all rows
        assert (cls.Config().init, cls.Config().holdout_size) == ("torch", 0)
    for cls in VARIANTS:  # the toy follows the (PyTorch) notebook and the paper's exact Langevin kernel
        spiral = cls.Config(**cls.profiles["spiral"])
        assert (spiral.init, spiral.holdout_size, spiral.noise_frac) == ("torch", 0, None)
        assert cls.Config().noise_frac == pytest.approx(0.1)


def test_coms_energy_uses_keras_init():
    opt = COMs(COMs.Config(**{**COMs.profiles["smoke"], "epochs": 1, "learning_rate": 0.0}), seed=0)
    opt.fit(TinyDiscrete().offline_data())  # lr 0: the weights stay at their initial values
    linears = [m for m in opt.energy_ if isinstance(m, nn.Linear)]
    assert all(torch.all(m.bias == 0) for m in linears)
    first = linears[0].weight
    bound = np.sqrt(6.0 / (first.shape[0] + first.shape[1]))
    assert first.abs().max() <= bound and first.abs().max() > 0.9 * bound


def test_default_design_bench_schedule_had_noise_of_std_10_7_on_tfbind8():
    """The audit's arithmetic (shared/audits/coms-ddom-2026-12.md): η = 2·√24 = 9.80, ε = √(2η) → √(2η)/100
    over 50 steps gives a total noise std of 10.7 per logit at κ = 1; a noise_total rescales only the noise,
    not the drift."""
    eta = 2.0 * np.sqrt(24)
    eps = (np.sqrt(2 * eta), np.sqrt(2 * eta) / 100)
    old = _Chain(eta, eps, 50, True, torch.Generator())
    assert old.noise_scale == 1.0 and old.noise_total == pytest.approx(10.7, abs=0.05)
    new = _Chain(eta, eps, 50, True, torch.Generator(), noise_total=0.134)
    assert new.noise_total == pytest.approx(0.134) and new.noise_scale == pytest.approx(0.134 / old.noise_total)
    np.testing.assert_allclose(new.etas, old.etas)
    ascent = _Chain(eta, None, 50, False, torch.Generator(), noise_total=0.134)
    assert ascent.noise_total == 0.0


def test_scaled_chain_injects_the_requested_total_noise():
    chain = _Chain(eta=1.0, eps=(0.5, 0.05), num_steps=40, use_noise=True,
                   generator=torch.Generator().manual_seed(0), noise_total=0.3)
    u = chain(lambda v: v @ torch.tensor([1.0, -2.0]), torch.zeros(20_000, 2))
    e = np.geomspace(0.5, 0.05, num=40)
    np.testing.assert_allclose(u.mean(0), (e**2 / 2).sum() * np.array([1.0, -2.0]), atol=0.01)  # drift unchanged
    np.testing.assert_allclose(u.std(0), [0.3, 0.3], rtol=0.03)


@pytest.mark.parametrize("cls", [StochasticCOMs, DecoupledCOMs], ids=lambda c: c.name)
def test_langevin_noise_is_scaled_to_the_data(cls):
    data = TinyDiscrete().offline_data()
    opt = cls(cls.Config(**cls.profiles["smoke"]), seed=0)
    opt.fit(data)
    u = opt.encoder_.encode(data.x)
    data_std = float(np.sqrt((u.numpy().std(0, ddof=1) ** 2).mean()))
    diag = opt.diagnostics()
    assert diag["data_std"] == pytest.approx(data_std, rel=1e-4)
    assert diag["neg_noise_std"] == pytest.approx(0.1 * data_std, rel=1e-4)
    assert diag["sample_noise_std"] == pytest.approx(0.1 * data_std, rel=1e-4)
    exact = cls(cls.Config(**cls.profiles["smoke"], noise_frac=None), seed=0)
    exact.fit(data)
    eps = np.geomspace(np.sqrt(2 * exact.eta_), np.sqrt(2 * exact.eta_) / 100, num=3)
    assert exact.diagnostics()["neg_noise_std"] == pytest.approx(np.sqrt((eps**2).sum()), rel=1e-5)


@pytest.mark.parametrize("cls", VARIANTS, ids=lambda c: c.name)
def test_diagnostics_carry_the_gap_and_alpha_history(cls):
    opt = cls(cls.Config(**{**cls.profiles["smoke"], "epochs": 3}), seed=0)
    opt.fit(TinyDiscrete().offline_data())
    diag = opt.diagnostics()
    assert diag["gap_history"] == opt.history_["gap"] and len(diag["gap_history"]) == 3
    assert diag["alpha_history"] == opt.history_["alpha"] and len(diag["mse_history"]) == 3
    assert np.isfinite(diag["gap_history"]).all() and diag["eta"] == pytest.approx(opt.eta_)
    if cls is not COMs:
        assert diag["alpha_history"] == [opt.config.alpha] * 3  # fixed α


def test_holdout_rows_are_left_out_of_training_but_not_of_the_start_pool():
    data = TinyDiscrete().offline_data()
    opt = COMs(COMs.Config(**{**COMs.profiles["smoke"], "holdout_size": 100}), seed=0)
    opt.fit(data)
    assert len(opt.holdout_idx_) == 100 and len(opt.train_idx_) == len(data) - 100
    assert not set(opt.holdout_idx_) & set(opt.train_idx_)
    diag = opt.diagnostics()
    assert -1 <= diag["surrogate_spearman_holdout"] <= 1 and diag["surrogate_mse_holdout"] >= 0
    x0, _ = data.top(4)  # with 0 sampling steps the candidates are the start pool: top-Q of every row
    cfg0 = COMs.Config(**{**COMs.profiles["smoke"], "holdout_size": 100, "num_sample_steps": 0})
    none = COMs(cfg0, seed=0)
    none.fit(data)
    np.testing.assert_array_equal(none.propose(4), x0)


def test_holdout_larger_than_half_the_data_is_refused():
    from mbo.errors import ConfigError

    data = TinyContinuous().offline_data()
    with pytest.raises(ConfigError, match="holdout_size"):
        COMs(COMs.Config(**{**COMs.profiles["smoke"], "holdout_size": 500}), seed=0).fit(data)

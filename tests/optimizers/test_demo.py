"""DEMO: the editing step against a closed-form Gaussian case, the ablation switches, smoke runs."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

import mbo.diffusion
from mbo.diffusion import VPSDE
from mbo.errors import ConfigError, NotFittedError
from mbo.harness import run
from mbo.optimizers.demo import DEMO, edit_designs
from mbo.samplers import gradient_ascent

from ..conftest import TinyContinuous, TinyDiscrete

SMOKE = DEMO.profiles["smoke"]


@pytest.mark.parametrize("edit_t", [0.3, 0.6])
def test_editing_with_the_exact_score_of_a_gaussian_gives_the_analytic_posterior(edit_t):
    # Data prior N(μ, s² I). Noising u_p to t (u_t = a u_p + σ ε) and solving the reverse SDE with the
    # exact score of p_t = N(a μ, (a² s² + σ²) I) draws u_0 ~ p(u_0 | u_t); over ε that is Gaussian with
    # v = 1 / (1/s² + a²/σ²), mean v (μ/s² + a² u_p/σ²) and variance v + v² a²/σ².
    sde = VPSDE()
    mu, s2 = torch.tensor([0.5, -1.0]), 0.25
    u_p = torch.tensor([2.0, 1.0])

    def score(u, t):
        a, sig = sde.marginal(t.reshape(-1, 1))
        return -(u - a * mu) / (a**2 * s2 + sig**2)

    n = 20000
    gen = torch.Generator().manual_seed(0)
    out = edit_designs(score, u_p.expand(n, 2), sde, edit_t=edit_t, num_grid=1000, sampler="euler_maruyama",
                       generator=gen)
    a, sig = (float(v) for v in sde.marginal(torch.tensor(edit_t)))
    v = 1.0 / (1.0 / s2 + a**2 / sig**2)
    mean = v * (mu / s2 + a**2 * u_p / sig**2)
    var = v + v**2 * a**2 / sig**2
    np.testing.assert_allclose(out.mean(0), mean, atol=0.02)
    np.testing.assert_allclose(out.var(0), [var, var], rtol=0.05)
    # the edit pulls towards the prior, by more at the larger noise level
    assert torch.all((mean - u_p).abs() > 0.1)


def test_edit_designs_uses_the_reference_grid():
    calls = []

    def score(u, t):
        calls.append(float(t[0]))
        return torch.zeros_like(u)

    edit_designs(score, torch.zeros(3, 2), VPSDE(), edit_t=0.4, num_grid=1000, sampler="euler_maruyama")
    assert len(calls) == 400 and calls[0] == pytest.approx(0.4) and calls[-1] == pytest.approx(0.001)
    calls.clear()
    edit_designs(score, torch.zeros(3, 2), VPSDE(), edit_t=0.9, num_grid=1000, sampler="euler_maruyama")
    assert len(calls) == 900  # round, not the reference's int(1000 * (1 - 0.9)) = 99 start index


def test_config_defaults_validation_and_profiles():
    cfg = DEMO.Config()
    assert (cfg.surrogate_hidden, cfg.surrogate_epochs, cfg.surrogate_lr, cfg.surrogate_lr_schedule) == (
        2048, 200, 5e-5, "cosine")
    assert (cfg.ascent_steps, cfg.ascent_lr_continuous, cfg.ascent_lr_discrete, cfg.ascent_optimizer) == (
        100, 1e-3, 1e-2, "adam")                       # 1e-2: the step that reproduces Table 6 (table6.json)
    assert (cfg.beta_min, cfg.beta_max, cfg.guidance, cfg.label_dropout, cfg.edit_t, cfg.num_grid) == (
        0.01, 2.0, 2.0, 0.15, 0.4, 1000)
    prior = cfg.prior_config()
    assert (prior.hidden_size, prior.epochs, prior.batch_size, prior.holdout_fraction) == (2048, 1000, 128, 0.0)
    for name in ("paper", "quick", "smoke"):
        DEMO.Config(**DEMO.profiles[name])
    quick = DEMO.Config(**DEMO.profiles["quick"])
    for discrete, want in ((True, (1e-3, 10, 60)), (False, (5e-5, 20, 30))):  # quick_selection.json
        got = quick.resolve(discrete)
        assert (got.surrogate_lr, got.surrogate_epochs, got.diffusion_epochs) == want
        assert got.prior_config().epochs == want[2]
    assert cfg.resolve(False) == cfg  # explicit values (paper, --set) are never replaced
    assert DEMO.Config(**{**DEMO.profiles["quick"], "surrogate_lr": 3e-4}).resolve(True).surrogate_lr == 3e-4
    for bad in ({"ascent": False, "edit": False}, {"edit_t": 0.0}, {"edit_t": 1.5}, {"sampler": "rk4"},
                {"ascent_optimizer": "lbfgs"}, {"edit_t": 0.001, "num_grid": 100}, {"surrogate_lr_schedule": "x"},
                {"surrogate_epochs": 0}, {"diffusion_epochs": 0}, {"surrogate_lr": 0.0}):  # 0 is not None
        with pytest.raises(ConfigError):
            DEMO.Config(**bad)


def test_demo_uses_the_diffusion_toolkit_only_through_its_public_api():
    tree = ast.parse(Path(__import__("mbo.optimizers.demo").optimizers.demo.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mbo.diffusion"):
            assert node.module == "mbo.diffusion" and {a.name for a in node.names} <= set(mbo.diffusion.__all__)


def test_propose_before_fit_raises():
    with pytest.raises(NotFittedError):
        DEMO(DEMO.Config(**SMOKE)).propose(4)


@pytest.fixture(scope="module")
def fitted_continuous():
    data = TinyContinuous().offline_data()
    opt = DEMO(DEMO.Config(**SMOKE), seed=0)
    opt.fit(data)
    return data, opt


def test_grad_only_returns_the_pseudo_candidates_and_skips_the_prior(fitted_continuous):
    data, full = fitted_continuous
    grad = DEMO(DEMO.Config(**SMOKE, edit=False), seed=0)
    grad.fit(data)
    assert grad.prior_ is None
    x = grad.propose(8)
    u0 = grad.encoder_.encode(data.top(8)[0])
    expected = gradient_ascent(grad._predict, u0, step_size=1e-3, num_steps=10, method="adam")
    np.testing.assert_allclose(x, grad.encoder_.decode(expected), rtol=1e-6)
    assert not np.allclose(x, data.top(8)[0])  # the ascent moved them
    assert grad.diagnostics()["mean_edit_distance"] == 0.0
    # the full method with the same seed builds the same pseudo-candidates, then edits them
    full.propose(8)
    np.testing.assert_allclose(full.trace_["pseudo"], expected, atol=1e-4)
    assert full.diagnostics()["mean_edit_distance"] > 0.05


def test_diffusion_only_edits_the_top_offline_designs_without_a_surrogate(fitted_continuous):
    data, _ = fitted_continuous
    opt = DEMO(DEMO.Config(**SMOKE, ascent=False), seed=0)
    opt.fit(data)
    assert opt.surrogate_ is None
    opt.propose(8)
    np.testing.assert_allclose(opt.trace_["pseudo"], opt.encoder_.encode(data.top(8)[0]))
    assert not torch.allclose(opt.trace_["edited"], opt.trace_["pseudo"])
    assert "surrogate_pred" not in opt.diagnostics()


def test_edit_noise_level_and_ascent_steps_change_what_they_claim(fitted_continuous):
    data, opt = fitted_continuous
    dist = {}
    for t in (0.02, 0.6):
        opt.config.edit_t = t
        opt.gen_.manual_seed(0)
        opt.propose(32)
        dist[t] = opt.diagnostics()["mean_edit_distance"]
    opt.config.edit_t = 0.4
    assert dist[0.02] < 0.25 * dist[0.6]  # edit_t → 0 returns (nearly) the pseudo-candidates
    opt.config.ascent_steps = 0
    opt.propose(8)
    np.testing.assert_allclose(opt.trace_["pseudo"], opt.trace_["start"])
    opt.config.ascent_steps = SMOKE["ascent_steps"]
    opt.propose(8)
    d = opt.diagnostics()
    assert d["surrogate_pred"]["pseudo"]["mean"] > d["surrogate_pred"]["start"]["mean"]  # ascent raises f_θ


def test_discrete_diagnostics_and_ascent_step_size():
    data = TinyDiscrete().offline_data()
    opt = DEMO(DEMO.Config(**SMOKE), seed=0)
    opt.fit(data)
    x = opt.propose(16)
    assert x.dtype == np.int64 and x.shape == (16, 6)
    d = opt.diagnostics()
    assert d["edit_m"] == 30 and d["condition_z"] == pytest.approx(d["offline_best_z"])
    assert 0.0 <= d["share_tokens_changed_by_ascent"] <= 1.0 and 0.0 <= d["pred_share_above_offline_best"] <= 1.0
    # η = 0.01 on discrete spaces: 10 Adam steps move each coordinate by at most ~0.1
    assert 0.01 < d["mean_ascent_distance"] <= 10 * 0.01 * np.sqrt(opt.encoder_.dim) + 1e-4
    assert d["surrogate_pred"]["pseudo"]["mean"] > d["surrogate_pred"]["start"]["mean"]


@pytest.mark.parametrize("task_cls", [TinyDiscrete, TinyContinuous], ids=lambda c: c.name)
def test_end_to_end_smoke_run(task_cls, tmp_path):
    rec = run(task_cls(), "demo", seed=0, budget=16, results_dir=tmp_path, profile="smoke", device="cpu")
    assert rec["status"] == "ok", rec.get("error")
    assert np.asarray(rec["candidates"]).shape == (16, task_cls.space.dim)
    assert rec["config"]["edit_t"] == 0.4 and rec["config"]["num_grid"] == 50
    diag = rec["diagnostics"]["optimizer"]
    assert set(diag["surrogate_pred"]) == {"start", "pseudo", "edited", "returned"}
    assert diag["resolved"] == {"surrogate_lr": 1e-3, "surrogate_epochs": 3, "diffusion_epochs": 3}
    if not task_cls.space.is_discrete:
        assert diag["box_returned"]["rows_outside"] == rec["num_clipped"]


def test_surrogate_gradient_is_the_raw_x_gradient_of_the_stage1_surrogate(fitted_continuous):
    """∇_x f(u(x)) = ∇_u f / std (the encoder z-scores x); the sign follows the ascent's direction."""
    data, opt = fitted_continuous
    x = data.top(5)[0]
    grad = opt.surrogate_gradient(x)
    u = opt.encoder_.encode(x).requires_grad_(True)
    (g_u,) = torch.autograd.grad(opt._predict(u).sum(), u)
    np.testing.assert_allclose(grad, g_u.numpy() / opt.encoder_.scaler.std, rtol=1e-5, atol=1e-7)
    assert grad.shape == x.shape and grad.dtype == np.float64


def test_released_profile_shares_the_models_across_seeds_and_keeps_the_best_pearson_checkpoint():
    released = DEMO.Config(**DEMO.profiles["released"])
    assert (released.model_seed, released.surrogate_epochs, released.surrogate_checkpoint, released.condition) == (
        123, 2000, "best_train_pearson", 1.5)
    data = TinyContinuous().offline_data()
    small = {**SMOKE, "edit": False, "surrogate_epochs": 6, "surrogate_lr": 3e-2,
             "surrogate_checkpoint": "best_train_pearson", "model_seed": 123}
    runs = []
    for seed in (0, 1):
        opt = DEMO(DEMO.Config(**small), seed=seed)
        opt.fit(data)
        runs.append(opt)
    for a, b in zip(runs[0].surrogate_.parameters(), runs[1].surrogate_.parameters()):
        torch.testing.assert_close(a, b)                       # model_seed, not the run seed, makes the models
    opt = runs[0]
    assert len(opt.surrogate_pearson_) == 6 and opt.surrogate_best_epoch_ == int(np.argmax(opt.surrogate_pearson_))
    u, y = opt.encoder_.encode(data.x), torch.as_tensor(opt.y_scaler_.transform(data.y))
    with torch.no_grad():
        kept = float(torch.corrcoef(torch.stack([opt._predict(u), y]))[0, 1])
    assert kept == pytest.approx(max(opt.surrogate_pearson_), abs=1e-5)   # the kept weights are the best epoch's
    opt.propose(4)
    assert opt.diagnostics()["surrogate_best_epoch"] == opt.surrogate_best_epoch_
    with pytest.raises(ConfigError, match="surrogate_checkpoint"):
        DEMO.Config(surrogate_checkpoint="best")

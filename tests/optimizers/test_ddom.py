"""DDOM: re-weighting against hand computations, config, public-toolkit use, end-to-end smoke run."""
from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import mbo.diffusion
from mbo.errors import ConfigError, NotFittedError
from mbo.harness import run
from mbo.optimizers.ddom import DDOM, histogram_weights

from ..conftest import TinyContinuous, TinyDiscrete


def test_histogram_weights_two_bins_by_hand():
    y = np.array([0.0, 0.0, 0.0, 1.0])
    # bins [0, .5) and [.5, 1]: h = (.75, .25); τ = |q_.9(y - 1)| = |-1 + .7| = .3
    h = [0.75, 0.25]
    soft = [math.exp(0.5 / 0.3), math.exp(1.0 / 0.3)]
    target = [soft[i] / sum(soft) * h[i] / (h[i] + 1e-3) for i in range(2)]
    target = [v / sum(target) for v in target]
    expected = [target[0] / (h[0] + 1e-7)] * 3 + [min(target[1] / (h[1] + 1e-7), 5.0)]
    np.testing.assert_allclose(histogram_weights(y, num_bins=2), expected, rtol=1e-5)
    assert histogram_weights(y, num_bins=2)[3] == pytest.approx(3.3629, abs=1e-3)  # below the clip


def test_histogram_weights_clip_and_target_bin_masses():
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(size=5000), [6.0]])  # one lone top sample gets the clip
    w = histogram_weights(y)
    assert w.dtype == np.float32 and w.shape == y.shape
    assert w[-1] == pytest.approx(5.0) and w.max() <= 5.0 and w.min() >= 0.0
    assert histogram_weights(y, max_weight=2.0).max() == pytest.approx(2.0)
    counts, edges = np.histogram(y, bins=20)
    bins = np.minimum(np.digitize(y, edges[1:]), 19)
    for b in np.unique(bins):  # samples of the same bin share one weight
        assert np.ptp(w[bins == b]) == 0.0
    # unclipped, the re-weighted mass of bin b is ∝ softmax(e_b / τ) · h_b / (h_b + 1e-3)
    wu = histogram_weights(y, max_weight=1e9)
    h = counts / counts.sum()
    tau = abs(np.quantile(y - y.max(), 0.9))
    mass = np.array([wu[bins == b].sum() for b in range(20)])
    full = h > 0.01
    expected = np.exp(edges[1:] / tau) * h / (h + 1e-3)
    np.testing.assert_allclose(mass[full] / mass[full].sum(), expected[full] / expected[full].sum(), rtol=1e-4)


def test_histogram_weights_temperature_floor_and_quantile():
    y = np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # q_.9(y - max) = 0 → τ floored at 1e-3, no nan
    w = histogram_weights(y)
    assert np.all(np.isfinite(w)) and w[-1] == 0.0
    rng = np.random.default_rng(1)
    y = rng.normal(size=2000)
    # a lower quantile gives a larger temperature, hence flatter weights
    assert histogram_weights(y, quantile=0.5).std() < histogram_weights(y, quantile=0.9).std()


def test_config_validation_and_profiles():
    with pytest.raises(ConfigError):
        DDOM.Config(sampler="rk4")
    with pytest.raises(ConfigError):
        DDOM.Config(condition_dropout=1.5)
    with pytest.raises(ConfigError):
        DDOM.Config(reweight_quantile=0.0)
    with pytest.raises(ConfigError):
        DDOM.Config(parameterization="eps")
    with pytest.raises(ConfigError):
        DDOM.Config(reweight_temperature=0.0)
    cfg = DDOM.Config()
    assert (cfg.hidden_size, cfg.num_layers, cfg.activation, cfg.epochs) == (1024, 3, "swish", 1000)
    assert (cfg.beta_min, cfg.beta_max, cfg.gamma, cfg.condition_dropout, cfg.num_steps) == (0.01, 2.0, 2.0, 0.15,
                                                                                            1000)
    for name in ("paper", "quick", "smoke", "cfd", "score-diffusion", "branin-ref"):
        DDOM.Config(**DDOM.profiles[name])


def test_defaults_follow_the_reference_configuration_that_runs_on_each_space():
    # discrete: simple_conditional_diffusion.cfg (cfd); continuous: score_diffusion.cfg
    pick = ("standardize_x", "parameterization", "warmup_epochs", "batch_size", "holdout_fraction")
    assert [getattr(DDOM.Config().resolve(True), k) for k in pick] == [False, "drift", 0, 128, 0.02]
    assert [getattr(DDOM.Config().resolve(False), k) for k in pick] == [True, "score", 500, 256, 0.1]
    quick = DDOM.Config(**DDOM.profiles["quick"])
    assert quick.resolve(False).warmup_epochs == 20 and quick.resolve(True).warmup_epochs == 0
    # an explicit value wins over the space's default; the named profiles force one configuration
    assert DDOM.Config(standardize_x=True).resolve(True).standardize_x is True
    assert DDOM.Config(**DDOM.profiles["score-diffusion"]).resolve(True).standardize_x is True
    assert DDOM.Config(**DDOM.profiles["cfd"]).resolve(False).parameterization == "drift"
    ref = DDOM.Config(**DDOM.profiles["branin-ref"]).resolve(False)
    assert (ref.condition, ref.sampler, ref.reweight_temperature, ref.standardize_x, ref.epochs, ref.batch_size,
            ref.holdout_fraction, ref.warmup_epochs) == (1.0, "euler_maruyama", 0.1, False, 100, 64, 0.02, 0)


def test_histogram_weights_fixed_temperature_by_hand():
    y = np.array([0.0, 0.0, 0.0, 1.0])
    h = [0.75, 0.25]
    soft = [math.exp(0.5 / 0.1), math.exp(1.0 / 0.1)]
    target = [soft[i] / sum(soft) * h[i] / (h[i] + 1e-3) for i in range(2)]
    target = [v / sum(target) for v in target]
    expected = [target[0] / (h[0] + 1e-7)] * 3 + [min(target[1] / (h[1] + 1e-7), 5.0)]
    np.testing.assert_allclose(histogram_weights(y, num_bins=2, temperature=0.1), expected, rtol=1e-5)


def test_ddom_uses_the_diffusion_toolkit_only_through_its_public_api():
    tree = ast.parse(Path(__import__("mbo.optimizers.ddom").optimizers.ddom.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mbo.diffusion"):
            assert node.module == "mbo.diffusion", f"imports the private module {node.module}"
            assert {a.name for a in node.names} <= set(mbo.diffusion.__all__)


def test_propose_before_fit_raises():
    with pytest.raises(NotFittedError):
        DDOM(DDOM.Config(**DDOM.profiles["smoke"])).propose(4)


@pytest.mark.parametrize("task_cls", [TinyDiscrete, TinyContinuous], ids=lambda c: c.name)
def test_end_to_end_smoke_run(task_cls, tmp_path):
    rec = run(task_cls(), "ddom", seed=0, budget=16, results_dir=tmp_path, profile="smoke", device="cpu")
    assert rec["status"] == "ok", rec.get("error")
    assert np.asarray(rec["candidates"]).shape == (16, task_cls.space.dim)
    assert rec["config"]["num_steps"] == 20


def test_fit_conditions_on_the_max_of_all_offline_rows_with_full_data_statistics():
    # regression (audit): y* and the scalers came from the 90% training split, so y* was lower
    # whenever the best row fell in the hold-out
    data = TinyContinuous().offline_data()
    for seed in range(4):
        opt = DDOM(DDOM.Config(**DDOM.profiles["smoke"]), seed=seed)
        opt.fit(data)
        z = (data.y - data.y.mean()) / data.y.std()
        assert opt.condition_ == pytest.approx(float(z.max()), rel=1e-5)
        np.testing.assert_allclose(opt.encoder_.encode(data.x).numpy().mean(0), 0.0, atol=1e-5)
    assert len(opt.history_) == 3 and all(np.isfinite(opt.history_))
    assert opt.diagnostics()["resolved"]["holdout_fraction"] == 0.1
    x = opt.propose(32)
    assert x.shape == (32, 2) and np.all(np.isfinite(x))


def test_discrete_default_uses_raw_logits_and_a_drift_network():
    data = TinyDiscrete().offline_data()
    opt = DDOM(DDOM.Config(**DDOM.profiles["smoke"]), seed=0)
    opt.fit(data)
    assert opt.encoder_.scaler is None  # raw Design-Bench logits
    x, t, y = opt.encoder_.encode(data.x[:5]), torch.full((5,), 0.3), torch.zeros(5)
    raw = opt.net_(torch.cat([x, t.reshape(-1, 1), y.reshape(-1, 1)], dim=1))
    torch.testing.assert_close(opt._score(x, t, y), raw / opt.sde_.diffusion(t).reshape(-1, 1))
    assert opt.diagnostics()["resolved"]["parameterization"] == "drift"

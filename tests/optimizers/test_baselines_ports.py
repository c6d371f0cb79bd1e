"""``grad-ascent`` and ``cma-es`` as ports of design-baselines (commit 785dbcf): the reference's
settings, its Gaussian NLL and Keras initialisation, z-scored logits, the ascent step rule and
the CMA-ES objective."""
from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pytest
import torch
from torch import nn

from mbo.harness import make_optimizer
from mbo.nn.pnn import PNN, bootstrap_split, ensemble_nll
from mbo.optimizers.baselines import CMAES, GradAscentMean, GradAscentMin, GradientAscent

from ..conftest import TinyContinuous, TinyDiscrete

# gradient_ascent/experiments.py tf_bind_8 (~315-343) and __init__.py (~84-102: bootstraps=1 per model)
REF_GRAD = {"ensemble_size": 1, "hidden_size": 2048, "num_layers": 2, "learning_rate": 3e-4, "batch_size": 128,
            "val_size": 200, "epochs": 100, "step_size": 0.01, "num_steps": 200, "initial_max_std": 0.2,
            "initial_min_std": 0.1}
# cma_es/experiments.py tf_bind_8 (~315-343)
REF_CMA = {"ensemble_size": 5, "hidden_size": 256, "num_layers": 1, "learning_rate": 1e-3, "batch_size": 100,
           "val_size": 200, "epochs": 100, "initial_max_std": 0.2, "initial_min_std": 0.1, "sigma": 0.5,
           "max_iterations": 100}


def test_paper_configs_are_the_reference_command_lines():
    assert asdict(GradientAscent.Config()) == REF_GRAD
    assert asdict(CMAES.Config()) == REF_CMA
    assert GradientAscent.profiles["paper"] == {} and CMAES.profiles["paper"] == {}
    # the ensembles share everything with Grad. but the number of models
    assert asdict(GradAscentMin.Config()) == {**REF_GRAD, "ensemble_size": 5}
    assert asdict(GradAscentMean.Config()) == {**REF_GRAD, "ensemble_size": 5, "use_ref_mean_is_min": True}


@pytest.mark.parametrize("cls", [GradientAscent, CMAES])
def test_quick_shrinks_only_width_and_epochs(cls):
    assert set(cls.profiles["quick"]) <= {"hidden_size", "epochs"}
    assert cls.profiles["quick"]["epochs"] == 10


def test_gaussian_nll_matches_a_hand_computation():
    mu = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
    sigma = torch.tensor([[1.0, 0.5], [2.0, 0.1], [0.2, 1.5]])
    y = torch.tensor([0.3, 1.0, -0.2])
    counts = torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, 3.0]])
    expected = 0.0
    for k in range(2):
        num = sum(counts[i, k].item() * (0.5 * math.log(2 * math.pi * sigma[i, k].item() ** 2)
                                         + (y[i].item() - mu[i, k].item()) ** 2 / (2 * sigma[i, k].item() ** 2))
                  for i in range(3))
        expected += num / counts[:, k].sum().item()
    assert ensemble_nll((mu, sigma), y, counts).item() == pytest.approx(expected, rel=1e-5)


def test_pnn_has_keras_init_and_slope():
    torch.manual_seed(0)
    net = PNN(24, hidden=2048, num_layers=2)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(2048, 24), (2048, 2048), (2, 2048)]
    for m in linears:
        bound = math.sqrt(6.0 / sum(m.weight.shape))  # Glorot uniform
        assert m.weight.abs().max() <= bound
        assert m.weight.abs().max() > 0.95 * bound  # uniform over the whole interval, not a smaller one
        assert m.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
        assert (m.bias == 0).all()
    slopes = [m.negative_slope for m in net.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.3, 0.3]


def test_bootstrap_split_held_out_rows_and_unchanged_stream():
    n, k, val = 50, 3, 7
    rows, counts, held = bootstrap_split(n, k, val, np.random.default_rng(1), per_model_split=True,
                                         return_held_out=True)
    rows2, counts2 = bootstrap_split(n, k, val, np.random.default_rng(1), per_model_split=True)
    np.testing.assert_array_equal(counts, counts2)
    assert (held.sum(0) == val).all()
    assert (counts[held] == 0).all()  # a member never trains on its held-out rows
    assert (counts.sum(0) == n - val).all()  # one bootstrap draw of the n − val training rows
    rows, counts, held = bootstrap_split(n, k, val, np.random.default_rng(1), return_held_out=True)
    assert held.sum() == val * k and not np.isin(np.flatnonzero(held[:, 0]), rows).any()


def test_grad_ascent_z_scores_the_logits_and_takes_the_reference_steps():
    data = TinyDiscrete().offline_data()
    torch.manual_seed(0)
    opt = make_optimizer("grad-ascent", "smoke", seed=0, device="cpu", num_steps=7)
    opt.fit(data)
    u = opt.encoder_.encode(data.x)
    assert u.shape[1] == 6 * 3  # L · (V − 1) logits
    torch.testing.assert_close(u.mean(0), torch.zeros(18), atol=1e-4, rtol=0)
    torch.testing.assert_close(u.std(0, unbiased=False), torch.ones(18), atol=1e-4, rtol=0)
    assert len(opt.ensemble_.members) == 1 and opt.held_out_.sum() == 10

    class Linear(nn.Module):  # μ(u) = u·w: every step moves by η·w
        w = torch.linspace(-1.0, 1.0, 18)

        def forward(self, v):
            return (v @ self.w).unsqueeze(1), torch.ones(len(v), 1)

        def reduce(self, v, how):
            return self(v)[0][:, 0]

    opt.ensemble_ = Linear()
    eta = 0.01 * math.sqrt(18)
    x0, _ = data.top(5)
    expected = opt.encoder_.decode(opt.encoder_.encode(x0) + 7 * eta * Linear.w)
    np.testing.assert_array_equal(opt.propose(5), expected)


def test_cma_es_climbs_the_ensemble_mean_with_the_default_population():
    data = TinyContinuous().offline_data()
    torch.manual_seed(0)
    opt = make_optimizer("cma-es", "smoke", seed=0, device="cpu", max_iterations=15)
    opt.fit(data)
    assert len(opt.ensemble_.members) == 2
    x = opt.propose(6)
    x0, _ = data.top(6)
    with torch.no_grad():
        before = opt.ensemble_.mean(opt.encoder_.encode(x0))
        after = opt.ensemble_.mean(opt.encoder_.encode(x))
    assert (after >= before - 1e-5).all() and (after > before).any()
    assert opt.generations_ == [15] * 6
    import cma
    es = cma.CMAEvolutionStrategy(np.zeros(24), 0.5, {"verbose": -9})
    assert es.popsize == 4 + int(3 * math.log(24)) == 13  # TF-Bind-8's population, pycma's default
    d = opt.diagnostics()
    assert -1 <= d["surrogate_spearman_heldout"] <= 1 and d["cma_generations_mean"] == 15


def test_cma_es_rejects_a_bad_sigma_before_training():
    from mbo.errors import ConfigError
    with pytest.raises(ConfigError, match="sigma"):
        CMAES.Config(sigma=0)

"""The shared training loop (minibatch_loop / fit_regressor) and the PNN ensembles built on it."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mbo.nn.pnn import (KERAS_ADAM_EPS, PNNEnsemble, bootstrap_split, ensemble_nll, fit_ensemble, keras_adam,
                        soft_clamp)
from mbo.nn.surrogate import fit_regressor, minibatch_loop, training_spearman


def test_minibatch_loop_covers_rows_keeps_last_batch_and_fixed_order():
    seen: list[list[int]] = []

    def step(idx, epoch, batch):
        if batch == 0:
            seen.append([])
        seen[-1].extend(idx.tolist())
        return 1.0

    hist = minibatch_loop(10, step, epochs=3, batch_size=4, generator=torch.Generator().manual_seed(0),
                          shuffle=False)
    assert hist == [1.0, 1.0, 1.0]
    assert all(sorted(s) == list(range(10)) for s in seen)  # 4 + 4 + 2: the partial batch is kept
    assert seen[0] == seen[1] == seen[2]  # shuffle=False: one order for the whole run
    seen.clear()
    minibatch_loop(10, step, epochs=3, batch_size=4, generator=torch.Generator().manual_seed(0))
    assert len({tuple(s) for s in seen}) > 1  # reshuffled every epoch


def test_fit_regressor_weighted_loss_ignores_zero_weight_rows():
    # y = 2x on the weighted rows, wild outliers on the rows with weight 0: the fit must ignore them
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64).reshape(-1, 1)
    y = 2 * x[:, 0]
    w = torch.ones(64)
    w[::4] = 0.0
    y[::4] = 100.0
    model = torch.nn.Linear(1, 1)

    def loss(pred, yb, wb):
        return (wb * (pred[:, 0] - yb) ** 2).sum() / wb.sum()

    fit_regressor(model, x, y, epochs=300, batch_size=64, learning_rate=0.05, loss=loss, extras=(w,),
                  generator=torch.Generator().manual_seed(0))
    assert model.weight.item() == pytest.approx(2.0, abs=1e-2)
    assert model.bias.item() == pytest.approx(0.0, abs=1e-2)


def test_fit_regressor_continues_a_given_optimizer():
    model = torch.nn.Linear(2, 1)
    opt = keras_adam(model.parameters(), 1e-3)
    x, y = torch.randn(8, 2), torch.randn(8)
    fit_regressor(model, x, y, epochs=1, batch_size=4, optimizer=opt)
    fit_regressor(model, x, y, epochs=2, batch_size=4, optimizer=opt)
    assert opt.state[model.weight]["step"].item() == 6  # 2 + 4 steps on one Adam state
    assert opt.param_groups[0]["eps"] == KERAS_ADAM_EPS


def test_soft_clamp_stays_within_bounds():
    lo, hi = torch.tensor(math.log(0.1)), torch.tensor(math.log(0.2))
    s = torch.linspace(-20, 20, 101)
    out = soft_clamp(s, lo, hi)
    top = lo + torch.nn.functional.softplus(hi - lo)  # the upper asymptote (a soft, not a hard, clamp)
    assert (out >= lo).all() and (out <= top).all()
    assert out[0].item() == pytest.approx(lo.item(), abs=1e-6) and out[-1].item() == pytest.approx(top.item())
    assert torch.all(out[1:] >= out[:-1])  # monotone


def test_ensemble_nll_matches_hand_computation():
    mu = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
    sigma = torch.tensor([[1.0, 0.5], [2.0, 1.0], [1.0, 1.0]])
    y = torch.tensor([0.0, 1.0, 0.0])
    counts = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]])
    w = torch.tensor([1.0, 0.5, 2.0])

    def nll(m, s, t):
        return 0.5 * ((t - m) / s) ** 2 + math.log(s) + 0.5 * math.log(2 * math.pi)

    want = 0.0
    for k in range(2):
        num = sum(float(w[i] * counts[i, k]) * nll(float(mu[i, k]), float(sigma[i, k]), float(y[i]))
                  for i in range(3))
        want += num / float(counts[:, k].sum())
    got = ensemble_nll((mu, sigma), y, counts, w)
    assert got.item() == pytest.approx(want, rel=1e-5)


def test_ensemble_aggregation_mean_min_and_mixture_cdf():
    torch.manual_seed(0)
    ens = PNNEnsemble(3, k=4, hidden=8, num_layers=1)
    x = torch.randn(5, 3)
    mu, sigma = ens(x)
    assert mu.shape == sigma.shape == (5, 4)
    torch.testing.assert_close(ens.reduce(x, "mean"), mu.mean(1))
    torch.testing.assert_close(ens.reduce(x, "min"), mu.min(1).values)
    torch.testing.assert_close(ens.mean(x), mu.mean(1))
    gamma = 0.3
    phi = 0.5 * (1 + torch.erf((gamma - mu) / (sigma * math.sqrt(2))))
    torch.testing.assert_close(ens.cdf(gamma, x), phi.mean(1))
    top = math.exp(math.log(0.1) + math.log1p(2.0))  # exp(lo + softplus(hi − lo)) with hi − lo = log 2
    assert ((sigma > 0.1) & (sigma < top)).all()  # initial log-σ bounds
    with pytest.raises(ValueError, match="mean' or 'min"):
        ens.reduce(x, "max")


def test_bootstrap_split_shared_and_per_model():
    rng = np.random.default_rng(0)
    rows, counts = bootstrap_split(100, 3, 10, rng)
    assert len(rows) == 90 and len(set(rows.tolist())) == 90 and counts.shape == (90, 3)
    assert (counts.sum(0) == 90).all()  # each member draws n_train rows with replacement
    rows, counts = bootstrap_split(100, 3, 10, rng, per_model_split=True)
    assert len(rows) == 100 and counts.shape == (100, 3)
    assert ((counts == 0).sum(0) >= 10).all() and (counts.sum(0) == 90).all()
    assert not np.array_equal(counts[:, 0] == 0, counts[:, 1] == 0)  # each member holds out its own rows


def test_fit_ensemble_learns_and_spearman_diagnostic():
    torch.manual_seed(0)
    x = torch.randn(256, 2)
    y = x[:, 0] - 0.5 * x[:, 1]
    ens = PNNEnsemble(2, k=2, hidden=32, num_layers=1)
    counts = torch.as_tensor(bootstrap_split(256, 2, 0, np.random.default_rng(0))[1])
    hist = fit_ensemble(ens, x, y, counts, epochs=30, batch_size=32, learning_rate=1e-2,
                        generator=torch.Generator().manual_seed(0))
    assert hist[-1] < hist[0]
    rho = training_spearman(ens.mean, x, y)
    assert 0.95 < rho <= 1.0

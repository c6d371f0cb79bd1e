"""GMM-40 and DW-4 checksums, and the sampler metrics on hand-made point sets."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mbo.samplers import metrics
from mbo.samplers.targets import DW4, GMM40


def test_gmm40_means_and_energy_checksums():
    gmm = GMM40()
    means = gmm.means.numpy()
    np.testing.assert_allclose(means[0], [-0.2995, 21.4577], atol=1e-4)
    np.testing.assert_allclose(means[1], [-32.9218, -29.4376], atol=1e-4)
    np.testing.assert_allclose(means[20], [2.1037, -20.5073], atol=1e-4)
    np.testing.assert_allclose(means[39], [3.6797, -25.0242], atol=1e-4)
    assert gmm.var == pytest.approx(1.7246563, rel=1e-6)
    e = gmm.energy(torch.stack([gmm.means[0], torch.zeros(2), torch.tensor([40.0, 40.0])]))
    np.testing.assert_allclose(e.numpy(), [6.07178, 23.31635, 20.30585], atol=1e-4)
    x = gmm.sample(20000, torch.Generator().manual_seed(0))
    assert float(gmm.energy(x).mean()) == pytest.approx(6.862, abs=0.03)
    assert gmm.modes_covered(x[:1000]) == 40
    assert gmm.modes_covered(gmm.means[:5] + 2.0) == 5 and gmm.modes_covered(gmm.means[:1] + 4.5) == 0


def test_gmm40_noised_energy_closed_form_and_score_sign():
    gmm = GMM40()
    x = torch.tensor([[0.0, 0.0], [10.0, -3.0]], dtype=torch.float64)
    sigma = 10.0
    var = gmm.var + sigma**2
    comp = [-((x - m.double()) ** 2).sum(1) / (2 * var) - math.log(2 * math.pi * var) for m in gmm.means]
    expected = -(torch.logsumexp(torch.stack(comp, 1), 1) - math.log(40))
    torch.testing.assert_close(gmm.noised_energy(x, sigma), expected)
    assert float(gmm.noised_energy(x[:1].float(), sigma)) == pytest.approx(8.823, abs=1e-3)
    # the score points down the energy: a small step along it lowers E_t
    s = gmm.score(x.float(), sigma)
    assert torch.all(gmm.noised_energy(x.float() + 1e-2 * s, sigma) < gmm.noised_energy(x.float(), sigma))


def test_dw4_checksums_and_invariances():
    dw = DW4()
    square = torch.tensor([[0.0, 0, 4, 0, 4, 4, 0, 4]])
    configs = torch.cat([square, square * 2.5 / 4, torch.tensor([[0.0, 0, 1, 0, 2, 0, 3, 0]]), torch.zeros(1, 8)])
    np.testing.assert_allclose(dw.energy(configs).numpy(), [-8.396643, -19.417060, 104.4, 998.4], atol=2e-3)
    x = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    rot = torch.tensor([[0.6, -0.8], [0.8, 0.6]])
    moved = ((x.reshape(5, 4, 2) @ rot.T) + torch.tensor([1.0, -2.0]))[:, [2, 0, 3, 1]].reshape(5, 8)
    torch.testing.assert_close(dw.energy(moved), dw.energy(x), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(DW4.center(x).reshape(5, 4, 2).mean(1), torch.zeros(5, 2), atol=1e-6, rtol=0)


def test_dw4_reference_samples_satisfy_the_boltzmann_identity():
    """Small PT run: mean-free, mean energy near the reference −22.45, mostly 2- and 4-short-pair configurations."""
    dw = DW4()
    ref = dw.reference_samples(400, torch.Generator().manual_seed(0), num_steps=2000, thin=100)
    assert ref.shape == (400, 8)
    torch.testing.assert_close(ref.reshape(-1, 4, 2).mean(1), torch.zeros(400, 2), atol=1e-5, rtol=0)
    assert float(dw.energy(ref).mean()) == pytest.approx(-22.5, abs=0.4)
    mix = dw.short_pair_counts(dw.distances(ref))
    assert mix[2] + mix[4] > 0.8 and mix[2] > 0.3 and mix[4] > 0.3


def test_ot_metrics_on_hand_made_sets():
    a = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    shift = np.array([3.0, 4.0])
    assert metrics.x_w2(a, a + shift) == pytest.approx(5.0)          # unsquared ground cost: the shift length
    assert metrics.true_w2(a, a + shift) == pytest.approx(5.0)
    b = np.array([[0.0], [2.0]])
    c = np.array([[1.0], [5.0]])                                         # costs |0−1| + |2−5| → 2; squared → 5
    assert metrics.x_w2(b, c) == pytest.approx(2.0)
    assert metrics.true_w2(b, c) == pytest.approx(math.sqrt(5.0))
    assert metrics.e_w2(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == pytest.approx(4.0)   # W2², no root
    pts = np.random.default_rng(0).normal(size=(300, 2))
    assert metrics.tv_hist2d(pts, pts) == pytest.approx(0.0)
    assert metrics.tv_hist2d(pts, pts + 100.0) == pytest.approx(1.0)
    d = np.random.default_rng(1).uniform(2, 6, size=(200, 6))
    assert metrics.tv_pair_distances(d, d) == pytest.approx(0.0)
    assert metrics.tv_pair_distances(d, np.concatenate([d, d + 100.0])) == pytest.approx(0.0)  # out of range: dropped
    low = np.where(d < 4.0, d, d - 2.0)                                   # all mass moved to [2, 4)
    assert metrics.tv_pair_distances(d, low) == pytest.approx(float((d >= 4.0).mean()), abs=0.02)


def test_aligned_cost_ignores_rotation_and_translation():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(3, 8))
    theta = 1.1
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    gen = (ref.reshape(3, 4, 2) @ rot.T + np.array([2.0, -1.0])).reshape(3, 8)
    cost = metrics.aligned_particle_cost(ref, gen, 4)
    np.testing.assert_allclose(np.diag(cost), 0.0, atol=1e-9)
    reflected = ref.reshape(3, 4, 2) * np.array([1.0, -1.0])           # reflections are not aligned away
    assert np.all(np.diag(metrics.aligned_particle_cost(ref, reflected.reshape(3, 8), 4)) > 1e-3)
    assert metrics.x_w2_aligned(ref, gen, 4) == pytest.approx(0.0, abs=1e-9)


def test_drop_high_energy_filter():
    x = np.arange(8.0).reshape(4, 2)
    kept, e, dropped = metrics.drop_high_energy(x, np.array([1.0, 150.0, np.inf, 99.0]))
    assert dropped == 2 and kept.shape == (2, 2) and list(e) == [1.0, 99.0]

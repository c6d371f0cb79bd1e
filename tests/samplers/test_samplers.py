"""Samplers against distributions whose answers are known."""
from __future__ import annotations

import math

import numpy as np
import torch

from mbo.samplers import gradient_ascent, langevin, rbf_kernel, svgd


def test_gradient_ascent_sgd_and_adam_reach_the_maximum():
    center = torch.tensor([1.0, -2.0])
    f = lambda x: -((x - center) ** 2).sum(-1)  # noqa: E731
    x0 = torch.zeros(5, 2)
    for method, step in (("sgd", 0.1), ("adam", 0.1)):
        x = gradient_ascent(f, x0, step_size=step, num_steps=300, method=method)
        torch.testing.assert_close(x, center.expand(5, 2), atol=1e-3, rtol=0)


def test_gradient_ascent_rows_are_independent():
    f = lambda x: -(x**2).sum(-1)  # noqa: E731
    x0 = torch.tensor([[1.0], [3.0]])
    both = gradient_ascent(f, x0, step_size=0.1, num_steps=3, method="adam")
    alone = gradient_ascent(f, x0[:1], step_size=0.1, num_steps=3, method="adam")
    torch.testing.assert_close(both[:1], alone)


def test_langevin_matches_gaussian_variance():
    sigma = 0.7
    log_p = lambda x: -0.5 * (x**2).sum(-1) / sigma**2  # noqa: E731
    gen = torch.Generator().manual_seed(0)
    x0 = torch.zeros(4000, 2)
    x = langevin(log_p, x0, step_size=0.01, num_steps=600, generator=gen)
    var = x.var(0)
    # ULA's stationary variance is σ²/(1 − η/(4σ²)) ≈ σ²(1 + 0.005): within sampling error of σ².
    torch.testing.assert_close(var, torch.full((2,), sigma**2), atol=0.03, rtol=0)
    torch.testing.assert_close(x.mean(0), torch.zeros(2), atol=0.04, rtol=0)


def test_langevin_without_noise_is_gradient_ascent():
    log_p = lambda x: -((x - 2.0) ** 2).sum(-1)  # noqa: E731
    x0 = torch.zeros(3, 1)
    a = langevin(log_p, x0, step_size=0.05, num_steps=20, noise_scale=0.0)
    b = gradient_ascent(log_p, x0, step_size=0.05, num_steps=20, method="sgd")
    torch.testing.assert_close(a, b)


def test_rbf_kernel_repulsion_is_the_kernel_gradient():
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    h = 1.3
    k, rep = rbf_kernel(x, bandwidth=h)
    xs = x.clone().requires_grad_(True)
    # Σ_j ∇_{x_j} k(x_j, x_i): differentiate Σ_i Σ_j k(x_j, x_i_fixed) w.r.t. the first argument.
    expected = torch.zeros_like(x)
    for i in range(6):
        kij = torch.exp(-((xs - x[i].detach()) ** 2).sum(-1) / h).sum()
        (g,) = torch.autograd.grad(kij, xs)
        expected[i] = g.sum(0)  # Σ_j ∇_{x_j} k(x_j, x_i)
    torch.testing.assert_close(rep, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(k, k.T)


def test_svgd_matches_gaussian_mixture_moments():
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0]])
    sd = 0.6

    def log_p(x):
        d = ((x[:, None, :] - means[None]) ** 2).sum(-1) / (2 * sd**2)
        return torch.logsumexp(-d, dim=1) + math.log(0.5)

    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(300, 2, generator=gen) * 3
    x = svgd(log_p, x0, num_steps=800, step_size=0.05)
    true_mean = means.mean(0)
    # mixture covariance = within (sd² I) + between (spread of the means)
    diff = means - true_mean
    true_cov = sd**2 * torch.eye(2) + diff.T @ diff / 2
    emp_cov = torch.cov(x.T)
    torch.testing.assert_close(x.mean(0), true_mean, atol=0.15, rtol=0)
    torch.testing.assert_close(emp_cov, true_cov, atol=0.35, rtol=0)
    # both modes hold about half the particles
    frac_left = (x[:, 0] < 0).float().mean().item()
    assert 0.35 < frac_left < 0.65


def test_svgd_single_particle_is_adam_ascent():
    log_p = lambda x: -((x - 1.0) ** 2).sum(-1)  # noqa: E731
    x0 = torch.zeros(1, 2)
    a = svgd(log_p, x0, num_steps=10, step_size=0.1)
    b = gradient_ascent(log_p, x0, step_size=0.1, num_steps=10, method="adam")
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    assert np.isfinite(a.numpy()).all()


def test_langevin_step_schedule_equals_one_call_per_step():
    log_p = lambda x: -((x - 1.0) ** 2).sum(-1)  # noqa: E731
    x0 = torch.zeros(5, 3)
    etas = [0.3, 0.1, 0.01]
    a = langevin(log_p, x0, step_size=etas, num_steps=3, noise_scale=0.5,
                 generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)
    b = x0
    for eta in etas:
        b = langevin(log_p, b, step_size=eta, num_steps=1, noise_scale=0.5, generator=gen)
    torch.testing.assert_close(a, b)
    try:
        langevin(log_p, x0, step_size=etas, num_steps=2)
    except ValueError as err:
        assert "num_steps" in str(err)
    else:
        raise AssertionError("a schedule of the wrong length must be refused")

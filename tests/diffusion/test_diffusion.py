"""mbo.diffusion against closed forms, hand computations and known distributions."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mbo.diffusion import VPSDE, combine_guidance, drop_condition, dsm_loss, guided_score, reverse_sde, sdedit
from mbo.errors import ConfigError
from mbo.nn import mlp

SDE = VPSDE()


def test_marginal_matches_closed_form_and_reference_table():
    t = torch.tensor([0.1, 0.4, 0.6, 1.0], dtype=torch.float64)
    alpha, sigma = SDE.marginal(t)
    # α(t) = exp(-½ ∫_0^t β(s) ds), integrated numerically (trapezoid on a fine grid)
    for ti, ai in zip(t.tolist(), alpha.tolist()):
        s = np.linspace(0.0, ti, 10001)
        integral = np.trapezoid(0.01 + 1.99 * s, s)
        assert ai == pytest.approx(math.exp(-0.5 * integral), rel=1e-6)
    np.testing.assert_allclose(alpha, [0.9945, 0.9216, 0.8335, 0.6050], atol=1e-4)
    np.testing.assert_allclose(sigma, [0.1044, 0.3880, 0.5525, 0.7962], atol=1e-4)
    np.testing.assert_allclose(alpha**2 + sigma**2, 1.0, atol=1e-12)
    a0, s0 = SDE.marginal(0.0)
    assert float(a0) == 1.0 and float(s0) == 0.0


def test_marginal_matches_simulated_forward_sde():
    g = torch.Generator().manual_seed(0)
    n, steps, t_end = 20000, 400, 1.0
    x0 = torch.full((n, 1), 2.0, dtype=torch.float64)
    x = x0.clone()
    dt = t_end / steps
    checks = {200: 0.5, 400: 1.0}
    for k in range(1, steps + 1):  # Euler–Maruyama on dx = -½βx dt + √β dw
        t = (k - 1) * dt
        x = x + SDE.drift(x, t) * dt + SDE.diffusion(t) * math.sqrt(dt) * torch.randn(x.shape, generator=g,
                                                                                       dtype=x.dtype)
        if k in checks:
            alpha, sigma = SDE.marginal(checks[k])
            se = float(sigma) / math.sqrt(n)
            assert float(x.mean()) == pytest.approx(2.0 * float(alpha), abs=5 * se + 2e-3)
            assert float(x.std()) == pytest.approx(float(sigma), rel=0.03)


def test_perturb_is_the_forward_marginal_per_row():
    x0 = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    eps = torch.tensor([[0.3, 0.1], [-1.0, 2.0]])
    t = torch.tensor([0.4, 1.0])
    x_t, noise = SDE.perturb(x0, t, noise=eps)
    alpha, sigma = SDE.marginal(t)
    torch.testing.assert_close(x_t, alpha[:, None] * x0 + sigma[:, None] * eps)
    assert noise is eps
    x_s, _ = SDE.perturb(x0, 0.4, noise=eps)  # one scalar time for every row
    torch.testing.assert_close(x_s[0], x_t[0])


def test_weighted_dsm_loss_matches_hand_computation():
    x0 = torch.tensor([[1.0, 0.0], [-1.0, 2.0]], dtype=torch.float64)
    eps = torch.tensor([[0.5, -0.5], [1.0, 0.0]], dtype=torch.float64)
    t = torch.tensor([0.4, 1.0], dtype=torch.float64)
    w = torch.tensor([2.0, 0.5], dtype=torch.float64)
    a = [math.exp(-0.25 * 0.16 * 1.99 - 0.5 * 0.4 * 0.01), math.exp(-0.25 * 1.99 - 0.5 * 0.01)]  # α(0.4), α(1)
    s = [math.sqrt(1 - v * v) for v in a]
    expected = []
    for i in range(2):  # score_fn(x, t) = -x: residual σ·(-x_t) + ε
        xt = [a[i] * x0[i, j].item() + s[i] * eps[i, j].item() for j in range(2)]
        r = [-s[i] * xt[j] + eps[i, j].item() for j in range(2)]
        expected.append(w[i].item() * 0.5 * (r[0] ** 2 + r[1] ** 2))
    per = dsm_loss(lambda x, tt: -x, x0, SDE, weights=w, t=t, noise=eps, reduction="none")
    np.testing.assert_allclose(per.numpy(), expected, rtol=1e-5)
    mean = dsm_loss(lambda x, tt: -x, x0, SDE, weights=w, t=t, noise=eps)
    assert float(mean) == pytest.approx(sum(expected) / 2, rel=1e-5)
    unweighted = dsm_loss(lambda x, tt: -x, x0, SDE, t=t, noise=eps, reduction="none")
    np.testing.assert_allclose(unweighted.numpy(), np.array(expected) / w.numpy(), rtol=1e-5)
    with pytest.raises(ConfigError):
        dsm_loss(lambda x, tt: -x, x0, SDE, reduction="sum")


def test_dsm_loss_is_smallest_at_the_true_score():
    g = torch.Generator().manual_seed(1)
    s0 = 0.5  # data N(0, s0² I): true score at t is -x / (α² s0² + σ²)
    x0 = s0 * torch.randn(50000, 2, generator=g, dtype=torch.float64)
    t = torch.rand(50000, generator=g, dtype=torch.float64)
    eps = torch.randn(50000, 2, generator=g, dtype=torch.float64)

    def score(scale):
        def fn(x, tt):
            a, s = SDE.marginal(tt)
            return -scale * x / (a**2 * s0**2 + s**2)[:, None]
        return fn

    losses = {c: float(dsm_loss(score(c), x0, SDE, t=t, noise=eps)) for c in (0.8, 1.0, 1.2)}
    assert losses[1.0] < losses[0.8] and losses[1.0] < losses[1.2]


def test_drop_condition_rate_and_null_value():
    g = torch.Generator().manual_seed(0)
    y = torch.full((20000,), 3.0)
    out = drop_condition(y, 0.15, generator=g)
    assert set(out.unique().tolist()) == {0.0, 3.0}
    assert float((out == 0).float().mean()) == pytest.approx(0.15, abs=0.01)
    torch.testing.assert_close(drop_condition(y, 0.0, generator=g), y)
    assert bool((drop_condition(y, 1.0, null_value=-1.0, generator=g) == -1.0).all())
    y2 = torch.ones(1000, 3)  # a whole row is dropped together
    out2 = drop_condition(y2, 0.5, generator=g)
    assert bool(((out2 == 0).all(1) | (out2 == 1).all(1)).all())
    with pytest.raises(ConfigError):
        drop_condition(y, 1.5)


def test_guidance_combination():
    cond, uncond = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, -1.0]])
    torch.testing.assert_close(combine_guidance(cond, uncond, 2.0), torch.tensor([[2.0, 8.0]]))
    torch.testing.assert_close(combine_guidance(cond, uncond, 0.0), cond)

    calls = []

    def model(x, t, y):  # s(x, t, y) = y - x
        calls.append(len(x))
        return y[:, None] - x

    x, t = torch.tensor([[0.0, 1.0], [2.0, 0.0]]), torch.tensor([0.3, 0.3])
    out = guided_score(model, 1.5, gamma=2.0)(x, t)
    torch.testing.assert_close(out, 3.0 * (1.5 - x) - 2.0 * (0.0 - x))
    assert calls == [4]  # conditional and unconditional in one batched call
    calls.clear()
    torch.testing.assert_close(guided_score(model, 1.5, gamma=0.0)(x, t), 1.5 - x)
    assert calls == [2]


# -- samplers on a 2-D Gaussian mixture with its exact score under the VP marginal ---------------
PI = torch.tensor([0.3, 0.7], dtype=torch.float64)
MU = torch.tensor([[-2.0, 0.0], [2.0, 1.0]], dtype=torch.float64)
S0 = 0.5


def mixture_score(x, t):
    a, s = SDE.marginal(t)
    var = (a**2 * S0**2 + s**2)[:, None]
    diff = x[:, None, :] - a[:, None, None] * MU[None]
    resp = torch.softmax(torch.log(PI)[None] - 0.5 * (diff**2).sum(-1) / var, dim=-1)
    return -(resp[..., None] * diff).sum(1) / var


def mixture_sample(n, g):
    k = (torch.rand(n, generator=g, dtype=torch.float64) < PI[1]).long()
    return MU[k] + S0 * torch.randn(n, 2, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("method", ["ddom", "euler_maruyama", "heun"])
def test_reverse_sampler_recovers_mixture(method):
    g = torch.Generator().manual_seed(0)
    x_T, _ = SDE.perturb(mixture_sample(8000, g), 1.0, generator=g)  # exact marginal at T
    x = reverse_sde(mixture_score, x_T, SDE, num_steps=100, method=method, generator=g)
    torch.testing.assert_close(x.mean(0), PI @ MU, atol=0.05, rtol=0)
    right = x[:, 0] > 0
    assert float(right.double().mean()) == pytest.approx(0.7, abs=0.02)
    np.testing.assert_allclose(x[right].std(0).numpy(), S0, atol=0.03)
    np.testing.assert_allclose(x[right].mean(0).numpy(), MU[1].numpy(), atol=0.05)


def test_sdedit_keeps_the_data_distribution_and_small_t_stays_close():
    g = torch.Generator().manual_seed(2)
    x0 = mixture_sample(6000, g)
    x = sdedit(mixture_score, x0, SDE, t_edit=0.4, num_steps=40, generator=g)
    assert float((x[:, 0] > 0).double().mean()) == pytest.approx(0.7, abs=0.02)
    np.testing.assert_allclose(x[x[:, 0] > 0].std(0).numpy(), S0, atol=0.03)
    moved = (sdedit(mixture_score, x0, SDE, t_edit=0.02, num_steps=5, generator=g) - x0).norm(dim=1)
    far = (x - x0).norm(dim=1)
    assert float(moved.mean()) < 0.2 < float(far.mean())


def test_reverse_sde_rejects_bad_arguments():
    x = torch.zeros(2, 2)
    with pytest.raises(ConfigError):
        reverse_sde(mixture_score, x, SDE, num_steps=10, method="rk4")
    with pytest.raises(ConfigError):
        reverse_sde(mixture_score, x, SDE, num_steps=10, t_start=0.3, t_end=0.5)
    with pytest.raises(ConfigError):
        VPSDE(beta_min=3.0, beta_max=2.0)


def test_trained_score_model_samples_a_1d_mixture():
    """DSM training + reverse sampling end to end: a small MLP learns a 1-D two-mode mixture."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    n = 4000
    k = (torch.rand(n, generator=g) < 0.25).float()
    data = (torch.where(k > 0, 1.5, -1.5) + 0.3 * torch.randn(n, generator=g)).reshape(-1, 1)
    net = mlp(2, 1, hidden=64, num_layers=2, activation="swish")
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)

    def score(x, t):
        return net(torch.cat([x, t.reshape(-1, 1)], dim=1))

    for _ in range(1500):
        idx = torch.randint(0, n, (256,), generator=g)
        loss = dsm_loss(score, data[idx], SDE, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x_T, _ = SDE.perturb(data[torch.randint(0, n, (3000,), generator=g)], 1.0, generator=g)
    x = reverse_sde(score, x_T, SDE, num_steps=100, generator=g)[:, 0]
    assert float((x > 0).float().mean()) == pytest.approx(0.25, abs=0.06)
    assert float(x.mean()) == pytest.approx(float(data.mean()), abs=0.15)
    assert float(x[x > 0].mean()) == pytest.approx(1.5, abs=0.2)

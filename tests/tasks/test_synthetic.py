"""Closed-form tasks hit their stated optima and DEMO's Levy constants."""
from __future__ import annotations

import numpy as np
import pytest

from mbo.tasks.synthetic import Branin, Levy, branin, levy


def test_branin_optima_and_protocol():
    task = Branin()
    optima = np.array([[-np.pi, 12.275], [np.pi, 2.275], [9.42478, 2.475]])
    np.testing.assert_allclose(task.score(optima), task.optimum, atol=1e-5)
    data = task.offline_data()
    assert len(data) == 4500
    assert data.y.max() < np.percentile(task._full[1], 90) + 1e-6
    assert task.y_max <= task.optimum + 1e-9


def test_levy_matches_demo_constants():
    task = Levy()
    data = task.offline_data()
    assert len(data) == 15_000
    assert task.y_min == pytest.approx(-1390.8297333608755, abs=1e-3)
    assert task.y_max == pytest.approx(-363.8953536677948, abs=1e-3)
    assert task.normalize(data.y.max()) == pytest.approx(0.61252, abs=1e-4)
    assert task.normalize(task.score(np.ones((1, 60))))[0] == pytest.approx(1.3544, abs=1e-4)


def test_levy_agrees_with_bayeso_benchmarks():
    bb = pytest.importorskip("bayeso_benchmarks", reason="bayeso-benchmarks is in the test extra")
    x = Levy()._full[0][:50].astype(np.float64)
    np.testing.assert_allclose(-Levy().score(x), bb.Levy(60).output(x).ravel(), rtol=1e-5)


@pytest.mark.parametrize("cls,fn", [(Branin, branin), (Levy, levy)])
def test_gradient_matches_finite_differences_of_the_score(cls, fn):
    """Task.gradient is the gradient of the maximized score −f (central differences in float64)."""
    task = cls()
    rng = np.random.default_rng(0)
    lo, hi = task.space.bounds
    x = lo + (hi - lo) * rng.uniform(0.05, 0.95, size=(6, task.space.dim))
    grad = task.gradient(x)
    assert grad.shape == x.shape
    h = 1e-5
    for j in range(task.space.dim):
        e = np.zeros_like(x)
        e[:, j] = h
        fd = (fn(x - e) - fn(x + e)) / (2 * h)
        np.testing.assert_allclose(grad[:, j], fd, rtol=1e-5, atol=1e-6)


def test_gradient_is_oracle_information_closed_during_an_optimizer_phase():
    from mbo.core import sealed_oracle
    from mbo.errors import OracleAccessError

    with pytest.raises(OracleAccessError, match="gradient"), sealed_oracle("propose"):
        Branin().gradient(np.zeros((1, 2)))

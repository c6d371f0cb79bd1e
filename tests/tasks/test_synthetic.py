"""Closed-form tasks hit their stated optima and DEMO's Levy constants."""
from __future__ import annotations

import numpy as np
import pytest

from mbo.tasks.synthetic import Branin, Levy


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

"""Shared fixtures: tiny tasks that every optimizer must handle in seconds."""
from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

from mbo.core import DesignSpace, Task

os.environ.setdefault("MBO_QUIET", "1")


class TinyDiscrete(Task):
    """All 4^6 sequences; y = weighted matches to a target motif; training set ≤ median."""

    name = "tiny-discrete"
    description = "test task: 6 positions, 4 tokens"
    space = DesignSpace.discrete(length=6, vocab_size=4)
    target = np.array([3, 1, 0, 2, 3, 1])
    weights = np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    y_min = 0.0
    y_max = float(weights.sum())
    optimum = y_max

    def _load_offline(self):
        x = np.array(list(itertools.product(range(4), repeat=6)), dtype=np.int64)
        y = self._score(x)
        keep = y <= np.median(y)
        return x[keep], y[keep]

    def _score(self, x):
        return ((x == self.target) * self.weights).sum(axis=1)


class TinyContinuous(Task):
    """Negative squared distance to (1, -0.5) on [-2, 2]^2; 400 points, training set ≤ median."""

    name = "tiny-continuous"
    description = "test task: 2-D quadratic"
    space = DesignSpace.continuous(lower=[-2.0, -2.0], upper=[2.0, 2.0])
    center = np.array([1.0, -0.5])
    y_min = -float(((np.array([-2.0, 2.0]) - center) ** 2).sum())
    y_max = 0.0
    optimum = 0.0

    def _load_offline(self):
        x = self.space.sample(400, np.random.default_rng(0))
        y = self._score(x)
        keep = y <= np.median(y)
        return x[keep], y[keep]

    def _score(self, x):
        return -((x - self.center) ** 2).sum(axis=1)


TINY_TASKS = [TinyDiscrete, TinyContinuous]


@pytest.fixture(params=TINY_TASKS, ids=lambda c: c.name)
def tiny_task(request) -> Task:
    return request.param()

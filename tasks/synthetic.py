"""Closed-form tasks with exact oracles: Branin (N²CE) and Levy-60 (DEMO).

Offline datasets are drawn with a fixed task seed, so every optimizer sees the same data.
Normalization constants are taken over the task's full sample, hidden rows included.
"""
from __future__ import annotations

from functools import cached_property
from typing import ClassVar

import numpy as np

from mbo.core import DesignSpace, Task


def branin(x: np.ndarray) -> np.ndarray:
    """Branin function ``[n, 2] → [n]`` (to be minimized; minimum 0.397887)."""
    x1, x2 = x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)
    b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10


def levy(x: np.ndarray) -> np.ndarray:
    """Levy function ``[n, d] → [n]`` (to be minimized; minimum 0 at ``x = 1``)."""
    w = 1 + (np.asarray(x, np.float64) - 1) / 4
    head = np.sin(np.pi * w[:, 0]) ** 2
    mid = ((w[:, :-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:, :-1] + 1) ** 2)).sum(axis=1)
    tail = (w[:, -1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[:, -1]) ** 2)
    return head + mid + tail


class SampledTask(Task):
    """A closed-form task whose full dataset is a fixed sample; the training set keeps some rows.

    Subclasses implement ``_sample() -> (x, y)`` (the full sample, hidden rows included) and
    ``_visible(y) -> bool mask``. Normalization constants come from the full sample.
    """

    @cached_property
    def _full(self) -> tuple[np.ndarray, np.ndarray]:
        return self._sample()

    def _sample(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _visible(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def y_min(self) -> float:
        return float(self._full[1].min())

    @property
    def y_max(self) -> float:
        return float(self._full[1].max())

    def _load_offline(self):
        x, y = self._full
        keep = self._visible(y)
        return x[keep], y[keep]


class Branin(SampledTask):
    """Negative Branin on ``[-5, 10] × [0, 15]``, held-out protocol of N²CE (App. D.6, after DDOM).

    ``f(x) = -[(x2 - b x1² + c x1 - 6)² + 10 (1 - 1/(8π)) cos x1 + 10]``, b = 5.1/(4π²), c = 5/π.
    Three global maxima of -0.397887 at (-π, 12.275), (π, 2.275), (9.42478, 2.475).
    Offline set: 5000 uniform points (task seed 0), the top 10 % removed → 4500 rows.
    Normalization over the 5000 sampled points. The papers report Branin raw (``--raw``).

    Example:
        >>> task = Branin()
        >>> task.score(np.array([[np.pi, 2.275]]))
        array([-0.39788736])
    """

    name = "branin"
    description = "negative Branin, 5000 uniform points with the top 10% held out (N²CE, DDOM)"
    space = DesignSpace.continuous(lower=[-5.0, 0.0], upper=[10.0, 15.0])
    optimum = -0.397887
    report_raw = True
    num_samples: ClassVar[int] = 5000
    held_out_fraction: ClassVar[float] = 0.10
    task_seed: ClassVar[int] = 0
    data_version = "branin-n5000-top10-seed0"

    def _sample(self):
        x = self.space.sample(self.num_samples, np.random.default_rng(self.task_seed))
        return x, -branin(x)

    def _visible(self, y):
        keep = np.zeros(len(y), bool)
        keep[np.argsort(y, kind="stable")[: int(round(len(y) * (1 - self.held_out_fraction)))]] = True
        return keep

    def _score(self, x: np.ndarray) -> np.ndarray:
        return -branin(x)


class Levy(SampledTask):
    """Negative Levy in 60 dimensions on ``[-10, 10]^60``, the Levy task of DEMO.

    Dataset as DEMO built it with ``bayeso-benchmarks``: ``RandomState(123).uniform`` 30,000 × 60
    mapped to the box, cast to float32, clipped 1e-6 inside the box, y = -Levy(x) in float64.
    The training set keeps rows with y ≤ the 50th percentile (15,000 rows); normalization uses
    all 30,000 (y_min -1390.8297, y_max -363.8954). The optimum 0 at x = 1 normalizes to 1.354.
    The oracle clips designs 1e-6 inside the box, as DEMO's does.
    """

    name = "levy"
    description = "negative Levy-60, 30,000 uniform points, training set ≤ median (DEMO)"
    dim: ClassVar[int] = 60
    space = DesignSpace.continuous(lower=[-10.0] * 60, upper=[10.0] * 60)
    optimum = 0.0
    num_samples: ClassVar[int] = 30_000
    task_seed: ClassVar[int] = 123
    eps: ClassVar[float] = 1e-6
    data_version = "levy60-n30000-p50-seed123"

    def _sample(self):
        u = np.random.RandomState(self.task_seed).uniform(size=(self.num_samples, self.dim))
        x = np.clip((-10.0 + 20.0 * u).astype(np.float32), -10.0 + self.eps, 10.0 - self.eps)
        return x, -levy(x)

    def _visible(self, y):
        return y <= np.percentile(y, 50)

    def _score(self, x: np.ndarray) -> np.ndarray:
        return -levy(np.clip(x, -10.0 + self.eps, 10.0 - self.eps)).astype(np.float32)

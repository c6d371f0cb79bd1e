"""Closed-form tasks with exact oracles: Branin (N²CE), Levy-60 (DEMO) and the COMs spiral toy.

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


def branin_gradient(x: np.ndarray) -> np.ndarray:
    """Gradient ``[n, 2]`` of :func:`branin`."""
    x1, x2 = x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)
    b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
    a = x2 - b * x1**2 + c * x1 - 6
    return np.stack([2 * a * (c - 2 * b * x1) - 10 * (1 - t) * np.sin(x1), 2 * a], axis=1)


def levy_gradient(x: np.ndarray) -> np.ndarray:
    """Gradient ``[n, d]`` of :func:`levy`."""
    w = 1 + (np.asarray(x, np.float64) - 1) / 4
    g = np.zeros_like(w)
    g[:, 0] = np.pi * np.sin(2 * np.pi * w[:, 0])
    m = w[:, :-1]
    g[:, :-1] += 2 * (m - 1) * (1 + 10 * np.sin(np.pi * m + 1) ** 2) + 10 * np.pi * (m - 1) ** 2 * np.sin(
        2 * (np.pi * m + 1))
    z = w[:, -1]
    g[:, -1] += 2 * (z - 1) * (1 + np.sin(2 * np.pi * z) ** 2) + 2 * np.pi * (z - 1) ** 2 * np.sin(4 * np.pi * z)
    return g / 4


class SampledTask(Task):
    """A closed-form task whose full dataset is a fixed sample, of which the training set is a part.

    Subclasses implement ``_sample() -> (x, y, visible)``: the full sample (hidden rows
    included) and the boolean mask of the rows an optimizer sees. Normalization constants come
    from the full sample.
    """

    @cached_property
    def _full(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._sample()

    def _sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    @property
    def y_min(self) -> float:
        return float(self._full[1].min())

    @property
    def y_max(self) -> float:
        return float(self._full[1].max())

    def _load_offline(self):
        x, y, visible = self._full
        return x[visible], y[visible]


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
        y = -branin(x)
        keep = np.zeros(len(y), bool)
        keep[np.argsort(y, kind="stable")[: int(round(len(y) * (1 - self.held_out_fraction)))]] = True
        return x, y, keep

    def _score(self, x: np.ndarray) -> np.ndarray:
        return -branin(x)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Exact gradient of the score −Branin."""
        return -branin_gradient(np.asarray(x, np.float64))


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
        y = -levy(x)
        return x, y, y <= np.percentile(y, 50)

    def _score(self, x: np.ndarray) -> np.ndarray:
        return -levy(np.clip(x, -10.0 + self.eps, 10.0 - self.eps)).astype(np.float32)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Exact gradient of the score −Levy inside the box (the oracle's clipping is ignored)."""
        return -levy_gradient(np.asarray(x, np.float64))


def spiral_points(n: int, rng: np.random.Generator, noise: float = 1.0) -> np.ndarray:
    """Points ``[n, 2]`` of the 2-D spiral: sklearn's swiss roll (coordinates 0 and 2) divided by 10.

    ``t = 1.5π(1 + 2u)``, ``u ~ U(0, 1)``; point = ``(t cos t, t sin t) + noise·N(0, I)``, then ÷ 10.
    """
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) + noise * rng.standard_normal((n, 2))
    return (x / 10.0).astype(np.float32)


class Spiral(SampledTask):
    """The 2-D spiral toy of Beckham & Pal (COMs as energy models, §3), reward ``Σ_i exp(−x_i²)``.

    The paper prints ``exp(+x_i²)``; the text puts the maximum (2) at the origin, so the sign is
    ``−`` (notes §6.1). Dataset as in the authors' notebook: 10,000 swiss-roll points (noise 1.0,
    coordinates ÷ 10, task seed 0); points with density < 0.08 under N(mean, I₂) go to the offline
    set, the others with probability 0.1 (≈ 30 % of the points, the dense centre mostly removed).
    The origin is not on the spiral: good designs are on its inner arm, which the oracle alone does
    not check; :meth:`distance_to_spiral` measures it. Normalization over all 10,000 points.

    Example:
        >>> task = Spiral()
        >>> task.score(np.zeros((1, 2), np.float32))
        array([2.])
    """

    name = "spiral"
    description = "2-D spiral with reward Σ exp(−x_i²), centre held out (Beckham & Pal toy)"
    space = DesignSpace.continuous(lower=[-1.5, -1.5], upper=[2.0, 2.0])
    optimum = 2.0
    num_samples: ClassVar[int] = 10_000
    task_seed: ClassVar[int] = 0
    data_version = "spiral-n10000-noise1-seed0"

    def _sample(self):
        rng = np.random.default_rng(self.task_seed)
        x = spiral_points(self.num_samples, rng)
        sq = ((x - x.mean(axis=0)) ** 2).sum(axis=1)
        density = np.exp(-0.5 * sq) / (2 * np.pi)
        train = (density < 0.08) | (rng.uniform(size=len(x)) < 0.1)
        return x, self._score(x), train

    def _score(self, x: np.ndarray) -> np.ndarray:
        return np.exp(-np.asarray(x, np.float64) ** 2).sum(axis=1)

    def distance_to_spiral(self, x: np.ndarray, num_reference: int = 100_000, noise: float = 1.0) -> np.ndarray:
        """Distance ``[n]`` from designs ``[n, 2]`` to the nearest of ``num_reference`` fresh spiral
        points (seed 1) drawn with ``noise`` (before ÷ 10). With the data's noise (1.0), < 0.1 is the
        notes' "on the spiral" test (§6.4); ``noise=0`` measures the distance to the curve itself."""
        from scipy.spatial import cKDTree  # scipy comes with scikit-learn, a core dependency

        ref = spiral_points(num_reference, np.random.default_rng(1), noise=noise)
        return cKDTree(ref).query(np.asarray(x, np.float32))[0]

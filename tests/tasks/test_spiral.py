"""The COMs spiral toy: reward, split and on-spiral distance."""
from __future__ import annotations

import numpy as np

from mbo.tasks.synthetic import Spiral


def test_spiral_reward_split_and_distance():
    task = Spiral()
    data = task.offline_data()
    assert 2_500 < len(data) < 3_500  # ≈ 30 % of 10,000, the dense centre mostly removed
    np.testing.assert_allclose(task.score(np.array([[0.0, 0.0], [1.0, -1.0]], np.float32)),
                               [2.0, 2 * np.exp(-1.0)], rtol=1e-6)
    np.testing.assert_allclose(data.y, task.score(data.x), rtol=1e-6)
    assert task.y_max <= task.optimum and task.y_min < data.y.min() + 1e-6
    dist = task.distance_to_spiral(np.concatenate([data.x[:50], np.zeros((1, 2), np.float32)]),
                                   num_reference=20_000)
    assert np.median(dist[:50]) < 0.1 and dist[-1] > 0.1  # the origin is off the spiral

"""The papers' statistics: TFP's 'nearest' percentile and the spread kinds."""
from __future__ import annotations

import numpy as np
import pytest

from mbo.stats import percentile_tfp_nearest, spread


def _shuffled(q: int, seed: int = 0) -> np.ndarray:
    """Values 0.01 · i for ascending rank i, in a random order: a value names its ascending index."""
    return np.random.default_rng(seed).permutation(np.arange(q) * 0.01)


# Expected ascending indices, by hand from TFP's rule: descending index = round_half_even((Q - 1)(1 - q/100)),
# ascending = Q - 1 - descending.
@pytest.mark.parametrize("q_count, pct, ascending", [
    (128, 50, 63),   # (127)(0.5) = 63.5 → 64 (even) from the top → ascending 63; numpy 'nearest' gives 64
    (256, 50, 127),  # 127.5 → 128 → 127
    (5, 50, 2),      # 2.0 exactly → 2 → 2 (the median)
    (6, 50, 3),      # 2.5 → 2 (even) → 3; numpy 'nearest' gives 2
    (2, 50, 1),      # 0.5 → 0 → 1: the larger of two
    (4, 50, 1),      # 1.5 → 2 → 1
    (128, 100, 127),  # the maximum
    (128, 0, 0),     # the minimum
    (128, 75, 95),   # (127)(0.25) = 31.75 → 32 → 95
    (1, 50, 0),
])
def test_tfp_nearest_picks_tfps_index(q_count, pct, ascending):
    v = _shuffled(q_count)
    assert percentile_tfp_nearest(v, pct) == pytest.approx(ascending * 0.01)


def test_tfp_nearest_differs_from_numpy_at_q128():
    v = _shuffled(128, seed=3)
    assert percentile_tfp_nearest(v, 50) == pytest.approx(0.63)
    assert np.percentile(v, 50, method="nearest") == pytest.approx(0.64)
    assert np.percentile(v, 50) == pytest.approx(0.635)


def test_tfp_nearest_ties_nan_and_bad_input():
    assert percentile_tfp_nearest([3.0, 1.0, 1.0, 3.0], 50) == 1.0  # ascending index 1 of [1, 1, 3, 3]
    assert np.isnan(percentile_tfp_nearest([1.0, np.nan, 2.0], 50))  # TFP propagates NaN
    with pytest.raises(ValueError, match="empty"):
        percentile_tfp_nearest([], 50)
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        percentile_tfp_nearest([1.0], 101)


def test_spread_kinds():
    v = [1.0, 2.0, 3.0, 4.0]  # mean 2.5, sum of squares 5
    assert spread(v, "std0") == pytest.approx(np.sqrt(5 / 4))
    assert spread(v, "std1") == pytest.approx(np.sqrt(5 / 3))
    assert spread(v, "s.e.") == pytest.approx(np.sqrt(5 / 3) / 2)
    assert all(np.isnan(spread(one, k)) for one in ([1.0], []) for k in ("std0", "std1", "s.e."))
    with pytest.raises(ValueError, match="std0"):
        spread(v, "iqr")

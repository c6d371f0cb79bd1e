"""The papers' own per-run and across-seed statistics, where they differ from numpy's defaults.

* :func:`percentile_tfp_nearest`: Design-Bench logs ``tfp.stats.percentile(scores, q)`` with TFP's
  default ``interpolation="nearest"`` (design-baselines ``logger.py`` ~53-65). TFP sorts the values
  in *descending* order and takes index ``round((n - 1) · (1 - q/100))`` with ``tf.round`` (round half
  to even), clipped to ``[0, n - 1]`` (``tensorflow_probability/python/stats/quantiles.py``,
  ``percentile`` → ``_get_indices``). For the median of Q = 128 scores that is ascending index 63;
  ``np.percentile(..., method="nearest")`` picks 64 and linear interpolation their mean.
* :func:`spread`: an across-seed spread in a paper's kind: a population std (ddof = 0, Design-Bench's
  ``np.std``), a sample std (ddof = 1) or a standard error of the mean (sample std / √n).
"""
from __future__ import annotations

import numpy as np

SPREADS = ("std0", "std1", "s.e.")


def percentile_tfp_nearest(values, q: float = 50.0) -> float:
    """TensorFlow Probability's ``percentile(values, q, interpolation="nearest")`` of a 1-D sample.

    NaN if any value is NaN (as TFP). Raises ``ValueError`` on an empty sample or q outside [0, 100].
    """
    v = np.asarray(values, np.float64).reshape(-1)
    if v.size == 0:
        raise ValueError("percentile of an empty sample")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q}")
    if np.isnan(v).any():
        return float("nan")
    descending = np.sort(v)[::-1]
    index = int(np.clip(np.rint((v.size - 1) * (1.0 - q / 100.0)), 0, v.size - 1))  # rint: half to even
    return float(descending[index])


def spread(values, kind: str) -> float:
    """The spread of per-seed values: ``std0`` (ddof = 0), ``std1`` (ddof = 1) or ``s.e.`` (ddof = 1 std / √n).

    NaN for fewer than two values (a spread of one seed says nothing, whatever its kind).
    """
    if kind not in SPREADS:
        raise ValueError(f"spread kind must be one of {', '.join(SPREADS)}, got {kind!r}")
    v = np.asarray(values, np.float64).reshape(-1)
    if v.size < 2:
        return float("nan")
    if kind == "std0":
        return float(np.std(v, ddof=0))
    sd = float(np.std(v, ddof=1))
    return sd / np.sqrt(v.size) if kind == "s.e." else sd

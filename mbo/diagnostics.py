"""Engine-computed diagnostics of a run's candidates, stored in every record under ``diagnostics``.

* ``novelty``: discrete spaces — the share of candidates (rows, duplicates counted) that are not
  in the offline set; continuous spaces — the median over candidates of the Euclidean distance to
  the nearest offline design, measured in units of the offline data's per-dimension std.
* ``diversity``: the mean over candidate pairs ``i < j`` of their distance — discrete: the Hamming
  distance as a fraction of the sequence length (0 = identical, 1 = differ at every position);
  continuous: the Euclidean distance in the same std units. 0.0 with fewer than two candidates.
* ``distinct``: the number of distinct candidate rows.
* ``clipped``: candidates the harness clipped into the box before scoring.

Dimensions with zero std in the offline data are left unscaled (divided by 1). Everything is
vectorized NumPy, in chunks whose memory does not grow with Q²; Q=128 against 32,898 TF-Bind-8
rows takes milliseconds. :func:`check_budget` refuses, at planning, a Q the harness could not
score, diagnose and record.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mbo.core import DesignSpace
from mbo.errors import ConfigError

MAX_BUDGET = 100_000  # every record stores all Q candidates; diversity compares Q²/2 pairs
_CHUNK_BYTES = 64 * 2**20  # working memory of one chunk of pairwise distances


def check_budget(budget: int, space: DesignSpace) -> None:
    """Refuse a budget Q above :data:`MAX_BUDGET` or whose record would not fit in half the free memory.

    Raises:
        ConfigError: naming Q, the limit and the fix.
    """
    if budget > MAX_BUDGET:
        raise ConfigError(f"--budget {budget} is above the {MAX_BUDGET:,} candidates one run can score and "
                          "record (each record stores every candidate and its score; the diagnostics compare "
                          f"candidate pairs); the papers use 128 or 256. Use --budget {MAX_BUDGET} or less")
    elements = space.length if space.is_discrete else space.dim
    need = budget * (48 * elements + 512)  # Python lists, JSON text, scores and diagnostics, per candidate
    free = _available_memory()
    if free and need > free / 2:
        fit = max(1, int(free / 2 / (48 * elements + 512)))
        raise ConfigError(f"--budget {budget} needs about {need / 2**30:.1f} GiB to score and record its candidates, "
                          f"more than half the {free / 2**30:.1f} GiB of free memory; use --budget {fit} or less")


def _available_memory() -> int | None:
    """Bytes of memory available to new work (Linux ``MemAvailable``), or ``None`` where unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def candidate_diagnostics(candidates: np.ndarray, offline_x: np.ndarray, space: DesignSpace,
                          clipped: int = 0) -> dict[str, Any]:
    """``{"novelty", "diversity", "distinct", "clipped"}`` of ``candidates`` ``[Q, ...]`` against the
    offline designs ``offline_x`` ``[N, ...]`` (see the module docstring for the definitions)."""
    cands = _flat(candidates)
    offline = _flat(offline_x)
    if space.is_discrete:
        novelty, diversity = discrete_novelty(cands, offline), hamming_diversity(cands)
    else:
        scale = std_scale(offline)
        novelty = continuous_novelty(cands / scale, offline / scale)
        diversity = euclidean_diversity(cands / scale)
    return {"novelty": float(novelty), "diversity": float(diversity),
            "distinct": distinct_count(cands), "clipped": int(clipped)}


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.reshape(len(x), -1)


def std_scale(x: np.ndarray) -> np.ndarray:
    """Per-dimension std ``[d]`` of ``x`` ``[N, d]`` (float64), with 1.0 where the std is 0."""
    std = np.asarray(x, np.float64).std(axis=0)
    return np.where(std > 0, std, 1.0)


def in_offline(candidates: np.ndarray, offline: np.ndarray) -> np.ndarray:
    """``[Q]`` bool: whether each token row of ``candidates`` ``[Q, L]`` occurs in ``offline`` ``[N, L]``.

    Rows are hashed to uint64 (a fixed random linear hash, wrapping), matched by binary search,
    and every hash hit is confirmed by comparing the rows, so the answer is exact.
    """
    cand = np.asarray(candidates, np.int64).reshape(len(candidates), -1)
    off = np.asarray(offline, np.int64).reshape(len(offline), -1)
    weights = np.random.default_rng(0).integers(1, 2**63, size=cand.shape[1], dtype=np.uint64) | np.uint64(1)
    with np.errstate(over="ignore"):
        h_cand, h_off = cand.astype(np.uint64) @ weights, off.astype(np.uint64) @ weights
    order = np.argsort(h_off, kind="stable")
    sorted_h = h_off[order]
    lo, hi = np.searchsorted(sorted_h, h_cand, "left"), np.searchsorted(sorted_h, h_cand, "right")
    found = np.zeros(len(cand), bool)
    for i in np.flatnonzero(hi > lo):
        found[i] = bool((off[order[lo[i]:hi[i]]] == cand[i]).all(axis=1).any())
    return found


def discrete_novelty(candidates: np.ndarray, offline: np.ndarray) -> float:
    """Share of candidate rows ``[Q, L]`` that do not occur in ``offline`` ``[N, L]``."""
    if len(candidates) == 0:
        return 0.0
    return float(np.mean(~in_offline(candidates, offline)))


def nearest_distances(candidates: np.ndarray, offline: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Euclidean distance ``[Q]`` from each candidate to its nearest offline row (float64).

    Candidates go in blocks so that one block's distance matrix stays within a fixed memory.
    """
    a_all = np.asarray(candidates, np.float64)
    best = np.full(len(a_all), np.inf)
    rows = max(1, _CHUNK_BYTES // (8 * max(1, min(chunk, len(offline)))))
    for lo in range(0, len(a_all), rows):
        a = a_all[lo:lo + rows]
        a_sq = (a * a).sum(axis=1)
        for start in range(0, len(offline), chunk):
            b = np.asarray(offline[start:start + chunk], np.float64)
            d2 = a_sq[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
            best[lo:lo + rows] = np.minimum(best[lo:lo + rows], d2.min(axis=1))
    return np.sqrt(np.maximum(best, 0.0))


def continuous_novelty(candidates: np.ndarray, offline: np.ndarray) -> float:
    """Median nearest-offline-neighbour distance of ``candidates`` ``[Q, d]`` (already scaled)."""
    if len(candidates) == 0 or len(offline) == 0:
        return 0.0
    return float(np.median(nearest_distances(candidates, offline)))


def hamming_diversity(candidates: np.ndarray) -> float:
    """Mean pairwise Hamming distance of token rows ``[Q, L]`` as a fraction of ``L`` (0.0 for Q < 2).

    Counted per position in O(Q·L): of the ``Q(Q−1)/2`` pairs, those agreeing at a position are
    ``Σ_v c_v(c_v−1)/2`` over the counts ``c_v`` of each token ``v`` there.
    """
    x = np.asarray(candidates, np.int64)
    q, length = x.shape
    if q < 2 or length == 0:
        return 0.0
    key = (x - x.min()) * length + np.arange(length)  # one key per (token, position)
    _, counts = np.unique(key, return_counts=True)
    pairs = q * (q - 1) / 2
    agree = float((counts * (counts - 1) / 2).sum())
    return float(1.0 - agree / (pairs * length))


def euclidean_diversity(candidates: np.ndarray, rows: int | None = None) -> float:
    """Mean pairwise Euclidean distance of rows ``[Q, d]`` (already scaled; 0.0 for Q < 2).

    Summed over blocks of ``rows`` candidates (default: a block's distances fit in 64 MiB) against
    the candidates after them, so memory grows with Q, not Q².
    """
    a = np.asarray(candidates, np.float64)
    q = len(a)
    if q < 2:
        return 0.0
    rows = rows or max(1, _CHUNK_BYTES // (8 * q))
    sq = (a * a).sum(axis=1)
    total = 0.0
    for lo in range(0, q, rows):
        block = a[lo:lo + rows]
        d2 = sq[lo:lo + rows, None] + sq[None, lo:] - 2.0 * (block @ a[lo:].T)  # pairs (i, j ≥ lo)
        keep = np.arange(lo, q)[None, :] > np.arange(lo, lo + len(block))[:, None]  # j > i
        total += float(np.sqrt(np.maximum(d2[keep], 0.0)).sum())
    return total / (q * (q - 1) / 2)


def distinct_count(candidates: np.ndarray) -> int:
    """Number of distinct rows of ``candidates`` ``[Q, ...]``."""
    if len(candidates) == 0:
        return 0
    return int(len(np.unique(_flat(candidates), axis=0)))

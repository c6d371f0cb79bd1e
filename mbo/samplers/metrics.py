"""Sample-quality metrics for Boltzmann samplers, under the NEM/BNEM papers' names and with the
reference code's definitions (``dem_module.py`` of tonyauyeung/BNEM), plus a true W2.

* ``x_w2``: exact optimal-transport cost between two point sets with uniform weights and an
  **unsquared** ground cost (a W1-type quantity, called "x-W2" in the papers). GMM: Euclidean
  distance; DW-4: mean per-particle distance after aligning each reference configuration to each
  generated one (rotation + translation, no reflection, no permutation).
* ``e_w2``: ``W2²`` between the two 1-D energy distributions (POT's ``emd2_1d``, squared
  Euclidean cost, no square root).
* ``tv_hist2d``: total variation between 200 × 200 histograms over the joint bounding box (GMM).
* ``tv_pair_distances``: total variation between 200-bin histograms of all pair distances over the
  reference range; generated values outside it are dropped (DW-4).
* ``true_w2``: ``√`` of the optimal mean squared Euclidean cost (a genuine 2-Wasserstein distance).
* ``drop_high_energy``: the reference's ``E ≥ 100`` filter, applied before ``x_w2`` and ``e_w2`` only.

POT (``pip install pot``) solves the transport problems.
"""
from __future__ import annotations

import numpy as np

from mbo.errors import require


def _ot():
    return require("ot", extra="nem", package="pot")


def _np(a) -> np.ndarray:
    return a.detach().cpu().double().numpy() if hasattr(a, "detach") else np.asarray(a, np.float64)


def ot_cost(cost: np.ndarray) -> float:
    """Exact OT cost ``Σ G_ij C_ij`` with uniform marginals for a cost matrix ``[n, m]``."""
    ot = _ot()
    n, m = cost.shape
    plan = ot.emd(np.full(n, 1.0 / n), np.full(m, 1.0 / m), np.ascontiguousarray(cost, np.float64),
                  numItermax=10_000_000)
    return float((plan * cost).sum())


def x_w2(ref, gen) -> float:
    """Reference-code "x-W2": OT cost with Euclidean (unsquared) ground cost, ``[n, d]`` vs ``[m, d]``."""
    a, b = _np(ref), _np(gen)
    return ot_cost(np.sqrt(((a[:, None, :] - b[None]) ** 2).sum(-1)))


def true_w2(ref, gen) -> float:
    """``W2 = √ min_G Σ G_ij ‖a_i − b_j‖²`` between ``[n, d]`` and ``[m, d]``."""
    a, b = _np(ref), _np(gen)
    return float(np.sqrt(ot_cost(((a[:, None, :] - b[None]) ** 2).sum(-1))))


def aligned_particle_cost(ref, gen, num_particles: int, chunk: int = 256) -> np.ndarray:
    """Cost matrix ``[n, m]`` of mean per-particle distances after the optimal proper rotation and
    translation of each reference 2-D configuration onto each generated one (Kabsch in 2-D:
    the angle ``atan2(Σ a×b, Σ a·b)`` of the centered particle sets)."""
    a = _np(ref).reshape(len(ref), num_particles, 2)
    b = _np(gen).reshape(len(gen), num_particles, 2)
    if a.shape[-1] != 2:
        raise ValueError("aligned_particle_cost supports 2-D particles only")
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    out = np.empty((len(a), len(b)))
    for s in range(0, len(a), chunk):
        ai = a[s:s + chunk, None]                                     # [c, 1, P, 2]
        dot = (ai * b[None]).sum((-1, -2))                             # Σ a·b
        cross = (ai[..., 0] * b[None, ..., 1] - ai[..., 1] * b[None, ..., 0]).sum(-1)
        theta = np.arctan2(cross, dot)
        c, s_ = np.cos(theta)[..., None], np.sin(theta)[..., None]
        rx = c * ai[..., 0] - s_ * ai[..., 1]
        ry = s_ * ai[..., 0] + c * ai[..., 1]
        out[s:s + chunk] = np.sqrt((rx - b[None, ..., 0]) ** 2 + (ry - b[None, ..., 1]) ** 2).mean(-1)
    return out


def x_w2_aligned(ref, gen, num_particles: int) -> float:
    """Reference-code DW-4 "x-W2": OT cost with the aligned mean per-particle distance as ground cost."""
    return ot_cost(aligned_particle_cost(ref, gen, num_particles))


def e_w2(e_ref, e_gen) -> float:
    """Reference-code "E-W2": ``W2²`` (no root) between 1-D energy samples ``[n]`` and ``[m]``."""
    return float(_ot().emd2_1d(_np(e_ref), _np(e_gen)))


def tv_hist2d(ref, gen, bins: int = 200) -> float:
    """Total variation between ``bins × bins`` histograms of 2-D points over their joint bounding box."""
    a, b = _np(ref), _np(gen)
    both = np.concatenate([a, b])
    edges = [np.linspace(both[:, j].min(), both[:, j].max(), bins + 1) for j in range(2)]
    p = np.histogram2d(a[:, 0], a[:, 1], bins=edges)[0]
    q = np.histogram2d(b[:, 0], b[:, 1], bins=edges)[0]
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def tv_pair_distances(d_ref, d_gen, bins: int = 200) -> float:
    """Total variation between histograms of pair distances (``[n, P]`` → flattened) over the reference
    range; generated distances outside it are dropped before normalizing."""
    a, b = _np(d_ref).ravel(), _np(d_gen).ravel()
    edges = np.linspace(a.min(), a.max(), bins + 1)
    p = np.histogram(a, bins=edges)[0]
    q = np.histogram(b, bins=edges)[0]
    return float(0.5 * np.abs(p / p.sum() - q / max(q.sum(), 1)).sum())


def drop_high_energy(x, energy, threshold: float = 100.0):
    """The reference's filter: keep rows with finite ``energy < threshold``; returns ``(x, energy, dropped)``."""
    e = _np(energy)
    keep = np.isfinite(e) & (e < threshold)
    return _np(x)[keep], e[keep], int((~keep).sum())


__all__ = ["ot_cost", "x_w2", "true_w2", "aligned_particle_cost", "x_w2_aligned", "e_w2", "tv_hist2d",
           "tv_pair_distances", "drop_high_energy"]

"""Ehrlich functions (Stanton et al. 2024) as offline MBO tasks, scored by ``pytorch-holo``'s reference.

An Ehrlich function over sequences of length ``L`` on ``v`` tokens has ``c`` spaced motifs of length
``k`` and a feasibility constraint: a sequence is feasible when every transition ``x_t → x_{t+1}``
has nonzero probability under a banded random transition matrix. A feasible sequence scores
``∏_i q(h_i(x))``, where ``h_i`` is the largest fraction of motif ``i`` present (with its spacing)
anywhere in ``x`` and ``q`` rounds down to multiples of ``1/quantization``; the optimum is 1.0.
The function is ``holo.test_functions.closed_form.Ehrlich`` (random seed 0, quantization = ``k``,
no epistasis, no noise); mbo only adds the offline protocol.

Offline protocol:

* **Full dataset:** ``num_samples`` sequences drawn from the function's own Markov process (first
  token from its stationary distribution, then its transition matrix), with the fixed
  ``data_seed``. All of them are feasible.
* **Training set:** the rows with y ≤ the 50th percentile of the full dataset (Design-Bench's rule;
  ties at the threshold included, so the share is above one half).
* **Normalization:** ``y_min``/``y_max`` over the full dataset. ``optimum = 1.0`` raw, so a raw
  score is also the fraction of the optimum reached (``mbo leaderboard --raw``).
* **Infeasible designs:** the reference scores them −inf; mbo scores them ``infeasible_score`` = 0.0,
  the lowest value a feasible design can take, so percentiles and means stay finite. Each record
  reports the share under ``diagnostics.task.infeasible``.

Install: ``pip install 'mbo[ehrlich]' && pip install --no-deps pytorch-holo==0.0.5``. pytorch-holo's
own requirements pin ``numpy<2`` and pull wandb and hydra, none of which the Ehrlich code uses; it
imports only torch, botorch, and (through its package ``__init__``) numpy, pandas and pooch.

Example:
    >>> task = EhrlichV32L32()
    >>> task.score(task.optimal_solution()[None])
    array([1.])
"""
from __future__ import annotations

import importlib.util
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from mbo.core import DesignSpace, Task
from mbo.errors import MissingDependencyError

HOLO_VERSION = "0.0.5"
INSTALL = f"pip install 'mbo[ehrlich]' && pip install --no-deps pytorch-holo=={HOLO_VERSION}"


def reference_function(num_states: int, dim: int, num_motifs: int, motif_length: int, quantization: int,
                       random_seed: int = 0) -> Any:
    """The reference ``holo`` Ehrlich function, or :class:`MissingDependencyError` with the install command."""
    try:
        from holo.test_functions.closed_form import Ehrlich
    except ImportError as exc:
        raise MissingDependencyError(f"Ehrlich tasks need pytorch-holo (with botorch and pooch), which is not "
                                     f"installed ({exc}). Install it with: {INSTALL}") from exc
    return Ehrlich(num_states=num_states, dim=dim, num_motifs=num_motifs, motif_length=motif_length,
                   quantization=quantization, random_seed=random_seed)


def sample_markov(initial: np.ndarray, transition: np.ndarray, length: int, n: int,
                  rng: np.random.Generator) -> np.ndarray:
    """``n`` token sequences ``[n, length]`` int64 of the Markov chain ``(initial [v], transition [v, v])``.

    Inverse-CDF sampling, vectorized over rows; a state of zero probability is never drawn.
    """
    cdf = np.cumsum(np.asarray(transition, np.float64), axis=1)
    cdf /= cdf[:, -1:]
    p0 = np.asarray(initial, np.float64)
    x = np.empty((n, length), np.int64)
    x[:, 0] = rng.choice(len(p0), size=n, p=p0 / p0.sum())
    for t in range(1, length):
        u = 1.0 - rng.random(n)  # (0, 1]
        x[:, t] = (cdf[x[:, t - 1]] < u[:, None]).sum(axis=1)
    return x


class EhrlichTask(Task):
    """An Ehrlich function with the offline protocol of the module docstring.

    Subclasses set ``num_states`` (v), ``length`` (L), ``num_motifs`` (c), ``motif_length`` (k).
    """

    num_states: ClassVar[int] = 32
    length: ClassVar[int] = 32
    num_motifs: ClassVar[int] = 4
    motif_length: ClassVar[int] = 4
    function_seed: ClassVar[int] = 0
    num_samples: ClassVar[int] = 2000
    data_seed: ClassVar[int] = 0
    train_percentile: ClassVar[float] = 50.0
    infeasible_score: ClassVar[float] = 0.0
    optimum = 1.0

    @property
    def quantization(self) -> int:
        return self.motif_length

    # -- reference function and data ------------------------------------------
    @cached_property
    def function(self) -> Any:
        """The reference ``holo`` Ehrlich function (imported on first use)."""
        return reference_function(self.num_states, self.length, self.num_motifs, self.motif_length,
                                  self.quantization, self.function_seed)

    @cached_property
    def _transition(self) -> np.ndarray:
        return self.function.transition_matrix.double().numpy()

    @cached_property
    def _full(self) -> tuple[np.ndarray, np.ndarray]:
        f = self.function
        x = sample_markov(f.stationary_dist.squeeze(-1).double().numpy(), self._transition, self.length,
                          self.num_samples, np.random.default_rng(self.data_seed))
        return x, self._score(x)

    @property
    def y_min(self) -> float:
        return float(self._full[1].min())

    @property
    def y_max(self) -> float:
        return float(self._full[1].max())

    def _load_offline(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._full
        keep = y <= np.percentile(y, self.train_percentile)
        return x[keep], y[keep]

    # -- oracle -----------------------------------------------------------------
    def feasible(self, x: np.ndarray) -> np.ndarray:
        """``[n]`` bool: every transition of each row ``[n, L]`` has nonzero probability."""
        x = np.asarray(x, np.int64)
        return (self._transition[x[:, :-1], x[:, 1:]] > 0).all(axis=1)

    def _score(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            y = self.function.evaluate_true(torch.as_tensor(np.asarray(x, np.int64))).double().numpy()
        return np.where(np.isfinite(y), y, self.infeasible_score)

    def optimal_solution(self) -> np.ndarray:
        """The reference's optimal design ``[L]`` int64 (scores 1.0)."""
        return self.function.optimal_solution().numpy().astype(np.int64)

    def candidate_diagnostics(self, x: np.ndarray) -> dict[str, Any]:
        """``{"infeasible": share of rows of x [n, L] outside the feasible set}``."""
        return {"infeasible": float(np.mean(~self.feasible(x))) if len(x) else 0.0}

    # -- availability -------------------------------------------------------------
    def check_oracle(self) -> None:
        self.function  # noqa: B018 -- raises MissingDependencyError with the install command

    def availability(self) -> tuple[bool, str]:
        missing = [m for m in ("holo", "botorch", "pooch") if importlib.util.find_spec(m) is None]
        if missing:
            return False, f"needs the ehrlich extra ({', '.join(missing)} missing); install: {INSTALL}"
        return True, "built in (pytorch-holo installed)"


def _name(v: int, length: int, c: int, k: int) -> str:
    return f"ehrlich-v{v}-l{length}-m{c}-k{k}"


class EhrlichV32L32(EhrlichTask):
    """Ehrlich, v = 32 tokens, L = 32, c = 4 motifs of length k = 4, quantization 4 (2,000-row sample)."""

    name = _name(32, 32, 4, 4)
    description = "Ehrlich closed form (holo), 4 motifs of length 4, 2,000 Markov samples, train ≤ median"
    space = DesignSpace.discrete(length=32, vocab_size=32)
    length = 32
    data_version = f"{name}-q4-fseed0-n2000-p50-dseed0-holo{HOLO_VERSION}"


class EhrlichV32L128(EhrlichTask):
    """Ehrlich, v = 32 tokens, L = 128, c = 4 motifs of length k = 4, quantization 4 (2,000-row sample)."""

    name = _name(32, 128, 4, 4)
    description = "Ehrlich closed form (holo), L = 128, 4 motifs of length 4, 2,000 Markov samples, train ≤ median"
    space = DesignSpace.discrete(length=128, vocab_size=32)
    length = 128
    data_version = f"{name}-q4-fseed0-n2000-p50-dseed0-holo{HOLO_VERSION}"

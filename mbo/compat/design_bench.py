"""Design-Bench's task API over mbo's tasks, and design-bench-style code as an mbo optimizer.

Code written for ``design_bench`` (design-baselines, ROMA, BDI, ...) runs on mbo's tasks by
changing one import::

    from mbo.compat import design_bench                # instead of: import design_bench
    task = design_bench.make("TFBind8-Exact-v0")
    task.map_to_logits(); task.map_normalize_x(); task.map_normalize_y()
    ...                                                # train, optimize
    score = task.denormalize_y(task.predict(solution))

Names (:data:`NATIVE`): ``TFBind8-Exact-v0`` and ``TFBind10-Exact-v0`` are Design-Bench's names
for mbo's ``tfbind8`` / ``tfbind10``; ``Branin-Exact-v0``, ``Levy-Exact-v0`` and
``Spiral-Exact-v0`` are names of our own for mbo's closed-form tasks. ``TFBind10-Exact-v0`` serves
mbo's 10,000-row training set (design-baselines' ``max_samples=10000``, what published numbers
use), not design-bench's default of every row below the median. An unknown name fails with the
list of names served and of the Design-Bench names mbo has no oracle for yet, and why.

Implemented with design-bench 2.0.20's semantics (``design_bench/task.py``,
``datasets/dataset_builder.py``, ``discrete_dataset.py``, ``oracles/oracle_builder.py``):

* ``make(name, dataset_kwargs=None, oracle_kwargs=None, relabel=False)``: keyword values equal to
  the native protocol are accepted (and ``soft_interpolation``); others fail, saying what is served.
  ``relabel`` has no effect, as for design-bench's exact oracles.
* attributes: ``x`` (discrete: int32 tokens ``[n, L]``, or float32 logits ``[n, L, V-1]`` after
  ``map_to_logits``; continuous: float32 ``[n, d]``), ``y`` (float32 ``[n, 1]``), ``input_shape``,
  ``input_size``, ``input_dtype``, ``output_shape``, ``output_size``, ``output_dtype``,
  ``is_discrete``, ``num_classes``, ``is_logits``, ``dataset_size``, ``dataset_min/max_percentile``,
  ``dataset_min/max_output``, ``dataset_distribution``, ``is_normalized_x/y``, ``dataset_name``,
  ``oracle_name``, ``x_name``, ``y_name``, ``dataset``;
* methods: ``map_normalize_x/y``, ``map_denormalize_x/y``, ``normalize_x/y``, ``denormalize_x/y``
  (statistics over the visible rows, population std, a zero std replaced by 1, as design-bench;
  x statistics of discrete tasks are over logits), ``map_to_logits``, ``map_to_integers``,
  ``to_logits``, ``to_integers`` (int32, as design-bench), ``iterate_batches``,
  ``iterate_samples``, ``iter(task)``, ``predict(x)`` (the oracle: ``[n, 1]`` float32; takes
  designs in the task's current format, i.e. normalized logits after the maps; returns normalized
  y while ``map_normalize_y`` is on), ``dataset.subsample(max_samples, distribution,
  min_percentile, max_percentile)`` and ``dataset.update_x/y_statistics``.
* ``dataset_max_output``/``dataset_min_output`` are the training set's extreme y when the task's
  protocol cuts at a percentile (design-bench gives the percentile of all rows, which lies between
  the training maximum and the next hidden value), ±inf otherwise, and after ``subsample`` the
  percentiles of the rows held.

Not implemented: ``dataset.split``/``clone``/``relabel``/``rebuild_dataset``, ``freeze_statistics``,
``dataset_to_oracle_x`` and friends, the oracle's own attributes (``task.oracle.params``).
``subsample`` re-selects among the training rows: hidden rows are never served.

Two modes:

* :func:`make` (a user's own script): ``predict`` is the task's exact oracle, as in design-bench.
* :func:`solver_class` wraps ``solve(task, budget, seed) -> x`` written against this API as an
  mbo :class:`~mbo.core.Optimizer` (``mbo run --optimizer my_solver.py:solve``). Its task view is
  built from the :class:`~mbo.core.OfflineData` alone and its ``predict`` raises
  :class:`~mbo.errors.OracleAccessError`; the designs ``solve`` returns (any format ``predict``
  takes, numpy or torch) are scored by the harness. The class holds the function's path and
  name only, so it pickles by reference and runs in another process.

With the ``design-bench`` extra installed, :func:`external_task` serves any Design-Bench task
mbo has no native version of as an mbo task, oracle included (``--task
mbo.compat.design_bench:Superconductor-RandomForest-v0``); :func:`make` then falls back to it.
That path is tested against a stand-in module only, never against the real package.
"""
from __future__ import annotations

import copyreg
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mbo import core
from mbo.errors import ConfigError, OracleAccessError, did_you_mean, require
from mbo.nn.encoding import SOFT, Standardizer, from_logits, to_logits

NATIVE: dict[str, str] = {
    "TFBind8-Exact-v0": "tfbind8",
    "TFBind10-Exact-v0": "tfbind10",
    "Branin-Exact-v0": "branin",
    "Levy-Exact-v0": "levy",
    "Spiral-Exact-v0": "spiral",
}
"""Design-Bench-style names of mbo's tasks (the first two are Design-Bench's own)."""

OTHER_DESIGN_BENCH = (
    "the GP, RandomForest, FullyConnected, LSTM, ResNet and Transformer oracles of GFP, TFBind8, UTR, "
    "HopperController, Superconductor, AntMorphology and DKittyMorphology, CIFARNAS-Exact-v0, "
    "NASBench-Exact-v0, ToyDiscrete-Exact-v0 and ToyContinuous-Exact-v0 (trained models or data mbo "
    "does not ship)")

TASK_PATTERN = re.compile(r"(\w+)-(\w+)-v(\d+)")  # design-bench's registry pattern


# -- the dataset --------------------------------------------------------------------------------
def _uniform(ranks: np.ndarray) -> np.ndarray:
    return np.ones(ranks.shape, np.float32)


def _scaled(ranks: np.ndarray) -> np.ndarray:
    return ranks.astype(np.float32) / max(ranks.max(), 1)


DISTRIBUTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "uniform": _uniform,
    "linear": lambda r: 1.0 - _scaled(r),
    "quadratic": lambda r: (1.0 - _scaled(r)) ** 2,
    "circular": lambda r: 1.0 - np.sqrt(1.0 - (_scaled(r) - 1.0) ** 2),
    "exponential": lambda r: np.exp(-3.0 * _scaled(r)),
}
"""design-bench's subsampling weights over the ranks of y (rank 0 = the lowest y)."""


class Dataset:
    """Design-Bench's ``DatasetBuilder`` over rows held in memory (the task's training set).

    Args:
        x: designs ``[n, L]`` tokens or ``[n, d]`` floats.
        y: scores ``[n]`` or ``[n, 1]``.
        num_classes: the vocabulary size of a discrete task; ``None`` for a continuous one.
        soft_interpolation: the one-hot / uniform mix of the logits (design-bench: 0.6).
        min_percentile, max_percentile: the protocol's y band, for ``dataset_*_percentile``.
    """

    x_name = "Design"
    y_name = "Prediction"
    internal_batch_size = 32

    def __init__(self, x: np.ndarray, y: np.ndarray, num_classes: int | None = None,
                 soft_interpolation: float = SOFT, name: str = "", min_percentile: float = 0.0,
                 max_percentile: float = 100.0) -> None:
        self.is_discrete = num_classes is not None
        self.name = name
        self.num_classes = num_classes
        self.soft_interpolation = float(soft_interpolation)
        self._x = np.array(x, np.int32 if self.is_discrete else np.float32)
        self._y = np.array(y, np.float32).reshape(-1, 1)
        self.is_logits = False
        self.is_normalized_x = False
        self.is_normalized_y = False
        self._x_scaler: Standardizer | None = None
        self._y_scaler: Standardizer | None = None
        self.output_shape = [1]
        self.output_size = 1
        self.output_dtype = np.float32
        self.dataset_visible_mask = np.ones(len(self._y), bool)
        self.dataset_distribution = None
        self.dataset_min_percentile = float(min_percentile)
        self.dataset_max_percentile = float(max_percentile)
        self.dataset_min_output = float(self._y.min()) if min_percentile > 0 else -np.inf
        self.dataset_max_output = float(self._y.max()) if max_percentile < 100 else np.inf

    @classmethod
    def from_offline(cls, data: core.OfflineData, soft_interpolation: float = SOFT) -> Dataset:
        """The dataset of an optimizer's :class:`~mbo.core.OfflineData` (nothing hidden)."""
        space = data.space
        return cls(data.x, data.y, space.vocab_size if space.is_discrete else None, soft_interpolation,
                   name=data.task)

    # -- shape facts ------------------------------------------------------------------------------
    @property
    def dataset_size(self) -> int:
        return int(self.dataset_visible_mask.sum())

    @property
    def input_shape(self) -> tuple[int, ...]:
        shape = tuple(self._x.shape[1:])
        return shape + (self.num_classes - 1,) if self.is_logits else shape

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(np.float32) if self.is_logits else self._x.dtype

    # -- the rows ---------------------------------------------------------------------------------
    @property
    def x(self) -> np.ndarray:
        """The visible designs in the current format (logits, normalized, as mapped)."""
        x = self._x[self.dataset_visible_mask]
        if self.is_logits:
            x = self.to_logits(x)
        return self.normalize_x(x) if self.is_normalized_x else x

    @property
    def y(self) -> np.ndarray:
        """The visible scores ``[n, 1]`` float32 (normalized while ``is_normalized_y``)."""
        y = self._y[self.dataset_visible_mask]
        return self.normalize_y(y) if self.is_normalized_y else y

    def iterate_batches(self, batch_size: int, return_x: bool = True, return_y: bool = True,
                        drop_remainder: bool = False) -> Iterator[Any]:
        """Batches ``(x, y)`` (or ``x`` / ``y`` alone) of ``batch_size`` rows, in row order."""
        if batch_size < 1 or not (return_x or return_y):
            raise ValueError("invalid arguments passed to batch generator")
        x = self.x if return_x else None
        y = self.y if return_y else None
        n = self.dataset_size
        stop = n - n % batch_size if drop_remainder else n
        for i in range(0, stop, batch_size):
            if return_x and return_y:
                yield x[i:i + batch_size], y[i:i + batch_size]
            else:
                yield (x if return_x else y)[i:i + batch_size]

    def iterate_samples(self, return_x: bool = True, return_y: bool = True) -> Iterator[Any]:
        """Single rows ``(x, y)`` (or ``x`` / ``y`` alone)."""
        for batch in self.iterate_batches(self.internal_batch_size, return_x, return_y):
            if return_x and return_y:
                yield from zip(*batch)
            else:
                yield from batch

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self.iterate_batches(self.internal_batch_size)

    # -- subsampling ------------------------------------------------------------------------------
    def subsample(self, max_samples: int | None = None, distribution: str | Callable | None = None,
                  max_percentile: float = 100.0, min_percentile: float = 0.0) -> None:
        """Choose the visible rows among the rows held, as design-bench does.

        Rows with y between the ``min_percentile`` and ``max_percentile`` of all held y, then
        ``max_samples`` of them drawn without replacement (``np.random``, the global generator)
        with weights ``distribution(rank of y)``.
        """
        if max_samples is not None and max_samples <= 0:
            raise ValueError("dataset cannot be made empty")
        if min_percentile > max_percentile:
            raise ValueError(f"min_percentile {min_percentile} > max_percentile {max_percentile}")
        y = self._y[:, 0]
        lo = np.percentile(y, min_percentile) if min_percentile > 0 else -np.inf
        hi = np.percentile(y, max_percentile) if max_percentile < 100 else np.inf
        rows = np.flatnonzero((y <= hi) & (y >= lo))
        size = rows.size if max_samples is None else min(rows.size, max_samples)
        if distribution is None or isinstance(distribution, str):
            key = distribution or "uniform"
            if key not in DISTRIBUTIONS:
                raise ValueError(f"unknown distribution {key!r}; use one of {', '.join(DISTRIBUTIONS)} "
                                 "or a function of the ranks")
            distribution = DISTRIBUTIONS[key]
        probs = np.broadcast_to(np.asarray(distribution(y[rows].argsort().argsort()), np.float32), rows.shape)
        rows = rows[np.random.choice(rows.size, size, replace=False, p=probs / probs.sum())]
        self.dataset_visible_mask = np.zeros(len(y), bool)
        self.dataset_visible_mask[rows] = True
        self.dataset_min_percentile, self.dataset_max_percentile = float(min_percentile), float(max_percentile)
        self.dataset_min_output, self.dataset_max_output = float(lo), float(hi)
        self.dataset_distribution = distribution
        if self.is_normalized_x:
            self.update_x_statistics()
        if self.is_normalized_y:
            self.update_y_statistics()

    # -- normalization ----------------------------------------------------------------------------
    def update_x_statistics(self) -> None:
        """Mean and std of the visible designs (of their logits, for a discrete task)."""
        x = self._x[self.dataset_visible_mask]
        self._x_scaler = Standardizer(self.to_logits(x) if self.is_discrete else x, zero_std=1.0)

    def update_y_statistics(self) -> None:
        """Mean and std of the visible scores."""
        self._y_scaler = Standardizer(self._y[self.dataset_visible_mask], zero_std=1.0)

    @property
    def x_mean(self) -> np.ndarray | None:
        return None if self._x_scaler is None else self._x_scaler.mean[None]

    @property
    def x_standard_dev(self) -> np.ndarray | None:
        return None if self._x_scaler is None else self._x_scaler.std[None]

    @property
    def y_mean(self) -> np.ndarray | None:
        return None if self._y_scaler is None else self._y_scaler.mean[None]

    @property
    def y_standard_dev(self) -> np.ndarray | None:
        return None if self._y_scaler is None else self._y_scaler.std[None]

    def _need_floats(self, x: np.ndarray, what: str) -> None:
        if self.is_discrete and not np.issubdtype(np.asarray(x).dtype, np.floating):
            raise ValueError(f"cannot {what} discrete design values; call map_to_logits() or to_logits() first")

    def normalize_x(self, x: np.ndarray) -> np.ndarray:
        self._need_floats(x, "normalize")
        if self._x_scaler is None:
            self.update_x_statistics()
        return self._x_scaler.transform(x)

    def denormalize_x(self, x: np.ndarray) -> np.ndarray:
        self._need_floats(x, "denormalize")
        if self._x_scaler is None:
            self.update_x_statistics()
        return self._x_scaler.inverse(x)

    def normalize_y(self, y: np.ndarray) -> np.ndarray:
        if self._y_scaler is None:
            self.update_y_statistics()
        return self._y_scaler.transform(y)

    def denormalize_y(self, y: np.ndarray) -> np.ndarray:
        if self._y_scaler is None:
            self.update_y_statistics()
        return self._y_scaler.inverse(y)

    def map_normalize_x(self) -> None:
        if self.is_discrete and not self.is_logits:
            raise ValueError("cannot normalize discrete design values; call map_to_logits() first")
        self.is_normalized_x = True
        self.update_x_statistics()

    def map_denormalize_x(self) -> None:
        if self.is_discrete and not self.is_logits:
            raise ValueError("cannot denormalize discrete design values")
        self.is_normalized_x = False

    def map_normalize_y(self) -> None:
        self.is_normalized_y = True
        self.update_y_statistics()

    def map_denormalize_y(self) -> None:
        self.is_normalized_y = False

    # -- logits (discrete tasks) ------------------------------------------------------------------
    def _discrete_only(self) -> None:
        if not self.is_discrete:
            raise ValueError("only supported on discrete datasets")

    def to_logits(self, x: np.ndarray) -> np.ndarray:
        """Tokens ``[n, L]`` → float32 logits ``[n, L, V-1]`` (mbo's :func:`~mbo.nn.to_logits`)."""
        self._discrete_only()
        if not np.issubdtype(np.asarray(x).dtype, np.integer):
            raise ValueError("cannot convert non-integers to logits")
        return to_logits(x, self.num_classes, self.soft_interpolation)

    def to_integers(self, x: np.ndarray) -> np.ndarray:
        """Logits ``[n, L, V-1]`` → int32 tokens ``[n, L]`` (argmax after a zero column)."""
        self._discrete_only()
        if not np.issubdtype(np.asarray(x).dtype, np.floating):
            raise ValueError("cannot convert non-floats to integers")
        return from_logits(x).astype(np.int32)

    def map_to_logits(self) -> None:
        self._discrete_only()
        self.is_logits = True

    def map_to_integers(self) -> None:
        self._discrete_only()
        if self.is_logits and self.is_normalized_x:
            self.map_denormalize_x()
        self.is_logits = False


# -- the task ------------------------------------------------------------------------------------
def _from_dataset(name: str, discrete_only: bool = False) -> property:
    def get(self: TaskView) -> Any:
        if discrete_only and not self.is_discrete:
            raise ValueError("only supported on discrete datasets")
        return getattr(self.dataset, name)
    return property(get, doc=f"``task.dataset.{name}``")


def _call_dataset(name: str, discrete_only: bool = False) -> Callable:
    def call(self: TaskView, *args: Any, **kwargs: Any) -> Any:
        if discrete_only and not self.is_discrete:
            raise ValueError("only supported on discrete datasets")
        return getattr(self.dataset, name)(*args, **kwargs)
    call.__name__ = name
    call.__doc__ = f"``task.dataset.{name}(...)``"
    return call


class TaskView:
    """Design-Bench's ``Task`` over an mbo task's training set and, where allowed, its oracle.

    Made by :func:`make` (oracle available) or for a wrapped ``solve`` (no oracle). See the
    module docstring for what is implemented.

    Example:
        >>> task = make("Branin-Exact-v0")
        >>> task.x.shape, task.y.shape
        ((4500, 2), (4500, 1))
        >>> task.predict(task.x[:1]).shape
        (1, 1)
    """

    def __init__(self, dataset: Dataset, oracle: Callable[[np.ndarray], np.ndarray] | None = None,
                 dataset_name: str = "", oracle_name: str = "exact") -> None:
        self.dataset = dataset
        self._oracle = oracle
        self.dataset_name = dataset_name
        self.oracle_name = oracle_name if oracle is not None else "none"

    @classmethod
    def from_task(cls, task: core.Task, soft_interpolation: float = SOFT) -> TaskView:
        """The view of an mbo task with its oracle (``predict`` = ``task.score``)."""
        data = task.offline_data()
        space = task.space
        dataset = Dataset(data.x, data.y, space.vocab_size if space.is_discrete else None, soft_interpolation,
                          name=task.name, min_percentile=getattr(task, "min_percentile", 0.0),
                          max_percentile=getattr(task, "max_percentile", 100.0))
        return cls(dataset, task.score, task.name)

    @property
    def is_discrete(self) -> bool:
        return self.dataset.is_discrete

    x = _from_dataset("x")
    y = _from_dataset("y")
    x_name = _from_dataset("x_name")
    y_name = _from_dataset("y_name")
    input_shape = _from_dataset("input_shape")
    input_size = _from_dataset("input_size")
    input_dtype = _from_dataset("input_dtype")
    output_shape = _from_dataset("output_shape")
    output_size = _from_dataset("output_size")
    output_dtype = _from_dataset("output_dtype")
    dataset_size = _from_dataset("dataset_size")
    dataset_distribution = _from_dataset("dataset_distribution")
    dataset_min_percentile = _from_dataset("dataset_min_percentile")
    dataset_max_percentile = _from_dataset("dataset_max_percentile")
    dataset_min_output = _from_dataset("dataset_min_output")
    dataset_max_output = _from_dataset("dataset_max_output")
    is_normalized_x = _from_dataset("is_normalized_x")
    is_normalized_y = _from_dataset("is_normalized_y")
    is_logits = _from_dataset("is_logits", discrete_only=True)
    num_classes = _from_dataset("num_classes", discrete_only=True)

    iterate_batches = _call_dataset("iterate_batches")
    iterate_samples = _call_dataset("iterate_samples")
    map_normalize_x = _call_dataset("map_normalize_x")
    map_normalize_y = _call_dataset("map_normalize_y")
    map_denormalize_x = _call_dataset("map_denormalize_x")
    map_denormalize_y = _call_dataset("map_denormalize_y")
    normalize_x = _call_dataset("normalize_x")
    normalize_y = _call_dataset("normalize_y")
    denormalize_x = _call_dataset("denormalize_x")
    denormalize_y = _call_dataset("denormalize_y")
    map_to_logits = _call_dataset("map_to_logits", discrete_only=True)
    map_to_integers = _call_dataset("map_to_integers", discrete_only=True)
    to_logits = _call_dataset("to_logits", discrete_only=True)
    to_integers = _call_dataset("to_integers", discrete_only=True)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return iter(self.dataset)

    def designs(self, x: Any) -> np.ndarray:
        """Designs in the task's current format (normalized, logits; numpy or torch) → raw designs.

        Integer tokens of a discrete task pass through as they are, whatever the format.
        """
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        x = np.asarray(x)
        if self.is_discrete and np.issubdtype(x.dtype, np.integer):
            return x
        if self.dataset.is_normalized_x:
            x = self.dataset.denormalize_x(x)
        if self.is_discrete and x.ndim == 3:
            x = self.dataset.to_integers(x)
        return x

    def predict(self, x_batch: Any) -> np.ndarray:
        """The oracle's scores ``[n, 1]`` float32 of designs in the task's current format.

        Raises:
            OracleAccessError: in a task view given to a wrapped ``solve``.
        """
        if self._oracle is None:
            raise OracleAccessError(
                f"task.predict() was called inside solve() on task {self.dataset_name!r}: {core.ORACLE_RULE}. "
                "Return the designs from solve(); mbo's harness scores them")
        y = np.asarray(self._oracle(self.designs(x_batch)), np.float32).reshape(-1, 1)
        return self.dataset.normalize_y(y) if self.dataset.is_normalized_y else y

    def __repr__(self) -> str:
        mode = "with oracle" if self._oracle is not None else "no oracle"
        return f"TaskView({self.dataset_name!r}, {self.dataset_size} rows, {mode})"


# -- make -----------------------------------------------------------------------------------------
def make(name: str, dataset_kwargs: dict[str, Any] | None = None, oracle_kwargs: dict[str, Any] | None = None,
         relabel: bool = False, data_dir: str | None = None) -> TaskView:
    """Design-Bench's ``make``: the task ``name`` with its oracle.

    Args:
        name: a name of :data:`NATIVE`; with design-bench installed, any of its names.
        dataset_kwargs: accepted when equal to the native protocol (``soft_interpolation`` freely).
        oracle_kwargs: ``noise_std=0.0`` only (mbo's oracles are exact).
        relabel: no effect (design-bench relabels only with approximate oracles).
        data_dir: mbo's data folder (else ``MBO_DATA_DIR``).

    Raises:
        ConfigError: an unknown name (listing what is served and what is not, and why) or a
            keyword value mbo does not serve.
    """
    from mbo.registry import load_class

    dataset_kwargs = dict(dataset_kwargs or {})
    soft = float(dataset_kwargs.pop("soft_interpolation", SOFT))
    if name in NATIVE:
        cls = load_class("task", NATIVE[name])
        _check_protocol(name, cls, dataset_kwargs, oracle_kwargs)
        task = cls(data_dir=data_dir)
    elif TASK_PATTERN.fullmatch(name) and importlib.util.find_spec("design_bench") is not None:
        if dataset_kwargs or oracle_kwargs:
            raise ConfigError(f"{name}: dataset_kwargs/oracle_kwargs are not passed through to design_bench; "
                              "make the task with its registered settings")
        task = external_task(name)(data_dir=data_dir)
    else:
        raise ConfigError(unknown_message(name))
    return TaskView.from_task(task, soft)


def _protocol(cls: type) -> dict[str, Any]:
    """The dataset_kwargs that describe a native Design-Bench task's training set."""
    from mbo.tasks.design_bench import DesignBenchTask

    if not issubclass(cls, DesignBenchTask):
        return {}
    proto = {"max_samples": cls.max_samples, "distribution": None, "min_percentile": cls.min_percentile,
             "max_percentile": cls.max_percentile}
    if cls.folder.startswith("tf_bind"):
        proto["transcription_factor"] = cls.folder.split("-", 1)[1]
    return proto


def _check_protocol(name: str, cls: type, dataset_kwargs: dict[str, Any], oracle_kwargs: dict[str, Any] | None) -> None:
    proto = _protocol(cls)
    for key, value in dataset_kwargs.items():
        want = proto.get(key)
        if key == "distribution":
            same = value in (None, "uniform")
        elif value is None or want is None or isinstance(want, str):
            same = value == want
        else:
            same = isinstance(value, (int, float)) and float(value) == float(want)
        if key not in proto or not same:
            served = ", ".join(f"{k}={v!r}" for k, v in proto.items()) or "no dataset_kwargs"
            raise ConfigError(f"{name}: dataset_kwargs {key}={value!r} is not served; mbo serves {name} as its "
                              f"task {cls.name!r} ({served}). Re-select among its rows with "
                              "task.dataset.subsample(...) instead")
    for key, value in (oracle_kwargs or {}).items():
        if key != "noise_std" or value != 0:
            raise ConfigError(f"{name}: oracle_kwargs {key}={value!r} is not served; mbo's oracles are exact "
                              "(noise_std=0.0 only)")


def unknown_message(name: str) -> str:
    """Why ``name`` cannot be made: the names served, and the Design-Bench names mbo lacks and why."""
    from mbo.registry import load_class, names

    missing = []
    for task_name, target in names("task").items():
        if target.startswith("mbo.tasks.design_bench:"):
            cls = load_class("task", task_name)
            if cls.oracle_missing and cls.design_bench_id:
                missing.append(f"{cls.design_bench_id} (dataset only: {cls.oracle_missing})")
    served = ", ".join(f"{k} ({v})" for k, v in NATIVE.items())
    return (f"unknown Design-Bench task {name!r}.{did_you_mean(name, NATIVE)} mbo serves: {served}. "
            f"Design-Bench tasks without a native oracle in mbo yet: {'; '.join(missing)}; and {OTHER_DESIGN_BENCH}. "
            "With design-bench installed (pip install 'mbo[design-bench]'), make() loads those through "
            "design_bench itself (untested against the real package)")


# -- design-bench-style code as an mbo optimizer ----------------------------------------------------
class Solver(core.Optimizer):
    """An optimizer running ``solve(task, budget, seed) -> x`` on a :class:`TaskView` without oracle.

    Made by :func:`solver_class`; ``target`` names the function (``/abs/file.py:solve`` or
    ``package.module:solve``). ``fit`` keeps the data; ``propose(n)`` calls ``solve`` with a fresh
    view of it, ``budget = n`` and the run seed, and converts its designs back from the view's
    format (see :meth:`TaskView.designs`).
    """

    name = "solver"
    description = "a design-bench-style solve(task, budget, seed) function"
    target: ClassVar[str] = ""

    def fit(self, data: core.OfflineData) -> None:
        self.data_ = data

    def propose(self, n: int) -> np.ndarray:
        self._check_fitted()
        view = TaskView(Dataset.from_offline(self.data_), oracle=None, dataset_name=self.data_.task)
        return view.designs(_load_function(self.target)(view, int(n), self.seed))


class _SolverMeta(type):
    """Metaclass of the classes :func:`solver_class` makes, so that they pickle by reference."""


def _reduce_solver(cls: type) -> tuple[Callable, tuple[str]]:
    return solver_class, (cls.target,)


_SOLVERS: dict[str, type] = {}


def solver_class(target: str | Callable) -> type:
    """The :class:`Solver` subclass that runs ``target``, a function ``solve(task, budget, seed)``.

    Args:
        target: ``path/to/file.py:solve``, ``package.module:solve`` or the function itself (defined
            at the top level of a module or file).

    Returns:
        A class named after the file or module and the function (``my_solver.solve``), cached per
        target; it pickles as ``solver_class(target)``, so a worker process re-imports the function.

    Raises:
        ConfigError: the target cannot be loaded, is not a function, or does not take three arguments.
    """
    spec = _canonical(target)
    if spec in _SOLVERS:
        return _SOLVERS[spec]
    fn = _load_function(spec)
    try:
        inspect.signature(fn).bind(None, 1, 0)
    except TypeError:
        raise ConfigError(f"{spec}: {fn.__name__}{inspect.signature(fn)} must take (task, budget, seed), "
                          "as in: def solve(task, budget, seed) -> designs") from None
    module_part, _, attr = spec.rpartition(":")
    stem = Path(module_part).stem if module_part.endswith(".py") else module_part.rpartition(".")[2]
    doc = (inspect.getdoc(fn) or "").strip().splitlines()
    cls = _SolverMeta(f"{stem}.{attr}", (Solver,), {
        "name": f"{stem}.{attr}", "target": spec, "__module__": fn.__module__, "__qualname__": f"{stem}.{attr}",
        "process_reference": spec,  # how the optimizer's child process rebuilds this class (mbo.isolation)
        "description": doc[0] if doc else f"design-bench-style {attr}() from {module_part}",
        "__doc__": f"Runs {spec} on a task view without oracle (see mbo.compat.design_bench.Solver)."})
    copyreg.pickle(_SolverMeta, _reduce_solver)
    _SOLVERS[spec] = cls
    return cls


def _canonical(target: str | Callable) -> str:
    """``target`` as ``/absolute/file.py:name`` or ``module:name``, the same in every process."""
    if callable(target):
        qual = getattr(target, "__qualname__", "")
        if "<" in qual:
            raise ConfigError(f"{qual}: define the solve function at the top level of a module or file")
        module = sys.modules.get(target.__module__)
        if module is None or target.__module__ == "__main__" or target.__module__.startswith("mbo_user_"):
            return f"{Path(inspect.getsourcefile(target)).resolve()}:{qual}"
        return f"{target.__module__}:{qual}"
    module_part, sep, attr = str(target).rpartition(":")
    if not sep:
        raise ConfigError(f"{target!r}: name the function as path/to/file.py:solve or package.module:solve")
    if module_part.endswith(".py") or "/" in module_part:
        module_part = str(Path(module_part).expanduser().resolve())
    return f"{module_part}:{attr}"


def _load_function(spec: str) -> Callable:
    from mbo.registry import load_class

    fn = load_class("optimizer", spec)
    if isinstance(fn, type) or not callable(fn):
        raise ConfigError(f"{spec} is not a function; a solver is def solve(task, budget, seed) -> designs")
    return fn


# -- design-bench itself, when installed --------------------------------------------------------------
class ExternalTask(core.Task):
    """A Design-Bench task served by the installed ``design_bench`` package: data and oracle.

    Subclasses are made by :func:`external_task`. The training set is ``task.x``/``task.y`` of
    ``design_bench.make(design_bench_id)``; ``y_min``/``y_max`` come from the same dataset with every
    row visible (``max_percentile=100``); the oracle is ``task.predict``. Discrete tasks need a 1-D
    ``input_shape``; continuous ones get an unbounded box, as mbo's native Design-Bench tasks.
    Tested against a stand-in module only.
    """

    design_bench_id: ClassVar[str] = ""

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_db_task"}  # the design-bench task stays here

    @cached_property
    def _db_task(self) -> Any:
        return require("design_bench", extra="design-bench").make(self.design_bench_id)

    def check_oracle(self) -> None:
        require("design_bench", extra="design-bench")

    @cached_property
    def space(self) -> core.DesignSpace:
        t = self._db_task
        if t.is_discrete:
            if len(t.input_shape) != 1:
                raise ConfigError(f"{self.name}: designs of shape {t.input_shape} are not sequences; mbo's "
                                  "discrete spaces are [n, length]")
            return core.DesignSpace.discrete(int(t.input_shape[0]), int(t.num_classes))
        return core.DesignSpace.continuous([-np.inf] * int(t.input_size), [np.inf] * int(t.input_size))

    @cached_property
    def _y_range(self) -> tuple[float, float]:
        ds = self._db_task.dataset
        full = ds.rebuild_dataset(ds.x_shards, ds.y_shards, ds.dataset_visible_mask)
        full.subsample(max_samples=None, distribution=None, min_percentile=0.0, max_percentile=100.0)
        y = np.asarray(full.y, np.float64)
        return float(y.min()), float(y.max())

    @property
    def y_min(self) -> float:
        return self._y_range[0]

    @property
    def y_max(self) -> float:
        return self._y_range[1]

    def _load_offline(self) -> tuple[np.ndarray, np.ndarray]:
        t = self._db_task
        return np.asarray(t.x), np.asarray(t.y, np.float32).reshape(-1)

    def _score(self, x: np.ndarray) -> np.ndarray:
        t = self._db_task
        return np.asarray(t.predict(np.asarray(x, t.input_dtype)), np.float64).reshape(-1)


_EXTERNAL: dict[str, type] = {}


def external_task(design_bench_id: str) -> type:
    """The :class:`ExternalTask` subclass for ``design_bench_id`` (cached; picklable by reference).

    Also reachable as ``mbo.compat.design_bench:<id>``, e.g. ``mbo run --task
    mbo.compat.design_bench:Superconductor-RandomForest-v0``. design_bench is imported on first use.
    """
    if not TASK_PATTERN.fullmatch(design_bench_id):
        raise ConfigError(f"{design_bench_id!r} is not a Design-Bench task name (Dataset-Oracle-vN)")
    if design_bench_id not in _EXTERNAL:
        try:
            from importlib.metadata import version

            db_version = version("design-bench")
        except Exception:  # the stand-in module or a source checkout has no distribution metadata
            db_version = "unknown"
        _EXTERNAL[design_bench_id] = type(design_bench_id, (ExternalTask,), {
            "name": design_bench_id, "design_bench_id": design_bench_id, "__module__": __name__,
            "__qualname__": design_bench_id, "data_version": f"design-bench-{db_version}",
            "description": f"Design-Bench {design_bench_id} through the installed design_bench package"})
    return _EXTERNAL[design_bench_id]


def __getattr__(name: str) -> type:
    if TASK_PATTERN.fullmatch(name):
        return external_task(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["NATIVE", "Dataset", "TaskView", "make", "Solver", "solver_class", "ExternalTask", "external_task"]

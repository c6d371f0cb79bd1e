"""Core types: the design space, the offline data an optimizer sees, the task and the optimizer contract.

Data flows one way: a :class:`Task` hands :class:`OfflineData` to an :class:`Optimizer`, which
returns designs; only the harness calls :meth:`Task.score`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mbo.errors import ConfigError, InvalidCandidatesError, NotFittedError, OracleAccessError


@dataclass(frozen=True)
class DesignSpace:
    """Where designs live: discrete sequences or a continuous box.

    Discrete designs are int64 arrays ``[n, length]`` with tokens in ``[0, vocab_size)``;
    continuous designs are float32 arrays ``[n, dim]`` inside ``[lower, upper]``.

    Example:
        >>> space = DesignSpace.continuous(lower=[-5, 0], upper=[10, 15])
        >>> space.sample(3, np.random.default_rng(0)).shape
        (3, 2)
    """

    kind: str
    length: int = 0
    vocab_size: int = 0
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()

    @classmethod
    def discrete(cls, length: int, vocab_size: int) -> DesignSpace:
        return cls("discrete", length=int(length), vocab_size=int(vocab_size))

    @classmethod
    def continuous(cls, lower, upper) -> DesignSpace:
        lower = tuple(float(v) for v in np.ravel(lower))
        upper = tuple(float(v) for v in np.ravel(upper))
        if len(lower) != len(upper) or any(lo >= hi for lo, hi in zip(lower, upper)):
            raise ConfigError(f"bounds must have equal length with lower < upper, got {lower} / {upper}")
        return cls("continuous", lower=lower, upper=upper)

    @property
    def is_discrete(self) -> bool:
        return self.kind == "discrete"

    @property
    def dim(self) -> int:
        """Number of entries of one design (``length`` or ``dim``)."""
        return self.length if self.is_discrete else len(self.lower)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper)`` as float32 arrays ``[dim]`` (continuous spaces only)."""
        return np.asarray(self.lower, np.float32), np.asarray(self.upper, np.float32)

    def describe(self) -> str:
        if self.is_discrete:
            return f"discrete: length {self.length}, {self.vocab_size} tokens"
        lo, hi = self.bounds
        if np.all(lo == lo[0]) and np.all(hi == hi[0]):
            return f"continuous: {self.dim} dims in [{lo[0]:g}, {hi[0]:g}]"
        return f"continuous: {self.dim} dims in box"

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` designs uniformly from the space."""
        if self.is_discrete:
            return rng.integers(0, self.vocab_size, size=(n, self.length), dtype=np.int64)
        lo, hi = self.bounds
        return rng.uniform(lo, hi, size=(n, self.dim)).astype(np.float32)

    def check(self, x: Any, n: int | None = None) -> tuple[np.ndarray, int]:
        """Validate a batch of designs.

        Args:
            x: designs, array-like (a torch tensor is accepted).
            n: the expected number of rows, if any.

        Returns:
            ``(designs, num_clipped)``: a clean array of the space's dtype and how many
            continuous rows were clipped into the box.

        Raises:
            InvalidCandidatesError: naming the rows and the reason.
        """
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        x = np.asarray(x)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if n is not None and (x.ndim < 1 or x.shape[0] != n):
            got = x.shape[0] if x.ndim else "a scalar"
            raise InvalidCandidatesError(f"expected {n} candidates (the budget Q), got {got}")
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InvalidCandidatesError(
                f"candidates must have shape [n, {self.dim}] for {self.describe()}, got {list(x.shape)}")
        if self.is_discrete:
            if not np.issubdtype(x.dtype, np.integer):
                raise InvalidCandidatesError(
                    f"discrete candidates must be integer tokens, got dtype {x.dtype}; "
                    "decode logits with mbo.nn.from_logits (argmax) before returning them")
            bad = np.flatnonzero(((x < 0) | (x >= self.vocab_size)).any(axis=1))
            if bad.size:
                raise InvalidCandidatesError(
                    f"tokens out of range [0, {self.vocab_size}) in rows {_rows(bad)}; "
                    f"e.g. row {bad[0]} = {x[bad[0]].tolist()}")
            return x.astype(np.int64), 0
        if not np.issubdtype(x.dtype, np.number):
            raise InvalidCandidatesError(f"continuous candidates must be numeric, got dtype {x.dtype}")
        x = x.astype(np.float32)
        bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
        if bad.size:
            raise InvalidCandidatesError(f"non-finite values (NaN or inf) in rows {_rows(bad)}")
        lo, hi = self.bounds
        outside = ((x < lo) | (x > hi)).any(axis=1)
        return np.clip(x, lo, hi), int(outside.sum())


def _rows(idx: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in idx[:limit])
    return f"[{shown}{', ...' if idx.size > limit else ''}] ({idx.size} rows)"


@dataclass(frozen=True)
class OfflineData:
    """What an optimizer sees: the offline designs and their scores, nothing else.

    Attributes:
        x: designs ``[n, dim]`` (int64 tokens or float32), read-only.
        y: scores ``[n]`` float32, higher is better, read-only.
        space: the design space.
        task: the task's name (for logging only).
    """

    x: np.ndarray
    y: np.ndarray
    space: DesignSpace
    task: str = ""

    def __post_init__(self) -> None:
        x = np.array(self.x, dtype=np.int64 if self.space.is_discrete else np.float32)
        y = np.array(self.y, dtype=np.float32).reshape(-1)
        if x.shape[0] != y.shape[0]:
            raise ConfigError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
        x.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best designs and scores, best first (ties broken by row order)."""
        idx = np.argsort(-self.y, kind="stable")[:k]
        return self.x[idx], self.y[idx]


class _OracleSeal:
    """Process-wide state: which optimizer phase is running, and the oracle calls it attempted."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.violations: list[str] = []
        self.loading = threading.local()  # a task building its own offline data may use its formula


_SEAL = _OracleSeal()
ORACLE_RULE = ("only the harness calls a task's oracle; an optimizer sees nothing but the OfflineData "
               "passed to fit() (ARCHITECTURE.md, 'Nothing flows back from the oracle into an optimizer')")


@contextlib.contextmanager
def sealed_oracle(phase: str) -> Iterator[None]:
    """Run an optimizer's ``phase`` (fit, propose, ...) with every task's oracle closed.

    Any call of ``score`` or ``_score`` on any :class:`Task` instance in this process raises
    :class:`OracleAccessError`; if the optimizer swallows that error, the phase still fails
    when it ends.
    """
    outer, start = _SEAL.phase, len(_SEAL.violations)
    _SEAL.phase = phase
    try:
        yield
    except Exception as exc:
        if len(_SEAL.violations) > start and not isinstance(exc, OracleAccessError):
            raise OracleAccessError(_SEAL.violations[start]) from exc
        raise
    finally:
        _SEAL.phase = outer
        violation = _SEAL.violations[start] if len(_SEAL.violations) > start else None
        del _SEAL.violations[start:]
    if violation is not None:
        raise OracleAccessError(violation)


def _check_oracle_open(task: Task, method: str) -> None:
    if _SEAL.phase is None or getattr(_SEAL.loading, "depth", 0):
        return
    msg = (f"{type(task).__name__}.{method}() of task {task.name!r} was called during the optimizer's "
           f"{_SEAL.phase}(): {ORACLE_RULE}. The run is failed")
    _SEAL.violations.append(msg)
    raise OracleAccessError(msg)


def _guarded(method: Any, name: str) -> Any:
    """``method`` wrapped so that it fails while an optimizer phase is running."""
    if not callable(method) or getattr(method, "_oracle_guarded", False):
        return method

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        _check_oracle_open(self, name)
        return method(self, *args, **kwargs)

    guarded._oracle_guarded = True
    return guarded


class Task:
    """An offline MBO problem: a design space, an offline dataset and a hidden oracle.

    Subclasses state their facts as class data (``name``, ``description``, ``space``,
    ``y_min``/``y_max`` over the *full* dataset, ``optimum`` where known, ``data_version``)
    and implement ``_load_offline`` and a vectorized ``_score``. The base class validates
    designs, caches the offline data and normalizes scores. A task whose protocol draws the
    training set per trial sets ``seeded_data`` and implements ``_load_offline(seed)`` and
    ``data_rows(seed)``; a variant with another data protocol names its task in ``variant_of``.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    space: DesignSpace
    y_min: float
    y_max: float
    optimum: ClassVar[float | None] = None
    report_raw: ClassVar[bool] = False
    data_version: ClassVar[str] = "1"
    seeded_data: ClassVar[bool] = False  # the protocol draws the training set per trial: from the run seed
    variant_of: ClassVar[str | None] = None  # the task whose paper cells this variant is shown against

    def __init__(self, data_dir: str | None = None) -> None:
        self.data_dir = data_dir
        self._offline: dict[int | None, OfflineData] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Guard every ``score`` / ``_score`` a subclass defines, so no override bypasses the oracle rule."""
        super().__init_subclass__(**kwargs)
        for name in ("score", "_score", "candidate_diagnostics", "gradient"):
            if name in cls.__dict__:
                setattr(cls, name, _guarded(cls.__dict__[name], name))

    # -- subclass hooks -------------------------------------------------------
    def _load_offline(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} does not implement _load_offline(self)")

    def _score(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement _score(self, x)")

    def availability(self) -> tuple[bool, str]:
        """``(ok, reason)``: whether data and oracle can be used here, and if not, why."""
        return True, "built in"

    # -- public API -----------------------------------------------------------
    def offline_data(self, seed: int | None = None) -> OfflineData:
        """The visible training set (loaded once per seed, then cached).

        A task whose protocol draws its training set anew for every trial (``seeded_data``, e.g.
        ``tfbind10``) draws it from ``seed`` (the harness passes the run seed; ``None`` is seed 0)
        and implements ``_load_offline(self, seed)``; every other task ignores ``seed``.
        """
        key = (0 if seed is None else int(seed)) if self.seeded_data else None
        if key not in self._offline:
            loading = _SEAL.loading
            loading.depth = getattr(loading, "depth", 0) + 1
            try:
                x, y = self._load_offline(key) if self.seeded_data else self._load_offline()
            finally:
                loading.depth -= 1
            self._offline[key] = OfflineData(x, y, self.space, self.name)
        return self._offline[key]

    def data_rows(self, seed: int | None = None) -> dict[str, Any] | None:
        """Which rows of the full dataset the training set of ``seed`` holds (stored in the run record
        as ``data_subset``), for tasks that subsample; ``None`` for the others."""
        return None

    def check_oracle(self) -> None:
        """Raise :class:`OracleUnavailableError` if ``score`` cannot work here."""

    def candidate_diagnostics(self, x: np.ndarray) -> dict[str, Any]:
        """Oracle-side facts about the scored candidates ``[n, dim]`` (e.g. the infeasible share).

        The harness calls it after scoring and stores the result under ``diagnostics.task``;
        like ``score`` it is closed while an optimizer's code runs.
        """
        return {}

    def gradient(self, x: np.ndarray) -> np.ndarray | None:
        """Exact gradient ``[n, dim]`` of the maximized objective at continuous designs ``x`` (closed-form
        tasks), else ``None``. Oracle information: closed while an optimizer's code runs; the harness
        uses it only for ``diagnostics.surrogate_gradient``."""
        return None

    def score(self, x: np.ndarray) -> np.ndarray:
        """Oracle scores ``[n]`` float64 of designs ``[n, dim]`` (validated, clipped).

        Only the harness calls it: during an optimizer's ``fit``/``propose`` it raises
        :class:`~mbo.errors.OracleAccessError` (as does ``_score`` and any override of either).
        """
        _check_oracle_open(self, "score")
        x, _ = self.space.check(x)
        self.check_oracle()
        return np.asarray(self._score(x), dtype=np.float64).reshape(-1)

    def normalize(self, y: np.ndarray) -> np.ndarray:
        """Design-Bench normalization ``(y - y_min) / (y_max - y_min)`` over the full dataset."""
        return (np.asarray(y, np.float64) - self.y_min) / (self.y_max - self.y_min)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, space={self.space.describe()!r})"


class Optimizer:
    """Base class of every optimizer.

    A subclass sets ``name``, a nested ``Config`` dataclass whose defaults are the paper's
    settings, optional ``profiles`` (``{"quick": {...}, "paper": {...}}`` of field overrides),
    and implements ``fit(data)`` and ``propose(n)``. The constructor only stores ``config``,
    ``seed`` and ``device``; work happens in ``fit``.

    Example:
        >>> class Best(Optimizer):
        ...     name = "best"
        ...     def fit(self, data): self.data_ = data
        ...     def propose(self, n): return self.data_.top(n)[0]
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    supports_discrete: ClassVar[bool] = True
    supports_continuous: ClassVar[bool] = True
    profiles: ClassVar[dict[str, dict[str, Any]]] = {}
    slow_on_cpu: ClassVar[tuple[str, ...]] = ()
    """Profiles (``"paper"`` = the defaults) that take hours on a CPU; ``mbo run`` then points to a faster one."""

    @dataclass
    class Config:
        pass

    def __init__(self, config: Any = None, seed: int = 0, device: Any = "cpu") -> None:
        self.config = config if config is not None else self.Config()
        self.seed = int(seed)
        self.device = device

    def fit(self, data: OfflineData) -> None:
        """Train on the offline data."""
        raise NotImplementedError(f"{type(self).__name__} does not implement fit(self, data)")

    def propose(self, n: int) -> np.ndarray:
        """Return ``n`` designs ``[n, dim]`` of the data's design space."""
        raise NotImplementedError(f"{type(self).__name__} does not implement propose(self, n)")

    def diagnostics(self) -> dict[str, Any]:
        """Optional facts about the fitted model, stored in the run record under ``diagnostics.optimizer``.

        Called once after :meth:`propose`. Values must be JSON-friendly (numbers, strings, lists,
        dicts); numpy scalars and arrays are converted. Example: the surrogate's Spearman
        correlation on its training data.
        """
        return {}

    def surrogate_gradient(self, x: np.ndarray) -> np.ndarray | None:
        """Optional: gradient ``[n, dim]`` of the optimizer's surrogate prediction w.r.t. raw continuous
        designs ``x`` ``[n, dim]`` (``None``: no differentiable surrogate). Called after :meth:`propose`;
        the harness compares it with a closed-form task's exact gradient (``diagnostics.surrogate_gradient``)."""
        return None

    # -- helpers for subclasses ----------------------------------------------
    def _check_fitted(self, attr: str = "data_") -> None:
        if not hasattr(self, attr):
            raise NotFittedError(f"{type(self).__name__}.propose was called before fit; call fit(data) first")

    @classmethod
    def supports(cls, space: DesignSpace) -> tuple[bool, str]:
        if space.is_discrete and not cls.supports_discrete:
            return False, f"{cls.name} does not support discrete design spaces"
        if not space.is_discrete and not cls.supports_continuous:
            return False, f"{cls.name} does not support continuous design spaces"
        return True, ""


def config_dict(config: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a config dataclass."""
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {}


__all__ = ["DesignSpace", "OfflineData", "Task", "Optimizer", "config_dict", "sealed_oracle"]

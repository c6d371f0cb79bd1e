"""mbo: offline model-based optimization benchmarks.

Example:
    >>> import mbo
    >>> task = mbo.make_task("branin")
    >>> record = mbo.run(task, "grad-ascent", seed=0, budget=128, profile="quick")
    >>> mbo.leaderboard(mbo.load_records())

Importing this package is cheap: torch, pandas and other heavy modules load on first use.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "DesignSpace": "mbo.core", "OfflineData": "mbo.core", "Task": "mbo.core", "Optimizer": "mbo.core",
    "make_task": "mbo.harness", "make_optimizer": "mbo.harness", "run": "mbo.harness",
    "load_records": "mbo.report", "leaderboard": "mbo.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mbo' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)

"""Optimizers that try to reach the oracle around the harness (tests/test_oracle_boundary.py); each run must fail.

Loaded by path (``tests/cheaters.py:Class``). Each returns the offline top designs if its trick
fails to raise, so a route that is *not* closed shows up as an ``ok`` run.
"""
from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass

import numpy as np

from mbo.core import DesignSpace, Optimizer, Task


class _Base(Optimizer):
    def fit(self, data):
        self.data_ = data

    def propose(self, n):
        self.cheat(self.data_.space.sample(4 * n, np.random.default_rng(0)))
        return self.data_.top(n)[0]

    def cheat(self, pool):
        raise NotImplementedError


class PrivateState(_Base):
    """A task's private tables: ``Branin()._full`` holds the hidden top 10 %."""

    name = "private-state"

    def cheat(self, pool):
        from mbo.tasks.synthetic import Branin

        return Branin()._full


class ModuleFunction(_Base):
    """The closed form behind a synthetic task, called directly."""

    name = "module-function"

    def cheat(self, pool):
        import mbo.tasks.synthetic

        return mbo.tasks.synthetic.branin(pool)


class Unwrapped(_Base):
    """The unguarded ``_score`` under the seal's wrapper."""

    name = "unwrapped"

    def cheat(self, pool):
        import mbo

        task = mbo.make_task(self.data_.task)
        return type(task)._score.__wrapped__(task, pool)


class SealOff(_Base):
    """Switches the in-process seal off, then scores."""

    name = "seal-off"

    def cheat(self, pool):
        import mbo
        import mbo.core

        mbo.core._SEAL.phase = None
        return mbo.make_task(self.data_.task).score(pool)


class _Laundry(Task):
    """A task whose loader (exempt from the seal) labels designs with another task's oracle."""

    name = "laundry"
    space = DesignSpace.continuous(lower=[-5, 0], upper=[10, 15])
    y_min, y_max = -300.0, 0.0

    def _load_offline(self):
        from mbo.tasks.synthetic import Branin

        oracle = Branin()
        x = self.space.sample(64, np.random.default_rng(1))
        return x, oracle.score(x)


class LoaderLaundering(_Base):
    name = "loader-laundering"

    def cheat(self, pool):
        return _Laundry().offline_data()


@dataclass
class _PathConfig:
    path: str = ""


class ReadsFile(_Base):
    """``np.load`` (or ``open``) of a file the config names: data files, cached tables, records."""

    name = "reads-file"
    Config = _PathConfig

    def cheat(self, pool):
        if self.config.path.endswith(".npy"):
            return np.load(self.config.path)
        with open(self.config.path, "rb") as fh:
            return fh.read()


class WritesCheckpoint(_Base):
    """Writes and reads back a file in the checkpoint folder it is given (allowed)."""

    name = "writes-checkpoint"
    Config = _PathConfig

    def cheat(self, pool):
        os.makedirs(self.config.path, exist_ok=True)
        np.save(os.path.join(self.config.path, "state.npy"), pool)
        return np.load(os.path.join(self.config.path, "state.npy"))


class StartsProcess(_Base):
    name = "starts-process"

    def cheat(self, pool):
        import subprocess

        return subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True)


class SwallowsRefusal(_Base):
    """Catches the refusal and carries on: the run must still fail."""

    name = "swallows"

    def cheat(self, pool):
        try:
            import mbo.tasks.synthetic  # noqa: F401
        except Exception:
            pass


class LooksAround(_Base):
    """Reports what its process holds: no task object, no task module."""

    name = "looks-around"

    def cheat(self, pool):
        pass

    def diagnostics(self):
        return {"tasks_in_memory": sum(isinstance(o, Task) for o in gc.get_objects()),
                "task_modules": sorted(m for m in sys.modules if m.startswith("mbo.tasks")),
                "pid": os.getpid()}

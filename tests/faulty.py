"""Misbehaving optimizers for the harness tests (loaded as ``tests/faulty.py:Class``)."""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mbo.core import Optimizer
from mbo.progress import progress


def _write_atomic(path, value):
    """Write ``value`` so that a test polling ``path`` from another process never reads a half-written
    (empty) file: ``write_text`` truncates first, and a poll between truncation and write saw ''."""
    tmp = Path(f"{path}.tmp")
    tmp.write_text(str(value))
    os.replace(tmp, path)


class _Base(Optimizer):
    def fit(self, data):
        self.data_ = data


class ReturnsNaN(_Base):
    name = "nan"

    def propose(self, n):
        x = self.data_.space.sample(n, np.random.default_rng(0)).astype(np.float32)
        x[[1, 4]] = np.nan
        return x


class WrongCount(_Base):
    name = "count"

    def propose(self, n):
        return self.data_.space.sample(n - 1, np.random.default_rng(0))


class WrongShape(_Base):
    name = "shape"

    def propose(self, n):
        return np.zeros((n, self.data_.space.dim + 1))


class BadTokens(_Base):
    name = "tokens"

    def propose(self, n):
        x = self.data_.space.sample(n, np.random.default_rng(0))
        x[2, 0] = self.data_.space.vocab_size
        return x


class Raises(_Base):
    name = "raises"

    def fit(self, data):
        raise RuntimeError("boom in fit")

    def propose(self, n):
        raise AssertionError("propose must not run after fit failed")


class Slow(_Base):
    """Sleeps, so a sweep can be killed while it runs."""

    name = "slow"

    @dataclass
    class Config:
        sleep: float = 0.4
        pidfile: str = ""  # where to write the pid of the process running it

    def propose(self, n):
        if self.config.pidfile:
            _write_atomic(self.config.pidfile, os.getpid())
        time.sleep(self.config.sleep)
        return self.data_.space.sample(n, np.random.default_rng(self.seed))


class Steps(_Base):
    """A checkpointed loop of slow steps whose candidates depend on every step (to stop it mid-fit).

    After each step it writes its position to ``marker``.
    """

    name = "steps"

    @dataclass
    class Config:
        steps: int = 60
        sleep: float = 0.05
        marker: str = ""

    def fit(self, data):
        import torch

        from mbo import checkpoint

        self.data_ = data
        self.acc_ = torch.zeros(data.space.dim, dtype=torch.float64)
        gen = torch.Generator().manual_seed(self.seed)
        for i in checkpoint.epochs(self.config.steps, desc="steps", state={"acc": self.acc_, "gen": gen},
                                   unit="step"):
            self.acc_ += torch.rand(data.space.dim, generator=gen, dtype=torch.float64)
            time.sleep(self.config.sleep)
            if self.config.marker:
                _write_atomic(self.config.marker, i + 1)

    def propose(self, n):
        lo, hi = np.asarray(self.data_.space.lower), np.asarray(self.data_.space.upper)
        x = self.data_.space.sample(n, np.random.default_rng(self.seed))
        x[0] = lo + (hi - lo) * self.acc_.numpy() / self.config.steps
        return x


class DiesOnce(_Base):
    """Kills its own process (like the out-of-memory killer) in its first ``deaths`` attempts.

    ``marker`` is a file that counts the attempts across processes.
    """

    name = "dies"

    @dataclass
    class Config:
        marker: str = ""
        deaths: int = 1

    def fit(self, data):
        marker = Path(self.config.marker)
        attempts = len(marker.read_text().splitlines()) if marker.exists() else 0
        if attempts < self.config.deaths:
            with open(marker, "a") as fh:
                fh.write(f"{os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        self.data_ = data

    def propose(self, n):
        return self.data_.space.sample(n, np.random.default_rng(self.seed))


class Chatty(_Base):
    """Shows a progress bar while it fits (to test whose bars a sweep draws)."""

    name = "chatty"

    def fit(self, data):
        for _ in progress(range(30), desc="chatty-fit"):
            time.sleep(0.02)
        self.data_ = data

    def propose(self, n):
        return self.data_.space.sample(n, np.random.default_rng(self.seed))


class FailsOnRequest(_Base):
    """Succeeds unless ``$MBO_TEST_FAIL`` is set: one run id that can fail on a re-run."""

    name = "fails-on-request"

    def propose(self, n):
        import os

        if os.environ.get("MBO_TEST_FAIL"):
            raise RuntimeError("asked to fail")
        return self.data_.top(n)[0]


class PeeksAtOracle(_Base):
    """Scores designs with a fresh task's oracle inside ``propose`` (forbidden)."""

    name = "peeks"

    def propose(self, n):
        import mbo

        pool = self.data_.space.sample(50 * n, np.random.default_rng(self.seed))
        return pool[np.argsort(-mbo.make_task(self.data_.task).score(pool))[:n]]


class PeeksAndHides(_Base):
    """Calls the oracle in ``fit``, swallows the error and carries on: the run must still fail."""

    name = "peeks-and-hides"

    def fit(self, data):
        from tests.conftest import TinyContinuous

        self.data_ = data
        try:
            TinyContinuous()._score(data.x[:2])
        except Exception:
            pass

    def propose(self, n):
        return self.data_.top(n)[0]


class SneakyConstructor(_Base):
    """Calls an oracle in its constructor (forbidden)."""

    name = "sneaky"

    def __init__(self, *args, **kwargs):
        from tests.conftest import TinyContinuous

        super().__init__(*args, **kwargs)
        TinyContinuous().score(np.zeros((1, 2)))

    def propose(self, n):
        return self.data_.top(n)[0]


class Diag(_Base):
    """Returns numpy values and a NaN from ``diagnostics``."""

    name = "diag"

    def propose(self, n):
        return self.data_.top(n)[0]

    def diagnostics(self):
        return {"spearman": np.float32(0.5), "hist": np.arange(3), "bad": float("nan")}


class EnvProbe(_Base):
    """Reports the OpenMP wait policy its process runs under (in its diagnostics)."""

    name = "env-probe"

    def propose(self, n):
        return self.data_.top(n)[0]

    def diagnostics(self):
        return {"omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}


def training_step_faults(steps: int = 10) -> float:
    """Minor page faults of a typical training step (the median over ``steps``, after 3 warm-up steps) of a
    2048-wide MLP with torch's single-tensor Adam (whose update makes parameter-sized temporaries), in this
    process. The median, not the mean: with the heap tuned, a step now and then still touches a new 16 MiB
    stretch of heap for the first time (4,096 faults, once), which is growth, not the per-step churn measured
    here (glibc's defaults: ~8,000 faults every step)."""
    import resource
    import statistics

    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, foreach=False)
    x, y = torch.randn(64, 64), torch.randn(64, 1)

    def step():
        loss = (model(x) - y).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    faults = []
    for _ in range(steps):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        step()
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return float(statistics.median(faults))


class AllocProbe(_Base):
    """Reports the page faults of a training step in its process (in its diagnostics)."""

    name = "alloc-probe"

    def propose(self, n):
        return self.data_.top(n)[0]

    def diagnostics(self):
        return {"faults_per_step": training_step_faults()}


class SubnormalProbe(_Base):
    """Reports, in its diagnostics, whether its process keeps subnormal floats: on two threads, and in
    the first moment of an Adam parameter that stops getting gradient (a dead ReLU unit's weight)."""

    name = "subnormal-probe"

    def propose(self, n):
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(2)  # a parallel op: every OpenMP thread must flush, not only the main one
        kept = int((torch.full((1 << 20,), 1e-39) * 0.5 != 0).sum())
        torch.set_num_threads(before)
        w = torch.nn.Parameter(torch.ones(4))
        adam = torch.optim.Adam([w], lr=1e-3)
        w.grad = torch.ones(4)
        adam.step()
        for _ in range(2000):  # m = 0.1 · 0.9^t reaches the subnormal range at t ≈ 800
            w.grad = torch.zeros(4)
            adam.step()
        self.probe_ = {"subnormals_kept": kept, "adam_moment": float(adam.state[w]["exp_avg"][0])}
        return self.data_.top(n)[0]

    def diagnostics(self):
        return self.probe_

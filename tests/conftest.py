"""Shared fixtures: tiny tasks that every optimizer must handle in seconds.

The whole session uses a fresh temporary cache (``MBO_CACHE_DIR``), removed at the end: tests
never write into the user's cache (``~/.cache/mbo``) and never read what an earlier run left
there. Data files still come from ``MBO_DATA_DIR`` when it is set (tests on real data skip
without it).
"""
from __future__ import annotations

# ruff: noqa: E402 -- the wait policy must be set before numpy or torch loads OpenMP
import os

from mbo.threads import passive_openmp

# As the `mbo` command does: OpenMP threads that spin while they wait make the suite crawl when another
# process holds a core (tests/optimizers/test_ddom.py on a 2-core VM with one core busy: 30 s → 7 s).
passive_openmp()

import itertools
import shutil
import tempfile

import numpy as np
import pytest

from mbo.core import DesignSpace, Task

os.environ.setdefault("MBO_QUIET", "1")
USER_CACHE_DIR = os.environ.get("MBO_CACHE_DIR")  # what the caller had; never used by the tests
# This file is also loaded by path ("tests/conftest.py:TinyDiscrete") in tests and sweep workers:
# those loads reuse the session's folder; only the session that made it removes it.
_OWNED = not os.environ.get("MBO_TEST_CACHE_DIR")
if _OWNED:
    os.environ["MBO_TEST_CACHE_DIR"] = tempfile.mkdtemp(prefix="mbo-test-cache-")
TEST_CACHE_DIR = os.environ["MBO_TEST_CACHE_DIR"]
os.environ["MBO_CACHE_DIR"] = TEST_CACHE_DIR
# What a skipped data test tells the user: how to get the files, not a path of one development layout.
DATA_HINT = ("set MBO_DATA_DIR to a folder holding Design-Bench's files (`mbo data download tfbind8 --to FOLDER` "
             "fetches them; `mbo data path` shows where they are looked for)")
# Runs that name no results folder go to the session's folder, never to the user's default one.
os.environ["MBO_RESULTS_DIR"] = os.path.join(TEST_CACHE_DIR, "results")


def pytest_unconfigure(config) -> None:
    if _OWNED:
        shutil.rmtree(TEST_CACHE_DIR, ignore_errors=True)


class TinyDiscrete(Task):
    """All 4^6 sequences; y = weighted matches to a target motif; training set ≤ median."""

    name = "tiny-discrete"
    description = "test task: 6 positions, 4 tokens"
    space = DesignSpace.discrete(length=6, vocab_size=4)
    target = np.array([3, 1, 0, 2, 3, 1])
    weights = np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    y_min = 0.0
    y_max = float(weights.sum())
    optimum = y_max

    def _load_offline(self):
        x = np.array(list(itertools.product(range(4), repeat=6)), dtype=np.int64)
        y = self._score(x)
        keep = y <= np.median(y)
        return x[keep], y[keep]

    def _score(self, x):
        return ((x == self.target) * self.weights).sum(axis=1)


class TinyContinuous(Task):
    """Negative squared distance to (1, -0.5) on [-2, 2]^2; 400 points, training set ≤ median."""

    name = "tiny-continuous"
    description = "test task: 2-D quadratic"
    space = DesignSpace.continuous(lower=[-2.0, -2.0], upper=[2.0, 2.0])
    center = np.array([1.0, -0.5])
    y_min = -float(((np.array([-2.0, 2.0]) - center) ** 2).sum())
    y_max = 0.0
    optimum = 0.0

    def _load_offline(self):
        x = self.space.sample(400, np.random.default_rng(0))
        y = self._score(x)
        keep = y <= np.median(y)
        return x[keep], y[keep]

    def _score(self, x):
        return -((x - self.center) ** 2).sum(axis=1)


TINY_TASKS = [TinyDiscrete, TinyContinuous]


@pytest.fixture(params=TINY_TASKS, ids=lambda c: c.name)
def tiny_task(request) -> Task:
    return request.param()

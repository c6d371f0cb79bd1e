"""Misbehaving optimizers for the harness tests (loaded as ``tests/faulty.py:Class``)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mbo.core import Optimizer


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


class Slow(_Base):
    """Sleeps, so a sweep can be killed while it runs."""

    name = "slow"

    @dataclass
    class Config:
        sleep: float = 0.4

    def propose(self, n):
        time.sleep(self.config.sleep)
        return self.data_.space.sample(n, np.random.default_rng(self.seed))

"""DesignSpace validation, OfflineData, and the config resolver."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pytest

from mbo.config import parse_assignments, resolve_config
from mbo.core import DesignSpace, OfflineData, Optimizer
from mbo.errors import ConfigError, InvalidCandidatesError

DISC = DesignSpace.discrete(length=3, vocab_size=4)
CONT = DesignSpace.continuous(lower=[0, 0], upper=[1, 2])


def test_discrete_check_accepts_tokens_and_names_bad_rows():
    x, clipped = DISC.check(np.array([[0, 1, 3], [2, 2, 2]], dtype=np.int32))
    assert x.dtype == np.int64 and clipped == 0
    with pytest.raises(InvalidCandidatesError, match=r"rows \[1\]"):
        DISC.check(np.array([[0, 1, 3], [0, 4, 0]]))
    with pytest.raises(InvalidCandidatesError, match="integer tokens"):
        DISC.check(np.zeros((2, 3), np.float32))


def test_check_count_and_shape():
    with pytest.raises(InvalidCandidatesError, match="expected 4 candidates"):
        CONT.check(np.zeros((3, 2)), n=4)
    with pytest.raises(InvalidCandidatesError, match=r"shape \[n, 2\]"):
        CONT.check(np.zeros((4, 3)), n=4)


def test_continuous_nan_rows_are_named_and_out_of_box_clipped():
    x = np.array([[0.5, 0.5], [np.nan, 0.0], [0.2, np.inf]])
    with pytest.raises(InvalidCandidatesError, match=r"rows \[1, 2\]"):
        CONT.check(x)
    x, clipped = CONT.check(np.array([[-1.0, 0.5], [0.5, 3.0], [0.5, 0.5]]))
    assert clipped == 2
    np.testing.assert_allclose(x, [[0, 0.5], [0.5, 2.0], [0.5, 0.5]])


def test_offline_data_is_read_only_and_top_is_sorted():
    data = OfflineData(np.array([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]), np.array([1.0, 3.0, 2.0]), CONT)
    with pytest.raises(ValueError):
        data.x[0, 0] = 5
    x, y = data.top(2)
    np.testing.assert_allclose(y, [3.0, 2.0])
    np.testing.assert_allclose(x[0], [0.2, 0.2])


class _Opt(Optimizer):
    name = "toy"

    @dataclass
    class Config:
        steps: int = 10
        rate: float = 0.1
        use_noise: bool = False
        mode: Literal["a", "b"] = "a"
        tau: float | None = None

    profiles = {"quick": {"steps": 2}}


def test_resolve_config_types_profiles_and_errors():
    cfg, note = resolve_config(_Opt, "quick", parse_assignments(["rate=0.5", "use_noise=true", "tau=none"]))
    assert (cfg.steps, cfg.rate, cfg.use_noise, cfg.tau, note) == (2, 0.5, True, None, None)
    cfg, _ = resolve_config(_Opt, None, {"mode": "b", "tau": "2", "steps": "3"})
    assert (cfg.mode, cfg.tau, cfg.steps) == ("b", 2.0, 3)
    cfg, note = resolve_config(_Opt, "paper", {})  # paper = the defaults, declared or not
    assert (cfg.steps, note) == (10, None)
    with pytest.raises(ConfigError, match="valid keys: mode, rate, steps, tau, use_noise"):
        resolve_config(_Opt, None, {"stepz": "1"})
    with pytest.raises(ConfigError, match="steps expects int"):
        resolve_config(_Opt, None, {"steps": "1.5"})
    with pytest.raises(ConfigError, match="must be one of"):
        resolve_config(_Opt, None, {"mode": "c"})
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignments(["steps"])

"""Registry-wide contract: every registered optimizer runs on every tiny task it supports,
returns Q valid designs, and is deterministic on CPU for a fixed seed."""
from __future__ import annotations

import numpy as np
import pytest

from mbo.harness import execute, optimizer_class, plan
from mbo.isolation import RunContext
from mbo.registry import names

from .conftest import TINY_TASKS

OPTIMIZERS = sorted(names("optimizer"))


def _profile(cls) -> str:
    return "smoke" if "smoke" in cls.profiles else "quick"


@pytest.mark.parametrize("task_cls", TINY_TASKS, ids=lambda c: c.name)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_contract(name, task_cls, tmp_path):
    cls = optimizer_class(name)
    task = task_cls()
    ok, why = cls.supports(task.space)
    if not ok:
        pytest.skip(why)
    assert "quick" in cls.profiles or not cls.profiles, f"{name} must define a 'quick' profile"
    records = []
    for i in range(2):  # once behind the oracle boundary, once in this process (--in-process): same candidates
        spec = plan(task, name, seed=3, budget=16, profile=_profile(cls), device="cpu")
        records.append(execute(spec, tmp_path / str(i), context=RunContext(in_process=i == 1)))
    rec = records[0]
    assert rec["status"] == "ok", rec.get("error")
    cands = np.asarray(rec["candidates"])
    assert cands.shape == (16, task.space.dim)
    assert len(rec["scores"]["raw"]) == 16
    np.testing.assert_array_equal(cands, np.asarray(records[1]["candidates"]),
                                  err_msg=f"{name}: same seed on CPU must give the same candidates")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_declares_itself(name):
    cls = optimizer_class(name)
    assert cls.name == name, f"entry point {name!r} loads a class whose name is {cls.name!r}"
    assert cls.description, f"{name} needs a one-line description"
    cls.Config()  # defaults are constructible

"""Trustworthy records: no temp file read as a record, no good record lost to a failed re-run,
no stale cache after a code edit, labels that follow the run, and an oracle only the harness uses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import mbo
from mbo import store
from mbo.cli import main
from mbo.core import Task, sealed_oracle
from mbo.errors import OracleAccessError
from mbo.report import load_records
from tests.conftest import TinyContinuous, TinyDiscrete

TINY_C = "tests/conftest.py:TinyContinuous"
TINY_D = "tests/conftest.py:TinyDiscrete"

PLUGIN = '''
import numpy as np
from mbo.core import Optimizer


class Shift(Optimizer):
    name = "shift"

    def fit(self, data):
        self.data_ = data

    def propose(self, n):
        return np.clip(self.data_.top(n)[0] + {shift}, -2, 2)
'''


def _plugin(tmp_path, shift: float) -> str:
    path = tmp_path / "shift.py"
    path.write_text(PLUGIN.format(shift=shift))
    return f"{path}:Shift"


# -- item 1: temporary files ------------------------------------------------------------------
def test_temp_files_of_killed_writers_are_never_read_and_stale_ones_are_cleaned(tmp_path):
    rec = mbo.run(TINY_C, "random", seed=0, budget=4, results_dir=tmp_path, device="cpu")
    folder = tmp_path / "records" / "tiny-continuous" / "random"
    # what a writer killed between writing and renaming leaves behind (old and new naming)
    body = store.dumps({**rec, "run_id": "0123456789abcdef"})
    old_style = folder / ".tmp-k1ll3d.json"
    stale = folder / f"{store.TEMP_PREFIX}otherhost-999-old{store.TEMP_SUFFIX}"
    fresh = folder / f"{store.TEMP_PREFIX}otherhost-998-new{store.TEMP_SUFFIX}"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = folder / f"{store.TEMP_PREFIX}{store._host()}-{dead.pid}-abc{store.TEMP_SUFFIX}"
    live = folder / f"{store.TEMP_PREFIX}{store._host()}-{os.getpid()}-abc{store.TEMP_SUFFIX}"
    for path in (old_style, stale, fresh, killed, live):
        path.write_text(body)
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    df = load_records(tmp_path)
    assert len(df) == 1 and list(df["run_id"]) == [rec["run_id"]]
    mbo.run(TINY_C, "random", seed=1, budget=4, results_dir=tmp_path, device="cpu")
    assert not stale.exists() and not killed.exists(), "stale temp files are cleaned up by the next run"
    assert fresh.exists() and live.exists(), "a temp file that may belong to a live writer is left alone"
    assert len(load_records(tmp_path)) == 2


def test_a_record_moved_to_a_new_label_is_never_counted_twice(tmp_path):
    rec = mbo.run(TINY_C, "random", seed=0, budget=4, results_dir=tmp_path, device="cpu")
    # a kill between writing the relabelled copy and removing the old file leaves two copies
    copy = dict(rec, label="mine")
    copy.pop("_path")
    store.write(tmp_path, copy)
    df = load_records(tmp_path)
    assert len(df) == 1 and df["label"].tolist() == ["mine"]


# -- item 2: a failed run never replaces an ok record ------------------------------------------
def test_a_failed_forced_rerun_keeps_the_ok_record_and_the_failure_beside_it(tmp_path, monkeypatch):
    opt = "tests/faulty.py:FailsOnRequest"
    good = mbo.run(TINY_C, opt, seed=0, budget=4, results_dir=tmp_path, device="cpu")
    assert good["status"] == "ok"
    before = open(good["_path"]).read()
    monkeypatch.setenv("MBO_TEST_FAIL", "1")
    res = CliRunner().invoke(main, ["run", "-t", TINY_C, "-o", opt, "-Q", "4", "--force", "--device", "cpu",
                                    "--results-dir", str(tmp_path)])
    assert res.exit_code == 1 and "FAILED: RuntimeError: asked to fail" in res.output
    assert "did not replace the successful record" in res.output
    assert open(good["_path"]).read() == before
    failed = tmp_path.glob(f"records/*/*/{good['run_id']}{store.FAILED_SUFFIX}")
    assert json.loads(next(failed).read_text())["error"] == "RuntimeError: asked to fail"
    df = load_records(tmp_path, include_failed=True)
    assert df["status"].tolist() == ["ok"]
    # without --force the good record is still the cached answer
    again = mbo.run(TINY_C, opt, seed=0, budget=4, results_dir=tmp_path, device="cpu")
    assert again.get("_cached") and again["status"] == "ok"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_force_with_an_unavailable_device_fails_before_training_and_loses_nothing(tmp_path):
    good = mbo.run(TINY_C, "random", seed=0, budget=4, results_dir=tmp_path, device="cpu")
    before = open(good["_path"]).read()
    res = CliRunner().invoke(main, ["run", "-t", TINY_C, "-o", "random", "-Q", "4", "--force", "--device", "cuda",
                                    "--results-dir", str(tmp_path)])
    assert res.exit_code == 2 and "CUDA is not available" in res.output and "Traceback" not in res.output
    assert open(good["_path"]).read() == before
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [f"{good['run_id']}.json"]


# -- item 3: code hash ---------------------------------------------------------------------------
def test_editing_a_plugin_reruns_it_and_the_loader_warns_about_mixed_code(tmp_path):
    from mbo.sweep import Job, pending

    results = tmp_path / "r"
    first = mbo.run(TINY_C, _plugin(tmp_path, 0.0), seed=0, budget=4, results_dir=results, device="cpu")
    assert first["status"] == "ok" and len(first["code_hash"]) == 16
    assert mbo.run(TINY_C, _plugin(tmp_path, 0.0), seed=0, budget=4, results_dir=results).get("_cached")
    spec = _plugin(tmp_path, 0.5)  # the user edits the method
    job = Job(TINY_C, spec, 0, 4, None, (), "cpu", None, str(results), False)
    assert pending([job]) == ([job], 0), "a sweep re-runs a record made by other code"
    edited = mbo.run(TINY_C, spec, seed=0, budget=4, results_dir=results, device="cpu")
    assert not edited.get("_cached") and edited["code_hash"] != first["code_hash"]
    assert edited["candidates"] != first["candidates"]
    assert pending([job]) == ([], 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_records(results)) == 1
    # a label whose runs mix code versions is flagged
    _plugin(tmp_path, 0.0)
    mbo.run(TINY_C, spec, seed=1, budget=4, results_dir=results, device="cpu")
    with pytest.warns(UserWarning, match="shift on tiny-continuous: its runs come from 2 versions of the code"):
        load_records(results)


def test_code_hash_covers_the_optimizer_and_the_task_module():
    from mbo.registry import code_hash

    from mbo.optimizers.baselines import RandomSearch
    from mbo.tasks.synthetic import Branin

    assert code_hash(RandomSearch, Branin) == code_hash(RandomSearch, Branin)
    assert code_hash(RandomSearch, Branin) != code_hash(RandomSearch, TinyContinuous)


# -- item 4: --label applies to cached runs --------------------------------------------------------
def test_label_applies_to_a_cached_run(tmp_path):
    r = CliRunner()
    args = ["run", "-t", TINY_C, "-o", "random", "-Q", "4", "--device", "cpu", "--results-dir", str(tmp_path)]
    assert r.invoke(main, args).exit_code == 0
    res = r.invoke(main, args + ["--label", "random-baseline"])
    assert res.exit_code == 0 and "/ random-baseline / seed 0" in res.output and "cached" in res.output
    df = load_records(tmp_path)
    assert df["label"].tolist() == ["random-baseline"]
    assert len([p for p in tmp_path.rglob("*.json")]) == 1


# -- item 21: the oracle belongs to the harness ------------------------------------------------------
@pytest.mark.parametrize("in_process", [False, True])
def test_an_optimizer_calling_an_oracle_fails_its_run_and_the_harness_still_scores(tmp_path, in_process):
    rec = mbo.run("branin", "tests/faulty.py:PeeksAtOracle", seed=0, budget=4, results_dir=tmp_path,
                  in_process=in_process)
    assert rec["status"] == "failed" and "scores" not in rec
    assert "only the harness calls a task's oracle" in rec["error"]
    hidden = mbo.run(TINY_C, "tests/faulty.py:PeeksAndHides", seed=0, budget=4, results_dir=tmp_path,
                     in_process=in_process)
    assert hidden["status"] == "failed"
    if in_process:  # only the seal on score() stands in the way
        assert "Branin.score() of task 'branin' was called during the optimizer's propose()" in rec["error"]
        assert "_score() of task 'tiny-continuous'" in hidden["error"]
        assert "during the optimizer's fit()" in hidden["error"]
    else:  # the child cannot even load the task's code
        assert "tried to open" in rec["error"] and "(the task modules)" in rec["error"]
        assert "tried to open" in hidden["error"] and "(the task's module)" in hidden["error"]
    ok = mbo.run("branin", "dataset-best", seed=0, budget=4, results_dir=tmp_path)
    assert ok["status"] == "ok"
    assert mbo.make_task("branin").score(np.zeros((1, 2))).shape == (1,)  # open again outside a run


class _OverridesScore(TinyDiscrete):
    def score(self, x):  # skips the base class entirely
        return self._score(np.asarray(x))


class _OverridesPrivate(TinyContinuous):
    def _score(self, x):
        return super()._score(x) * 1.0


@pytest.mark.parametrize("task_cls", [TinyDiscrete, TinyContinuous, _OverridesScore, _OverridesPrivate])
@pytest.mark.parametrize("method", ["score", "_score"])
def test_every_task_and_subclass_oracle_is_closed_while_an_optimizer_runs(task_cls, method):
    task = task_cls()
    x = task.offline_data().x[:3]
    with pytest.raises(OracleAccessError, match="only the harness calls a task's oracle"):
        with sealed_oracle("propose"):
            getattr(task, method)(x)
    assert getattr(task, method)(x).shape == (3,)


def test_a_task_class_defined_later_is_guarded_and_loading_offline_data_is_not_an_oracle_call():
    class Late(Task):
        name = "late"
        space = TinyContinuous.space
        y_min, y_max = -1.0, 0.0

        def _load_offline(self):  # builds its labels with its own formula, as the tiny tasks do
            x = self.space.sample(10, np.random.default_rng(0))
            return x, self._score(x)

        def _score(self, x):
            return -np.abs(x).sum(axis=1)

    with pytest.raises(OracleAccessError, match="Late.score"):  # raised again when the phase ends
        with sealed_oracle("fit"):
            data = Late().offline_data()
            assert len(data) == 10
            try:
                Late().score(data.x)
            except OracleAccessError:
                pass
    assert Late().score(data.x).shape == (10,)


def test_optimizer_constructor_cannot_reach_the_oracle(tmp_path):
    rec = mbo.run(TINY_C, "tests/faulty.py:SneakyConstructor", seed=0, budget=4, results_dir=tmp_path)
    assert rec["status"] == "failed" and "OracleAccessError" in rec["error"]

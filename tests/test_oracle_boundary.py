"""The oracle boundary (ARCHITECTURE.md): the optimizer's code runs in a child process that holds no task.

Each route by which a plug-in reached the true labels on main gets a run of its own here, and
each must fail with OracleAccessError naming what was attempted.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mbo
from mbo.errors import ConfigError
from mbo.isolation import RunContext, class_reference, optimizer_side

ROOT = Path(__file__).resolve().parents[1]
CHEATS = str(ROOT / "tests" / "cheaters.py")
TINY_C = "tests/conftest.py:TinyContinuous"


def _run(tmp_path, task, cls, **kw):
    kw.setdefault("budget", 4)
    return mbo.run(task, f"{CHEATS}:{cls}", seed=0, results_dir=tmp_path / "results", device="cpu", **kw)


TASK_MODULE = r"(import mbo\.tasks\.synthetic \(a task module\)|open \S+/tasks/\S+ \(the task modules\))"


@pytest.mark.parametrize("cls, attempted", [
    ("PrivateState", TASK_MODULE),
    ("ModuleFunction", TASK_MODULE),
    ("Unwrapped", TASK_MODULE),  # mbo.make_task imports with importlib: the file is refused
    ("SealOff", TASK_MODULE),
    ("LoaderLaundering", TASK_MODULE),
    ("StartsProcess", r"start a process \(subprocess\.Popen"),
    ("SwallowsRefusal", TASK_MODULE),
])
def test_each_route_to_the_oracle_fails_its_run(tmp_path, cls, attempted):
    rec = _run(tmp_path, "branin", cls)
    assert rec["status"] == "failed", f"{cls} reached the oracle and got an ok record"
    assert re.match("OracleAccessError: the optimizer's code tried to " + attempted, rec["error"]), rec["error"]
    assert "traceback" not in rec  # a known refusal, not a crash
    assert mbo.load_records(tmp_path / "results").empty  # nothing counts on a leaderboard


def test_the_child_holds_no_task_and_no_task_module(tmp_path):
    rec = _run(tmp_path, "branin", "LooksAround")
    assert rec["status"] == "ok" and rec["isolation"] == "process"
    seen = rec["diagnostics"]["optimizer"]
    assert seen["tasks_in_memory"] == 0 and seen["task_modules"] == []
    assert seen["pid"] != os.getpid()


def test_a_task_defined_in_a_plugin_file_is_not_importable_in_the_child(tmp_path):
    rec = mbo.run(TINY_C, "tests/faulty.py:PeeksAndHides", seed=0, budget=4, results_dir=tmp_path, device="cpu")
    assert rec["status"] == "failed"
    assert re.search(r"open \S+conftest\S* \(the task's module\)", rec["error"]), rec["error"]


def _fake_file(folder: Path) -> Path:
    path = folder / "tf_bind_8-SIX6_REF_R1" / "tf_bind_8-y-0.npy"
    path.parent.mkdir(parents=True)
    np.save(path, np.arange(5.0))
    return path


def test_the_data_folder_and_the_cache_of_oracle_tables_are_refused(tmp_path, monkeypatch):
    data = _fake_file(tmp_path / "data")
    monkeypatch.setenv("MBO_DATA_DIR", str(tmp_path / "data"))
    rec = _run(tmp_path, "branin", "ReadsFile", overrides={"path": str(data)})
    assert rec["status"] == "failed" and f"open {data.resolve()} (the task data folder)" in rec["error"], rec["error"]
    cached = _fake_file(Path(os.environ["MBO_CACHE_DIR"]) / "t")
    rec = _run(tmp_path, "branin", "ReadsFile", overrides={"path": str(cached)})
    assert rec["status"] == "failed" and f"open {cached.resolve()} (" in rec["error"], rec["error"]


def test_design_bench_files_are_refused(tmp_path):
    from mbo.tasks import data

    found = data.find_file("tf_bind_8-SIX6_REF_R1/tf_bind_8-y-0.npy")
    if found is None:
        pytest.skip("TF-Bind-8 files are not here (fetch them with `mbo data download tfbind8`, or point "
                    "MBO_DATA_DIR at a folder that has them)")
    rec = _run(tmp_path, "branin", "ReadsFile", overrides={"path": str(found)})
    assert rec["status"] == "failed" and "OracleAccessError" in rec["error"] and "tf_bind_8-y-0.npy" in rec["error"]


def test_records_are_refused_but_a_checkpoint_folder_in_the_results_folder_is_not(tmp_path):
    results = tmp_path / "results"
    first = mbo.run("branin", "random", seed=0, budget=4, results_dir=results, device="cpu")
    rec = _run(tmp_path, "branin", "ReadsFile", overrides={"path": first["_path"]})
    assert rec["status"] == "failed" and "(the results folder's records)" in rec["error"], rec["error"]
    assert json.loads(Path(first["_path"]).read_text())["status"] == "ok"
    ckpt = results / "checkpoints" / "run"
    rec = mbo.harness.execute(mbo.harness.plan("branin", f"{CHEATS}:WritesCheckpoint", budget=4, device="cpu",
                                               overrides={"path": str(ckpt)}),
                              results, context=RunContext(checkpoint_dir=str(ckpt)))
    assert rec["status"] == "ok", rec["error"]
    rec = _run(tmp_path, "branin", "WritesCheckpoint", overrides={"path": str(results / "records" / "x")})
    assert rec["status"] == "failed" and "(the results folder's records)" in rec["error"]


def test_in_process_mode_is_marked_gives_the_same_candidates_and_is_not_reused_by_a_guarded_run(tmp_path):
    small = {"hidden_size": 16, "epochs": 2, "num_steps": 5}
    kw = dict(seed=1, budget=8, results_dir=tmp_path / "a", device="cpu", overrides=small)
    a = mbo.run("tests/conftest.py:TinyDiscrete", "grad-ascent", in_process=True, **kw)
    b = mbo.run("tests/conftest.py:TinyDiscrete", "grad-ascent", **kw)
    assert a["isolation"] == "in-process" and b["isolation"] == "process" and not b.get("_cached")
    assert a["candidates"] == b["candidates"] and a["torch_threads"] == b["torch_threads"]
    assert mbo.run("tests/conftest.py:TinyDiscrete", "grad-ascent", in_process=True, **kw).get("_cached")
    # in this process nothing but the seal stands between an optimizer and the oracle: such a record
    # says so, and a guarded run does not reuse it
    kw = dict(seed=0, budget=4, results_dir=tmp_path / "b")
    assert mbo.run("branin", f"{CHEATS}:SealOff", in_process=True, **kw)["isolation"] == "in-process"
    assert mbo.run("branin", f"{CHEATS}:SealOff", **kw)["status"] == "failed"


def test_a_class_the_child_cannot_import_fails_before_training_with_the_fix(tmp_path):
    class Local(mbo.Optimizer):
        def fit(self, data):
            self.data_ = data

        def propose(self, n):
            return self.data_.top(n)[0]

    with pytest.raises(ConfigError, match="defined inside a function.*in_process=True"):
        mbo.run("branin", Local, seed=0, budget=4, results_dir=tmp_path)
    assert not list(tmp_path.rglob("*.json"))
    assert mbo.run("branin", Local, seed=0, budget=4, results_dir=tmp_path, in_process=True)["status"] == "ok"
    assert class_reference(mbo.harness.optimizer_class("random")) == "mbo.optimizers.baselines:RandomSearch"


def test_optimizer_side_is_one_function_that_needs_no_task():
    from mbo.core import DesignSpace, OfflineData
    from mbo.optimizers.baselines import DatasetBest

    space = DesignSpace.continuous([0.0], [1.0])
    data = OfflineData(np.linspace(0, 1, 10)[:, None], np.linspace(0, 1, 10), space, "toy")
    out = optimizer_side(DatasetBest, DatasetBest.Config(), 0, "cpu", data, 3, RunContext(in_process=True))
    assert out["candidates"].shape == (3, 1) and out["candidates"][0, 0] == pytest.approx(1.0)
    assert set(out) == {"candidates", "num_clipped", "diagnostics", "timings", "device", "torch_threads",
                        "subnormals", "resumed", "surrogate_gradient"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_and_a_killed_parent_leave_no_optimizer_process_behind(tmp_path):
    pidfile = tmp_path / "pid"
    script = (f"import mbo; mbo.run({TINY_C!r}, 'tests/faulty.py:Slow', budget=4, device='cpu', "
              f"overrides={{'sleep': 60, 'pidfile': {str(pidfile)!r}}}, results_dir={str(tmp_path / 'r')!r})")
    for how in (signal.SIGINT, signal.SIGKILL):
        pidfile.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline and not (pidfile.exists() and pidfile.read_text()):
            time.sleep(0.05)
        child = int(pidfile.read_text())
        assert child != proc.pid
        t0 = time.time()
        os.killpg(proc.pid, how) if how == signal.SIGINT else proc.kill()
        proc.wait(timeout=30)
        while time.time() - t0 < 10 and Path(f"/proc/{child}").exists() and \
                Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            time.sleep(0.05)
        assert time.time() - t0 < 5, f"the optimizer's process outlived its parent ({signal.Signals(how).name})"
    assert not list((tmp_path / "r").rglob("*.json"))


def test_the_cli_runs_in_a_child_by_default_and_in_process_on_request(tmp_path):
    from click.testing import CliRunner

    from mbo.cli import main

    args = ["run", "-t", "branin", "-o", "random", "-Q", "4", "--device", "cpu", "--results-dir", str(tmp_path)]
    assert CliRunner().invoke(main, args).exit_code == 0
    res = CliRunner().invoke(main, args + ["--force", "--in-process"])
    assert res.exit_code == 0, res.output
    [rec] = [json.loads(p.read_text()) for p in tmp_path.rglob("*.json")]
    assert rec["isolation"] == "in-process"
    res = CliRunner().invoke(main, args)  # a guarded run does not reuse it
    assert res.exit_code == 0 and "cached" not in res.output
    [rec] = [json.loads(p.read_text()) for p in tmp_path.rglob("*.json")]
    assert rec["isolation"] == "process"

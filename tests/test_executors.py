"""Executors: GPU assignment, option checks, and the driver-writes-records loop on local processes and Slurm."""
from __future__ import annotations

from pathlib import Path

import pytest

from mbo.errors import ConfigError
from mbo.executors import InProcess, LocalProcesses, assign_gpus, make_executor, visible_gpus
from mbo.report import load_records
from mbo.sweep import Job, pending, run_sweep

FAULTY = str(Path(__file__).with_name("faulty.py"))


def test_assign_gpus_shares_fractions_round_robin():
    assert assign_gpus(4, 0.5, ["0", "1"]) == ["0", "1", "0", "1"]
    assert assign_gpus(3, 0.25, ["3"]) == ["3", "3", "3"]
    assert assign_gpus(2, 1, ["0", "1", "2"]) == ["0", "1"]
    assert assign_gpus(1, 1 / 3, ["0"]) == ["0"]  # 1/3 of a GPU: three runs fit on one


def test_assign_gpus_gives_whole_gpus_to_each_worker():
    assert assign_gpus(2, 2, ["0", "1", "2", "3"]) == ["0,1", "2,3"]
    assert assign_gpus(1, 3, ["4", "5", "6"]) == ["4,5,6"]


@pytest.mark.parametrize("workers, gpus, visible, match", [
    (3, 0.5, ["0"], "needs 2 GPUs but 1 are visible"),
    (3, 2, ["0", "1", "2", "3"], "needs 6 GPUs"),
    (1, 1.5, ["0", "1"], "whole number"),
    (1, 0.5, [], "none is visible"),
])
def test_assign_gpus_refuses_what_does_not_fit(workers, gpus, visible, match):
    with pytest.raises(ConfigError, match=match):
        assign_gpus(workers, gpus, visible)


def test_visible_gpus_reads_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2, 5")
    assert visible_gpus() == ["2", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert visible_gpus() == []


def test_make_executor_picks_and_checks(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert isinstance(make_executor("local"), InProcess)
    pool = make_executor("local", jobs=4, gpus_per_run=0.5)
    assert isinstance(pool, LocalProcesses)
    assert [env["CUDA_VISIBLE_DEVICES"] for env in pool._envs] == ["0", "1", "0", "1"]
    assert all(env["MBO_QUIET"] == "1" for env in pool._envs)  # workers draw no bars
    assert make_executor("local", jobs=2, cpus_per_run=3).threads == 3
    with pytest.raises(ConfigError, match="needs 3 GPUs"):
        make_executor("local", jobs=3, gpus_per_run=1)
    with pytest.raises(ConfigError, match="whole GPUs"):
        make_executor("slurm-local", gpus_per_run=0.5)
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor("dask")


def test_local_worker_that_dies_is_retried_once_and_one_lost_twice_is_reported(tmp_path):
    res = tmp_path / "res"
    once, twice = tmp_path / "once", tmp_path / "twice"
    jobs = [Job("branin", f"{FAULTY}:DiesOnce", 0, 8, None, overrides, "cpu", None, str(res), False)
            for overrides in ((("marker", str(once)),), (("deaths", 2), ("marker", str(twice))))]
    retries = []
    results = run_sweep(jobs, LocalProcesses(2, 1), on_retry=lambda job, why: retries.append(why))
    assert len(retries) == 2 and all("killed by signal 9" in why for why in retries)
    assert len(once.read_text().splitlines()) == 1 and len(twice.read_text().splitlines()) == 2
    by_marker = {dict(r.get("overrides", {})).get("marker", r["label"]): r for r in results}
    assert by_marker[str(once)]["status"] == "ok"  # killed once, then ran, and the driver wrote it
    lost = [r for r in results if r["status"] != "ok"]
    assert len(lost) == 1 and "worker lost twice" in lost[0]["error"]
    df = load_records(res)
    assert len(df) == 1  # the lost job has no record, so the next sweep runs it again
    assert pending(jobs)[1] == 1


def test_slurm_array_on_submitits_local_executor(tmp_path):
    pytest.importorskip("submitit", reason="Slurm support is optional: pip install 'mbo[slurm]'")
    res = tmp_path / "res"
    jobs = [Job("branin", f"{FAULTY}:DiesOnce", 0, 8, None, (("marker", str(tmp_path / "m")),), "cpu", None,
                str(res), False)]
    executor = make_executor("slurm-local", jobs=2, slurm_folder=tmp_path / "slurm", slurm_time=5)
    retries = []
    [rec] = run_sweep(jobs, executor, on_retry=lambda job, why: retries.append(why))
    # the run's optimizer process died; the array task reported it (in its log) and was resubmitted once
    assert len(retries) == 1 and "FailedJobError" in retries[0]
    assert "killed by signal 9" in Path(retries[0].rpartition("(logs: ")[2].rstrip(")")).read_text()
    assert rec["status"] == "ok" and len(rec["candidates"]) == 8
    df = load_records(res)
    assert len(df) == 1 and df["label"][0] == f"dies[marker={tmp_path / 'm'}]"
    assert list((tmp_path / "slurm").glob("*_log.err"))  # submitit's logs stay in its folder

"""Ray: two nodes on this machine, workers in another directory that cannot write results; the driver writes.

One Ray cluster serves the whole module (starting one takes seconds).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mbo.report import load_records
from mbo.store import iter_records
from mbo.sweep import Job, pending, run_sweep

ray = pytest.importorskip("ray", reason="Ray is optional: pip install 'mbo[ray]'")

ROOT = Path(__file__).resolve().parents[1]
FAULTY = str(Path(__file__).with_name("faulty.py"))
NOWHERE = "/dev/null/results"  # not a folder: nothing, not even root, can write under it


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head node and a second node process, each with one CPU; workers run in their own directory."""
    from ray.cluster_utils import Cluster

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    workdir = tmp_path_factory.mktemp("ray-worker-dir")
    (workdir / "README").write_text("the Ray workers' working directory\n")

    def forbid_results_writes():  # runs in every worker: the store refuses to write there
        import mbo.store

        def refuse(*args, **kwargs):
            raise PermissionError("a Ray worker tried to write a record; only the driver may")

        mbo.store.write = refuse

    # nodes started from a shell without a wait policy, as `ray start` on a cluster would be
    policy = os.environ.pop("OMP_WAIT_POLICY", None)
    try:
        c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        c.add_node(num_cpus=1)
        c.wait_for_nodes()
    finally:
        if policy is not None:
            os.environ["OMP_WAIT_POLICY"] = policy
    ray.init(address=c.address, log_to_driver=False, runtime_env={
        "working_dir": str(workdir),
        "env_vars": {"MBO_RESULTS_DIR": NOWHERE, "OMP_NUM_THREADS": "1", "MBO_QUIET": "1"},
        "worker_process_setup_hook": forbid_results_writes,
    })
    yield c
    ray.shutdown()
    c.shutdown()


def _jobs(results: Path, optimizers=("random", "dataset-best"), seeds=(0, 1), overrides=()) -> list[Job]:
    return [Job("branin", o, s, 8, None, tuple(overrides), "cpu", None, str(results), False)
            for o in optimizers for s in seeds]


def test_ray_workers_cannot_write_results_and_run_elsewhere(cluster):
    @ray.remote(num_cpus=1)
    def probe():
        import mbo.store

        try:
            mbo.store.write(Path(NOWHERE), {})
        except PermissionError:
            return os.getcwd(), os.path.exists("README"), os.environ["MBO_RESULTS_DIR"]
        return None

    cwd, in_workdir, results = ray.get(probe.remote())
    assert cwd != os.getcwd() and in_workdir  # the runtime_env's working directory, not the driver's
    assert results == NOWHERE


def test_ray_workers_return_records_the_driver_writes_them(cluster, tmp_path):
    from mbo.executors import RayExecutor

    results_dir = tmp_path / "results"
    jobs = _jobs(results_dir)
    got = run_sweep(jobs, RayExecutor(cpus_per_run=1))
    assert [r["status"] for r in got] == ["ok"] * 4, [r.get("error") for r in got]
    df = load_records(results_dir)
    assert len(df) == 4 and df["run_id"].is_unique
    assert sorted(zip(df["label"], df["seed"])) == sorted((j.optimizer, j.seed) for j in jobs)
    assert all(len(rec["candidates"]) == 8 for rec in iter_records(results_dir))
    assert ray.is_initialized()  # a cluster the caller connected to stays connected
    assert pending(jobs) == ([], 4)


def test_ray_worker_that_dies_is_reported_and_retried_once(cluster, tmp_path):
    from mbo.executors import RayExecutor

    marker = tmp_path / "attempts"
    jobs = _jobs(tmp_path / "results", (f"{FAULTY}:DiesOnce",), (0,), (("marker", str(marker)),))
    retries = []
    [rec] = run_sweep(jobs, RayExecutor(), on_retry=lambda job, why: retries.append(why))
    # the run's optimizer process died (SIGKILL); the Ray worker reported it and the driver retried
    assert len(retries) == 1 and "OptimizerProcessLost" in retries[0] and "killed by signal 9" in retries[0]
    assert rec["status"] == "ok" and len(marker.read_text().splitlines()) == 1
    assert Path(rec["_path"]).is_file()


def test_mbo_sweep_on_a_running_cluster_via_ray_address(cluster, tmp_path):
    env = {**os.environ, "RAY_ADDRESS": cluster.address, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "mbo.cli", "sweep", "--tasks", "branin", "--optimizers", "random,dataset-best",
           "--seeds", "0-1", "--budget", "8", "--device", "cpu", "--executor", "ray", "--results-dir",
           str(tmp_path), "-q"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 to run on Ray" in out.stdout and "sweep done: 4 ok, 0 failed" in out.stdout
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "4 already finished, 0 to run" in again.stdout
    assert len(load_records(tmp_path)) == 4


def test_ray_workers_wait_passively_though_their_nodes_were_started_without_it(cluster, tmp_path, monkeypatch):
    """The cluster's nodes lack OMP_WAIT_POLICY; the executor passes the driver's (default PASSIVE) to
    its workers, and the optimizer's process inherits it."""
    from mbo.executors import RayExecutor

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    [rec] = run_sweep(_jobs(tmp_path / "results", (f"{FAULTY}:EnvProbe",), (0,)), RayExecutor())
    assert rec["status"] == "ok", rec.get("error")
    assert rec["diagnostics"]["optimizer"]["omp_wait_policy"] == "PASSIVE"

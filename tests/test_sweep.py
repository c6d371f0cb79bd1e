"""Sweeps: parallel, resumable, and a kill mid-way loses or duplicates nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mbo.errors import ConfigError
from mbo.report import load_records
from mbo.sweep import parse_seeds

ROOT = Path(__file__).resolve().parents[1]


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,2, 5") == [0, 2, 5]
    assert parse_seeds("1-2,7") == [1, 2, 7]
    with pytest.raises(ConfigError):
        parse_seeds("a-b")


def _sweep(results, jobs=1):
    cmd = [sys.executable, "-m", "mbo.cli", "sweep", "--tasks", "tests/conftest.py:TinyContinuous",
           "--optimizers", "tests/faulty.py:Slow,random", "--seeds", "0-3", "--budget", "4",
           "--jobs", str(jobs), "--device", "cpu", "--results-dir", str(results), "-q"]
    return cmd


def test_sweep_killed_midway_resumes_without_loss_or_duplicates(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_sweep(tmp_path), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(tmp_path.rglob("*.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = len(list(tmp_path.rglob("*.json")))
    assert 2 <= first < 8, "the sweep should have been killed part-way"
    out = subprocess.run(_sweep(tmp_path, jobs=2), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{first} already finished" in out.stdout
    df = load_records(tmp_path)
    assert len(df) == 8 and df["run_id"].is_unique
    assert not list(tmp_path.rglob(".tmp-*"))
    again = subprocess.run(_sweep(tmp_path), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "8 already finished, 0 to run" in again.stdout


def test_ray_executor_runs_the_grid(tmp_path):
    pytest.importorskip("ray", reason="Ray is optional: pip install 'mbo[ray]'")
    cmd = _sweep(tmp_path, jobs=2) + ["--executor", "ray"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)  # a local Ray instance
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    df = load_records(tmp_path)
    assert len(df) == 8 and df["run_id"].is_unique

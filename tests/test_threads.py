"""Threads of a run on a busy machine: passive OpenMP waits from the command, a thread count that fits."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from mbo import executors, threads
from mbo.cli import main
from mbo.errors import ConfigError


@pytest.fixture
def keep_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_the_command_sets_a_passive_wait_policy_unless_the_user_chose_one(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert CliRunner().invoke(main, ["optimizers"]).exit_code == 0
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert CliRunner().invoke(main, ["optimizers"]).exit_code == 0
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_the_suite_waits_passively_from_before_numpy_and_torch_load(tmp_path):
    """tests/conftest.py sets the policy before anything loads OpenMP: with one of 2 cores busy, spinning
    OpenMP threads made the whole suite 7× slower (pytest 304 s → 2,317 s)."""
    code = (
        "import os, sys\n"
        "seen = {}\n"
        "class Spy:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name in ('numpy', 'torch'):\n"
        "            seen.setdefault(name, os.environ.get('OMP_WAIT_POLICY'))\n"
        "sys.meta_path.insert(0, Spy())\n"
        "sys.path.insert(0, 'tests')\n"
        "import conftest\n"
        "print(sorted(seen.items()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["MBO_TEST_CACHE_DIR"] = str(tmp_path)  # conftest then leaves no folder of its own behind
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    seen = dict(ast.literal_eval(out.stdout.strip()))
    assert "numpy" in seen and set(seen.values()) == {"PASSIVE"}, seen


def test_importing_mbo_sets_nothing():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = "import os, mbo, mbo.cli, mbo.threads, mbo.harness; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def test_default_threads_from_the_cpus_and_the_jobs(monkeypatch):
    monkeypatch.setattr(executors, "cpu_count", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert (threads.default_threads(), threads.default_threads(2), threads.default_threads(16)) == (8, 4, 1)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice wins
    assert threads.default_threads(2) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert threads.default_threads(2) == 4


def test_executors_get_the_default_or_the_given_threads(monkeypatch):
    monkeypatch.setattr(executors, "cpu_count", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert executors.make_executor("local").threads == 4
    assert executors.make_executor("local", jobs=2).threads == 2
    assert executors.make_executor("local", jobs=2, threads=1).threads == 1
    assert executors.make_executor("local", jobs=2, cpus_per_run=3).threads == 3
    with pytest.raises(ConfigError, match="--threads must be at least 1"):
        executors.make_executor("local", threads=0)


@pytest.mark.parametrize("command", [["run", "-t", "branin"], ["sweep", "--tasks", "branin", "--seeds", "0"]])
def test_threads_option_sets_and_records_the_thread_count(command, tmp_path, keep_torch_threads):
    for n in (1, 2):
        root = tmp_path / str(n)
        res = CliRunner().invoke(main, command + ["-o", "random", "-Q", "4", "--threads", str(n),
                                                  "--results-dir", str(root)])
        assert res.exit_code == 0, res.output
        (path,) = root.glob("records/*/*/*.json")
        assert json.loads(path.read_text())["torch_threads"] == n
    res = CliRunner().invoke(main, command + ["-o", "random", "--threads", "0", "--results-dir", str(tmp_path)])
    assert res.exit_code == 2 and "--threads" in res.output

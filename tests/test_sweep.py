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


def _descendants(pgid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process in process group ``pgid``, zombies included."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            found.append((int(stat.parent.name), fields[0]))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_a_parallel_sweep_within_seconds_keeping_finished_records(tmp_path):
    cmd = [sys.executable, "-m", "mbo.cli", "sweep", "--tasks", "tests/conftest.py:TinyContinuous",
           "--optimizers", "tests/faulty.py:Slow", "--set", "sleep=2", "--seeds", "0-11", "--budget", "4",
           "--jobs", "2", "--device", "cpu", "--results-dir", str(tmp_path), "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # A shell's background job inherits SIGINT ignored, and Python then never raises KeyboardInterrupt:
    # give the sweep the default disposition a terminal's foreground job has.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 90
    while time.time() < deadline and not list(tmp_path.rglob("*.json")):
        time.sleep(0.05)
    assert len(_descendants(proc.pid)) >= 3, "the driver and its two workers should be running"
    t0 = time.time()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the sweep kept running 30 s after Ctrl-C")
    stopped = time.time() - t0
    assert stopped < 5, f"took {stopped:.1f} s to stop; output:\n{out}"
    assert proc.returncode == 130 and "sweep interrupted" in out, out
    deadline = time.time() + 3
    while time.time() < deadline and _descendants(proc.pid):
        time.sleep(0.05)
    assert not _descendants(proc.pid), "workers (or zombies) left behind"
    kept = list(tmp_path.rglob("*.json"))
    time.sleep(1)
    assert len(list(tmp_path.rglob("*.json"))) == len(kept), "a run finished after the sweep stopped"
    assert 1 <= len(kept) <= 4  # one or two rounds of two 2-s runs, never the rest of the twelve
    assert out.count(": 100th") == len(kept), out  # every run reported as finished has its record
    df = load_records(tmp_path)
    assert len(df) == len(kept) and (df["status"] == "ok").all()


def _on_a_terminal(cmd: list[str], env: dict, timeout: float = 120) -> str:
    """Run ``cmd`` with stdout and stderr on a pseudo-terminal; return everything it drew."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # rows, columns
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks, deadline = [], time.time() + timeout
    while time.time() < deadline:
        if select.select([master], [], [], 0.2)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.kill()
    proc.wait()
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("jobs", [2, 1])
def test_a_sweep_draws_one_overall_bar_and_run_bars_only_in_process(tmp_path, jobs):
    env = {k: v for k, v in os.environ.items() if k != "MBO_QUIET"}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "mbo.cli", "sweep", "--tasks", "branin",  # (conftest.py would set MBO_QUIET)
           "--optimizers", "tests/faulty.py:Chatty", "--seeds", "0-3", "--budget", "4", "--jobs", str(jobs),
           "--device", "cpu", "--results-dir", str(tmp_path)]
    screen = _on_a_terminal(cmd, env)
    assert "sweep done: 4 ok" in screen, screen
    if jobs > 1:
        assert "chatty-fit" not in screen, "a worker drew its own bar over the sweep's"
    else:
        assert "chatty-fit" in screen  # in this process a run's own bar shows under the sweep's
    assert "sweep: 4/4 runs" in screen  # the overall bar: runs done / total ...
    assert "<00:00" in screen  # ... and its ETA

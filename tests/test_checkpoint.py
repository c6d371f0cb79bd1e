"""Checkpoints of the shared training loops (mbo.checkpoint): state round trips, signals, and
resumed = uninterrupted for every registered optimizer."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from mbo import checkpoint
from mbo.harness import execute, optimizer_class, plan, run, run_spec
from mbo.isolation import RunContext
from mbo.nn.surrogate import fit_regressor
from mbo.registry import names

from .conftest import TinyContinuous, TinyDiscrete


class _Stop(KeyboardInterrupt):
    """Stands for a kill: raised right after the k-th checkpoint is written."""


def _stop_after(monkeypatch, k: int) -> list[int]:
    """Make the k-th checkpoint write (1-based) raise :class:`_Stop` once it is on disk."""
    count = [0]
    save = checkpoint.Stage.save

    def patched(self, position, extra=None):
        save(self, position, extra)
        count[0] += 1
        if count[0] == k:
            raise _Stop(f"stopped after checkpoint {k} at {self.desc} {position}")

    monkeypatch.setattr(checkpoint.Stage, "save", patched)
    return count


def _small_fit(directory, interval_s=0.0):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(2))
    y = x.sum(1)
    with checkpoint.session(directory, interval_s):
        history = fit_regressor(model, x, y, epochs=4, batch_size=16, generator=gen, lr_schedule="cosine")
        tail = torch.rand(3)  # the global RNG after the fit must match too
    return [p.detach().clone() for p in model.parameters()], history, tail


def test_outside_a_session_a_stage_costs_nothing(tmp_path):
    lst = [1]
    with checkpoint.stage("loop", {"history": lst}) as ck:
        assert ck.position is None and ck.path is None
        ck.reached(1)
    assert not any(tmp_path.iterdir())


def test_state_round_trip(tmp_path):
    class Counter:
        def __init__(self):
            self.n = 0

        def state_dict(self):
            return {"n": self.n}

        def load_state_dict(self, s):
            self.n = s["n"]

    def objects():
        net = torch.nn.Linear(2, 2)
        opt = torch.optim.Adam(net.parameters(), lr=0.1)
        return {"net": net, "opt": opt, "gen": torch.Generator().manual_seed(5), "t": torch.zeros(3),
                "a": np.zeros(2), "hist": [], "counts": {}, "c": Counter()}

    src = objects()
    src["net"](torch.ones(1, 2)).sum().backward()
    src["opt"].step()
    torch.rand(4, generator=src["gen"])
    src["t"] += 2
    src["a"][:] = [1, 2]
    src["hist"].append(0.5)
    src["counts"]["k"] = 3
    src["c"].n = 7
    folder = tmp_path / "run"
    with pytest.raises(_Stop), checkpoint.session(folder, 0.0):
        with checkpoint.stage("loop", src, total=10) as ck:
            ck.reached(4, {"note": "x"})
        raise _Stop  # an interrupted run keeps its folder
    dst = objects()
    with checkpoint.session(folder, 0.0) as ses:
        with checkpoint.stage("loop", dst, total=10) as ck:
            assert ck.position == 4 and ck.extra == {"note": "x"}
        assert ses.resumed == [{"stage": "000-loop", "position": 4, "total": 10}]
    assert not folder.exists()  # a finished block removes its checkpoints
    for p, q in zip(src["net"].parameters(), dst["net"].parameters()):
        torch.testing.assert_close(p, q)
    assert dst["opt"].state_dict()["state"][0]["step"] == 1
    assert torch.equal(torch.rand(4, generator=src["gen"]), torch.rand(4, generator=dst["gen"]))
    assert dst["t"].tolist() == [2, 2, 2] and dst["a"].tolist() == [1, 2]
    assert dst["hist"] == [0.5] and dst["counts"] == {"k": 3} and dst["c"].n == 7


def test_unsupported_state_and_nesting_fail_clearly(tmp_path):
    with checkpoint.session(tmp_path / "run", 0.0):
        with pytest.raises(checkpoint.CheckpointError, match="cannot checkpoint 'x'"):
            checkpoint.stage("loop", {"x": object()})
        with checkpoint.stage("outer", {}), pytest.raises(checkpoint.CheckpointError, match="do not nest"):
            checkpoint.stage("inner", {})


def test_fit_regressor_resumed_mid_epoch_equals_uninterrupted(tmp_path, monkeypatch):
    ref_params, ref_hist, ref_tail = _small_fit(None)
    folder = tmp_path / "run"
    with monkeypatch.context() as m:
        _stop_after(m, 6)  # 4 batches per epoch: stops in epoch 1, after batch 2
        with pytest.raises(_Stop):
            _small_fit(folder)
    assert (folder / "000-surrogate.pt").exists()
    params, hist, tail = _small_fit(folder)
    assert hist == ref_hist
    assert torch.equal(tail, ref_tail)
    for p, q in zip(params, ref_params):
        assert torch.equal(p, q)


def test_signal_is_held_until_a_consistent_point(tmp_path):
    class Preempted(Exception):
        pass

    def previous(signum, frame):
        raise Preempted

    old = signal.signal(signal.SIGTERM, previous)
    folder = tmp_path / "run"
    try:
        with pytest.raises(Preempted), checkpoint.session(folder, 1e9):
            with checkpoint.stage("loop", {"h": [1, 2]}, total=5) as ck:
                os.kill(os.getpid(), signal.SIGTERM)  # mid-step: nothing happens yet
                ck.reached(3)  # written here, then the previous handler runs
        assert signal.getsignal(signal.SIGTERM) is previous  # the session put it back
        blob = torch.load(folder / "000-loop.pt", weights_only=False)
        assert blob["position"] == 3 and blob["state"]["h"] == [1, 2]
    finally:
        signal.signal(signal.SIGTERM, old)


def test_stop_signals_leave_ignored_signals_ignored():
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # e.g. a supervisor that stops jobs otherwise
        assert checkpoint.stop_signals() == [signal.SIGINT]
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a shell's background job
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        assert checkpoint.stop_signals() == [signal.SIGTERM]
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def test_discard_keeps_only_the_current_code(tmp_path):
    for code in ("old", "new"):
        (checkpoint.run_directory(tmp_path, "rid", code)).mkdir(parents=True)
    checkpoint.discard(tmp_path, "rid", keep="new")
    assert [p.name for p in (tmp_path / "rid").iterdir()] == ["new"]
    checkpoint.discard(tmp_path, "rid")
    assert not (tmp_path / "rid").exists()


def _profile(cls) -> str:
    return "smoke" if "smoke" in cls.profiles else "quick"


@pytest.mark.parametrize("name", sorted(names("optimizer")))
def test_resumed_run_gives_the_same_candidates(name, tmp_path, monkeypatch):
    """Stopped right after its middle checkpoint (of a write at every step) and resumed, every
    optimizer proposes exactly what an uninterrupted run proposes. A loop that leaves state
    unregistered fails here: a restored stage skips its steps, so that state never advances."""
    cls = optimizer_class(name)
    task = TinyDiscrete() if cls.supports(TinyDiscrete.space)[0] else TinyContinuous()
    spec = plan(task, name, seed=3, budget=16, profile=_profile(cls), device="cpu")
    with monkeypatch.context() as m:
        count = _stop_after(m, 10**9)
        ref = run_spec(spec, RunContext(in_process=True, checkpoint_dir=str(tmp_path / "ref"), checkpoint_every=0))
    assert ref["status"] == "ok", ref.get("error")
    if count[0] == 0:
        return  # no training loop: nothing to resume
    k = (count[0] + 1) // 2
    folder = tmp_path / "run"
    with monkeypatch.context() as m:
        _stop_after(m, k)
        with pytest.raises(_Stop):
            run_spec(spec, RunContext(in_process=True, checkpoint_dir=str(folder), checkpoint_every=0))
    rec = run_spec(spec, RunContext(in_process=True, checkpoint_dir=str(folder), checkpoint_every=0))
    assert rec["status"] == "ok", rec.get("error")
    assert rec["resumed"], f"{name}: the second attempt did not resume"
    np.testing.assert_array_equal(np.asarray(rec["candidates"]), np.asarray(ref["candidates"]),
                                  err_msg=f"{name}: resumed after checkpoint {k} of {count[0]}")
    assert not folder.exists()


def test_a_resumed_runs_record_counts_the_fit_time_of_its_earlier_attempts(tmp_path, monkeypatch):
    """timings.fit is the attempt that finished; timings.before_resume what the earlier attempts had run
    when they wrote the checkpoint it resumed from (reports add the two)."""
    from mbo.report import load_records

    spec = plan(TinyContinuous(), "tests/faulty.py:Steps", seed=0, budget=4, device="cpu",
                overrides={"steps": 10, "sleep": 0.05})
    context = RunContext(in_process=True, checkpoint_dir=str(tmp_path / "ck"), checkpoint_every=0)
    with monkeypatch.context() as m:
        _stop_after(m, 6)  # after step 6 of 10: ≥ 0.3 s run
        with pytest.raises(_Stop):
            run_spec(spec, context)
    rec = run_spec(spec, context)
    assert rec["resumed"] and 0.3 <= rec["timings"]["before_resume"] < 3.0
    assert 0.2 <= rec["timings"]["fit"] < rec["timings"]["before_resume"] + 2.0  # steps 7-10 only
    from mbo.harness import save

    save(rec, tmp_path / "results")
    row = load_records(tmp_path / "results", check_code=False).iloc[0]
    assert row["time_fit"] == pytest.approx(rec["timings"]["fit"] + rec["timings"]["before_resume"])
    assert not row["time_partial"]


_KILLER = textwrap.dedent("""
    import os, signal, sys
    import torch
    from mbo import checkpoint
    from mbo.harness import run
    sys.path.insert(0, {root!r})
    from tests.conftest import {task}
    torch.set_num_threads(1)
    kill_at = int(sys.argv[1])
    if kill_at:
        save, count = checkpoint.Stage.save, [0]
        def patched(self, position, extra=None):
            save(self, position, extra)
            count[0] += 1
            if count[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        checkpoint.Stage.save = patched
    if __name__ == "__main__":  # in-process: the kill is armed in this process
        rec = run({task}(), {name!r}, seed=1, budget=16, results_dir=sys.argv[2], profile={profile!r},
                  device="cpu", checkpoint_every=0, in_process=True)
        print("CANDS", rec["candidates"])
""")


@pytest.mark.parametrize("name,profile,task,kill_at", [
    ("grad-ascent", "quick", "TinyDiscrete", 80),  # one PNN fit of 10 epochs: killed part-way
    # diffusion prior with lr warm-up (12 batches), then a cosine-schedule surrogate: killed in the latter
    ("demo", "smoke", "TinyContinuous", 15),
    # surrogate (4 batches), then an energy net with an EMA copy and a sample buffer: killed after epoch 1 of 2
    ("nem", "smoke", "TinyContinuous", 5),
])
def test_sigkill_mid_fit_then_resume_equals_uninterrupted(name, profile, task, kill_at, tmp_path):
    """Acceptance: a run killed with SIGKILL in the middle of its fit resumes from its checkpoint
    and stores the candidates of an uninterrupted run; the finished run leaves no checkpoint."""
    script = tmp_path / "job.py"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script.write_text(_KILLER.format(root=root, task=task, name=name, profile=profile))
    env = {**os.environ, "MBO_QUIET": "1", "OMP_NUM_THREADS": "1"}
    env.pop("MBO_CHECKPOINT_DIR", None)

    def call(kill: int, results):
        return subprocess.run([sys.executable, str(script), str(kill), str(results)], capture_output=True,
                              text=True, env=env, timeout=300)

    ref = call(0, tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr
    killed = call(kill_at, tmp_path / "res")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    ckpts = tmp_path / "res" / "checkpoints"
    assert any(ckpts.rglob("*.pt")), "the killed run left no checkpoint"
    resumed = call(0, tmp_path / "res")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming " in resumed.stderr and " from epoch " in resumed.stderr
    cands = [line for line in resumed.stdout.splitlines() if line.startswith("CANDS")]
    assert cands == [line for line in ref.stdout.splitlines() if line.startswith("CANDS")]
    assert not any(ckpts.rglob("*.pt")), "a finished run must delete its checkpoints"


def test_force_discards_checkpoints(tmp_path, monkeypatch):
    spec = plan(TinyDiscrete(), "grad-ascent", seed=0, budget=8, profile="quick", device="cpu")
    with monkeypatch.context() as m:
        _stop_after(m, 3)
        with pytest.raises(_Stop):
            execute(spec, tmp_path, context=RunContext(in_process=True), checkpoint_every=0)
    folder = tmp_path / "checkpoints" / spec.run_id
    assert folder.exists()
    rec = execute(spec, tmp_path, force=True, context=RunContext(in_process=True), checkpoint_every=0)
    assert rec["status"] == "ok" and not rec.get("resumed")
    assert not folder.exists()


def test_preemption_signal_is_held_when_a_job_asked_for_it(tmp_path):
    """A submitit job installs a handler for its preemption signal (USR2); the session writes a
    checkpoint at the next consistent point, then hands the signal to that handler (requeue)."""
    called = []
    old = signal.signal(signal.SIGUSR2, lambda signum, frame: called.append(signum))
    try:
        with checkpoint.session(tmp_path / "run", 1e9):
            with checkpoint.stage("loop", {"h": []}) as ck:
                os.kill(os.getpid(), signal.SIGUSR2)
                assert not called
                ck.reached(1)
                assert called == [signal.SIGUSR2]
                assert (tmp_path / "run" / "000-loop.pt").exists()
    finally:
        signal.signal(signal.SIGUSR2, old)


def test_slurm_requeue_resubmits_the_same_work():
    submitit = pytest.importorskip("submitit")
    from mbo.executors import SlurmRun

    run, job = SlurmRun(), ("any", "job")
    delayed = run.checkpoint(job, 2, True)
    assert isinstance(delayed, submitit.helpers.DelayedSubmission)
    assert delayed.function is run and delayed.args == (job, 2, True) and not delayed.kwargs


def test_sweep_worker_resumes_from_the_checkpoint_dir(tmp_path, monkeypatch):
    from mbo.sweep import Job, pending, run_job

    job = Job(f"{os.path.dirname(os.path.abspath(__file__))}/conftest.py:TinyDiscrete", "grad-ascent", 0, 8,
              "quick", (), "cpu", None, str(tmp_path / "res"), False, checkpoint_dir=str(tmp_path / "ck"),
              checkpoint_every=0.0, in_process=True)  # in-process: the test stops the fit from this process
    with monkeypatch.context() as m:
        _stop_after(m, 3)
        with pytest.raises(_Stop):
            run_job(job)
    assert any((tmp_path / "ck").rglob("*.pt"))
    rec = run_job(job)
    assert rec["status"] == "ok" and rec["resumed"][0]["stage"] == "000-ensemble"
    assert not any((tmp_path / "ck").rglob("*.pt"))
    with monkeypatch.context() as m:
        _stop_after(m, 3)
        with pytest.raises(_Stop):
            run_job(job)
    pending([dataclasses.replace(job, force=True)])  # --force: the driver discards them
    assert not any((tmp_path / "ck").rglob("*.pt"))


def test_cli_run_resumes_and_says_so(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from mbo.cli import main

    args = ["run", "-t", "tests/conftest.py:TinyDiscrete", "-o", "grad-ascent", "--profile", "quick", "-Q", "8",
            "--results-dir", str(tmp_path / "res"), "--checkpoint-dir", str(tmp_path / "ck"),
            "--checkpoint-every", "0", "--in-process"]  # in-process: the test stops the fit from this process
    with monkeypatch.context() as m:
        _stop_after(m, 5)
        CliRunner().invoke(main, args)
    assert any((tmp_path / "ck").rglob("000-ensemble.pt"))
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "resuming ensemble from epoch 0 of 10, batch 5" in res.output
    assert not any((tmp_path / "ck").rglob("*.pt"))


_STOPPED = textwrap.dedent("""
    import os, signal, sys
    import mbo
    if sys.argv[3] == "submitit":  # what submitit's handler does on Slurm's notice: requeue, exit
        signal.signal(signal.SIGUSR2, lambda *a: (print("REQUEUED", flush=True), os._exit(3)))
    rec = mbo.run("tests/conftest.py:TinyContinuous", "tests/faulty.py:Steps", seed=0, budget=4, device="cpu",
                  overrides={{"marker": sys.argv[2]}}, results_dir=sys.argv[1], checkpoint_every=1e9)
    print("CANDS", rec["status"], rec["candidates"])
""")


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX signals")
@pytest.mark.parametrize("how", ["SIGTERM to the run", "SIGTERM to its process group", "Ctrl-C",
                                 "Slurm's notice (USR2) to a submitit job's processes"])
def test_a_run_stopped_by_a_signal_behind_the_oracle_boundary_checkpoints_then_resumes(how, tmp_path):
    """The fit runs in a child process (the default): the run's own process relays the signal, the
    child writes a checkpoint at its loop's next step and exits, and a re-run resumes from it.
    Regression: the child exited with its parent before writing anything (on all three)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "MBO_QUIET": "1", "OMP_NUM_THREADS": "1"}
    env.pop("MBO_CHECKPOINT_DIR", None)
    marker, results = tmp_path / "marker", tmp_path / "res"
    submitit = how.startswith("Slurm")
    argv = [sys.executable, "-c", _STOPPED.format(), str(results), str(marker), "submitit" if submitit else "-"]

    proc = subprocess.Popen(argv, cwd=root, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline, at = time.time() + 60, 0
    while time.time() < deadline and at < 5:
        time.sleep(0.02)
        at = int(marker.read_text()) if marker.exists() else 0
    if how == "SIGTERM to the run":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGUSR2 if submitit else signal.SIGINT if how == "Ctrl-C" else signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == (3 if submitit else -signal.SIGINT if how == "Ctrl-C" else -signal.SIGTERM), err
    assert ("REQUEUED" in out) == submitit
    files = list((results / "checkpoints").rglob("*.pt"))
    assert files, f"no checkpoint was written on {how}: {err}"
    position = torch.load(files[0], weights_only=False)["position"]
    assert at <= position < 60, (at, position)
    assert not list(results.rglob("*.json")), "a stopped run stores no record"
    if how != "SIGTERM to its process group":
        return  # resuming is the same for all three

    resumed = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming steps from step {position} of 60" in resumed.stderr
    cands = [line for line in resumed.stdout.splitlines() if line.startswith("CANDS")]
    ref = run("tests/conftest.py:TinyContinuous", "tests/faulty.py:Steps", seed=0, budget=4, device="cpu",
              overrides={"sleep": 0.0}, results_dir=tmp_path / "ref", in_process=True)
    assert cands == [f"CANDS ok {ref['candidates']}"]
    assert not any((results / "checkpoints").rglob("*.pt"))

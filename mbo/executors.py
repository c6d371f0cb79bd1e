"""Where a sweep's runs execute: this process, local worker processes, Ray, or Slurm (submitit).

Every executor has the same small interface: ``submit(key, job)`` queues a job,
``next_result()`` blocks until one finishes and returns ``(key, record, error)``, and
``close(cancel)`` stops everything it started. Workers only *run* a job (see
:func:`mbo.sweep.run_job`) and return its record; the driver writes it, so no worker ever
touches the results folder and no shared file system is needed (except submitit's own
job folder on Slurm). ``error`` is set instead of ``record`` when the worker itself was
lost (killed, out of memory, node died); the driver then retries the job once.
"""
from __future__ import annotations

import math
import os
import signal
import time
import traceback
from collections import deque
from pathlib import Path
from typing import Any

from mbo.errors import ConfigError, require

EXECUTORS = ("local", "ray", "slurm", "slurm-local")


class Executor:
    """Base class: a context manager that cancels whatever is still running when left by an exception."""

    def submit(self, key: int, job: Any) -> None:
        raise NotImplementedError

    def next_result(self) -> tuple[int, dict[str, Any] | None, str | None]:
        raise NotImplementedError

    def close(self, cancel: bool) -> None:
        """Stop workers; with ``cancel`` also kill runs in progress and drop queued ones."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(cancel=exc_type is not None)


def cpu_count() -> int:
    """CPUs this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """The GPU ids this process may use: ``$CUDA_VISIBLE_DEVICES`` if set, else every CUDA device."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        ids = [g.strip() for g in env.split(",") if g.strip()]
        return [] if ids[:1] == ["-1"] else ids
    try:
        import torch
    except ImportError:
        return []
    return [str(i) for i in range(torch.cuda.device_count())]


def assign_gpus(num_workers: int, gpus_per_run: float, visible: list[str]) -> list[str]:
    """``CUDA_VISIBLE_DEVICES`` for each local worker so that runs spread over the visible GPUs.

    A fraction shares one GPU between ``floor(1 / gpus_per_run)`` workers (round robin, so the
    GPUs fill evenly); a whole number gives each worker that many GPUs of its own.

    Raises:
        ConfigError: no GPU is visible, a count above 1 is not whole, or ``num_workers`` runs
            at once need more GPUs than are visible.
    """
    if gpus_per_run <= 0:
        raise ConfigError(f"--gpus-per-run must be positive, got {gpus_per_run}")
    n = len(visible)
    if n == 0:
        raise ConfigError("--gpus-per-run needs a GPU, but none is visible "
                          f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); drop the option "
                          "to run on CPUs")
    if gpus_per_run <= 1:
        per_gpu = math.floor(1 / gpus_per_run + 1e-9)
        if num_workers > per_gpu * n:
            raise ConfigError(f"--jobs {num_workers} with --gpus-per-run {gpus_per_run} needs "
                              f"{math.ceil(num_workers / per_gpu)} GPUs but {n} are visible ({','.join(visible)}); "
                              f"use --jobs {per_gpu * n} or a smaller --gpus-per-run")
        return [visible[i % n] for i in range(num_workers)]
    if gpus_per_run != int(gpus_per_run):
        raise ConfigError(f"--gpus-per-run above 1 must be a whole number of GPUs, got {gpus_per_run}")
    k = int(gpus_per_run)
    if num_workers * k > n:
        raise ConfigError(f"--jobs {num_workers} with --gpus-per-run {k} needs {num_workers * k} GPUs but {n} are "
                          f"visible ({','.join(visible)}); use --jobs {max(1, n // k)}")
    return [",".join(visible[i * k:(i + 1) * k]) for i in range(num_workers)]


def make_executor(kind: str, *, jobs: int | None = None, cpus_per_run: float | None = None,
                  threads: int | None = None, gpus_per_run: float | None = None,
                  slurm_folder: str | Path = "slurm-logs",
                  slurm_partition: str | None = None, slurm_time: int = 60, slurm_mem_gb: float | None = None
                  ) -> Executor:
    """The executor named ``kind`` (one of :data:`EXECUTORS`), checked before anything starts.

    Args:
        jobs: runs at once (local: worker processes, default 1 = in this process; Ray and
            Slurm: a cap on runs in flight, default none).
        cpus_per_run: CPU cores (and torch threads) per run; default: local, the CPUs
            divided by ``jobs``; Ray and Slurm, 1.
        threads: torch threads per run (``--threads``), overriding the count ``cpus_per_run``
            implies; default: that count, else ``$OMP_NUM_THREADS`` if set, else (local) the
            CPUs divided by ``jobs``.
        gpus_per_run: GPUs per run; fractions share a GPU (Ray, local).
        slurm_folder: submitit's folder for job pickles and logs (on a file system the
            nodes share).
        slurm_partition, slurm_time, slurm_mem_gb: Slurm partition, time limit in minutes
            and memory per run.
    """
    if kind not in EXECUTORS:
        raise ConfigError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    if cpus_per_run is not None and cpus_per_run <= 0:
        raise ConfigError(f"--cpus-per-run must be positive, got {cpus_per_run}")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    if gpus_per_run is not None and gpus_per_run < 0:
        raise ConfigError(f"--gpus-per-run must be positive, got {gpus_per_run}")
    gpus = gpus_per_run or 0
    if kind == "local":
        workers = jobs or 1
        from mbo.threads import default_threads

        threads = threads or (max(1, round(cpus_per_run)) if cpus_per_run else default_threads(workers))
        gpu_sets = assign_gpus(workers, gpus, visible_gpus()) if gpus else None
        if workers == 1 and not gpu_sets:
            return InProcess(threads)
        return LocalProcesses(workers, threads, gpu_sets)
    if kind == "ray":
        ray_ex = RayExecutor(cpus_per_run or 1, gpus, max_in_flight=jobs)
        ray_ex.threads = threads or ray_ex.threads
        return ray_ex
    if gpus != int(gpus):
        raise ConfigError(f"Slurm gives whole GPUs to each run; --gpus-per-run {gpus_per_run} is a fraction "
                          "(use --executor ray to share GPUs)")
    if slurm_time <= 0:
        raise ConfigError(f"--slurm-time must be a positive number of minutes, got {slurm_time}")
    slurm_ex = SlurmExecutor(slurm_folder, cluster="local" if kind == "slurm-local" else "slurm",
                             cpus_per_run=max(1, math.ceil(cpus_per_run or threads or 1)), gpus_per_run=int(gpus),
                             partition=slurm_partition, time_min=slurm_time, mem_gb=slurm_mem_gb,
                             max_in_flight=jobs)
    slurm_ex.threads = threads or slurm_ex.threads
    return slurm_ex


def _run_job(job: Any, threads: int, quiet: bool) -> dict[str, Any]:
    from mbo.sweep import run_job

    return run_job(job, threads, quiet=quiet)


class SlurmRun:
    """A sweep job as submitit runs it. When Slurm preempts the job or its time runs out, submitit
    calls :meth:`checkpoint` and requeues the same work; the rerun resumes from the run's
    training checkpoints (written at the loop's next consistent point after the signal)."""

    def __call__(self, job: Any, threads: int, quiet: bool) -> dict[str, Any]:
        return _run_job(job, threads, quiet)

    def checkpoint(self, job: Any, threads: int, quiet: bool):
        """submitit's requeue hook: the same call again (a ``DelayedSubmission``)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, job, threads, quiet)


def _describe(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}".strip()


class InProcess(Executor):
    """Runs each job in this process, one at a time, with per-run progress bars (``--jobs 1``)."""

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads
        self._queue: deque = deque()

    def submit(self, key: int, job: Any) -> None:
        self._queue.append((key, job))

    def next_result(self) -> tuple[int, dict[str, Any] | None, str | None]:
        key, job = self._queue.popleft()
        try:
            return key, _run_job(job, self.threads, quiet=False), None
        except Exception as exc:  # e.g. a plugin that cannot be imported: report, go on
            return key, None, _describe(exc)


def _worker_main(conn, env: dict[str, str], threads: int) -> None:
    """A local worker: run the jobs the driver sends until it sends ``None`` or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it stops us
    os.environ.update(env)  # before torch is imported, so CUDA_VISIBLE_DEVICES applies
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if job is None:
            return
        try:
            msg = ("ok", _run_job(job, threads, quiet=True))
        except Exception as exc:
            msg = ("error", f"{_describe(exc)}\n{traceback.format_exc(limit=4)}")
        conn.send(msg)


class LocalProcesses(Executor):
    """``num_workers`` spawned worker processes on this machine, each pinned to its own GPU set.

    Workers ignore SIGINT; the driver stops them (SIGTERM, then SIGKILL) on Ctrl-C, so runs in
    progress end at once and no new run starts. A worker that dies is replaced.
    """

    def __init__(self, num_workers: int, threads: int, gpu_sets: list[str] | None = None) -> None:
        import multiprocessing as mp

        self._ctx = mp.get_context("spawn")
        self.threads = threads
        self._envs = [{"MBO_QUIET": "1"} for _ in range(num_workers)]
        for env, gpus in zip(self._envs, gpu_sets or []):
            env["CUDA_VISIBLE_DEVICES"] = gpus
        self._procs: list[Any] = [None] * num_workers
        self._conns: list[Any] = [None] * num_workers
        self._busy: list[int | None] = [None] * num_workers
        self._queue: deque = deque()

    def submit(self, key: int, job: Any) -> None:
        self._queue.append((key, job))

    def _dispatch(self) -> None:
        for i in range(len(self._procs)):
            if not self._queue:
                return
            if self._busy[i] is not None:
                continue
            if self._procs[i] is None or not self._procs[i].is_alive():
                self._start(i)
            key, job = self._queue.popleft()
            self._conns[i].send(job)
            self._busy[i] = key

    def _start(self, i: int) -> None:
        parent, child = self._ctx.Pipe()
        # not daemonic, so that it may start each run's optimizer process; close() always stops it
        proc = self._ctx.Process(target=_worker_main, args=(child, self._envs[i], self.threads), daemon=False,
                                 name=f"mbo-sweep-worker-{i}")
        proc.start()
        child.close()
        self._procs[i], self._conns[i] = proc, parent

    def next_result(self) -> tuple[int, dict[str, Any] | None, str | None]:
        from multiprocessing.connection import wait

        self._dispatch()
        busy = [i for i, key in enumerate(self._busy) if key is not None]
        if not busy:
            raise RuntimeError("next_result() called with no job submitted")
        while True:
            ready = set(wait([self._conns[i] for i in busy] + [self._procs[i].sentinel for i in busy]))
            for i in busy:
                if self._conns[i] in ready:
                    try:
                        status, payload = self._conns[i].recv()
                    except (EOFError, OSError):  # died while sending; its sentinel says how
                        self._procs[i].join(timeout=5)
                    else:
                        key, self._busy[i] = self._busy[i], None
                        return (key, payload, None) if status == "ok" else (key, None, payload)
                if self._procs[i].sentinel in ready or not self._procs[i].is_alive():
                    self._procs[i].join(timeout=5)
                    code = self._procs[i].exitcode
                    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                    self._conns[i].close()
                    self._procs[i] = None
                    key, self._busy[i] = self._busy[i], None
                    return key, None, f"worker process died ({how})"

    def close(self, cancel: bool) -> None:
        self._queue.clear()
        live = [p for p in self._procs if p is not None and p.is_alive()]
        for i, p in enumerate(self._procs):
            if p is None or not p.is_alive():
                continue
            if cancel or self._busy[i] is not None:
                p.terminate()  # SIGTERM: a run in progress stops now; its record was never finished
            else:
                try:
                    self._conns[i].send(None)
                except OSError:
                    p.terminate()
        deadline = time.monotonic() + 3
        for p in live:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
        for c in self._conns:
            if c is not None:
                c.close()
        self._procs = [None] * len(self._procs)
        self._busy = [None] * len(self._busy)


class RayExecutor(Executor):
    """One Ray task per run, on the cluster at ``$RAY_ADDRESS`` (else a local Ray instance).

    Each task asks for ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs (a fraction shares a
    GPU) and returns its record to the driver. Ray's own retry is off: a lost worker is
    reported to the driver, which retries the job once.
    """

    def __init__(self, cpus_per_run: float = 1, gpus_per_run: float = 0, max_in_flight: int | None = None) -> None:
        if os.environ.get("RAY_ADDRESS") and "RAY_AUTH_MODE" not in os.environ and _ray_token_available():
            os.environ["RAY_AUTH_MODE"] = "token"  # `ray start` clusters (recent Ray) want it; read at import
        self.ray = require("ray", extra="ray")
        self._own = False
        self.threads = max(1, round(cpus_per_run))
        # workers of a cluster started elsewhere (`ray start`) do not inherit this process's environment:
        # pass the OpenMP wait policy (mbo.threads.passive_openmp) so their runs do not spin either
        wait_policy = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        self._remote = self.ray.remote(_run_job).options(num_cpus=cpus_per_run, num_gpus=gpus_per_run,
                                                         max_retries=0, runtime_env={"env_vars": wait_policy})
        self.max_in_flight = max_in_flight
        self._queue: deque = deque()
        self._refs: dict[Any, int] = {}

    def submit(self, key: int, job: Any) -> None:
        self._queue.append((key, job))

    def _connect(self) -> None:
        import logging

        if self.ray.is_initialized():
            return
        # connected on first use, so a sweep with nothing to run starts nothing
        address = os.environ.get("RAY_ADDRESS") or None
        try:
            self.ray.init(address=address, log_to_driver=False, include_dashboard=False,
                          logging_level=logging.WARNING)
        except ConnectionError as exc:
            raise ConfigError(f"cannot connect to the Ray cluster at RAY_ADDRESS={address}: {_describe(exc)}. "
                              "Check `ray status` on the head node; a cluster with token authentication needs "
                              "its token here (~/.ray/auth_token or RAY_AUTH_TOKEN) and RAY_AUTH_MODE=token"
                              ) from None
        self._own = True

    def next_result(self) -> tuple[int, dict[str, Any] | None, str | None]:
        self._connect()
        while self._queue and (self.max_in_flight is None or len(self._refs) < self.max_in_flight):
            key, job = self._queue.popleft()
            self._refs[self._remote.remote(job, self.threads, True)] = key
        done: list = []
        while not done:  # short waits keep Ctrl-C responsive
            done, _ = self.ray.wait(list(self._refs), num_returns=1, timeout=0.5)
        key = self._refs.pop(done[0])
        try:
            return key, self.ray.get(done[0]), None
        except Exception as exc:  # the worker or its node died, or the task raised
            return key, None, _describe(exc)

    def close(self, cancel: bool) -> None:
        if cancel:
            for ref in self._refs:
                try:
                    self.ray.cancel(ref, force=True)
                except Exception:  # already finished or its node is gone
                    pass
        self._refs.clear()
        self._queue.clear()
        if self._own:
            self.ray.shutdown()


def _ray_token_available() -> bool:
    return bool(os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
                or Path("~/.ray/auth_token").expanduser().is_file())


class SlurmExecutor(Executor):
    """A Slurm array job per sweep through submitit (``cluster="local"``: submitit's local executor).

    Each array task runs one job and returns its record through submitit's result file in
    ``folder``; the driver writes the record. ``max_in_flight`` caps the array's parallelism
    (on the local executor, the processes at once). A preempted or timed-out task is requeued
    (:class:`SlurmRun`) and resumes from its checkpoints, which must then be on a file system
    the nodes share (``--checkpoint-dir``).
    """

    def __init__(self, folder: str | Path, cluster: str = "slurm", cpus_per_run: int = 1, gpus_per_run: int = 0,
                 partition: str | None = None, time_min: int = 60, mem_gb: float | None = None,
                 max_in_flight: int | None = None) -> None:
        submitit = require("submitit", extra="slurm")
        self.threads = cpus_per_run
        self.local = cluster == "local"
        self._ex = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        params: dict[str, Any] = {"name": "mbo-sweep", "timeout_min": time_min, "cpus_per_task": cpus_per_run,
                                  "gpus_per_node": gpus_per_run}
        if mem_gb:
            params["mem_gb"] = mem_gb
        if partition:
            params["slurm_partition"] = partition
        if max_in_flight:
            params["slurm_array_parallelism"] = max_in_flight
        self._ex.update_parameters(**params)
        self.max_in_flight = max_in_flight
        self._queue: deque = deque()
        self._jobs: dict[Any, int] = {}

    def submit(self, key: int, job: Any) -> None:
        self._queue.append((key, job))

    def _flush(self) -> None:
        room = len(self._queue)
        if self.local and self.max_in_flight:  # the local executor has no array throttle of its own
            room = min(room, self.max_in_flight - len(self._jobs))
        batch = [self._queue.popleft() for _ in range(max(0, room))]
        if batch:
            handles = self._ex.map_array(SlurmRun(), [job for _, job in batch], [self.threads] * len(batch),
                                         [True] * len(batch))
            self._jobs.update({h: key for h, (key, _) in zip(handles, batch)})

    def next_result(self) -> tuple[int, dict[str, Any] | None, str | None]:
        self._flush()
        while True:
            for handle, key in list(self._jobs.items()):
                if handle.done():
                    del self._jobs[handle]
                    try:
                        return key, handle.result(), None
                    except Exception as exc:  # the array task failed or its node died
                        return key, None, f"{_describe(exc)} (logs: {handle.paths.stderr})"
            time.sleep(0.5 if self.local else 5)

    def close(self, cancel: bool) -> None:
        self._queue.clear()
        if not cancel:
            return
        for handle in self._jobs:
            try:
                handle.cancel(check=False)
            except Exception:  # already finished
                pass
        deadline = time.monotonic() + 5
        while self.local and time.monotonic() < deadline and not all(h.done() for h in self._jobs):
            time.sleep(0.1)
        self._jobs.clear()

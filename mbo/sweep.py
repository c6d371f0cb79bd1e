"""Running a grid of (task, optimizer, seed) in parallel worker processes, resumably.

Each job is planned first (cheap); jobs whose run id already has a successful record are
skipped, so a sweep killed half-way resumes where it stopped. Workers write their own
records atomically; a failed run is recorded and the sweep goes on.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any



@dataclass(frozen=True)
class Job:
    task: str
    optimizer: str
    seed: int
    budget: int
    profile: str | None
    overrides: tuple[tuple[str, Any], ...]
    device: str
    data_dir: str | None
    results_dir: str
    force: bool


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` → [0..4]; ``"0,2,5"`` → [0, 2, 5]; ``"3"`` → [3]."""
    from mbo.errors import ConfigError

    seeds: list[int] = []
    try:
        for part in str(text).split(","):
            lo, sep, hi = part.strip().partition("-")
            if sep:
                if int(hi) < int(lo):
                    raise ConfigError(f"seed range {part.strip()!r} is reversed; write {hi.strip()}-{lo.strip()}")
                seeds.extend(range(int(lo), int(hi) + 1))
            elif lo:
                seeds.append(int(lo))
    except ConfigError:
        raise
    except ValueError:
        raise ConfigError(f"seeds must look like 0-4 or 0,1,2; got {text!r}") from None
    if not seeds:
        raise ConfigError(f"no seeds in {text!r}")
    return seeds


def _work(job: Job, threads: int) -> dict[str, Any]:
    import torch

    from mbo.harness import plan, execute

    if threads:
        torch.set_num_threads(threads)
    spec = plan(job.task, job.optimizer, seed=job.seed, budget=job.budget, profile=job.profile,
                overrides=dict(job.overrides), device=job.device, data_dir=job.data_dir)
    rec = execute(spec, job.results_dir, force=job.force)
    return {k: rec.get(k) for k in ("task", "label", "seed", "status", "error", "summary", "timings",
                                   "dataset_best", "num_clipped", "_path", "_kept_ok")}


def pending(jobs: list[Job]) -> tuple[list[Job], int]:
    """Split off jobs that already have a successful record (unless ``force``)."""
    from mbo.harness import cached, plan

    todo, done = [], 0
    for job in jobs:
        if not job.force:
            spec = plan(job.task, job.optimizer, seed=job.seed, budget=job.budget, profile=job.profile,
                        overrides=dict(job.overrides), device=job.device, data_dir=job.data_dir)
            if cached(spec, Path(job.results_dir))[0] is not None:  # ok and same code hash
                done += 1
                continue
        todo.append(job)
    return todo, done


def run_sweep(jobs: list[Job], num_jobs: int = 1, on_result=None, executor: str = "local") -> list[dict[str, Any]]:
    """Run ``jobs`` with ``num_jobs`` worker processes (1: in this process), or on Ray.

    ``executor="ray"`` submits each job as a Ray task: to a running cluster when
    ``$RAY_ADDRESS`` is set (every node needs mbo installed and the results directory on a
    shared file system), else to a local Ray instance. ``on_result`` is called with each
    finished job's summary (for progress display).
    """
    if executor == "ray":
        return _run_ray(jobs, num_jobs, on_result)
    if executor != "local":
        from mbo.errors import ConfigError

        raise ConfigError(f"executor must be 'local' or 'ray', got {executor!r}")
    results = []
    if num_jobs <= 1:  # in this process, with torch's default threads (same as `mbo run`)
        threads = 0
        for job in jobs:
            res = _work(job, threads)
            results.append(res)
            if on_result:
                on_result(res)
        return results
    import multiprocessing as mp

    threads = max(1, (os.cpu_count() or 1) // num_jobs)
    with ProcessPoolExecutor(max_workers=num_jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_work, job, threads): job for job in jobs}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # a worker died (e.g. out of memory): report, keep going
                res = _lost(job, f"worker crashed: {type(exc).__name__}: {exc}")
            results.append(res)
            if on_result:
                on_result(res)
    return results


def _run_ray(jobs: list[Job], num_jobs: int, on_result) -> list[dict[str, Any]]:
    from mbo.errors import require

    ray = require("ray", extra="ray")
    ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True, log_to_driver=False,
             include_dashboard=False)
    threads = max(1, (os.cpu_count() or 1) // max(1, num_jobs))
    remote = ray.remote(num_cpus=threads)(_work)
    pending_refs = {remote.remote(job, threads): job for job in jobs}
    results = []
    while pending_refs:
        done, _ = ray.wait(list(pending_refs), num_returns=1)
        job = pending_refs.pop(done[0])
        try:
            res = ray.get(done[0])
        except Exception as exc:  # a task or node died: report, keep going
            res = _lost(job, f"ray task failed: {type(exc).__name__}: {exc}")
        results.append(res)
        if on_result:
            on_result(res)
    return results


def _lost(job: Job, why: str) -> dict[str, Any]:
    """The summary of a job whose worker died before it could write a record."""
    return {"task": job.task, "label": job.optimizer, "seed": job.seed, "status": "failed", "error": why}

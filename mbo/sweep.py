"""Running a grid of (task, optimizer, seed) on an executor, resumably.

Each job is planned first (cheap); jobs whose run id already has a successful record are
skipped, so a sweep killed half-way resumes where it stopped. Workers (local processes,
Ray tasks, Slurm array tasks; see :mod:`mbo.executors`) only run a job and return its
record; the driver writes it atomically. A failed run is recorded and the sweep goes on.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mbo.executors import Executor


@dataclass(frozen=True)
class Job:
    """One (task, optimizer, seed) run of a sweep, as plain data a worker on another machine can plan.

    ``budget`` may be a tuple of several Q: the job is then one fit that serves every Q (one record
    per Q, each the one a separate run gives; :func:`mbo.harness.execute_shared`).

    ``results_dir`` is where the *driver* writes the record; workers never use it, except to keep
    the optimizer's process away from its records and to put checkpoints under
    ``<results_dir>/checkpoints`` when ``checkpoint_dir`` is not given. ``checkpoint_every``: seconds
    between checkpoints of a training run (``None``: none). ``in_process`` runs the optimizer's code
    in the worker itself (debugging; see :class:`mbo.isolation.RunContext`). ``label``: the record's
    label (default: the configuration's, as :func:`mbo.harness.default_label` names it).
    """

    task: str
    optimizer: str
    seed: int
    budget: int | tuple[int, ...]
    profile: str | None
    overrides: tuple[tuple[str, Any], ...]
    device: str
    data_dir: str | None
    results_dir: str
    force: bool
    precision: str = "fp32"
    checkpoint_dir: str | None = None
    checkpoint_every: float | None = 300.0
    in_process: bool = False
    label: str | None = None

    @property
    def budgets(self) -> tuple[int, ...]:
        """The job's Q values (one run, and one record, each)."""
        return self.budget if isinstance(self.budget, tuple) else (self.budget,)


def portable_name(name: str) -> str:
    """``file.py:Class`` with the file's absolute path, so a worker in another directory finds it."""
    path, sep, cls = name.rpartition(":")
    if sep and path.endswith(".py") and not os.path.isabs(path):
        return f"{os.path.abspath(path)}:{cls}"
    return name


def parse_budgets(text: str | int) -> list[int]:
    """``"128"`` → [128]; ``"128,256"`` → [128, 256] (several Q from one fit: :func:`mbo.harness.execute_shared`)."""
    from mbo.errors import ConfigError

    try:
        budgets = [int(p) for p in str(text).split(",") if p.strip()]
    except ValueError:
        raise ConfigError(f"budget Q must be a whole number or a list like 128,256; got {text!r}") from None
    if not budgets:
        raise ConfigError(f"no budget in {text!r}")
    repeated = sorted(q for q, n in Counter(budgets).items() if n > 1)
    if repeated:
        raise ConfigError(f"budgets {text!r} name Q = {', '.join(map(str, repeated))} more than once; give each Q once")
    return budgets


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` → [0..4]; ``"0,2,5"`` → [0, 2, 5]; ``"3"`` → [3]; each seed once, each valid (:func:`check_seed`)."""
    from mbo.config import check_seed
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
        raise ConfigError(f"seeds must look like 0-4 or 0,1,2 (whole numbers ≥ 0); got {text!r}") from None
    if not seeds:
        raise ConfigError(f"no seeds in {text!r}")
    repeated = sorted(s for s, n in Counter(seeds).items() if n > 1)
    if repeated:
        raise ConfigError(f"seeds {text!r} name seed {', '.join(map(str, repeated))} more than once, so a summary "
                          f"would count one run twice; give each seed once, e.g. "
                          f"{','.join(map(str, sorted(set(seeds))))}")
    for s in seeds:
        check_seed(s)
    return seeds


def run_job(job: Job, threads: int = 0, quiet: bool = False) -> dict[str, Any] | list[dict[str, Any]]:
    """Run one job and return its record (a list of records, one per Q, for a job of several Q),
    writing nothing: what every executor's worker does.

    Args:
        threads: torch threads for this run (0: leave torch's default).
        quiet: no progress bars (a worker shares its terminal with the sweep's bar).
    """
    from mbo.harness import checkpoint_folder, run_spec, run_specs_shared
    from mbo.isolation import RunContext

    if quiet:
        os.environ["MBO_QUIET"] = "1"
    if threads:
        from mbo.threads import set_threads

        set_threads(threads)
    specs = _plan_all(job)
    folder = checkpoint_folder(specs[0], job.results_dir, job.checkpoint_dir, False, job.checkpoint_every)
    context = RunContext(in_process=job.in_process, threads=threads, results_dir=job.results_dir,
                         checkpoint_dir=None if folder is None else str(folder),
                         checkpoint_every=job.checkpoint_every or 0.0)
    if isinstance(job.budget, tuple):
        return run_specs_shared(specs, context)
    return run_spec(specs[0], context)  # resumes from the run's checkpoints, if any


def _plan_all(job: Job) -> list:
    from mbo.harness import plan

    return [plan(job.task, job.optimizer, seed=job.seed, budget=q, profile=job.profile,
                 overrides=dict(job.overrides), device=job.device, data_dir=job.data_dir, precision=job.precision,
                 label=job.label) for q in job.budgets]


def pending(jobs: list[Job]) -> tuple[list[Job], int]:
    """Split off the runs that already have a successful record (unless ``force``, which also
    discards the checkpoints of the runs it re-runs); returns the jobs left (a job of several Q
    keeps the Q still to run) and the number of runs done."""
    import dataclasses

    from mbo.harness import checkpoint_folder, finished

    todo, done = [], 0
    for job in jobs:
        left = []
        for spec in _plan_all(job):
            if not job.force and finished(spec, job.results_dir, in_process=job.in_process) is not None:
                done += 1
                continue
            if job.force:
                checkpoint_folder(spec, job.results_dir, job.checkpoint_dir, True, job.checkpoint_every)
            left.append(spec.budget)
        if left:
            keep = tuple(left) if isinstance(job.budget, tuple) and len(left) > 1 else left[0]
            todo.append(dataclasses.replace(job, budget=keep))
    return todo, done


def run_sweep(jobs: list[Job], executor: Executor | None = None, on_result=None, on_retry=None
              ) -> list[dict[str, Any]]:
    """Run ``jobs`` on ``executor`` (default: one at a time in this process); the driver writes each record.

    Each record is written (atomically, by :func:`mbo.harness.save`) as soon as its run
    returns, so an interrupted sweep keeps every finished run. A job whose worker was lost
    is retried once (``on_retry(job, why)`` is told); if it is lost again its summary says
    so and no record is written, so the next sweep runs it again. ``on_result`` gets each
    finished record (for progress display). On Ctrl-C (KeyboardInterrupt) the executor
    stops every run in progress and the exception propagates.
    """
    from mbo.executors import InProcess
    from mbo.harness import save

    executor = executor if executor is not None else InProcess()
    results: list[dict[str, Any]] = []
    retried: set[int] = set()
    with executor:
        for key, job in enumerate(jobs):
            executor.submit(key, job)
        left = len(jobs)
        while left:
            key, rec, error = executor.next_result()
            job = jobs[key]
            if error is not None and key not in retried:
                retried.add(key)
                if on_retry:
                    on_retry(job, error)
                executor.submit(key, job)
                continue
            left -= 1
            if error is None:
                recs = [save(r, job.results_dir) for r in (rec if isinstance(rec, list) else [rec])]
            else:
                recs = [_lost(job, q, f"worker lost twice; last: {error.splitlines()[0]}") for q in job.budgets]
            results.extend(recs)
            for r in recs if on_result else []:
                on_result(r)
    return results


def _lost(job: Job, budget: int, why: str) -> dict[str, Any]:
    """The summary of a run whose worker died before it could return a record."""
    return {"task": job.task, "label": job.optimizer, "seed": job.seed, "budget": budget, "status": "failed",
            "error": why}

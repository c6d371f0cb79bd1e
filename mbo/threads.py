"""CPU threads of a run: a passive OpenMP wait policy and a thread count that fits the machine.

torch starts one OpenMP thread per core by default, and OpenMP threads spin while they wait:
with another CPU-bound process on the same cores a run then crawls (a quick TF-Bind-8 run on
2 busy cores did not finish in 150 s instead of taking 17 s). The CLI therefore asks OpenMP to
wait passively (unless the user chose a policy) before torch is imported, and gives each run
``--threads`` torch threads, by default the CPUs this process may use divided by the runs in
flight (``$OMP_NUM_THREADS`` when the user set it). Importing this module changes nothing.
"""
from __future__ import annotations

import os


def passive_openmp() -> None:
    """Make OpenMP threads sleep, not spin, while they wait, unless ``$OMP_WAIT_POLICY`` is set.

    OpenMP reads the variable when its runtime starts, so call this before torch is imported
    (the ``mbo`` command does so first thing); worker processes inherit it.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def default_threads(jobs: int = 1) -> int:
    """Torch threads per run: ``$OMP_NUM_THREADS`` if the user set it, else the CPUs / ``jobs`` (at least 1)."""
    from mbo.executors import cpu_count

    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, cpu_count() // max(1, jobs))


def set_threads(threads: int) -> int:
    """Use ``threads`` torch threads in this process; returns it."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads

"""The oracle boundary: an optimizer's code runs in a child process that holds no task.

By default the harness runs everything an optimizer does (its constructor, ``fit``,
``propose``, ``diagnostics``) in a child process started from a clean interpreter (a fork
server that has imported torch and nothing of any task). The child receives the
:class:`~mbo.core.OfflineData`, the config, the seed and the device, and returns the candidates
and the optimizer's diagnostics; the parent alone holds the task, validates the candidates
again and scores them. In the child an audit hook (PEP 578; it cannot be removed once set)
refuses opening the task data, mbo's cache of oracle tables, the task modules and the results
folder's records, importing any task module, and starting processes. A refusal fails the run
with :class:`~mbo.errors.OracleAccessError` naming what was attempted, even if the optimizer
catches it.

This is a guard against shortcuts and mistakes, not a sandbox: native code (C extensions,
``ctypes``) does not go through the audit hook, and a hostile plug-in can carry its own copy of
an oracle formula or fetch public data from the network. See ARCHITECTURE.md.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mbo import checkpoint
from mbo.core import ORACLE_RULE, OfflineData, sealed_oracle
from mbo.errors import ConfigError, MBOError, OptimizerProcessLost, OracleAccessError


@dataclasses.dataclass(frozen=True)
class RunContext:
    """How the optimizer's side of a run executes; none of it is part of the run's identity.

    Attributes:
        in_process: run the optimizer's code in this process, without the child process and its
            audit hook (for debugging, e.g. with pdb); the record says ``isolation: in-process``
            and a run in a child process never reuses it.
        threads: torch threads for the optimizer (0: this process's current count).
        results_dir: the results folder whose records the optimizer may not read (default:
            ``$MBO_RESULTS_DIR`` or ``./results``).
        checkpoint_dir: the run's checkpoint folder (:func:`mbo.checkpoint.run_directory`): the fit
            resumes from it and writes to it; the optimizer may read and write it, even inside the
            results folder. ``None``: no checkpoints.
        checkpoint_every: seconds between checkpoints.
        precision: ``fp32``, or ``bf16`` (fit and propose under ``torch.autocast``).
    """

    in_process: bool = False
    threads: int = 0
    results_dir: str | None = None
    checkpoint_dir: str | None = None
    checkpoint_every: float = 300.0
    precision: str = "fp32"


def optimizer_side(optimizer_cls: type, config: Any, seed: int, device: str, data: OfflineData,
                   budget: int | tuple[int, ...], context: RunContext) -> dict[str, Any] | list[dict[str, Any]]:
    """Everything the optimizer's code does in one run: construct, fit, propose, diagnostics.

    Runs in the child process (or in this one with ``context.in_process``). Every phase runs with
    every oracle in the process sealed (:func:`mbo.core.sealed_oracle`); fit and propose run inside
    the run's checkpoint session (an interrupted fit resumes) and under ``context.precision``.

    ``budget`` may be a tuple of several Q: the optimizer is then fitted once and each Q is proposed
    from a copy of the fitted optimizer with the random state it had right after ``fit``, so each
    result is the one a separate run with that Q gives (one fit, several Q).

    Returns:
        ``{"candidates": [budget, dim] array checked by the design space, "num_clipped": int,
        "diagnostics": JSON-friendly dict, "timings": {"fit", "propose"}, "device": str,
        "torch_threads": int, "subnormals": "flushed" | "kept", "resumed": list | None,
        "surrogate_gradient": [budget, dim] array or None}``; the last is the optimizer's surrogate
        gradient at the top-``budget`` offline designs (continuous spaces), which the parent compares
        with a closed-form task's exact gradient.
        For a tuple of budgets, a list of such dicts, one per Q (their ``fit`` timing is the shared fit).

    Raises:
        Whatever the optimizer raises; :class:`~mbo.errors.InvalidCandidatesError` for candidates
        the space rejects; :class:`~mbo.errors.OracleAccessError` for an oracle call.
    """
    import copy

    import torch

    from mbo.nn.device import autocast, resolve_device, seed_everything

    budgets = (budget,) if isinstance(budget, (int, np.integer)) else tuple(budget)
    dev = resolve_device(device)
    seed_everything(seed)
    with sealed_oracle("__init__"):
        opt = optimizer_cls(config=config, seed=seed, device=dev)
    out = []
    with checkpoint.session(context.checkpoint_dir, context.checkpoint_every,  # resumes an interrupted fit
                            relayed=not context.in_process) as ck:
        t = time.perf_counter()
        with sealed_oracle("fit"), autocast(dev, context.precision):
            opt.fit(data)
        fit_s = time.perf_counter() - t
        if len(budgets) > 1:  # each Q starts from the state right after fit
            fitted, after_fit = copy.deepcopy(opt), checkpoint.rng_state()
        for i, q in enumerate(budgets):
            if len(budgets) > 1:
                checkpoint.set_rng_state(after_fit)
                opt = fitted if i == len(budgets) - 1 else copy.deepcopy(fitted)
            t = time.perf_counter()
            with sealed_oracle("propose"), autocast(dev, context.precision):
                cands = opt.propose(q)
            timings = {"fit": fit_s, "propose": time.perf_counter() - t}
            if ck is not None and ck.resumed:
                timings["before_resume"] = ck.before
            cands, clipped = data.space.check(cands, n=q)
            with sealed_oracle("diagnostics"):
                diag = jsonable(opt.diagnostics() or {})
                points = None if data.space.is_discrete else data.top(q)[0]
                grad = None if points is None else opt.surrogate_gradient(points)
            out.append({"candidates": cands, "num_clipped": clipped, "diagnostics": diag, "timings": timings,
                        "device": str(dev), "torch_threads": torch.get_num_threads(),
                        "subnormals": "flushed" if float(torch.tensor(1e-39) * 0.5) == 0.0 else "kept",
                        "surrogate_gradient": None if grad is None else np.asarray(grad, np.float64)})
    resumed = jsonable(ck.resumed) if ck is not None and ck.resumed else None
    for side in out:
        side["resumed"] = resumed
    return out[0] if isinstance(budget, (int, np.integer)) else out


class ChildFailure(Exception):
    """The optimizer's code failed in the child process; ``error`` and ``traceback`` go into the record."""

    def __init__(self, error: str, tb: str | None) -> None:
        super().__init__(error)
        self.error, self.traceback = error, tb


@dataclasses.dataclass(frozen=True)
class _Guard:
    """What the audit hook in the child refuses (absolute, symlink-free paths)."""

    paths: tuple[tuple[str, str], ...]  # (folder or file, what it is)
    allowed: tuple[str, ...]  # folders inside refused ones that stay open (a checkpoint folder)
    modules: tuple[str, ...]  # module names (and their submodules) that may not be imported


@dataclasses.dataclass(frozen=True)
class _Request:
    optimizer: str  # "module:Qualname" or "/path/file.py:Qualname"
    config: bytes  # pickled after the class is loaded: a plug-in file's Config lives in its module
    seed: int
    device: str
    data: OfflineData
    budget: int | tuple[int, ...]
    context: RunContext
    guard: _Guard
    threads: int
    cwd: str
    env: dict[str, str]
    sys_path: list[str]


def class_reference(cls: type) -> str:
    """``module:Qualname`` (or ``/path/file.py:Qualname``) by which the child process imports ``cls``.

    Raises:
        ConfigError: ``cls`` is defined inside a function or in a notebook, so another process
            cannot import it.
    """
    from mbo.registry import _FILE_MODULE

    made = cls.__dict__.get("process_reference")  # a class made at run time says how to rebuild it
    if isinstance(made, str):
        return made
    fix = ("define it at the top level of a .py file and pass 'path/to/file.py:" + cls.__name__ + "', or run "
           "in this process with in_process=True (mbo run --in-process; for debugging, the record says so)")
    if "<locals>" in cls.__qualname__:
        raise ConfigError(f"optimizer class {cls.__qualname__} is defined inside a function; the optimizer runs "
                          f"in a child process that must import it: {fix}")
    module = sys.modules.get(cls.__module__)
    if cls.__module__ == "__main__" or cls.__module__.startswith(_FILE_MODULE):
        file = getattr(module, "__file__", None)
        if not file or not os.path.isfile(file):
            raise ConfigError(f"optimizer class {cls.__qualname__} is defined in {cls.__module__} (a notebook or "
                              f"the interactive prompt), which the optimizer's child process cannot import: {fix}")
        return f"{os.path.abspath(file)}:{cls.__qualname__}"
    return f"{cls.__module__}:{cls.__qualname__}"


def _load(reference: str) -> type:
    from mbo.registry import load_class

    target, _, qualname = reference.rpartition(":")
    first, *rest = qualname.split(".")
    cls = load_class("optimizer", f"{target}:{first}")
    if callable(cls) and not isinstance(cls, type):  # a design-bench-style solve(task, budget, seed)
        from mbo.compat.design_bench import solver_class

        return solver_class(f"{target}:{first}")
    for part in rest:
        cls = getattr(cls, part)
    return cls


def make_guard(task: Any, optimizer_cls: type, context: RunContext) -> _Guard:
    """The paths and modules the child refuses for a run of ``optimizer_cls`` on ``task``."""
    import mbo.tasks
    from mbo import store
    from mbo.tasks import data

    def real(path: Any) -> str:
        return os.path.realpath(os.fspath(Path(path).expanduser()))

    own = set()  # the files that define the optimizer class and its bases
    for klass in optimizer_cls.__mro__:
        file = getattr(sys.modules.get(klass.__module__), "__file__", None)
        if file:
            own.add(real(file))
    paths = [(real(d), "the task data folder") for d in data.search_dirs(task.data_dir)]
    paths.append((real(data.cache_dir()), "mbo's cache of data and oracle tables"))
    paths += [(real(d), "the task modules") for d in mbo.tasks.__path__]
    results = store.results_dir(context.results_dir)
    paths += [(real(d), "the results folder's records")
              for d in [results / "records", *sorted(results.glob("*/records"))]]
    modules = {"mbo.tasks"}
    for klass in type(task).__mro__:
        if klass.__module__ in ("builtins", "mbo.core"):
            continue
        module = sys.modules.get(klass.__module__)
        file = getattr(module, "__file__", None)
        if file and real(file) in own:  # the optimizer's own file defines this task class too
            continue
        modules.add(klass.__module__)
        if file:
            paths.append((real(file), "the task's module"))
            if file.endswith(".py"):
                paths.append((real(importlib.util.cache_from_source(file)), "the task's module"))
    allowed = (real(context.checkpoint_dir),) if context.checkpoint_dir else ()
    return _Guard(tuple(dict.fromkeys(paths)), allowed, tuple(sorted(modules)))


_SPAWN_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                           "os.forkpty", "pty.spawn", "os.startfile"})
_PATH_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "os.rename", "os.link", "os.symlink",
                          "shutil.copyfile", "shutil.copytree", "shutil.move", "os.truncate"})


def install_audit_hook(guard: _Guard, violations: list[str]) -> None:
    """Refuse, in this process and for good, what ``guard`` names; each refusal is appended to
    ``violations`` and raised as :class:`~mbo.errors.OracleAccessError`."""
    sep = os.sep
    prefixes = tuple((p.rstrip(sep) + sep, p, what) for p, what in guard.paths)
    allowed = tuple(a.rstrip(sep) + sep for a in guard.allowed)
    own_proc = f"/proc/{os.getpid()}/"
    busy = threading.local()

    def refuse(what: str) -> None:
        msg = (f"the optimizer's code tried to {what}: {ORACLE_RULE}. The run is failed "
               "(the optimizer runs in a child process that holds no task; see ARCHITECTURE.md, 'The oracle boundary')")
        violations.append(msg)
        raise OracleAccessError(msg)

    def check_path(path: Any, event: str) -> None:
        if path is None or isinstance(path, int):
            return
        try:
            full = os.path.realpath(os.fsdecode(os.fspath(path)))
        except (TypeError, ValueError):
            return
        probe = full + sep
        if probe.startswith("/proc/") and probe[6:7].isdigit() and not probe.startswith(own_proc):
            refuse(f"{'open' if event == 'open' else event} {full} (another process's state)")
        if probe.startswith(allowed):
            return
        for prefix, exact, what in prefixes:
            if probe.startswith(prefix) or full == exact:
                refuse(f"{'open' if event == 'open' else event} {full} ({what})")

    def hook(event: str, args: tuple) -> None:
        if event in _PATH_EVENTS:
            if getattr(busy, "on", False):
                return
            busy.on = True
            try:
                check_path(args[0] if args else None, event)
                if event in ("os.rename", "os.link", "shutil.copyfile", "shutil.copytree", "shutil.move") \
                        and len(args) > 1:
                    check_path(args[1], event)
            finally:
                busy.on = False
        elif event == "import":
            name = args[0]
            if any(name == m or name.startswith(m + ".") for m in guard.modules):
                refuse(f"import {name} (a task module)")
        elif event in _SPAWN_EVENTS:
            refuse(f"start a process ({event} {args[0]!r})" if args else f"start a process ({event})")

    sys.addaudithook(hook)


def run_in_child(optimizer_cls: type, config: Any, seed: int, device: str, data: OfflineData,
                 budget: int | tuple[int, ...], context: RunContext,
                 guard: _Guard) -> dict[str, Any] | list[dict[str, Any]]:
    """:func:`optimizer_side` in a child process with the audit hook of ``guard``; same return value.

    Raises:
        ChildFailure: the optimizer's code raised (the error and traceback to record).
        OptimizerProcessLost: the child died (killed, out of memory) before returning.
        ConfigError: ``optimizer_cls`` cannot be imported by another process.
    """
    import torch

    request = _Request(class_reference(optimizer_cls), pickle.dumps(config), seed, device, data, budget, context, guard,
                       context.threads or torch.get_num_threads(), os.getcwd(), dict(os.environ), list(sys.path))
    ctx = _mp_context()
    _start_fork_server(ctx)
    result_r, result_w = ctx.Pipe(duplex=False)
    alive_r, alive_w = ctx.Pipe(duplex=False)  # the child exits when this process is gone (EOF)
    proc = ctx.Process(target=_child_main, args=(request, result_w, alive_r), daemon=True,
                       name="mbo-optimizer")
    proc.start()
    result_w.close()
    alive_r.close()
    with _Relay(proc), _cleanup(proc, alive_w, result_r):
        status, payload = _wait(proc, result_r)
    if status != "ok":
        raise ChildFailure(*payload)
    return payload


def _wait(proc, result_r) -> tuple[str, Any]:
    from multiprocessing.connection import wait

    while True:
        ready = wait([result_r, proc.sentinel])
        if result_r in ready or result_r.poll():
            try:
                return result_r.recv()
            except EOFError:  # died; the sentinel says how
                pass
        if proc.sentinel in ready:
            proc.join(timeout=5)
            code = proc.exitcode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            raise OptimizerProcessLost(
                f"the optimizer's process died ({how}; signal 9 is often the out-of-memory killer) before "
                "returning its candidates; nothing was recorded. Re-run it; with --in-process a crash shows "
                "its native traceback")


@contextlib.contextmanager
def _cleanup(proc, alive_w, result_r) -> Iterator[None]:
    try:
        yield
    finally:
        alive_w.close()
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=3)
            if proc.is_alive():
                proc.kill()
        proc.join()
        result_r.close()


class _Relay:
    """While the parent waits for its child: the first stop signal (SIGINT, SIGTERM, a submitit job's
    preemption signal) is relayed to the child as SIGTERM, which writes a checkpoint at its training
    loop's next consistent point and exits; a second one kills the child. Once the child is gone the
    first signal takes its usual course here (KeyboardInterrupt, exit, submitit's requeue)."""

    def __init__(self, proc) -> None:
        self.proc = proc
        self.received: int | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Relay:
        if threading.current_thread() is threading.main_thread():
            for sig in checkpoint.stop_signals():
                self.previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, frame) -> None:
        if self.received is None:
            self.received = signum
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
        else:
            self.proc.kill()

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        if self.received is not None:
            signal.raise_signal(self.received)


def _start_fork_server(ctx) -> None:
    """Start the fork server (if not running) with the stop signals blocked, so that it never gets them.

    A child's exit status reaches the parent through the fork server, so it must outlive the
    parent's wait for a checkpoint after a signal sent to the whole process group or job (Ctrl-C,
    ``kill -- -PGID``, Slurm). It still exits by itself when the parent goes; its children unblock
    the signals (:func:`_child_main`). Signals sent meanwhile reach the parent once unblocked.
    """
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver, resource_tracker

    resource_tracker.ensure_running()  # first: starting it unblocks SIGINT and SIGTERM (it blocks them for itself)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


_STOP_SIGNALS = {s for s in (signal.SIGINT, signal.SIGTERM, checkpoint.preemption_signal()) if s is not None}
_CONTEXT = None


def _mp_context():
    """A fork server that has imported numpy, torch, scipy.stats and mbo's own optimizers, and nothing
    of any task (each child then starts in tens of milliseconds); else spawn (Windows)."""
    global _CONTEXT
    if _CONTEXT is None:
        import multiprocessing as mp

        from mbo.registry import names

        if "forkserver" in mp.get_all_start_methods():
            _CONTEXT = mp.get_context("forkserver")
            builtin = sorted({ref.partition(":")[0] for ref in names("optimizer").values()
                              if ref.startswith("mbo.optimizers.")})
            # torch.optim imports torch._dynamo (and sympy, ~800 modules, ~2 s) at the first step: preload
            # it once here, or every child pays for it again
            _CONTEXT.set_forkserver_preload(["numpy", "torch", "torch._dynamo", "torch.profiler", "scipy.stats",
                                             "mbo.isolation", "mbo.nn",
                                             "mbo.samplers", "mbo.diffusion", "mbo.registry", *builtin])
        else:
            _CONTEXT = mp.get_context("spawn")
    return _CONTEXT


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory in this process's heap instead of returning it to the system.

    By default glibc hands each freed block of more than 128 KiB–32 MiB back to the kernel and faults
    fresh zeroed pages in at the next allocation, so a training step's large temporaries cost page faults
    (``results/engine/allocator.txt``, a 2048-wide MLP on one core: 20,000 faults and 116 ms a step with
    torch's default Adam, 6 and 83 ms with this; fused Adam 83 → 72 ms). Sets ``M_MMAP_THRESHOLD`` 32 MiB,
    ``M_TRIM_THRESHOLD`` 1 GiB and ``M_TOP_PAD`` 256 MiB (the ``MALLOC_*_`` variables, when set, win).
    The optimizer's process calls it (not ``--in-process`` runs); results do not change. Returns whether
    it applied (glibc only).
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows)
        return False
    done = True
    for param, env, value in ((-3, "MALLOC_MMAP_THRESHOLD_", 32 << 20), (-1, "MALLOC_TRIM_THRESHOLD_", 1 << 30),
                              (-2, "MALLOC_TOP_PAD_", 256 << 20)):
        if env not in os.environ:
            done = bool(mallopt(param, value)) and done
    return done


def flush_subnormals() -> bool:
    """Make this process's CPU math treat subnormal floats (below 1.2e-38 in fp32) as zero (FTZ and DAZ).

    A ReLU unit that never fires gets no gradient, and Adam's first moment of its weights decays by
    β₁ = 0.9 a step into the subnormal range, where rounding keeps it at a few units of the last place
    for good; x86 CPUs take a slow path for every operation on such a number. A 2048-wide DDOM prior
    with two thirds of a hidden layer dead (DEMO's paper profile on TF-Bind-8, seed 2, epoch 258) spent
    half of each training step in the Adam update: 0.074–0.079 s a step on two threads, 0.038–0.042 s
    with this (``results/engine/subnormals.txt``). It changes only values below 1.2e-38 and what is
    computed from them: that fit's weights were bit-identical after 310 steps either way. OpenMP's
    threads copy the setting when they start, so the optimizer's process calls it before its first
    parallel operation (not ``--in-process`` runs, which would change the caller's process, and only in
    threads started after). Returns whether the CPU supports it (x86 with SSE3).
    """
    import torch

    return bool(torch.set_flush_denormal(True))


def _exit_with_parent(alive) -> None:
    try:
        alive.recv()
    except (EOFError, OSError):
        pass
    os._exit(70)


def _child_main(request: _Request, result, alive) -> None:
    """The child: take the parent's view of the world, install the guard, run the optimizer, send back."""
    # Ctrl-C and a Slurm preemption notice are the parent's to handle: it relays them as SIGTERM (_Relay)
    for sig in _STOP_SIGNALS - {signal.SIGTERM}:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked in the fork server
    threading.Thread(target=_exit_with_parent, args=(alive,), daemon=True).start()
    keep_freed_memory()
    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)
    sys.path[:] = request.sys_path
    import torch

    flush_subnormals()  # before torch's first parallel operation: OpenMP's threads inherit it when they start
    torch.set_num_threads(request.threads)
    violations: list[str] = []
    install_audit_hook(request.guard, violations)
    try:
        data = request.data
        data.x.setflags(write=False)
        data.y.setflags(write=False)
        cls = _load(request.optimizer)
        out = optimizer_side(cls, pickle.loads(request.config), request.seed, request.device, data,
                             request.budget, request.context)
        if violations:  # refused, caught by the optimizer, and it carried on
            raise OracleAccessError(violations[0])
        msg = ("ok", out)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as a record
        if violations and not isinstance(exc, OracleAccessError):
            exc = OracleAccessError(violations[0])
        error = f"{type(exc).__name__}: {exc}"
        msg = ("failed", (error, None if isinstance(exc, MBOError) else traceback.format_exc(limit=8)))
    try:
        result.send(msg)
    except Exception as exc:  # e.g. diagnostics that cannot be pickled
        result.send(("failed", (f"{type(exc).__name__}: the optimizer's results could not be sent back: {exc}",
                                None)))


def jsonable(value: Any) -> Any:
    """``value`` with numpy/torch scalars and arrays turned into plain Python (for JSON records)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy / torch arrays and scalars
        return jsonable(value.tolist())
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

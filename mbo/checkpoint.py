"""Resumable training: wall-clock checkpoints written by the shared training loops.

The harness enters one :func:`session` around an optimizer's ``fit`` and ``propose``, naming the
run's own checkpoint folder. Inside it, every training loop is a *stage*: the loop hands
:func:`stage` (or :func:`epochs`) everything its steps mutate (modules, optimizers,
``torch.Generator`` s, history lists, arrays, objects with ``state_dict`` / ``load_state_dict``)
and reports each consistent point it reaches. A stage is written to
``<folder>/<index>-<desc>.pt`` when ``interval_s`` has passed since the last write, and at the
next consistent point after SIGTERM, SIGINT (and the preemption signal of a submitit job), after
which the signal takes its usual course. Behind the oracle boundary the fit runs in a child
process: the parent relays those signals to it as SIGTERM (:mod:`mbo.isolation`), waits for the
checkpoint, then lets the signal take its course. The global torch, NumPy and Python RNG states
travel with every file.

Stages are keyed by the order in which a fit opens them (``000-surrogate``, ``001-ddom``, ...):
a fit is deterministic for its seed, so a resumed fit opens the same stages in the same order.
A stage with a file is restored on entry, finished (the loop body is skipped) or part-way (the
loop continues from the saved point); code between stages simply runs again. Hence a resumed
run gives the same candidates as an uninterrupted one, provided each loop registers all the
state its steps touch. Outside a session :func:`stage` costs nothing and writes nothing.

Example:
    >>> with checkpoint.session(folder, interval_s=300):
    ...     opt.fit(data)          # its loops call checkpoint.epochs / checkpoint.stage
    ...     x = opt.propose(128)   # the folder is removed when the block finishes without error
"""
from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mbo.errors import MBOError

DEFAULT_INTERVAL_S = 300.0
FORMAT_VERSION = 1


class CheckpointError(MBOError, RuntimeError):
    """A checkpoint that cannot be written or does not fit the loop that reads it."""


def root(results_dir: str | os.PathLike | None = None, checkpoint_dir: str | os.PathLike | None = None) -> Path:
    """Where checkpoints live: ``checkpoint_dir``, else ``$MBO_CHECKPOINT_DIR``, else ``<results>/checkpoints``."""
    from mbo.store import results_dir as resolve_results

    return Path(checkpoint_dir or os.environ.get("MBO_CHECKPOINT_DIR") or resolve_results(results_dir) / "checkpoints")


def run_directory(root_dir: str | os.PathLike, run_id: str, code_hash: str) -> Path:
    """The folder of one run's checkpoints: ``<root>/<run_id>/<code_hash>``."""
    return Path(root_dir) / run_id / (code_hash or "nohash")


def discard(root_dir: str | os.PathLike, run_id: str, keep: str | None = None) -> None:
    """Delete a run's checkpoints (``--force``); with ``keep``, only those of other code hashes
    (an edited optimizer can never resume them)."""
    parent = Path(root_dir) / run_id
    if not parent.is_dir():
        return
    for child in parent.iterdir():
        if keep is None or child.name != keep:
            shutil.rmtree(child, ignore_errors=True)
    with contextlib.suppress(OSError):
        parent.rmdir()


class Session:
    """The checkpoint state of one run in this process; see :func:`session`."""

    def __init__(self, directory: Path, interval_s: float, relayed: bool = False) -> None:
        self.directory = directory
        self.interval_s = interval_s
        self.relayed = relayed
        self.last_save = self.started = time.monotonic()
        self.before = 0.0  # seconds the earlier attempts had run when they wrote the newest checkpoint restored
        self.next_index = 0
        self.active: Stage | None = None
        self.pending: int | None = None
        self.resumed: list[dict[str, Any]] = []
        self.saves = 0
        self._previous: dict[int, Any] = {}

    # signals ---------------------------------------------------------------------------------
    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in stop_signals():
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def _uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _on_signal(self, signum: int, frame) -> None:
        if self.active is not None and self.pending is None:
            self.pending = signum  # written at the loop's next consistent point, then delivered
            return
        if self.pending is not None and self.relayed:
            return  # the same stop, sent to us and relayed by the parent; the parent escalates (SIGKILL)
        self._deliver(signum)  # outside a loop, or a second signal: no waiting

    def _deliver(self, signum: int) -> None:
        """Let ``signum`` take the course it had before this session (default action, handler, ignore)."""
        self.pending = None
        ours = signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
        try:
            signal.raise_signal(signum)
        finally:
            signal.signal(signum, ours)

    # stages ----------------------------------------------------------------------------------
    def due(self) -> bool:
        return self.pending is not None or time.monotonic() - self.last_save >= self.interval_s


def preemption_signal() -> int | None:
    """The signal a submitit job gets before Slurm preempts it (``$SUBMITIT_PREEMPT_SIGNAL``, default USR2)."""
    return getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2"), None)


def stop_signals() -> list[int]:
    """The signals that ask a run to stop: SIGINT and SIGTERM unless this process ignores them, and the
    preemption signal when something (a submitit job) handles it."""
    sigs = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not signal.SIG_IGN]
    preempt = preemption_signal()
    if preempt is not None and callable(signal.getsignal(preempt)):
        sigs.append(preempt)
    return sigs


_SESSION: Session | None = None


def current() -> Session | None:
    """The session this process is in, if any."""
    return _SESSION


@contextlib.contextmanager
def session(directory: str | os.PathLike | None, interval_s: float = DEFAULT_INTERVAL_S,
            relayed: bool = False) -> Iterator[Session | None]:
    """Checkpoint every training loop run inside the block into ``directory``.

    Args:
        directory: this run's own folder (:func:`run_directory`); created on the first write.
            ``None``: no checkpoints (the block runs as if this were absent).
        interval_s: seconds of wall clock between writes; ``0`` writes at every consistent point.
        relayed: this process is a run's child, whose parent relays its stop signals as SIGTERM and
            kills it on a second one: a signal repeated while one is pending is then the same stop
            (a whole process group signalled, and the parent's relay), not a demand to stop at once.

    The folder is removed when the block ends without an exception (a finished run keeps no
    checkpoints); after an exception or a signal it stays, for the next attempt to resume from.
    SIGINT, SIGTERM and a submitit job's preemption signal are held until the running loop
    reaches its next consistent point, written there, then delivered as before.
    """
    global _SESSION
    if directory is None:
        yield None
        return
    if _SESSION is not None:
        raise CheckpointError("checkpoint sessions do not nest: one run per process at a time")
    if interval_s < 0:
        raise CheckpointError(f"the checkpoint interval must be ≥ 0 seconds, got {interval_s}")
    ses = Session(Path(directory), float(interval_s), relayed)
    _SESSION = ses
    ses._install()
    try:
        yield ses
    finally:
        _SESSION = None
        ses._uninstall()
    shutil.rmtree(ses.directory, ignore_errors=True)
    with contextlib.suppress(OSError):
        ses.directory.parent.rmdir()  # <root>/<run_id>, if nothing else is in it


class Stage:
    """One training loop's checkpoint: restore on entry, :meth:`reached` at consistent points.

    ``position`` is where the restored loop stands (``None``: start from the beginning) and
    ``extra`` the loop-local values saved with it (e.g. its loss history).
    """

    def __init__(self, ses: Session | None, desc: str, state: Mapping[str, Any], total: int | None,
                 unit: str) -> None:
        self.session, self.desc, self.state, self.total, self.unit = ses, desc, dict(state), total, unit
        self.position: Any = None
        self.extra: dict[str, Any] = {}
        self.path: Path | None = None
        if ses is None:
            return
        if ses.active is not None:
            raise CheckpointError(f"loop {desc!r} opened inside loop {ses.active.desc!r}: checkpointed loops do "
                                  "not nest (register the outer loop's state with the inner one instead)")
        for key, obj in self.state.items():
            _check_kind(key, obj, desc)
        self.path = ses.directory / f"{ses.next_index:03d}-{_slug(desc)}.pt"
        ses.next_index += 1
        if self.path.exists():
            self._restore()

    def __enter__(self) -> Stage:
        if self.session is not None:
            self.session.active = self  # signals now wait for this loop's next consistent point
        return self

    def __exit__(self, *exc) -> None:
        if self.session is not None:
            self.session.active = None

    def reached(self, position: Any, extra: Mapping[str, Any] | None = None) -> None:
        """The loop stands at ``position`` (all state consistent); write it if due."""
        ses = self.session
        if ses is None or not ses.due():
            return
        self.save(position, extra)
        if ses.pending is not None:
            ses._deliver(ses.pending)

    def save(self, position: Any, extra: Mapping[str, Any] | None = None) -> None:
        import torch

        ses = self.session
        blob = {"version": FORMAT_VERSION, "desc": self.desc, "total": self.total, "position": position,
                "extra": dict(extra or {}), "rng": rng_state(),
                "elapsed_s": ses.before + time.monotonic() - ses.started,
                "state": {key: _snapshot(obj) for key, obj in self.state.items()},
                "torch_threads": torch.get_num_threads()}
        ses.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        try:
            torch.save(blob, tmp)
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise CheckpointError(f"cannot write the checkpoint {self.path}: {exc.strerror or exc}. Fix: pass "
                                  "--checkpoint-dir (or set MBO_CHECKPOINT_DIR) to a folder you can write") from None
        ses.last_save = time.monotonic()
        ses.saves += 1

    def _restore(self) -> None:
        import torch

        try:
            blob = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as exc:  # a file from a crash mid-write is never renamed into place
            raise CheckpointError(f"cannot read the checkpoint {self.path} ({type(exc).__name__}: {exc}); "
                                  "delete it, or re-run with --force to start over") from None
        missing = sorted(set(self.state) ^ set(blob["state"]))
        if blob.get("version") != FORMAT_VERSION or missing:
            raise CheckpointError(f"the checkpoint {self.path} does not fit the loop {self.desc!r} "
                                  f"(state keys differ: {missing}); re-run with --force to start over")
        for key, obj in self.state.items():
            _load(obj, blob["state"][key])
        set_rng_state(blob["rng"])
        self.session.before = max(self.session.before, blob.get("elapsed_s", 0.0))
        self.position, self.extra = blob["position"], blob["extra"]
        done, batch = (self.position[0], self.position[1]) if isinstance(self.position, (tuple, list)) else (
            self.position, 0)
        of = f" of {self.total}" if self.total is not None else ""
        where = (f"finished ({done}{of} {self.unit}s)" if self.total is not None and done >= self.total and not batch
                 else f"{self.unit} {done}{of}" + (f", batch {batch}" if batch else ""))
        self.session.resumed.append({"stage": self.path.stem, "position": self.position, "total": self.total})
        threads = "" if blob.get("torch_threads") == torch.get_num_threads() else (
            f"; note: written with {blob.get('torch_threads')} torch threads, now {torch.get_num_threads()}, "
            "so the result may differ in the last digits from an uninterrupted run")
        print(f"resuming {self.desc} from {where} ({self.path}){threads}", file=sys.stderr, flush=True)


def stage(desc: str, state: Mapping[str, Any], *, total: int | None = None, unit: str = "epoch") -> Stage:
    """Open the next training loop of the running fit (a no-op :class:`Stage` outside a session).

    Use it as a context manager around the loop (signals wait for its consistent points while
    inside), restore the loop's own position from ``.position`` / ``.extra``, and call
    ``.reached(position, extra)`` at each consistent point.

    Args:
        desc: the loop's name (part of its file name and of the "resuming" message).
        state: everything the loop's steps mutate, by name: ``nn.Module``, ``torch.optim``
            optimizers and schedulers, ``torch.Generator``, tensors, NumPy arrays, lists and dicts
            (restored in place), or any object with ``state_dict()`` / ``load_state_dict()``.
        total: the loop's length in ``unit`` s, for messages.
        unit: what a position counts (``epoch``, ``iteration``).
    """
    return Stage(_SESSION, desc, state, total, unit)


def epochs(total: int, *, desc: str, state: Mapping[str, Any], unit: str = "epoch") -> Iterator[int]:
    """``range(total)`` with a progress bar (an :func:`mbo.cost.metered` loop), checkpointing ``state`` after each item.

    For a method's own outer loop: ``for it in checkpoint.epochs(n, desc="n2ce fit", state={...})``.
    A resumed loop starts after the last item written; a finished one yields nothing.
    """
    from mbo.cost import metered

    with stage(desc, state, total=total, unit=unit) as ck:
        start = ck.position or 0
        for i in metered(range(start, total), desc):  # a progress bar; a few timed items under --estimate
            yield i
            ck.reached(i + 1)


def _slug(desc: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", desc).strip("-") or "loop"


def _check_kind(key: str, obj: Any, desc: str) -> None:
    import torch

    ok = (hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict")) or isinstance(
        obj, (torch.Generator, torch.Tensor, np.ndarray, list, dict))
    if not ok:
        raise CheckpointError(f"loop {desc!r}: cannot checkpoint {key!r} of type {type(obj).__name__}; register "
                              "a module, optimizer, generator, tensor, array, list, dict or an object with "
                              "state_dict()/load_state_dict()")


def _snapshot(obj: Any) -> Any:
    import torch

    if isinstance(obj, torch.Generator):
        return obj.get_state()
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, list):
        return list(obj)
    if isinstance(obj, dict):
        return dict(obj)
    return obj.state_dict()


def _load(obj: Any, saved: Any) -> None:
    import torch

    if isinstance(obj, torch.Generator):
        obj.set_state(saved)
    elif isinstance(obj, torch.Tensor):
        with torch.no_grad():
            obj.copy_(saved)
    elif isinstance(obj, np.ndarray):
        obj[...] = saved
    elif isinstance(obj, list):
        obj[:] = saved
    elif isinstance(obj, dict):
        obj.clear()
        obj.update(saved)
    else:
        obj.load_state_dict(saved)


def rng_state() -> dict[str, Any]:
    """The global torch (and CUDA), NumPy and Python random states."""
    import torch

    out = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(saved: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    import torch

    torch.set_rng_state(saved["torch"])
    np.random.set_state(saved["numpy"])
    random.setstate(saved["python"])
    if "cuda" in saved and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["cuda"])

"""Know a run's cost before paying it: project fit and propose time from a few real steps.

Every long loop of the engine and of the optimizers (training steps, sampler steps, rounds) iterates
through :func:`metered`. Normally that is just a progress bar. Inside :func:`estimating`, a metered
loop runs only its first few items — one warm-up, for a loop with no metered loop inside it one
more under a FLOP counter (torch's flop formulas: matmuls, convolutions; that item is slowed by the
counter, so it is booked at the measured rate, not its own time), then timed items until ``steps``
of them and ``min_seconds`` have passed (whole periods, for a loop given ``period``) — and books the
items it skips at the measured time per item. Nested loops compose: an outer item's time includes
the projected time of the inner loops it ran. A later entry of a loop already measured (same
``desc``) runs one item and reuses the measured rate.

So the projected time of a phase is its wall time under :func:`estimating` plus the booked time
of the skipped items; no optimizer declares its step counts. A new optimizer supports
``mbo run --estimate`` by iterating its own long loops with :func:`metered` (the shared loops in
:mod:`mbo.nn`, :mod:`mbo.samplers` and :mod:`mbo.diffusion` already do).

Example:
    >>> with estimating() as est:
    ...     for _ in metered(range(10_000), "train"):
    ...         step()
    >>> est.extra_seconds  # the 10 000 − (items run) skipped items, at the measured s/item
"""
from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterable, Iterator
from typing import Any

from mbo.progress import progress

MATMUL_SHAPE = (512, 2048, 2048)


@dataclasses.dataclass
class LoopCost:
    """One metered loop as measured: its name, items per entry, seconds and FLOPs per item, entries."""

    desc: str
    total: int
    seconds_per_item: float
    flops_per_item: float | None
    leaf: bool = True
    entries: int = 1


@dataclasses.dataclass
class Estimate:
    """What :func:`estimating` collected: the time of the skipped items, the FLOPs of every item of
    the metered loops (run or skipped), and the loops seen."""

    steps: int = 3
    min_seconds: float = 0.5
    extra_seconds: float = 0.0
    flops: float = 0.0
    loops: dict[str, LoopCost] = dataclasses.field(default_factory=dict)
    _stack: list[_Meter] = dataclasses.field(default_factory=list)

    def book(self, seconds: float, flops: float) -> None:
        if self._stack:
            self._stack[-1].child_seconds += seconds
            self._stack[-1].child_flops += flops
        else:
            self.extra_seconds += seconds
            self.flops += flops


@dataclasses.dataclass
class _Meter:
    child_seconds: float = 0.0  # projected seconds of skipped items of loops nested in this one
    child_flops: float = 0.0
    has_child: bool = False


_ACTIVE: Estimate | None = None


@contextlib.contextmanager
def estimating(steps: int = 3, min_seconds: float = 0.5) -> Iterator[Estimate]:
    """Within this context every :func:`metered` loop runs a few items and books the rest.

    Args:
        steps: timed items per loop entry (at least).
        min_seconds: time each loop entry's timed items for at least this long (up to 50 × ``steps``).
    """
    global _ACTIVE
    if _ACTIVE is not None:
        raise RuntimeError("estimating() does not nest")
    _ACTIVE = Estimate(steps=steps, min_seconds=min_seconds)
    try:
        yield _ACTIVE
    finally:
        _ACTIVE = None


def metered(iterable: Iterable, desc: str, total: int | None = None, period: int = 1) -> Iterator[Any]:
    """Iterate a long loop: a progress bar normally, a few timed items under :func:`estimating`.

    Args:
        iterable: the loop's items.
        desc: the loop's name (progress bar and estimate table); loops of one name cost the same per item.
        total: number of items, when ``iterable`` has no ``len``.
        period: the items cost the same on average over any ``period`` consecutive ones (an extra
            update every ``period`` items, as MINs' generator step): the estimate times whole periods.
    """
    total = len(iterable) if total is None else total
    est = _ACTIVE
    if est is None:
        yield from progress(iterable, desc=desc, total=total)
        return
    if est._stack:
        est._stack[-1].has_child = True
    meter = _Meter()
    est._stack.append(meter)
    known = est.loops.get(desc)
    m = {"period": max(int(period), 1), "ran": 0, "timed": 0, "seconds": 0.0, "child_s": 0.0, "child_f": 0.0,
         "flops": None, "flops_s": None, "skipped": 0}
    try:
        for item in iterable:
            phase = _phase(est, meter, known, m)
            if phase == "stop":
                m["skipped"] = total - m["ran"]
                break
            s0, f0 = meter.child_seconds, meter.child_flops
            if phase == "flops":
                t0 = _now()
                with _flop_counter() as counter:
                    yield item
                m["flops"] = float(counter.total)
                m["flops_s"] = _now() - t0  # slowed by the counter: booked back to the measured rate in _book
            else:
                t0 = _now()
                yield item
                if phase == "timed":
                    m["seconds"] += _now() - t0
                    m["child_s"] += meter.child_seconds - s0
                    m["child_f"] += meter.child_flops - f0
                    m["timed"] += 1
            m["ran"] += 1
    finally:  # also when the caller leaves the loop early (a convergence test): then nothing was skipped
        est._stack.pop()
        _book(est, meter, known, m, desc, total)


def _phase(est: Estimate, meter: _Meter, known: LoopCost | None, m: dict) -> str:
    if known is not None:  # a loop measured before: one item, then its known rate
        return "warm" if m["ran"] == 0 else "stop"
    if m["ran"] == 0:
        return "warm"
    if m["ran"] == 1 and not meter.has_child:
        return "flops"
    if m["timed"] % m["period"]:
        return "timed"
    if m["timed"] >= est.steps and (m["seconds"] >= est.min_seconds or m["timed"] >= 50 * est.steps):
        return "stop"
    return "timed"


def _book(est: Estimate, meter: _Meter, known: LoopCost | None, m: dict, desc: str, total: int) -> None:
    """Book a closed loop's skipped items (and, for an innermost loop, the FLOPs of all its items)."""
    if known is not None:
        known.entries += 1
        cost = known
    else:
        leaf = not meter.has_child
        timed = m["timed"]
        per_s = (m["seconds"] + m["child_s"]) / timed if timed else 0.0
        per_f = m["flops"] if leaf else (m["child_f"] / timed if timed else None)
        cost = est.loops[desc] = LoopCost(desc, total, per_s, per_f or None, leaf)
    per_f = cost.flops_per_item or 0.0
    own = per_f * m["ran"] if cost.leaf else 0.0
    # the FLOP-counted item ran slower than the others (every op through Python): count it at the measured rate
    recount = cost.seconds_per_item - m["flops_s"] if m["flops_s"] is not None and m["timed"] else 0.0
    est.book(meter.child_seconds + m["skipped"] * cost.seconds_per_item + recount,
             meter.child_flops + own + m["skipped"] * per_f)


def _flop_counter() -> Any:
    """A dispatch mode summing the FLOPs of the ops torch's flop registry knows (matmuls, convolutions, ...).

    torch's ``FlopCounterMode`` also tracks modules, which fails under ``torch.autograd.grad`` w.r.t.
    inputs (samplers, energy chains); this counts the same ops without it.
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class FlopCounter(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            count = flop_registry.get(func._overloadpacket)
            if count is not None:
                self.total += count(*args, **kwargs, out_val=out)
            return out

    return FlopCounter()


def _now() -> float:
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return time.perf_counter()


def matmul_rate(device: Any = "cpu", precision: str = "fp32", repeats: int = 5) -> float:
    """Measured FLOP/s of one ``512 × 2048 @ 2048 × 2048`` matmul at ``precision`` (best of ``repeats``)."""
    import torch

    m, k, n = MATMUL_SHAPE
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(k, n, generator=gen).to(device=device, dtype=dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = _now()
        a @ b
        best = min(best, _now() - t0)
    return 2 * m * k * n / best


def estimate_run(spec: Any) -> dict[str, Any]:
    """Project the fit and propose time of a planned run (:func:`mbo.harness.plan`) on this machine.

    Runs the optimizer's real ``fit`` and ``propose`` with every metered loop cut short, at the
    spec's device, precision and thread count; scores nothing and writes no record.

    Returns:
        ``fit_s``, ``propose_s`` (projected seconds), ``elapsed_s`` (what the estimate took),
        ``flops`` (matmul/conv FLOPs of the metered loops, 0 when none were counted),
        ``matmul_flops_per_s``, ``loops`` (:class:`LoopCost` by name), ``device``, ``threads``.
    """
    import torch

    from mbo.core import sealed_oracle
    from mbo.errors import ConfigError
    from mbo.nn.device import autocast, resolve_device, seed_everything

    t_start = time.perf_counter()
    device = resolve_device(spec.device)
    ok, why = spec.optimizer_cls.supports(spec.task.space)
    if not ok:
        raise ConfigError(why)
    data = spec.task.offline_data()
    seed_everything(spec.seed)
    out: dict[str, Any] = {"device": str(device), "threads": torch.get_num_threads(), "precision": spec.precision}
    with estimating() as est:
        with sealed_oracle("__init__"):
            opt = spec.optimizer_cls(config=spec.config, seed=spec.seed, device=device)
        for phase in ("fit", "propose"):
            before = est.extra_seconds
            t0 = _now()
            with sealed_oracle(phase), autocast(device, spec.precision):
                opt.fit(data) if phase == "fit" else opt.propose(spec.budget)
            out[f"{phase}_s"] = _now() - t0 + est.extra_seconds - before
    out.update(flops=est.flops, loops=est.loops, matmul_flops_per_s=matmul_rate(device, spec.precision),
               elapsed_s=time.perf_counter() - t_start)
    return out


def format_estimate(spec: Any, est: dict[str, Any]) -> str:
    """The estimate as printed by ``mbo run --estimate``."""
    m, k, n = MATMUL_SHAPE
    total = est["fit_s"] + est["propose_s"]
    lines = [f"estimate: {spec.task.name} / {spec.label} / seed {spec.seed}, Q = {spec.budget}, on {est['device']} "
             f"({est['threads']} torch thread(s), {spec.precision})",
             f"  fit      ≈ {_duration(est['fit_s'])}",
             f"  propose  ≈ {_duration(est['propose_s'])}",
             f"  total    ≈ {_duration(total)}"]
    rate = est["matmul_flops_per_s"]
    rate_line = f"  matmul {m}×{k}×{n} here: {rate / 1e9:.0f} GFLOP/s ({spec.precision})"
    if est["flops"]:
        rate_line = (f"  FLOPs (matmuls and convolutions of the metered loops) ≈ {est['flops'] / 1e12:.3g} TFLOP, "
                     f"{est['flops'] / rate / total:.0%} of the time at the matmul rate;\n" + rate_line)
    lines.append(rate_line)
    lines.append("  loop                     items   s/item     GFLOP/item  entries seen")
    for loop in sorted(est["loops"].values(), key=lambda lc: -lc.seconds_per_item * lc.total)[:8]:
        gf = f"{loop.flops_per_item / 1e9:10.3g}" if loop.flops_per_item else "         -"
        lines.append(f"  {loop.desc[:24]:24s} {loop.total:6d}  {loop.seconds_per_item:8.4f}  {gf}  {loop.entries:6d}")
    lines.append(f"  (from a few real steps of each loop, in {est['elapsed_s']:.1f} s; no record written)")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"

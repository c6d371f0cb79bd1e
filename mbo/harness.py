"""The harness: build, seed, fit, propose, validate, score, record.

Only this module calls a task's oracle. A failing optimizer fails its own run (the record
says why), never the caller's loop.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import platform
import subprocess
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from mbo import checkpoint, store
from mbo.config import check_seed, resolve_config
from mbo.core import Optimizer, Task, config_dict, sealed_oracle
from mbo.diagnostics import candidate_diagnostics, check_budget
from mbo.errors import ConfigError, MBOError
from mbo.registry import check_implements, code_hash, load_class
from mbo.stats import percentile_tfp_nearest

PERCENTILES = (100, 75, 50, 25)


@dataclasses.dataclass
class RunSpec:
    """Everything that identifies a run, resolved before any work starts."""

    task: Task
    optimizer_cls: type
    optimizer_name: str
    config: Any
    profile: str | None
    overrides: dict[str, Any]
    seed: int
    budget: int
    device: str
    label: str
    profile_note: str | None = None
    code_hash: str = ""
    precision: str = "fp32"

    @property
    def run_id(self) -> str:
        return store.run_id(self.task.name, self.optimizer_name, config_dict(self.config), self.seed,
                            self.budget, self.task.data_version, self.precision)


def make_task(name: str | type | Task, data_dir: str | None = None) -> Task:
    """A task instance from a registered name, ``module:Class``, ``file.py:Class`` or class."""
    if isinstance(name, Task):
        return name
    cls = load_class("task", name)
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise ConfigError(f"{name!r} is not an mbo.Task subclass")
    if cls.offline_data is Task.offline_data:
        check_implements(cls, Task, {"_load_offline": "_load_offline(self) -> (x, y)"})
    if cls.score is Task.score and cls.check_oracle is Task.check_oracle:  # else check_oracle says why not
        check_implements(cls, Task, {"_score": "_score(self, x) -> y"})
    return cls(data_dir=data_dir)


def optimizer_class(name_or_class: str | type) -> type:
    """The optimizer class of a registered name, ``module:Class`` or ``file.py:Class``, checked.

    A function ``solve(task, budget, seed)`` (``file.py:solve``, ``module:solve`` or the function)
    written against design-bench's task API is wrapped by :func:`mbo.compat.design_bench.solver_class`.
    """
    cls = name_or_class if callable(name_or_class) and not isinstance(name_or_class, type) else \
        load_class("optimizer", name_or_class)
    if callable(cls) and not isinstance(cls, type):
        from mbo.compat.design_bench import solver_class

        cls = solver_class(name_or_class)
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise ConfigError(f"{name_or_class!r} is neither an mbo.Optimizer subclass nor a function "
                          "solve(task, budget, seed)")
    check_implements(cls, Optimizer, {"fit": "fit(self, data)", "propose": "propose(self, n)"})
    return cls


def make_optimizer(name_or_class: str | type, profile: str | None = None, seed: int = 0,
                   device: str = "auto", **overrides: Any) -> Optimizer:
    """An optimizer with its config resolved from defaults, ``profile`` and ``overrides``."""
    from mbo.nn.device import resolve_device

    cls = optimizer_class(name_or_class)
    config, _ = resolve_config(cls, profile, overrides)
    return cls(config=config, seed=seed, device=resolve_device(device))


def default_label(name: str, profile: str | None, overrides: dict[str, Any], precision: str = "fp32") -> str:
    """How a configured optimizer is named in leaderboards, e.g. ``n2ce[quick,M=10]``, ``grad-ascent[bf16]``."""
    parts = ([profile] if profile and profile != "paper" else []) + [f"{k}={v}" for k, v in sorted(overrides.items())]
    parts += [precision] if precision != "fp32" else []
    return f"{name}[{','.join(parts)}]" if parts else name


def plan(task: str | Task, optimizer: str | type, *, seed: int = 0, budget: int = 128,
         profile: str | None = None, overrides: dict[str, Any] | None = None, device: str = "auto",
         data_dir: str | None = None, label: str | None = None, precision: str = "fp32") -> RunSpec:
    """Resolve names, config, device and precision into a :class:`RunSpec` (cheap: no data is read).

    Raises:
        MBOError: unknown names, profile or config key, a bad value, an unavailable device or precision.
    """
    from mbo.nn.device import check_precision, resolve_device

    if budget < 1:
        raise ConfigError(f"budget must be a positive integer, got {budget}")
    check_seed(seed)
    overrides = dict(overrides or {})
    task_obj = make_task(task, data_dir)
    check_budget(budget, task_obj.space)  # Q the harness cannot score and record fails here, not in scoring
    cls = optimizer_class(optimizer)
    config, note = resolve_config(cls, profile, overrides)
    resolve_device(device)  # --device cuda on a machine without one fails here, before any work
    check_precision(precision, device)
    name = cls.name or cls.__name__
    applied = profile if profile in (cls.profiles or {}) else None  # "paper" or nothing to tune: the defaults
    return RunSpec(task_obj, cls, name, config, applied, overrides, int(seed), int(budget), device,
                   _marked(label, applied, precision) if label else default_label(name, applied, overrides, precision),
                   note, code_hash(cls, type(task_obj)), precision)


def _marked(label: str, profile: str | None, precision: str = "fp32") -> str:
    """A ``--label`` keeps the ``[quick]`` and ``[bf16]`` markers: ``mine`` → ``mine[quick]``,
    ``mine[v2]`` → ``mine[v2,quick]``."""
    marks = [m for m, on in (("quick", profile == "quick"), ("bf16", precision == "bf16")) if on]
    head, bracket, inside = label.partition("[")
    parts = inside[:-1].split(",") if bracket and label.endswith("]") else []
    if not (bracket and label.endswith("]")):
        head = label
    missing = [m for m in marks if m not in parts]
    if not missing:
        return label
    return f"{head}[{','.join(parts + missing)}]"


def cached(spec: RunSpec, root: Path) -> tuple[dict[str, Any] | None, Path | None]:
    """``(record, path)`` of the stored record of ``spec``'s run id, and the record only if it can be
    reused: status ``ok`` and the same code hash (an edited optimizer or task runs again)."""
    path = store.find(root, spec.run_id)
    rec = store.read(path) if path is not None else None
    if rec is None or rec.get("status") != "ok" or rec.get("code_hash") != spec.code_hash:
        return None, path
    rec["_path"] = str(path)
    return rec, path


def execute(spec: RunSpec, results_dir: str | Path | None = None, force: bool = False, *,
            checkpoint_dir: str | Path | None = None,
            checkpoint_every: float | None = checkpoint.DEFAULT_INTERVAL_S) -> dict[str, Any]:
    """Run one spec, or return its stored record if it already finished with this code (unless ``force``).

    A cached record stored under another label is moved to ``spec.label`` (one configuration,
    one row). A failed run never replaces a successful record: it is kept beside it
    (``<run_id>.failed.json``) and the returned failure carries ``_kept_ok`` (the record kept).

    Training writes checkpoints every ``checkpoint_every`` seconds (``None``: never) under
    ``checkpoint_dir`` (default ``<results>/checkpoints``; see :mod:`mbo.checkpoint`); an
    interrupted run resumes from them, ``force`` discards them first.
    """
    root = store.results_dir(results_dir)
    store.prepare(root)  # an unwritable results folder fails here, before any training
    if not force:
        rec = finished(spec, root)
        if rec is not None:
            return rec
    return save(run_spec(spec, checkpoint_folder(spec, root, checkpoint_dir, force, checkpoint_every),
                         checkpoint_every), root)


def checkpoint_folder(spec: RunSpec, results_dir: str | Path | None, checkpoint_dir: str | Path | None,
                      force: bool, checkpoint_every: float | None) -> Path | None:
    """The folder of ``spec``'s checkpoints (``None`` when ``checkpoint_every`` is ``None``); checkpoints
    of other code versions of the run, and with ``force`` all of them, are deleted."""
    if checkpoint_every is None:
        return None
    ck_root = checkpoint.root(results_dir, checkpoint_dir)
    checkpoint.discard(ck_root, spec.run_id, keep=None if force else spec.code_hash)
    return checkpoint.run_directory(ck_root, spec.run_id, spec.code_hash)


def finished(spec: RunSpec, results_dir: str | Path | None = None) -> dict[str, Any] | None:
    """The stored record of ``spec`` if it can be reused (``ok``, same code hash), else ``None``.

    A reusable record stored under another label is moved to ``spec.label`` (one configuration,
    one row). The returned record is marked ``_cached``.
    """
    root = store.results_dir(results_dir)
    rec, existing = cached(spec, root)
    if rec is None:
        return None
    if rec.get("label") != spec.label:
        rec["label"] = spec.label
        rec["_path"] = str(store.replace(root, rec, existing))
    rec["_cached"] = True
    return rec


def run_spec(spec: RunSpec, checkpoint_folder: str | Path | None = None,
             checkpoint_every: float | None = checkpoint.DEFAULT_INTERVAL_S) -> dict[str, Any]:
    """Run one spec and return its record, writing no record (what a sweep's worker does).

    With ``checkpoint_folder`` (the run's own, :func:`mbo.checkpoint.run_directory`) training
    resumes from the checkpoints there and writes new ones every ``checkpoint_every`` seconds.
    """
    return _run(spec, spec.run_id, checkpoint_folder if checkpoint_every is not None else None,
                checkpoint_every or 0.0)


def save(record: dict[str, Any], results_dir: str | Path | None = None) -> dict[str, Any]:
    """Write a record made by :func:`run_spec` atomically; returns it with ``_path`` set.

    A failed run never replaces a successful record: it is kept beside it
    (``<run_id>.failed.json``) and the returned failure carries ``_kept_ok`` (the record kept).
    """
    root = store.results_dir(results_dir)
    existing = store.find(root, record["run_id"])
    previous = store.read(existing) if existing is not None else None
    if record["status"] != "ok" and previous is not None and previous.get("status") == "ok":
        record["_path"] = str(store.write_failure_beside(existing, record))
        record["_kept_ok"] = str(existing)
        return record
    record["_path"] = str(store.replace(root, record, existing))  # the label may have changed
    return record


def run(task: str | Task, optimizer: str | type, seed: int = 0, budget: int = 128,
        results_dir: str | Path | None = None, *, profile: str | None = None,
        overrides: dict[str, Any] | None = None, device: str = "auto", data_dir: str | None = None,
        force: bool = False, label: str | None = None, precision: str = "fp32",
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: float | None = checkpoint.DEFAULT_INTERVAL_S) -> dict[str, Any]:
    """Train ``optimizer`` on ``task``'s offline data, score ``budget`` candidates, store the record.

    An interrupted run resumes from its checkpoints (see :func:`execute`).

    Returns:
        The run record (a dict; see ARCHITECTURE.md, "Run record").
    """
    spec = plan(task, optimizer, seed=seed, budget=budget, profile=profile, overrides=overrides,
                device=device, data_dir=data_dir, label=label, precision=precision)
    return execute(spec, results_dir, force, checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every)


def _run(spec: RunSpec, rid: str, checkpoint_folder: str | Path | None = None,
         checkpoint_every: float = checkpoint.DEFAULT_INTERVAL_S) -> dict[str, Any]:
    from mbo.nn.device import autocast, resolve_device, seed_everything

    task = spec.task
    rec: dict[str, Any] = {
        "record_version": store.RECORD_VERSION, "run_id": rid, "task": task.name,
        "optimizer": spec.optimizer_name, "label": spec.label, "profile": spec.profile,
        "profile_note": spec.profile_note, "overrides": spec.overrides,
        "config": config_dict(spec.config), "seed": spec.seed, "budget": spec.budget,
        "data_version": task.data_version, "code_hash": spec.code_hash, "precision": spec.precision,
        "status": "failed", "error": None,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(), "git_commit": _git_commit(), "host": platform.node(),
        "timings": {}, "num_clipped": 0,
    }
    t0 = time.perf_counter()
    try:
        device = resolve_device(spec.device)
        rec["device"] = str(device)
        rec["torch_threads"] = _torch_threads()
        ok, why = spec.optimizer_cls.supports(task.space)
        if not ok:
            raise ConfigError(why)
        task.check_oracle()  # fail before training when the oracle cannot score
        data = task.offline_data(spec.seed) if task.seeded_data else task.offline_data()
        rec["data_subset"] = task.data_rows(spec.seed)  # which rows, where the task subsamples
        best = float(np.max(data.y))
        rec["dataset_best"] = {"raw": best, "normalized": float(task.normalize(best))}
        rec["dataset_size"] = len(data)
        rec["normalization"] = {"y_min": float(task.y_min), "y_max": float(task.y_max)}
        seed_everything(spec.seed)
        with sealed_oracle("__init__"):  # the optimizer's code never reaches an oracle
            opt = spec.optimizer_cls(config=spec.config, seed=spec.seed, device=device)
        with checkpoint.session(checkpoint_folder, checkpoint_every) as ck:  # resumes an interrupted fit
            t = time.perf_counter()
            with sealed_oracle("fit"), autocast(device, spec.precision):
                opt.fit(data)
            rec["timings"]["fit"] = time.perf_counter() - t
            t = time.perf_counter()
            with sealed_oracle("propose"), autocast(device, spec.precision):
                cands = opt.propose(spec.budget)
            rec["timings"]["propose"] = time.perf_counter() - t
        if ck is not None and ck.resumed:  # the timings then cover only the part run after resuming
            rec["resumed"] = _jsonable(ck.resumed)
        cands, clipped = task.space.check(cands, n=spec.budget)
        rec["num_clipped"] = clipped
        with sealed_oracle("diagnostics"):
            opt_diag = _jsonable(opt.diagnostics() or {})
            sg_points = None if task.space.is_discrete else data.top(spec.budget)[0]
            # optimizer side of diagnostics.surrogate_gradient: moves with opt.diagnostics()
            sg_grad = None if sg_points is None else opt.surrogate_gradient(sg_points)
        rec["diagnostics"] = {**candidate_diagnostics(cands, data.x, task.space, clipped), "optimizer": opt_diag}
        t = time.perf_counter()
        raw = task.score(cands)
        rec["timings"]["score"] = time.perf_counter() - t
        norm = task.normalize(raw)
        task_diag = _jsonable(task.candidate_diagnostics(cands) or {})
        if task_diag:
            rec["diagnostics"]["task"] = task_diag
        sg_diag = surrogate_gradient_agreement(task, sg_points, sg_grad)
        if sg_diag:
            rec["diagnostics"]["surrogate_gradient"] = sg_diag
        rec["candidates"] = cands.tolist()
        rec["scores"] = {"raw": raw.tolist(), "normalized": norm.tolist()}
        rec["summary"] = {"raw": _summ(raw), "normalized": _summ(norm)}
        rec["status"] = "ok"
    except (KeyboardInterrupt, SystemExit):
        raise
    except MBOError as exc:  # a known problem: its message says what to do
        rec["error"] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # an optimizer bug: keep the traceback
        rec["error"] = f"{type(exc).__name__}: {exc}"
        rec["traceback"] = traceback.format_exc(limit=8)
    rec["timings"]["total"] = time.perf_counter() - t0
    return rec


def surrogate_gradient_agreement(task, points: np.ndarray | None, grad: np.ndarray | None) -> dict | None:
    """Sign agreement and cosine of an optimizer's surrogate gradient with a closed-form task's exact gradient
    at ``points`` (the top-Q offline designs); ``None`` where either gradient is missing. Uses the oracle's
    formula: call it after scoring, outside the sealed phases."""
    if points is None or grad is None:
        return None
    exact = task.gradient(points)
    if exact is None:
        return None
    grad, exact = np.asarray(grad, np.float64).reshape(exact.shape), np.asarray(exact, np.float64)
    nonzero = exact != 0
    cos = (grad * exact).sum(1) / np.maximum(np.linalg.norm(grad, axis=1) * np.linalg.norm(exact, axis=1), 1e-300)
    return {"points": "top-Q offline designs", "num_points": int(len(points)),
            "sign_agreement": float((np.sign(grad) == np.sign(exact))[nonzero].mean()),
            "cosine_mean": float(cos.mean()), "cosine_median": float(np.median(cos)),
            "cosine_min": float(cos.min()), "cosine_max": float(cos.max())}


def _jsonable(value: Any) -> Any:
    """``value`` with numpy/torch scalars and arrays turned into plain Python (for JSON records)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy / torch arrays and scalars
        return _jsonable(value.tolist())
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _torch_threads() -> int:
    """CPU results are reproducible for a fixed seed *and* thread count, so record it."""
    import torch

    return torch.get_num_threads()


def _summ(v: np.ndarray) -> dict[str, float]:
    out = {f"p{p}": float(np.percentile(v, p)) for p in PERCENTILES}
    out["mean"] = float(np.mean(v))
    out["p50_tfp_nearest"] = percentile_tfp_nearest(v, 50)  # the papers' median (mbo.stats)
    return out


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("mbo", "numpy", "torch"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
        return res.stdout.strip() or None if res.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None

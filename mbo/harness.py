"""The harness: build, seed, fit, propose, validate, score, record.

Only this module calls a task's oracle. A failing optimizer fails its own run (the record
says why), never the caller's loop.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import platform
import subprocess
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from mbo import checkpoint, store
from mbo.config import check_seed, resolve_config
from mbo.core import Optimizer, Task, config_dict
from mbo.diagnostics import candidate_diagnostics, check_budget
from mbo.errors import ConfigError, MBOError, OptimizerProcessLost
from mbo.isolation import (ChildFailure, RunContext, class_reference, jsonable as _jsonable, make_guard,
                           optimizer_side, run_in_child)
from mbo.registry import check_implements, code_hash, load_class, source_files
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


def cached(spec: RunSpec, root: Path, in_process: bool = False) -> tuple[dict[str, Any] | None, Path | None]:
    """``(record, path)`` of the stored record of ``spec``'s run id, and the record only if it can be
    reused: status ``ok``, the same code hash (an edited optimizer or task runs again), and, unless
    ``in_process``, made behind the process boundary (not with ``--in-process``)."""
    path = store.find(root, spec.run_id)
    rec = store.read(path) if path is not None else None
    if rec is None or rec.get("status") != "ok" or rec.get("code_hash") != spec.code_hash:
        return None, path
    if rec.get("isolation") == "in-process" and not in_process:
        return None, path
    rec["_path"] = str(path)
    return rec, path


def execute(spec: RunSpec, results_dir: str | Path | None = None, force: bool = False,
            context: RunContext | None = None, *, checkpoint_dir: str | Path | None = None,
            checkpoint_every: float | None = checkpoint.DEFAULT_INTERVAL_S) -> dict[str, Any]:
    """Run one spec, or return its stored record if it already finished with this code (unless ``force``).

    ``context`` says how the optimizer's code runs (default: in a child process; see :mod:`mbo.isolation`).

    A cached record stored under another label is moved to ``spec.label`` (one configuration,
    one row). A failed run never replaces a successful record: it is kept beside it
    (``<run_id>.failed.json``) and the returned failure carries ``_kept_ok`` (the record kept).

    Training writes checkpoints every ``checkpoint_every`` seconds (``None``: never) under
    ``checkpoint_dir`` (default ``<results>/checkpoints``; see :mod:`mbo.checkpoint`); an
    interrupted run resumes from them, ``force`` discards them first.
    """
    root = store.results_dir(results_dir)
    store.prepare(root)  # an unwritable results folder fails here, before any training
    context = dataclasses.replace(context or RunContext(), results_dir=str(root))
    if not force:
        rec = finished(spec, root, in_process=context.in_process)
        if rec is not None:
            return rec
    folder = checkpoint_folder(spec, root, checkpoint_dir, force, checkpoint_every)
    context = dataclasses.replace(context, checkpoint_dir=None if folder is None else str(folder),
                                  checkpoint_every=checkpoint_every or 0.0)
    return save(run_spec(spec, context), root)


def execute_shared(specs: list[RunSpec], results_dir: str | Path | None = None, force: bool = False,
                   context: RunContext | None = None, *, checkpoint_dir: str | Path | None = None,
                   checkpoint_every: float | None = checkpoint.DEFAULT_INTERVAL_S) -> list[dict[str, Any]]:
    """:func:`execute` for runs that differ in their budget Q alone, fitted once.

    Each Q is proposed from a copy of the fitted optimizer with the random state it had right after
    ``fit`` (:func:`mbo.isolation.optimizer_side`), so its record is the one a separate run gives (same
    run id, reused as such); the records say which runs share the fit (``shared_fit``). Finished runs
    are reused unless ``force``; the fit's checkpoints are those of the first run still to make.

    Returns:
        The records, in the order of ``specs``.
    """
    first = specs[0]
    if any(dataclasses.replace(s, budget=first.budget).run_id != first.run_id for s in specs):
        raise ConfigError("runs that share one fit may differ in their budget Q alone")
    if len({s.budget for s in specs}) != len(specs):
        raise ConfigError(f"budgets {[s.budget for s in specs]} name one Q more than once; give each Q once")
    root = store.results_dir(results_dir)
    store.prepare(root)
    context = dataclasses.replace(context or RunContext(), results_dir=str(root))
    out: dict[str, dict[str, Any]] = {}
    for s in specs if not force else []:
        rec = finished(s, root, in_process=context.in_process)
        if rec is not None:
            out[s.run_id] = rec
    todo = [s for s in specs if s.run_id not in out]
    if len(todo) == 1:
        out[todo[0].run_id] = execute(todo[0], root, force, context, checkpoint_dir=checkpoint_dir,
                                      checkpoint_every=checkpoint_every)
    elif todo:
        for s in todo[1:]:  # a forced re-run starts every Q afresh
            checkpoint_folder(s, root, checkpoint_dir, force, checkpoint_every)
        folder = checkpoint_folder(todo[0], root, checkpoint_dir, force, checkpoint_every)
        context = dataclasses.replace(context, checkpoint_dir=None if folder is None else str(folder),
                                      checkpoint_every=checkpoint_every or 0.0)
        for rec in run_specs_shared(todo, context):
            out[rec["run_id"]] = save(rec, root)
    return [out[s.run_id] for s in specs]


def checkpoint_folder(spec: RunSpec, results_dir: str | Path | None, checkpoint_dir: str | Path | None,
                      force: bool, checkpoint_every: float | None) -> Path | None:
    """The folder of ``spec``'s checkpoints (``None`` when ``checkpoint_every`` is ``None``); checkpoints
    of other code versions of the run, and with ``force`` all of them, are deleted."""
    if checkpoint_every is None:
        return None
    ck_root = checkpoint.root(results_dir, checkpoint_dir)
    checkpoint.discard(ck_root, spec.run_id, keep=None if force else spec.code_hash)
    return checkpoint.run_directory(ck_root, spec.run_id, spec.code_hash)


def finished(spec: RunSpec, results_dir: str | Path | None = None, in_process: bool = False
             ) -> dict[str, Any] | None:
    """The stored record of ``spec`` if it can be reused (``ok``, same code hash, and unless
    ``in_process`` not made in-process), else ``None``.

    A reusable record stored under another label is moved to ``spec.label`` (one configuration,
    one row). The returned record is marked ``_cached``.
    """
    root = store.results_dir(results_dir)
    rec, existing = cached(spec, root, in_process)
    if rec is None:
        return None
    if rec.get("label") != spec.label:
        rec["label"] = spec.label
        rec["_path"] = str(store.replace(root, rec, existing))
    rec["_cached"] = True
    return rec


def run_spec(spec: RunSpec, context: RunContext | None = None) -> dict[str, Any]:
    """Run one spec and return its record, writing nothing (what a sweep's worker does).

    With ``context.checkpoint_dir`` (the run's own, :func:`checkpoint_folder`) training resumes from
    the checkpoints there and writes new ones every ``context.checkpoint_every`` seconds.

    Raises:
        ConfigError: the optimizer class cannot be imported by the child process (defined in a
            function or a notebook) and ``context.in_process`` is not set.
        OptimizerProcessLost: the optimizer's process died before returning (a sweep retries it).
    """
    context = context or RunContext()
    if not context.in_process:
        class_reference(spec.optimizer_cls)  # before any work
    return _run([spec], dataclasses.replace(context, precision=spec.precision))[0]


def run_specs_shared(specs: list[RunSpec], context: RunContext | None = None) -> list[dict[str, Any]]:
    """:func:`run_spec` for runs that differ in their budget Q alone, from one fit (see
    :func:`execute_shared`); returns one record per spec, writing nothing."""
    context = context or RunContext()
    if not context.in_process:
        class_reference(specs[0].optimizer_cls)  # before any work
    return _run(list(specs), dataclasses.replace(context, precision=specs[0].precision))


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
        force: bool = False, label: str | None = None, precision: str = "fp32", in_process: bool = False,
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: float | None = checkpoint.DEFAULT_INTERVAL_S) -> dict[str, Any]:
    """Train ``optimizer`` on ``task``'s offline data, score ``budget`` candidates, store the record.

    The optimizer's code runs in a child process that holds no task (:mod:`mbo.isolation`);
    ``in_process=True`` runs it here instead, for debugging (the record says so). An interrupted
    run resumes from its checkpoints (see :func:`execute`).

    Returns:
        The run record (a dict; see ARCHITECTURE.md, "Run record").
    """
    spec = plan(task, optimizer, seed=seed, budget=budget, profile=profile, overrides=overrides,
                device=device, data_dir=data_dir, label=label, precision=precision)
    return execute(spec, results_dir, force, RunContext(in_process=in_process), checkpoint_dir=checkpoint_dir,
                   checkpoint_every=checkpoint_every)


def _run(specs: list[RunSpec], context: RunContext) -> list[dict[str, Any]]:
    """The records of ``specs``: runs that differ in their budget alone, made from one fit."""
    from mbo.nn.device import resolve_device

    spec = specs[0]
    task = spec.task
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    commit = _git_commit()
    common = {"versions": _versions(), "git_commit": commit,
              **_code_checkouts(source_files(spec.optimizer_cls, type(task)), commit), "host": platform.node()}
    recs: list[dict[str, Any]] = [{
        "record_version": store.RECORD_VERSION, "run_id": s.run_id, "task": task.name,
        "optimizer": spec.optimizer_name, "label": spec.label, "profile": spec.profile,
        "profile_note": spec.profile_note, "overrides": spec.overrides,
        "config": config_dict(spec.config), "seed": spec.seed, "budget": s.budget,
        "data_version": task.data_version, "code_hash": spec.code_hash, "precision": spec.precision,
        "status": "failed", "error": None, "started": started, **common,
        "timings": {}, "num_clipped": 0, "isolation": "in-process" if context.in_process else "process",
    } for s in specs]
    if len(specs) > 1:  # one fit serves every Q: each record names the runs that share it
        shared = {"run_ids": [s.run_id for s in specs], "budgets": [s.budget for s in specs]}
        for rec in recs:
            rec["shared_fit"] = shared
    t0 = time.perf_counter()
    try:
        device = resolve_device(spec.device)
        for rec in recs:
            rec["device"], rec["torch_threads"] = str(device), _torch_threads()
        ok, why = spec.optimizer_cls.supports(task.space)
        if not ok:
            raise ConfigError(why)
        task.check_oracle()  # fail before training when the oracle cannot score
        data = task.offline_data(spec.seed) if task.seeded_data else task.offline_data()
        best = float(np.max(data.y))
        facts = {"data_subset": task.data_rows(spec.seed),  # which rows, where the task subsamples
                 "dataset_best": {"raw": best, "normalized": float(task.normalize(best))},
                 "dataset_size": len(data), "normalization": {"y_min": float(task.y_min), "y_max": float(task.y_max)}}
        for rec in recs:  # the same data facts for every Q of one fit, computed once
            rec.update(facts)
        budget = spec.budget if len(specs) == 1 else tuple(s.budget for s in specs)
        args = (spec.optimizer_cls, spec.config, spec.seed, spec.device, data, budget, context)
        if context.in_process:
            sides = optimizer_side(*args)
        else:  # the child gets the offline data and the config, never the task
            sides = run_in_child(*args, make_guard(task, spec.optimizer_cls, context))
        for rec, s, side in zip(recs, specs, [sides] if len(specs) == 1 else sides):
            _score(rec, s, side, data)
    except (KeyboardInterrupt, SystemExit, OptimizerProcessLost):
        raise
    except ChildFailure as exc:  # the optimizer's code failed in its process
        for rec in recs:
            rec["error"] = exc.error
            if exc.traceback:
                rec["traceback"] = exc.traceback
    except MBOError as exc:  # a known problem: its message says what to do
        for rec in recs:
            rec["error"] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # an optimizer bug: keep the traceback
        for rec in recs:
            rec["error"] = f"{type(exc).__name__}: {exc}"
            rec["traceback"] = traceback.format_exc(limit=8)
    for rec in recs:
        rec["timings"]["total"] = time.perf_counter() - t0
    return recs


def _score(rec: dict[str, Any], spec: RunSpec, side: dict[str, Any], data: Any) -> None:
    """Fill ``rec`` from the optimizer's side of a run: the parent checks, scores and diagnoses."""
    task = spec.task
    rec["timings"].update(side["timings"])
    rec["device"], rec["torch_threads"], rec["subnormals"] = side["device"], side["torch_threads"], side["subnormals"]
    if side["resumed"]:  # timings.fit is then the part after resuming; timings.before_resume the earlier attempts
        rec["resumed"] = side["resumed"]
    cands, clipped = task.space.check(side["candidates"], n=spec.budget)  # the parent's own gate
    clipped += side["num_clipped"]
    rec["num_clipped"] = clipped
    rec["diagnostics"] = {**candidate_diagnostics(cands, data.x, task.space, clipped),
                          "optimizer": side["diagnostics"]}
    sg_grad = side["surrogate_gradient"]
    sg_points = None if sg_grad is None else data.top(spec.budget)[0]
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


def _code_checkouts(files: list[Path], commit: str | None) -> dict[str, Any]:
    """Where ``files`` (the code a run's hash covers) come from. ``code_dirty``: whether any differs from
    the git commit of its checkout, uncommitted or untracked (``None`` when none is in a git checkout);
    ``code_dirty_files`` names them. ``code_commits`` (only when some file's checkout is at another commit
    than mbo's, ``commit``: a plug-in in its own repository, or mbo's packages from two checkouts):
    each checkout's commit and the files taken from it."""
    by_repo: dict[str, list[Path]] = {}
    for path in files:
        top = _git_toplevel(str(path.parent))
        if top is not None:
            by_repo.setdefault(top, []).append(path)
    if not by_repo:
        return {"code_dirty": None}
    dirty: list[str] = []
    commits: dict[str, list[str]] = {}
    for top, paths in by_repo.items():
        try:
            res = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--",
                                  *(str(p) for p in paths)], cwd=top, capture_output=True, text=True, timeout=10)
            head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=top, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return {"code_dirty": None}
        if res.returncode != 0:
            return {"code_dirty": None}
        dirty += [line[3:] for line in res.stdout.splitlines() if line[3:]]
        key = head.stdout.strip() if head.returncode == 0 and head.stdout.strip() else "none"
        commits.setdefault(key, []).extend(p.relative_to(Path(top).resolve()).as_posix() for p in paths)
    out: dict[str, Any] = {"code_dirty": bool(dirty), **({"code_dirty_files": sorted(dirty)} if dirty else {})}
    if set(commits) - {commit}:
        out["code_commits"] = {c: sorted(names) for c, names in sorted(commits.items())}
    return out


@functools.lru_cache(maxsize=256)
def _git_toplevel(folder: str) -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True,
                             timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None

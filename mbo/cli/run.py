"""``mbo run`` and ``mbo sweep``."""
from __future__ import annotations

import os

import click

from mbo.cli import options
from mbo.executors import EXECUTORS


def _fmt_summary(rec: dict) -> str:
    if rec.get("status") != "ok":
        return f"FAILED: {rec.get('error')}"
    n = rec["summary"]["normalized"]
    r = rec["summary"]["raw"]
    best = rec.get("dataset_best", {})
    t = rec.get("timings", {})
    return (f"100th {n['p100']:.3f} (raw {r['p100']:.4g})  50th {n['p50']:.3f} (raw {r['p50']:.4g})  "
            f"dataset best {best.get('normalized', float('nan')):.3f} (raw {best.get('raw', float('nan')):.4g})  "
            f"time {t.get('total', 0):.1f}s" + (f" (resumed; {t['before_resume']:.0f}s before)" if "before_resume" in t
                                                else "")
            + (f"  clipped {rec['num_clipped']}" if rec.get("num_clipped") else ""))


def _fmt_seeds_summary(records: list[dict]) -> str:
    """Mean ± std over seeds (sample std, n-1) of the 100th and 50th normalized percentiles."""
    import numpy as np

    parts = []
    for p in ("p100", "p50"):
        v = np.array([rec["summary"]["normalized"][p] for rec in records])
        parts.append(f"{p[1:]}th {v.mean():.3f} ± {v.std(ddof=1):.3f}")
    return f"mean ± std over {len(records)} seeds (normalized): " + "  ".join(parts)


def _profile_line(spec, device) -> str:
    """What is about to run, and a hint when a profile known to be slow runs on a CPU."""
    cls = spec.optimizer_cls
    profile = spec.profile or "paper"
    if not getattr(cls.Config, "__dataclass_fields__", None):
        line = f"{spec.optimizer_name}: no tunable config"
    elif profile == "paper" and "paper" not in (cls.profiles or {}):  # a plug-in: its defaults are no paper's
        line = f"{spec.optimizer_name}: its defaults (it declares no paper profile)"
    elif profile == "paper":
        line = f"{spec.optimizer_name}: profile paper (the defaults: the published setting)"
    else:
        line = f"{spec.optimizer_name}: profile {profile}"
    line += f", device {device}"
    if device.type == "cpu" and profile in cls.slow_on_cpu and "quick" in (cls.profiles or {}):
        line += (f"\nhint: {spec.optimizer_name}'s {profile} profile is slow on a CPU (minutes to hours per run); "
                 "--profile quick is a CPU-sized preset (its results are labelled [quick])")
    return line


def _estimate_first(specs, results_dir, force) -> bool:
    """A paper-profile (or slow) run on a CPU prints its estimate before it starts, unless every seed is stored."""
    from mbo.harness import finished
    from mbo.nn.device import resolve_device

    spec = specs[0]
    cls, profile = spec.optimizer_cls, spec.profile or "paper"
    if not getattr(cls.Config, "__dataclass_fields__", None) or resolve_device(spec.device).type != "cpu" \
            or (profile != "paper" and profile not in cls.slow_on_cpu):
        return False
    return force or any(finished(s, results_dir) is None for s in specs)


@click.command("run")
@click.option("--task", "-t", required=True, help="Task name, module:Class or file.py:Class.")
@click.option("--optimizer", "-o", required=True, help="Optimizer name, module:Class or file.py:Class.")
@click.option("--seed", type=int, default=None, help="One seed (default 0).")
@click.option("--seeds", default=None, help="Several seeds, e.g. 0-4 or 0,1,2.")
@click.option("--budget", "-Q", default="128", show_default=True,
              help="Number of candidates Q; several (e.g. 128,256) are proposed from one fit per seed, "
                   "each giving the record a separate run with that Q gives.")
@click.option("--profile", default=None, help="Named preset of the optimizer (quick, paper, ...).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config field (repeatable).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--precision", default="fp32", show_default=True,
              help="fp32, or bf16: fit and propose under torch.autocast (the label says [bf16]).")
@click.option("--label", default=None, help="Name of this configuration in leaderboards (cached runs too).")
@click.option("--force", is_flag=True, help="Re-run even if a finished record exists (and discard checkpoints).")
@click.option("--estimate", is_flag=True,
              help="Only print the projected fit and propose time here (a few real steps of each loop); no record.")
@options.threads
@options.in_process
@options.data_dir
@options.results_dir
@options.checkpoint_dir
@options.checkpoint_every
@options.quiet
def run_cmd(task, optimizer, seed, seeds, budget, profile, sets, device, precision, label, force, estimate, threads,
            in_process, data_dir, results_dir, checkpoint_dir, checkpoint_every, quiet):
    """Train one optimizer on a task's offline data, score Q candidates, store the record."""
    from mbo.config import parse_assignments
    from mbo.errors import ConfigError
    from mbo.harness import execute_shared, plan
    from mbo.isolation import RunContext
    from mbo.nn.device import resolve_device
    from mbo.store import prepare, results_dir as resolve_results
    from mbo.sweep import parse_budgets, parse_seeds
    from mbo.threads import default_threads, set_threads

    if quiet:
        os.environ["MBO_QUIET"] = "1"
    if seed is not None and seeds is not None:
        raise ConfigError("give --seed or --seeds, not both")
    seed_list = parse_seeds(seeds) if seeds is not None else [seed or 0]
    budgets = parse_budgets(budget)
    overrides = parse_assignments(sets)
    specs = [plan(task, optimizer, seed=s, budget=q, profile=profile, overrides=overrides,
                  device=device, data_dir=data_dir, label=label, precision=precision)
             for s in seed_list for q in budgets]
    prepare(resolve_results(results_dir))  # an unwritable results folder fails before any training
    if specs[0].profile_note:
        click.echo(f"note: {specs[0].profile_note}", err=True)
    click.echo(_profile_line(specs[0], resolve_device(device)))
    set_threads(threads or default_threads())
    if estimate or _estimate_first(specs, results_dir, force):
        from mbo.cost import estimate_run, format_estimate

        click.echo(format_estimate(specs[0], estimate_run(specs[0])))
        if estimate:
            return
    done = []
    for i in range(0, len(specs), len(budgets)):  # one fit per seed serves every Q
        group = specs[i:i + len(budgets)]
        recs = execute_shared(group, results_dir, force=force, context=RunContext(in_process=in_process),
                              checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every)
        for spec, rec in zip(group, recs):
            cached = " (cached; --force to re-run)" if rec.get("_cached") else ""
            q = f" / Q {spec.budget}" if len(budgets) > 1 else ""
            click.echo(f"{spec.task.name} / {spec.label} / seed {spec.seed}{q}: {_fmt_summary(rec)}{cached}")
            if rec.get("_kept_ok"):
                click.echo(f"  this failed re-run did not replace the successful record {rec['_kept_ok']}; "
                           f"the failure is kept beside it: {rec['_path']}")
            else:
                click.echo(f"  record: {rec['_path']}")
            done.append(rec)
    for q in budgets:
        ok = [rec for rec in done if rec.get("status") == "ok" and rec["budget"] == q]
        mine = [rec for rec in done if rec["budget"] == q]
        if len(ok) > 1:
            click.echo((f"Q {q}: " if len(budgets) > 1 else "") + _fmt_seeds_summary(ok)
                       + (f" ({len(mine) - len(ok)} failed seeds left out)" if len(ok) < len(mine) else ""))
    if any(rec.get("status") != "ok" for rec in done):
        raise SystemExit(1)


def _check_sweep(task_names, opt_names, overrides, seeds, budget, profile, device, data_dir, root, precision="fp32"):
    """Validate a sweep's whole grid before any run: names, profile, keys, values, device, results folder.

    Returns:
        ``{optimizer: overrides that apply to it}``.
    """
    import dataclasses

    from mbo.errors import ConfigError
    from mbo.harness import optimizer_class, plan
    from mbo.store import prepare

    if not task_names or not opt_names:
        raise ConfigError("--tasks and --optimizers each need at least one name")
    fields = {o: {f.name for f in dataclasses.fields(optimizer_class(o).Config)} for o in opt_names}
    unused = sorted(k for k in overrides if not any(k in f for f in fields.values()))
    if unused:
        from mbo.errors import did_you_mean

        known = sorted(set().union(*fields.values()))
        raise ConfigError(f"--set {', '.join(unused)}: no optimizer of this sweep has such a config key."
                          f"{did_you_mean(unused[0], known)} Keys of these optimizers: "
                          f"{', '.join(known) or 'none'}")
    per_opt = {o: tuple(sorted((k, v) for k, v in overrides.items() if k in fields[o])) for o in opt_names}
    for t in task_names:
        for o in opt_names:
            plan(t, o, seed=seeds[0], budget=budget, profile=profile, overrides=dict(per_opt[o]),
                 device=device, data_dir=data_dir, precision=precision)
    prepare(root)
    return per_opt


@click.command("sweep")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False), default=None,
              help="Run the grid of an experiment file (experiments/<name>.toml) instead of --tasks/--optimizers.")
@click.option("--tasks", default=None, help="Comma-separated task names.")
@click.option("--optimizers", "-o", default=None, help="Comma-separated optimizer names.")
@click.option("--seeds", default="0-4", show_default=True)
@click.option("--budget", "-Q", type=int, default=128, show_default=True)
@click.option("--profile", default=None)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override applied to every optimizer that has the field.")
@click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
              help="local: worker processes here; ray: a Ray cluster ($RAY_ADDRESS, else a local one; "
                   "pip install 'mbo[ray]'); slurm: one array job (pip install 'mbo[slurm]'); "
                   "slurm-local: the Slurm path run by submitit on this machine, to try a sweep first.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Runs at once. local: worker processes (default 1: in this process, with per-run progress "
                   "bars); ray, slurm: a cap (default: as many as the cluster gives).")
@click.option("--cpus-per-run", type=click.FloatRange(min=0, min_open=True), default=None,
              help="CPU cores (torch threads) per run [default: local, the CPUs / --jobs; ray, slurm: 1].")
@click.option("--gpus-per-run", type=click.FloatRange(min=0, min_open=True), default=None,
              help="GPUs per run; a fraction shares a GPU (ray, local). Local workers are spread over the "
                   "visible GPUs through CUDA_VISIBLE_DEVICES.")
@click.option("--slurm-partition", default=None, help="Slurm partition.")
@click.option("--slurm-time", type=click.IntRange(min=1), default=60, show_default=True,
              help="Slurm time limit per run, in minutes.")
@click.option("--slurm-mem-gb", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Slurm memory per run, in GB.")
@click.option("--slurm-folder", default=None,
              help="submitit's folder for job files and logs, on a file system the nodes share "
                   "[default: <results-dir>/slurm].")
@click.option("--device", default="auto", show_default=True)
@click.option("--precision", default="fp32", show_default=True, help="fp32, or bf16 (torch.autocast; labelled).")
@click.option("--force", is_flag=True)
@options.threads
@options.in_process
@options.data_dir
@options.results_dir
@options.checkpoint_dir
@options.checkpoint_every
@options.quiet
def sweep_cmd(plan_file, tasks, optimizers, seeds, budget, profile, sets, executor, jobs, cpus_per_run, gpus_per_run,
              slurm_partition, slurm_time, slurm_mem_gb, slurm_folder, device, precision, force, threads, in_process,
              data_dir, results_dir, checkpoint_dir, checkpoint_every, quiet):
    """Run every (task, optimizer, seed) of a grid; finished runs are skipped, so it resumes.

    Workers return each record to this process, which writes it: a cluster needs no shared results
    folder. Ctrl-C stops every run in progress within seconds and keeps the finished ones.
    """
    import signal

    from mbo.config import parse_assignments
    from mbo.errors import ConfigError
    from mbo.executors import make_executor
    from mbo.progress import SweepBar
    from mbo.store import results_dir as resolve_results
    from mbo.sweep import Job, parse_seeds, pending, portable_name, run_sweep

    if quiet:
        os.environ["MBO_QUIET"] = "1"
    root = str(resolve_results(results_dir).resolve())
    ck_dir = os.path.abspath(checkpoint_dir) if checkpoint_dir else None
    run_opts = {"precision": precision, "checkpoint_dir": ck_dir, "checkpoint_every": checkpoint_every,
                "in_process": in_process}
    if plan_file:
        jobs_all = _plan_jobs(plan_file, tasks, optimizers, sets, profile, data_dir, root, force, run_opts)
    else:
        if not tasks or not optimizers:
            raise ConfigError("give --tasks and --optimizers, or --plan experiments/<name>.toml")
        task_names = [t.strip() for t in tasks.split(",") if t.strip()]
        opt_names = [o.strip() for o in optimizers.split(",") if o.strip()]
        seed_list = parse_seeds(seeds)
        per_opt = _check_sweep(task_names, opt_names, parse_assignments(sets), seed_list, budget, profile, device,
                               data_dir, root, precision)
        jobs_all = [Job(portable_name(t), portable_name(o), s, budget, profile, per_opt[o], device, data_dir, root,
                        force, **run_opts)
                    for t in task_names for o in opt_names for s in seed_list]
    runner = make_executor(executor, jobs=jobs, cpus_per_run=cpus_per_run, threads=threads, gpus_per_run=gpus_per_run,
                           slurm_folder=slurm_folder or os.path.join(root, "slurm"),
                           slurm_partition=slurm_partition, slurm_time=slurm_time, slurm_mem_gb=slurm_mem_gb)
    todo, done = pending(jobs_all)
    where = {"local": f"with {jobs or 1} worker(s)", "ray": "on Ray", "slurm": "on Slurm",
             "slurm-local": "on submitit's local executor"}[executor]
    total, to_run = sum(len(j.budgets) for j in jobs_all), sum(len(j.budgets) for j in todo)
    shared = f" ({len(todo)} fits: one per seed serves several Q)" if len(todo) < to_run else ""
    click.echo(f"sweep: {total} runs, {done} already finished, {to_run} to run {where}{shared}")
    bar = SweepBar(total, done)
    several_q = len({q for j in jobs_all for q in j.budgets}) > 1

    finished: list = []

    def report(rec):
        finished.append(rec)
        q = f" / Q {rec.get('budget')}" if several_q else ""
        line = f"{rec['task']} / {rec['label']} / seed {rec['seed']}{q}: {_fmt_summary(rec)}"
        if rec.get("_kept_ok"):
            line += f"  (the successful record {rec['_kept_ok']} is kept)"
        bar.write(line)
        bar.advance(rec.get("status") == "ok")

    def retry(job, why):
        bar.write(f"{job.task} / {job.optimizer} / seed {job.seed}: worker lost ({why.splitlines()[0]}); "
                  "retrying once")

    def stop(signum, frame):  # `kill` (SIGTERM) stops a sweep as cleanly as Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        run_sweep(todo, runner, on_result=report, on_retry=retry)
    except KeyboardInterrupt:
        bar.close()
        ok = sum(r.get("status") == "ok" for r in finished)
        click.echo(f"sweep interrupted: {ok} finished run(s) of this sweep recorded in {root}; "
                   f"{to_run - len(finished)} not run. Run the same command to resume.", err=True)
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    bar.close()
    failed = sum(r.get("status") != "ok" for r in finished)
    click.echo(f"sweep done: {len(finished) - failed} ok, {failed} failed; records in {root}")
    if failed:
        raise SystemExit(1)


def _plan_jobs(plan_file, tasks, optimizers, sets, profile, data_dir, root, force, run_opts):
    """The jobs of an experiment file's grid, each checked (names, profile, keys, Q) before any run."""
    from mbo.errors import ConfigError
    from mbo.experiment import load
    from mbo.harness import plan
    from mbo.store import prepare
    from mbo.sweep import Job, portable_name

    if tasks or optimizers or sets or profile:
        raise ConfigError("--plan declares the whole grid; drop --tasks, --optimizers, --set and --profile "
                          "(edit the experiment file instead)")
    exp = load(plan_file)
    archived = sorted({e.label for e in exp.entries if e.archived})
    if archived:
        click.echo(f"{exp.path.name}: not re-run (archived: records of earlier code): {', '.join(archived)}", err=True)
    grouped: dict = {}  # one fit per (configuration, task, seed) serves every Q of the grid
    for e, t, q, s in exp.cells():
        plan(t, e.name, seed=s, budget=q, profile=e.profile, overrides=dict(e.overrides), device=exp.device,
             data_dir=data_dir, label=None if e.null else e.label, precision=run_opts["precision"])
        grouped.setdefault((e, t, s), []).append(q)
    jobs = [Job(portable_name(t), portable_name(e.name), s, qs[0] if len(qs) == 1 else tuple(qs), e.profile,
                e.overrides, exp.device, data_dir, root, force, label=e.label, **run_opts)
            for (e, t, s), qs in grouped.items()]
    prepare(root)
    return jobs


COMMANDS = [run_cmd, sweep_cmd]

"""``mbo tasks`` and ``mbo optimizers``: what is registered here."""
from __future__ import annotations

import click

from mbo.cli import options


@click.command("tasks")
@options.data_dir
def tasks_cmd(data_dir):
    """List registered tasks: description, design space, and whether data and oracle are here."""
    from mbo.harness import make_task
    from mbo.registry import names

    for name, target in names("task").items():
        try:
            task = make_task(name, data_dir)
            ok, why = task.availability()
            status = "ready" if ok else f"NOT READY: {why}"
            click.echo(f"{name:16s} {task.space.describe()}\n{'':16s} {task.description}\n{'':16s} {status}")
        except Exception as exc:  # a broken plugin must not hide the others
            click.echo(f"{name:16s} cannot load {target}: {exc}")


def _profiles(cls) -> str:
    """Profile names, ``paper`` (the defaults) always among them when there is a config."""
    import dataclasses

    if not dataclasses.fields(cls.Config):
        return "none (no tunable config)"
    return ", ".join(sorted(set(cls.profiles or {}) | {"paper"}))


@click.command("optimizers")
@click.argument("name", required=False)
def optimizers_cmd(name):
    """List registered optimizers, or show one optimizer's config keys, types, defaults and profiles.

    NAME may be a registered name, module:Class or file.py:Class.
    """
    from mbo.harness import optimizer_class
    from mbo.registry import names

    if name:
        _show(optimizer_class(name))
        return
    for reg, target in names("optimizer").items():
        try:
            cls = optimizer_class(reg)
            spaces = "/".join(s for s, ok in (("discrete", cls.supports_discrete),
                                               ("continuous", cls.supports_continuous)) if ok)
            click.echo(f"{reg:16s} {cls.description}\n{'':16s} spaces: {spaces}; profiles: {_profiles(cls)}")
        except Exception as exc:
            click.echo(f"{reg:16s} cannot load {target}: {exc}")
    click.echo("\n`mbo optimizers NAME` shows an optimizer's config keys, defaults and profiles.")


def _show(cls) -> None:
    """One optimizer in full: description, config table (key, type, default, value per profile)."""
    from mbo.config import config_fields
    from mbo.registry import where

    click.echo(f"{cls.name or cls.__name__}: {cls.description}".rstrip(": "))
    click.echo(f"defined at {where(cls)}")
    fields = config_fields(cls)
    if not fields:
        click.echo("config: none (nothing to tune; every --profile runs the same)")
        return
    profiles = {p: v for p, v in sorted((cls.profiles or {}).items()) if p != "paper"}
    published = " = the published setting" if "paper" in (cls.profiles or {}) else ", not a published setting"
    click.echo(f"profiles: {_profiles(cls)}  (paper = the defaults{published}"
               + (f"; slow on a CPU: {', '.join(cls.slow_on_cpu)}" if cls.slow_on_cpu else "") + ")")
    default_col = "default (paper)" if "paper" in (cls.profiles or {}) else "default"
    header = ["key", "type", default_col] + [f"{p}" for p in profiles]
    rows = [[key, tp, repr(default)] + [repr(values[key]) if key in values else "·" for values in profiles.values()]
            for key, tp, default in fields]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    if profiles:
        click.echo("· = the default. Override any key with --set KEY=VALUE.")
    else:
        click.echo("Override any key with --set KEY=VALUE.")


COMMANDS = [tasks_cmd, optimizers_cmd]

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


@click.command("optimizers")
def optimizers_cmd():
    """List registered optimizers with their description, supported spaces and profiles."""
    from mbo.harness import optimizer_class
    from mbo.registry import names

    for name, target in names("optimizer").items():
        try:
            cls = optimizer_class(name)
            spaces = "/".join(s for s, ok in (("discrete", cls.supports_discrete),
                                               ("continuous", cls.supports_continuous)) if ok)
            profiles = ", ".join(sorted(cls.profiles)) or "none"
            click.echo(f"{name:16s} {cls.description}\n{'':16s} spaces: {spaces}; profiles: {profiles}")
        except Exception as exc:
            click.echo(f"{name:16s} cannot load {target}: {exc}")


COMMANDS = [tasks_cmd, optimizers_cmd]

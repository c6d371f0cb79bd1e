"""The ``mbo`` command line: a thin layer over the Python API.

One module per topic: ``run`` (run, sweep), ``catalog`` (tasks, optimizers), ``results``
(leaderboard, reproduce), ``site`` (the static results site), ``data`` (data path, verify,
download). Command bodies import the engine lazily so ``mbo --help`` stays fast.
"""
from __future__ import annotations

import sys
import warnings

import click

from mbo.errors import MBOError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MBOError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mbo")
def main() -> None:
    """Offline model-based optimization benchmarks: run optimizers on tasks, compare them."""
    from mbo.threads import passive_openmp

    passive_openmp()  # before any command imports torch: a busy machine slows a run, never stalls it
    warnings.formatwarning = _one_line_warning


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings for a terminal user: ``warning: <message>``, without the source line."""
    return f"warning: {message}\n"


from mbo.cli import catalog, data, experiment, results, run, site  # noqa: E402  (registers the commands)

for module in (run, catalog, results, data, experiment, site):
    for command in module.COMMANDS:
        main.add_command(command)

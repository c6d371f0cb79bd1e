"""Options shared by several commands."""
from __future__ import annotations

import click

data_dir = click.option("--data-dir", default=None, envvar="MBO_DATA_DIR", show_envvar=True,
                        help="Where task data lives (default: a per-user cache directory).")
results_dir = click.option("--results-dir", default=None, envvar="MBO_RESULTS_DIR", show_envvar=True,
                           help="Where run records go (default: ./results).")
quiet = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
in_process = click.option("--in-process", is_flag=True,
                          help="Run the optimizer's code in this process instead of a child process that holds no "
                               "task (for debugging, e.g. with pdb). Records say isolation: in-process; a normal run "
                               "never reuses them.")

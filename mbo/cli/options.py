"""Options shared by several commands."""
from __future__ import annotations

import click

data_dir = click.option("--data-dir", default=None, envvar="MBO_DATA_DIR", show_envvar=True,
                        help="Where task data lives (default: a per-user cache directory).")
results_dir = click.option("--results-dir", default=None, envvar="MBO_RESULTS_DIR", show_envvar=True,
                           help="Where run records go (default: ./results).")
quiet = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
checkpoint_dir = click.option("--checkpoint-dir", default=None, envvar="MBO_CHECKPOINT_DIR", show_envvar=True,
                              help="Where unfinished runs keep their training checkpoints "
                                   "(default: <results-dir>/checkpoints). Point it at a folder that outlives "
                                   "this machine or session to resume there.")
checkpoint_every = click.option("--checkpoint-every", type=click.FloatRange(min=0), default=300.0,
                                show_default=True, metavar="SECONDS",
                                help="Wall-clock seconds between training checkpoints (also written on "
                                     "SIGTERM/SIGINT); an interrupted run resumes from its last one. 0: every step.")

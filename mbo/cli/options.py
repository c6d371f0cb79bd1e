"""Options shared by several commands."""
from __future__ import annotations

import click

data_dir = click.option("--data-dir", default=None, envvar="MBO_DATA_DIR", show_envvar=True,
                        help="Where task data lives (default: a per-user cache directory).")
results_dir = click.option("--results-dir", default=None, envvar="MBO_RESULTS_DIR", show_envvar=True,
                           help="Where run records are [default: a per-user folder, ~/.local/share/mbo/results; "
                                "--results-dir results reads the committed reference records].")
quiet = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
threads = click.option("--threads", type=click.IntRange(min=1), default=None,
                       help="Torch threads per run [default: $OMP_NUM_THREADS if set, else the CPUs this "
                            "process may use divided by the runs at once]. Records store it.")
checkpoint_dir = click.option("--checkpoint-dir", default=None, envvar="MBO_CHECKPOINT_DIR", show_envvar=True,
                              help="Where unfinished runs keep their training checkpoints "
                                   "(default: <results-dir>/checkpoints). Point it at a folder that outlives "
                                   "this machine or session to resume there.")
checkpoint_every = click.option("--checkpoint-every", type=click.FloatRange(min=0), default=300.0,
                                show_default=True, metavar="SECONDS",
                                help="Wall-clock seconds between training checkpoints (also written on "
                                     "SIGTERM/SIGINT); an interrupted run resumes from its last one. 0: every step.")
in_process = click.option("--in-process", is_flag=True,
                          help="Run the optimizer's code in this process instead of a child process that holds no "
                               "task (for debugging, e.g. with pdb). Records say isolation: in-process; a normal run "
                               "never reuses them.")

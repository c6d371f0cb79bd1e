"""``mbo leaderboard``."""
from __future__ import annotations

import click

from mbo.cli import options


@click.command("leaderboard")
@click.option("--budget", "-Q", type=int, default=None, help="Only runs with this Q.")
@click.option("--percentile", "-p", type=click.Choice(["100", "75", "50", "25", "mean"]), default="100",
              show_default=True, help="Statistic of each run's Q scores.")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "latex"]), default="table",
              show_default=True)
@click.option("--raw", is_flag=True, help="Unnormalized scores.")
@click.option("--tasks", default=None, help="Comma-separated tasks to include.")
@click.option("--optimizers", default=None, help="Comma-separated optimizer labels to include.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the table here.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Also draw the table as a figure (PNG/PDF/SVG).")
@options.results_dir
def leaderboard_cmd(budget, percentile, fmt, raw, tasks, optimizers, out, plot_path, results_dir):
    """Normalized-score table: mean ± std over seeds per task, mean score and mean rank."""
    from pathlib import Path

    from mbo.report import format_table, leaderboard, load_records, plot

    df = load_records(results_dir)
    if tasks and not df.empty:
        df = df[df["task"].isin(tasks.split(","))]
    if optimizers and not df.empty:
        df = df[df["label"].isin(optimizers.split(",")) | df["optimizer"].isin(optimizers.split(","))]
    table = leaderboard(df, percentile=percentile, budget=budget, raw=raw)
    text = format_table(table, fmt)
    what = f"{'raw' if raw else 'normalized'} score, {percentile}{'th percentile' if percentile != 'mean' else ''}"
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")
        click.echo(f"wrote {out}")
    else:
        if fmt == "table":
            click.echo(f"# {what} over seeds (mean ± std); D(best) = best offline design; rank 1 = best")
        click.echo(text)
    if plot_path:
        plot(table, plot_path, title=what)
        click.echo(f"wrote {plot_path}")


COMMANDS = [leaderboard_cmd]

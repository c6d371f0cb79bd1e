"""``mbo leaderboard`` and ``mbo reproduce``."""
from __future__ import annotations

import click

from mbo.cli import options


def _records(results_dir, what: str):
    """The runs under the results folder, with a clear error for a missing folder or one without records."""
    from mbo.errors import ConfigError
    from mbo.report import load_records
    from mbo.store import results_dir as resolve_results

    root = resolve_results(results_dir)
    if not root.is_dir():
        raise ConfigError(f"results folder {root} does not exist; pass --results-dir (or set MBO_RESULTS_DIR) to "
                          f"a folder of run records, e.g. --results-dir results for the committed reference records")
    df = load_records(root, include_failed=True, check_code=False)
    if df.empty:
        raise ConfigError(f"no run records in {root} to {what}; run some with `mbo run` or `mbo sweep` "
                          f"(--results-dir {root}), or pass --results-dir results for the committed reference records")
    return df[df["status"] == "ok"].reset_index(drop=True)


@click.command("leaderboard")
@click.option("--budget", "-Q", type=int, default=None, help="Only runs with this Q.")
@click.option("--percentile", "-p", type=click.Choice(["100", "75", "50", "25", "mean", "50-tfp"]), default="100",
              show_default=True, help="Statistic of each run's Q candidates' scores (50-tfp: the median as the "
                                      "papers compute it, TensorFlow Probability's 'nearest').")
@click.option("--stat", type=click.Choice(["score", "novelty", "diversity", "distinct", "clipped"]), default="score",
              show_default=True, help="Tabulate scores, or an engine diagnostic of each run's candidates.")
@click.option("--aggregate", type=click.Choice(["mean", "median", "iqm"]), default="mean", show_default=True,
              help="How each cell summarises its seeds (iqm = 25%-trimmed mean).")
@click.option("--ci", type=float, default=None,
              help="Add a bootstrap confidence interval per cell (seeds resampled) and the across-task IQM with a "
                   "stratified bootstrap CI, at this level in percent, e.g. --ci 95.")
@click.option("--versus", default=None,
              help="Baseline label (or optimizer name) for the probability of improvement, e.g. --versus random "
                   "(implies --ci 95 unless --ci is given).")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "latex"]), default="table",
              show_default=True)
@click.option("--raw", is_flag=True, help="Unnormalized scores.")
@click.option("--tasks", default=None, help="Comma-separated tasks to include.")
@click.option("--optimizers", default=None, help="Comma-separated optimizer labels to include.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the table here.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Also draw the table as a figure (PNG/PDF/SVG); with --ci also the across-task interval "
                   "estimates, next to it as <name>_intervals.<ext>.")
@options.results_dir
def leaderboard_cmd(budget, percentile, stat, aggregate, ci, versus, fmt, raw, tasks, optimizers, out, plot_path,
                    results_dir):
    """Per-task table of each label's runs (aggregate ± std over seeds, n per cell), mean score and mean rank.

    Each run contributes one number: a percentile of its Q candidates' scores (or a diagnostic);
    cells summarise those numbers over seeds. Every output states its protocol.
    """
    from pathlib import Path

    from mbo.errors import ConfigError, did_you_mean
    from mbo.report import check_plot_path, format_table, leaderboard, plot, plot_intervals, warn_mixed_code

    if versus is not None and ci is None:
        ci = 95.0
    if plot_path:
        check_plot_path(plot_path)  # before any work: a typo in the extension is not a matplotlib traceback
    df = _records(results_dir, "tabulate")
    if tasks and not df.empty:
        wanted = tasks.split(",")
        unknown = sorted(set(wanted) - set(df["task"]))
        if unknown:
            raise ConfigError(f"--tasks: no runs of {', '.join(unknown)}; tasks with runs: "
                              f"{', '.join(sorted(df['task'].unique()))}")
        df = df[df["task"].isin(wanted)]
    if optimizers and not df.empty:
        wanted = optimizers.split(",")
        known = set(df["label"]) | set(df["optimizer"])
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise ConfigError(f"--optimizers: no runs of {', '.join(unknown)}{' on the tasks shown' if tasks else ''}."
                              f"{did_you_mean(unknown[0], known)} Labels with runs: "
                              f"{', '.join(sorted(df['label'].unique()))}")
        df = df[df["label"].isin(wanted) | df["optimizer"].isin(wanted)]
    warn_mixed_code(df)  # only about the rows shown
    table = leaderboard(df, percentile=percentile, budget=budget, raw=raw, aggregate=aggregate, ci=ci,
                        versus=versus, stat=stat)
    text = format_table(table, fmt)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")
        click.echo(f"wrote {out}")
    else:
        click.echo(text)
    if plot_path:
        what = stat if stat != "score" else f"{'raw' if raw else 'normalized'} score, p{percentile}"
        spread = f"{ci:g}% bootstrap CI" if ci is not None else "± std"
        plot(table, plot_path, title=f"{what}: {aggregate} over seeds, {spread}")
        click.echo(f"wrote {plot_path}")
        if ("all", "iqm") in table.columns:
            p = Path(plot_path)
            ipath = p.with_name(f"{p.stem}_intervals{p.suffix}")
            plot_intervals(table, ipath, title="across-task interval estimates")
            click.echo(f"wrote {ipath}")


@click.command("reproduce")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "latex"]), default="md", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the report here.")
@options.results_dir
def reproduce_cmd(fmt, out, results_dir):
    """Compare stored runs with the papers' published cells (mbo/reference/papers.csv).

    For every paper cell: the paper's value ± spread, ours (mean ± std, n seeds, Q, profile), the
    difference in units of the paper's spread and a verdict (within / above / below / not
    comparable / not run), with the random and dataset-best baselines on the same task and Q.
    A run with another Q or a non-paper profile (e.g. [quick]) is shown but never compared.
    """
    from pathlib import Path

    from mbo.reference.reproduce import compare, render
    from mbo.report import warn_mixed_code
    from mbo.store import results_dir as resolve_results

    df = _records(results_dir, "compare with the papers")
    warn_mixed_code(df)
    table = compare(df)
    text = render(table, fmt, source=str(results_dir or resolve_results(None)))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")
        click.echo(f"wrote {out}")
    else:
        click.echo(text)


COMMANDS = [leaderboard_cmd, reproduce_cmd]

"""``mbo report``: render an experiment's tables from the stored records alone."""
from __future__ import annotations

import click


@click.command("report")
@click.argument("experiments", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--results-dir", default="results", show_default=True,
              help="The results store: a folder holding records/ (the committed store is results/).")
@click.option("--out", default=None, help="Folder for the tables and plots [default: <results-dir>/<experiment name>].")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if any table, plot or embedded block differs from what the records give.")
def report_cmd(experiments, results_dir, out, check):
    """Write each experiment's tables and plots (experiments/<name>.toml) into results/<name>/, and fill the
    ``<!-- mbo:table NAME -->`` blocks of the Markdown files it embeds into. Deterministic: the same
    records give the same table bytes; a plot is current when the digest of the leaderboard it shows (kept
    in the PNG) matches."""
    from pathlib import Path

    from mbo.errors import ConfigError
    from mbo.experiment import embed, load, plot_digest, render, render_plots
    from mbo.report import load_records

    exps = [load(p) for p in experiments]  # every file is checked before anything is written
    root = Path(results_dir)
    if not (root / "records").is_dir():
        raise ConfigError(f"no records/ folder in {root}; pass --results-dir to the store that holds records/")
    df = load_records(root, check_code=False)
    stale = []
    for exp in exps:
        tables = render(exp, df)
        folder = Path(out) if out else root / exp.name
        files = {folder / name: text for name, text in tables.items()}
        for rel in exp.embed:
            doc = exp.path.resolve().parent.parent / rel
            if not doc.is_file():
                raise ConfigError(f"{exp.path.name}: embed names {rel}, which does not exist")
            text = doc.read_text()
            md = {f"{exp.name}/{t.name}": tables[t.file] for t in exp.tables if t.format == "md"}
            new, filled = embed(text, md, str(doc))
            if not filled:
                raise ConfigError(f"{doc}: no <!-- mbo:table {exp.name}/TABLE --> block to fill")
            files[doc] = new
        for path, text in files.items():
            if path.is_file() and path.read_text() == text:
                continue
            if check:
                stale.append(str(path))
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            click.echo(f"wrote {path}")
        for name, (digest, draw) in render_plots(exp, df).items():
            path = folder / name
            if path.is_file() and plot_digest(path) == digest:
                continue
            if check:
                stale.append(str(path))
                continue
            draw(path)
            click.echo(f"wrote {path}")
    if check:
        if stale:
            click.echo("differs from the records: " + ", ".join(stale), err=True)
            raise SystemExit(1)
        click.echo("every table matches the records")


COMMANDS = [report_cmd]

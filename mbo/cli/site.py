"""``mbo site``: the static results site."""
from __future__ import annotations

import click

from mbo.cli import options


@click.command("site")
@click.option("--out", type=click.Path(file_okay=False), default="site", show_default=True,
              help="Folder to write the site into (replaced if it exists).")
@options.results_dir
def site_cmd(out, results_dir):
    """Write a static HTML site of the stored records: leaderboards, reproduction matrix, reports, runs.

    It opens from disk (no server, no CDN): open <out>/index.html in a browser.
    """
    import time

    from mbo.site import build

    t = time.perf_counter()
    index = build(results_dir, out)
    click.echo(f"wrote {index} ({time.perf_counter() - t:.1f}s); open it in a browser")


COMMANDS = [site_cmd]

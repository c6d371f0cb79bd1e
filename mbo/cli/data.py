"""``mbo data path | verify | download``: where task data lives, is it intact, fetch it."""
from __future__ import annotations

import click

from mbo.cli import options


def _data_tasks(data_dir, names):
    """``[(name, task)]`` of file-backed tasks (those with ``data_files``), all when ``names`` is empty."""
    from mbo.harness import make_task
    from mbo.registry import names as registered

    chosen = list(names) or list(registered("task"))
    out = []
    for name in chosen:
        task = make_task(name, data_dir)
        if hasattr(task, "data_files"):
            out.append((name, task))
        elif names:
            click.echo(f"{name}: built-in task, no data files")
    return out


@click.group("data")
def data_group() -> None:
    """Design-Bench data files: where they are looked for, checksums, downloads."""


@data_group.command("path")
@options.data_dir
def path_cmd(data_dir):
    """Print the folders searched for data (in order) and where each task's files were found."""
    from mbo.tasks import data as _data

    click.echo("searched, in order:")
    for d in _data.search_dirs(data_dir):
        click.echo(f"  {d}{'' if d.is_dir() else '  (does not exist)'}")
    click.echo(f"cache (downloads, unpacked archives, derived tables): {_data.cache_dir()}")
    for name, task in _data_tasks(data_dir, ()):
        files = task.data_files()
        found = [_data.find_file(f, data_dir) for f in files]
        where = sorted({str(p.parent.parent) for p in found if p is not None})
        n = sum(p is not None for p in found)
        click.echo(f"{name:16s} {n}/{len(files)} files" + (f" in {', '.join(where)}" if where else "")
                   + _archive_note(task, data_dir, n < len(files)))


def _archive_note(task, data_dir, missing: bool) -> str:
    """A note that the missing files come from the task's archive (TF-Bind-10's tar.xz) when it is here."""
    from mbo.tasks import data as _data

    archive = _data.find_file(task.archive, data_dir) if missing and getattr(task, "archive", None) else None
    return f"; the missing files are unpacked from {archive} on first use" if archive else ""


@data_group.command("verify")
@click.argument("tasks", nargs=-1)
@options.data_dir
def verify_cmd(tasks, data_dir):
    """Check the SHA-256 of every present data file against the manifest shipped with mbo."""
    from mbo.errors import ChecksumError
    from mbo.tasks import data as _data

    bad = 0
    for name, task in _data_tasks(data_dir, tasks):
        files = list(task.data_files()) + ([task.archive] if getattr(task, "archive", None) else [])
        counts = {"ok": 0, "unlisted": 0, "missing": 0}
        for rel in files:
            path = _data.find_file(rel, data_dir)
            if path is None:
                counts["missing"] += 1
                continue
            try:
                counts[_data.verify_file(path, rel, name)] += 1
            except ChecksumError as exc:
                bad += 1
                click.echo(f"{name}: {exc}", err=True)
        extra = f", {counts['unlisted']} without a known checksum" if counts["unlisted"] else ""
        click.echo(f"{name:16s} {counts['ok']} ok, {counts['missing']} missing{extra}"
                   + _archive_note(task, data_dir, counts["missing"] > 0))
    if bad:
        raise SystemExit(1)


@data_group.command("download")
@click.argument("task")
@click.option("--to", "dest", type=click.Path(file_okay=False), default=None,
              help="Data folder to fill (default: the per-user cache, see `mbo data path`).")
@click.option("--repo", default=None, help="Hugging Face dataset repo (default: beckhamc/design_bench_data).")
@click.option("--revision", default=None, help="Git revision of the dataset repo.")
@options.data_dir
def download_cmd(task, dest, repo, revision, data_dir):
    """Fetch TASK's Design-Bench files from the Hugging Face mirror (checksummed, atomic).

    TF-Bind-10 is unpacked from tf_bind_10-pho4.tar.xz instead when that archive is in a data folder.
    """
    from mbo.errors import ConfigError
    from mbo.tasks import data as _data

    pairs = _data_tasks(data_dir, (task,))
    if not pairs:
        raise ConfigError(f"task {task!r} reads no data files; nothing to download")
    name, t = pairs[0]
    archive = _data.find_file(t.archive, data_dir) if getattr(t, "archive", None) else None
    if archive is not None and t.missing_files():
        where = _data.unpack_archive(archive, t.folder, dest)
        click.echo(f"{name}: unpacked {archive} into {where} (checksums ok)")
        return
    status = _data.download(t.data_files(), name, dest, repo or _data.HF_REPO, revision, data_dir)
    for rel, s in status.items():
        if s != "present":
            click.echo(f"{rel}: {'fetched, sha256 ok' if s == 'ok' else 'fetched, no checksum known'}")
    present = sum(s == "present" for s in status.values())
    where = dest or _data.cache_dir()
    click.echo(f"{name}: {len(status)} files ready ({len(status) - present} fetched into {where}, "
               f"{present} already present)")


COMMANDS = [data_group]

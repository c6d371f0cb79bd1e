"""Where task data lives.

Resolution order: an explicit ``data_dir`` (``--data-dir``), else ``$MBO_DATA_DIR``, else the
per-user cache ``$XDG_CACHE_HOME/mbo/design_bench`` (``~/.cache/mbo/design_bench``). The folder
uses design-bench's own layout (``tf_bind_8-SIX6_REF_R1/tf_bind_8-x-0.npy``, ...).
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The per-user cache where downloads and unpacked archives go."""
    base = os.environ.get("MBO_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "mbo" / "design_bench"


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for data files, in order."""
    dirs: list[Path] = []
    if data_dir:
        dirs.append(Path(data_dir))
    elif os.environ.get("MBO_DATA_DIR"):
        dirs.append(Path(os.environ["MBO_DATA_DIR"]))
    dirs.append(cache_dir())
    return list(dict.fromkeys(d.expanduser() for d in dirs))


def find_file(relpath: str, data_dir: str | os.PathLike | None = None) -> Path | None:
    """The first existing ``<dir>/<relpath>`` over :func:`search_dirs`, or ``None``."""
    for d in search_dirs(data_dir):
        p = d / relpath
        if p.is_file():
            return p
    return None

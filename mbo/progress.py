"""Progress bars that stay quiet when not on a terminal or when asked to."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable


def enabled() -> bool:
    return os.environ.get("MBO_QUIET", "") not in ("1", "true") and sys.stderr.isatty()


def progress(it: Iterable, desc: str = "", total: int | None = None, leave: bool = False):
    """Wrap ``it`` in a tqdm bar when enabled; otherwise return it unchanged."""
    if not enabled():
        return it
    from tqdm.auto import tqdm

    return tqdm(it, desc=desc, total=total, leave=leave, dynamic_ncols=True)

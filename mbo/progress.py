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


class SweepBar:
    """A sweep's one overall bar: runs done / total, failures, ETA. Lines printed go above it.

    Without a terminal (or with ``MBO_QUIET``) it only prints the lines. Per-run bars of a run
    in this process stack below it; worker processes draw none (they run quiet).
    """

    def __init__(self, total: int, done: int = 0) -> None:
        self.failed = 0
        self._bar = None
        if enabled():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=done, desc="sweep", unit="run", dynamic_ncols=True,
                             position=0, bar_format="{desc}: {n_fmt}/{total_fmt} runs |{bar}| "
                                                    "[{elapsed}<{remaining}{postfix}]")

    def write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line)
        else:
            print(line, flush=True)

    def advance(self, ok: bool) -> None:
        """Count one finished run."""
        self.failed += not ok
        if self._bar is not None:
            if self.failed:
                self._bar.set_postfix_str(f"{self.failed} failed", refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

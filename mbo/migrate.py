"""Moving per-report record folders (``results/<report>/records``) into the one store ``results/records``.

Idempotent: a second run finds nothing to move. Safe on a tree with both layouts: records already
in the store take part in the choice like any other copy.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mbo import store

# Labels that carried a work-tracking number. Each tagged run is a distinct configuration (its config
# differs from the older [quick] runs of the same label: the quick profile was re-selected), so the
# tag is replaced by what differs: the profile's second revision.
_TRACKING = re.compile(r"^issue\d+$", re.I)
REVISION_TAG = "v2"


def relabel(label: str) -> str:
    """``n2ce[quick,issue14,lambda1=0]`` → ``n2ce[quick,v2,lambda1=0]``; labels without a tracking tag unchanged."""
    head, bracket, inside = label.partition("[")
    if not bracket or not label.endswith("]"):
        return label
    parts = inside[:-1].split(",")
    if not any(_TRACKING.match(p) for p in parts):
        return label
    new: list[str] = []
    for p in parts:
        tag = REVISION_TAG if _TRACKING.match(p) else p
        if tag not in new:
            new.append(tag)
    return f"{head}[{','.join(new)}]"


def _sources(results: Path) -> list[Path]:
    """Every record file (kept failures included) under ``results/records`` and ``results/*/records``."""
    roots = [results / "records"] + sorted(p for p in results.glob("*/records") if p.is_dir())
    files: list[Path] = []
    for root in roots:
        files += sorted(p for p in root.glob("*/*/*.json") if not p.name.startswith("."))
    return files


def _rank(rec: dict[str, Any]) -> tuple:
    """Newest ok record first, then newest failure (``started`` is an ISO timestamp)."""
    return (rec.get("status") == "ok", str(rec.get("started") or ""))


def migrate(results: str | Path, dry_run: bool = False) -> dict[str, int]:
    """Move every record of ``results/*/records`` into ``results/records``, once per run id.

    Per run id the newest ``ok`` record is kept (a failed one only when no copy is ok); every label
    is passed through :func:`relabel`; the other copies are deleted and emptied folders removed.

    Returns:
        counts: ``records`` (kept), ``moved``, ``relabelled``, ``dropped`` (duplicate copies deleted).
    """
    results = Path(results)
    best: dict[str, tuple[tuple, dict[str, Any], Path]] = {}
    copies: dict[str, list[Path]] = {}
    for path in _sources(results):
        rec = store.read(path)
        if rec is None:
            continue
        rid = str(rec["run_id"])
        copies.setdefault(rid, []).append(path)
        if rid not in best or _rank(rec) > best[rid][0]:
            best[rid] = (_rank(rec), rec, path)
    counts = {"records": len(best), "moved": 0, "relabelled": 0, "dropped": 0}
    for rid, (_, rec, path) in sorted(best.items()):
        label = relabel(str(rec.get("label", "")))
        target = store.record_path(results, rec["task"], label, rid)
        if label != rec.get("label"):
            counts["relabelled"] += 1
            if not dry_run:
                rec["label"] = label
                store.write(results, rec)
        elif path.resolve() != target.resolve():
            counts["moved"] += 1
            if not dry_run:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)  # the bytes as they are: git sees a rename
        others = [p for p in copies[rid] if p.resolve() not in (target.resolve(), path.resolve())]
        counts["dropped"] += len(others)
        if not dry_run:
            for p in others + ([path] if path.resolve() != target.resolve() and path.exists() else []):
                p.unlink(missing_ok=True)
    if not dry_run:
        for root in sorted(results.glob("*/records")) + [results / "records"]:
            for d in sorted(root.glob("**/"), key=lambda p: len(p.parts), reverse=True):
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
    return counts

"""Moving per-report record folders (``results/<report>/records``) into the one store ``results/records``.

:func:`migrate` moves report folders whose records are the runs of their labels; :func:`fold` moves a side
study (a label re-run with changed code or config) under labels that name the variant. Both are idempotent:
a second run finds nothing to move.
"""
from __future__ import annotations

import hashlib
import json
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


def variant_run_id(rid: str, label: str) -> str:
    """The run id a relabelled record takes when its own is already in the store (a re-run of one configuration
    with other code): a hash of the old id and the new label, so two variants of one run never share an id."""
    return hashlib.sha256(json.dumps({"run_id": rid, "label": label}, sort_keys=True).encode()).hexdigest()[:16]


def _same_run(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a.get("status") == b.get("status") == "ok" and a.get("candidates") == b.get("candidates")
            and a.get("scores") == b.get("scores"))


def fold(results: str | Path, folder: str | Path, labels: dict[str, str], why: str,
         new_nulls: bool = True, dry_run: bool = False) -> dict[str, int]:
    """Fold a side study's records (``<folder>/records``, a label re-run with changed code or config) into the
    one store ``results/records``, under labels that name the variant.

    Per record of ``folder``:

    - a run the store already holds (same run id, identical candidates and scores) is not duplicated;
    - a label in ``labels`` is renamed to ``labels[label]`` (``{commit}`` in it stands for the record's git
      commit, 7 characters) and the record gets a ``relabelled`` note (``from``, ``from_folder``, ``why``); if
      its run id is taken in the store, it takes :func:`variant_run_id` (the old id under ``from_run_id``); an
      earlier note moves under ``earlier``;
    - a null baseline (``random``, ``dataset-best``) the store lacks moves as it is, with a ``migrated`` note
      (``new_nulls=False``: it is deleted, e.g. seeds no other run of the store has, which would change the
      null rows every leaderboard shows);
    - any other record fails the fold before anything moves: it needs a label in ``labels``.

    The folder's emptied ``records`` tree is removed. Idempotent: a second fold finds nothing.

    Returns:
        counts: ``relabelled``, ``moved`` (null baselines), ``duplicates`` (deleted, the store's copy kept),
        ``dropped`` (null baselines deleted with ``new_nulls=False``).
    """
    from mbo.errors import ConfigError

    results, folder = Path(results), Path(folder)
    source = folder.relative_to(results).as_posix() if folder.is_relative_to(results) else str(folder)
    nulls = ("random", "dataset-best")
    held = {str(r["run_id"]): r for r in store.iter_records(results)}
    plan: list[tuple[Path, dict[str, Any] | None]] = []
    for path in sorted((folder / "records").glob("*/*/*.json")):
        rec = store.read(path)
        if rec is None:
            continue
        rid, old = str(rec["run_id"]), str(rec.get("label", ""))
        if rid in held and _same_run(rec, held[rid]):
            plan.append((path, None))
            continue
        if old in labels:
            new = dict(rec, label=labels[old].format(commit=str(rec.get("git_commit") or "none")[:7]))
            new["relabelled"] = {"from": old, "from_folder": source, "why": why}
            if rec.get("relabelled"):
                new["relabelled"]["earlier"] = rec["relabelled"]
            if rid in held:
                new["run_id"] = variant_run_id(rid, new["label"])
                new["relabelled"]["from_run_id"] = rid
        elif old in nulls and rid not in held:
            if not new_nulls:
                plan.append((path, {}))
                continue
            new = dict(rec, migrated={"from_folder": source, "why": why})
        else:
            raise ConfigError(f"{path}: label {old!r} has no variant label in the fold of {source} (run id "
                              f"{rid}{' is in the store with other scores' if rid in held else ''}); add "
                              f"{old!r} to its labels")
        held[str(new["run_id"])] = new
        plan.append((path, new))
    counts = {"relabelled": 0, "moved": 0, "duplicates": 0, "dropped": 0}
    for path, new in plan:
        counts["duplicates" if new is None else "dropped" if not new else "relabelled" if "relabelled" in new
               else "moved"] += 1
        if dry_run:
            continue
        if new:
            new.pop("_path", None)
            store.write(results, new)
        path.unlink()
    if not dry_run and (folder / "records").is_dir():
        for d in sorted((folder / "records").glob("**/"), key=lambda p: len(p.parts), reverse=True):
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
    return counts

"""The result store: one JSON file per run, written atomically.

Layout: ``<results_dir>/records/<task>/<optimizer label>/<run_id>.json``. A record is the
commit marker of a run; it is written to a temporary file in the same folder and renamed,
so concurrent workers never see or leave half a record.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

RECORD_VERSION = 1


def results_dir(path: str | os.PathLike | None = None) -> Path:
    """``path``, else ``$MBO_RESULTS_DIR``, else ``./results``."""
    return Path(path or os.environ.get("MBO_RESULTS_DIR") or "results")


def run_id(task: str, optimizer: str, config: dict, seed: int, budget: int, data_version: str) -> str:
    """Stable hash of everything that determines a run's outcome."""
    key = json.dumps({"task": task, "optimizer": optimizer, "config": config, "seed": seed,
                      "budget": budget, "data": data_version}, sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,+-]+", "_", name).strip("_") or "_"


def record_path(root: Path, task: str, label: str, rid: str) -> Path:
    return root / "records" / _safe(task) / _safe(label) / f"{rid}.json"


def find(root: Path, rid: str) -> Path | None:
    """The record file of run ``rid`` if one exists anywhere under ``root``."""
    hits = list((root / "records").glob(f"*/*/{rid}.json"))
    return hits[0] if hits else None


def read(path: Path) -> dict[str, Any] | None:
    """A record, or ``None`` (with a warning) if the file is truncated or not a record."""
    try:
        with open(path) as fh:
            rec = json.load(fh)
        if not isinstance(rec, dict) or "run_id" not in rec:
            raise ValueError("not an mbo run record")
        return rec
    except (OSError, ValueError) as exc:
        warnings.warn(f"skipping unreadable record {path}: {exc}. Delete it, or re-run that "
                      "run with --force to replace it.", stacklevel=2)
        return None


def write(root: Path, record: dict[str, Any]) -> Path:
    """Atomically write ``record``; returns its path."""
    path = record_path(root, record["task"], record["label"], record["run_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(dumps(record))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def dumps(record: dict[str, Any]) -> str:
    """JSON with one top-level key per line and each value compact (small, diff-friendly)."""
    body = ",\n".join(f" {json.dumps(str(k))}: {json.dumps(v, default=_json_default, separators=(',', ':'))}"
                       for k, v in record.items())
    return "{\n" + body + "\n}\n"


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def iter_records(root: Path):
    """Yield every readable record under ``root`` (unreadable files are warned about and skipped)."""
    for path in sorted((root / "records").glob("*/*/*.json")):
        rec = read(path)
        if rec is not None:
            rec["_path"] = str(path)
            yield rec

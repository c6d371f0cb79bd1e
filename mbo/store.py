"""The result store: one JSON file per run, written atomically.

Layout: ``<results_dir>/records/<task>/<optimizer label>/<run_id>.json``. A record is the
commit marker of a run; it is written to a temporary file (``.tmp-*.part``, never read as a
record) in the same folder and renamed, so concurrent workers never see or leave half a record.
A failed run that would replace a successful record is kept beside it as
``<run_id>.failed.json``; loaders skip those files.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import secrets
import time
import warnings
from pathlib import Path
from typing import Any

from mbo.errors import ResultsDirError

RECORD_VERSION = 1
TEMP_PREFIX, TEMP_SUFFIX = ".tmp-", ".part"
FAILED_SUFFIX = ".failed.json"
STALE_TEMP_SECONDS = 600  # a record is written in milliseconds: an older temp file is a leftover


def results_dir(path: str | os.PathLike | None = None) -> Path:
    """``path``, else ``$MBO_RESULTS_DIR``, else :func:`default_results_dir`."""
    return Path(path or os.environ.get("MBO_RESULTS_DIR") or default_results_dir())


def default_results_dir() -> Path:
    """A per-user folder, ``$XDG_DATA_HOME/mbo/results`` (else ``~/.local/share/mbo/results``).

    Never the repository's ``results/``: a user's runs and the committed reference records only
    meet when asked (``--results-dir results``).
    """
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "mbo" / "results"


def run_id(task: str, optimizer: str, config: dict, seed: int, budget: int, data_version: str,
           precision: str = "fp32") -> str:
    """Stable hash of everything that determines a run's outcome (fp32 runs keep their pre-precision ids)."""
    fields = {"task": task, "optimizer": optimizer, "config": config, "seed": seed, "budget": budget,
              "data": data_version}
    if precision != "fp32":
        fields["precision"] = precision
    key = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,+-]+", "_", name).strip("_") or "_"


def record_path(root: Path, task: str, label: str, rid: str) -> Path:
    return root / "records" / _safe(task) / _safe(label) / f"{rid}.json"


def is_record_file(path: Path) -> bool:
    """Whether ``path`` names a run record (not a temporary file nor a kept failure)."""
    name = path.name
    return name.endswith(".json") and not name.startswith(".") and not name.endswith(FAILED_SUFFIX)


def _record_files(root: Path, rid: str = "*") -> list[Path]:
    return sorted(p for p in (root / "records").glob(f"*/*/{rid}.json") if is_record_file(p))


def find(root: Path, rid: str) -> Path | None:
    """The record file of run ``rid`` if one exists anywhere under ``root`` (the newest if several)."""
    hits = _record_files(root, rid)
    return max(hits, key=_mtime) if hits else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


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


def prepare(root: Path) -> Path:
    """Check that records can be written under ``root`` (before any training) and clean stale temp files.

    Raises:
        ResultsDirError: the folder cannot be created or written, with the fix.
    """
    records = Path(root) / "records"
    try:
        records.mkdir(parents=True, exist_ok=True)
        probe = _open_temp(records)[1]
        os.unlink(probe)
    except OSError as exc:
        raise ResultsDirError(f"cannot write run records under {Path(root).resolve()}: "
                              f"{exc.strerror or exc}. Fix: pass --results-dir (or set MBO_RESULTS_DIR) "
                              "to a folder you can write") from None
    clean_stale(root)
    return records


def clean_stale(root: Path, max_age: float = STALE_TEMP_SECONDS) -> int:
    """Delete temporary files left by killed writers; returns how many.

    A temp file is stale when the process that made it (on this host) is gone, or, for one made
    on another host sharing the folder, when it is older than ``max_age`` seconds.
    """
    now, removed = time.time(), 0
    for tmp in Path(root).glob(f"records/**/{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        try:
            if _writer_gone(tmp.name) or now - tmp.stat().st_mtime > max_age:
                tmp.unlink()
                removed += 1
        except OSError:  # another process removed or renamed it
            pass
    return removed


def _host() -> str:
    return _safe(platform.node()).replace("-", "_") or "host"


def _writer_gone(name: str) -> bool:
    """Whether the temp file ``name`` was made by a process of this host that no longer runs."""
    host, _, rest = name[len(TEMP_PREFIX):].partition("-")
    pid = rest.partition("-")[0]
    if host != _host() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but belongs to someone else
        return False
    return False


def _open_temp(folder: Path) -> tuple[int, str]:
    """A new temporary file in ``folder``, created with the user's umask (records are not private)."""
    path = str(folder / f"{TEMP_PREFIX}{_host()}-{os.getpid()}-{secrets.token_hex(6)}{TEMP_SUFFIX}")
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), path


def _write_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temp(path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write(root: Path, record: dict[str, Any]) -> Path:
    """Atomically write ``record`` to its place; returns its path."""
    path = record_path(root, record["task"], record["label"], record["run_id"])
    return _write_atomic(path, dumps(record))


def write_failure_beside(ok_path: Path, record: dict[str, Any]) -> Path:
    """Keep a failed re-run next to the successful record it must not replace; returns its path."""
    return _write_atomic(ok_path.with_name(f"{record['run_id']}{FAILED_SUFFIX}"), dumps(record))


def replace(root: Path, record: dict[str, Any], old: Path | None) -> Path:
    """Write ``record`` and then remove ``old`` (the same run stored under another label).

    The new file is written first, so a kill in between leaves two copies of one run (the
    loader keeps the newer) rather than none.
    """
    path = write(root, record)
    if old is not None and old.resolve() != path.resolve():
        old.unlink(missing_ok=True)
    return path


def dumps(record: dict[str, Any]) -> str:
    """JSON with one top-level key per line and each value compact (small, diff-friendly)."""
    body = ",\n".join(f" {json.dumps(str(k))}: {json.dumps(v, default=_json_default, separators=(',', ':'))}"
                       for k, v in record.items() if not str(k).startswith("_"))
    return "{\n" + body + "\n}\n"


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def iter_records(root: Path):
    """Yield every readable record under ``root``, one per run id (the newest file if a run was moved).

    Temporary files and failures kept beside a successful record are never read; unreadable
    files are warned about and skipped.
    """
    newest: dict[str, tuple[float, dict[str, Any]]] = {}
    for path in _record_files(Path(root)):
        rec = read(path)
        if rec is None:
            continue
        rec["_path"] = str(path)
        mtime = _mtime(path)
        rid = str(rec["run_id"])
        if rid not in newest or mtime >= newest[rid][0]:
            newest[rid] = (mtime, rec)
    yield from (rec for _, rec in sorted(newest.values(), key=lambda item: item[1]["_path"]))


def iter_failures(root: Path):
    """Yield every failed re-run kept beside a successful record (``<run_id>.failed.json``), ``_path`` set."""
    for path in sorted((Path(root) / "records").glob(f"*/*/*{FAILED_SUFFIX}")):
        rec = read(path)
        if rec is not None:
            rec["_path"] = str(path)
            yield rec

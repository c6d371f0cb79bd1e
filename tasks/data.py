"""Where task data lives, how it is checked, fetched and unpacked.

Resolution order: an explicit ``data_dir`` (``--data-dir``), else ``$MBO_DATA_DIR``, else the
per-user cache ``$MBO_CACHE_DIR`` or ``$XDG_CACHE_HOME/mbo/design_bench`` (``~/.cache/mbo/design_bench``).
The folders use design-bench's own layout (``tf_bind_8-SIX6_REF_R1/tf_bind_8-x-0.npy``, ...).

Integrity: every file we know is listed with its SHA-256 in ``tasks/design_bench.sha256``, a
manifest shipped inside the package. Downloads (Hugging Face mirror ``beckhamc/design_bench_data``)
and archive unpacking write into a temporary folder, check the SHA-256, then rename: an
interrupted transfer never leaves a file under its final name.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path

from mbo.errors import ChecksumError, MBOError, MissingDataError, require

HF_REPO = "beckhamc/design_bench_data"
MANIFEST = "design_bench.sha256"


def cache_dir() -> Path:
    """The per-user cache where downloads, unpacked archives and derived tables go."""
    base = os.environ.get("MBO_CACHE_DIR")
    if base:
        return Path(base).expanduser()
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


# -- checksums -----------------------------------------------------------------
@lru_cache(maxsize=1)
def manifest() -> dict[str, str]:
    """``{relative path: sha256}`` from the manifest shipped with the package."""
    from importlib.resources import files

    text = files("mbo.tasks").joinpath(MANIFEST).read_text()
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            digest, rel = line.split(maxsplit=1)
            out[rel.strip().lstrip("*")] = digest.lower()
    return out


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path: str | os.PathLike, relpath: str, task: str | None = None) -> str:
    """Check ``path`` against the manifest entry for ``relpath``.

    Returns:
        ``"ok"`` or ``"unlisted"`` (no checksum known for this file).

    Raises:
        ChecksumError: naming the file, the expected and the actual hash.
    """
    expected = manifest().get(relpath)
    if expected is None:
        return "unlisted"
    actual = sha256_file(path)
    if actual != expected:
        fix = f"mbo data download {task}" if task else "mbo data download TASK"
        raise ChecksumError(f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}. "
                            f"The file is corrupt or incomplete; delete it and run: {fix}")
    return "ok"


# -- download ------------------------------------------------------------------
def download(relpaths: list[str], task: str, dest: str | os.PathLike | None = None,
             repo_id: str = HF_REPO, revision: str | None = None) -> dict[str, str]:
    """Fetch files from the Hugging Face dataset mirror into ``dest`` (default: the cache).

    Each file goes to a temporary folder inside ``dest``, is checked against the manifest,
    then renamed into place; on any failure (or Ctrl-C) the temporary folder is removed.

    Args:
        relpaths: paths inside the mirror, which uses design-bench's layout.
        task: the task name, for messages.
        dest: the data folder to fill.

    Returns:
        ``{relpath: "present" | "ok" | "unlisted"}`` (``unlisted``: no checksum to check).
    """
    hub = require("huggingface_hub", package="huggingface_hub")
    root = Path(dest).expanduser() if dest else cache_dir()
    status: dict[str, str] = {}
    for rel in relpaths:
        final = root / rel
        if final.is_file():
            status[rel] = "present" if verify_file(final, rel, task) == "ok" else "present (unlisted)"
            continue
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".mbo-partial-", dir=final.parent))
        try:
            try:
                got = Path(hub.hf_hub_download(repo_id=repo_id, filename=rel, repo_type="dataset",
                                               revision=revision, local_dir=str(tmp)))
            except MBOError:
                raise
            except Exception as exc:  # network, auth, missing file on the mirror
                raise MissingDataError(
                    f"could not download {rel} for task {task!r} from the Hugging Face dataset {repo_id}: "
                    f"{type(exc).__name__}: {exc}. Without network access, copy the file to {final} "
                    f"(or any folder in: {', '.join(map(str, search_dirs()))})") from exc
            status[rel] = verify_file(got, rel, task)
            os.replace(got, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return status


# -- archives ------------------------------------------------------------------
def unpack_archive(archive: str | os.PathLike, folder: str, dest: str | os.PathLike | None = None) -> Path:
    """Unpack ``<folder>/...`` members of a ``.tar.xz`` into ``dest`` (default: the cache).

    Members are extracted into a temporary folder while their SHA-256 is computed; every one
    must match the manifest and every manifest file under ``folder`` must be present; only
    then is the folder renamed into place. Returns ``dest / folder``.

    Raises:
        ChecksumError: a member (or the archive itself) differs from the manifest.
        MBOError: the archive holds unexpected members or misses files.
    """
    archive = Path(archive)
    root = Path(dest).expanduser() if dest else cache_dir()
    final = root / folder
    if final.is_dir():
        return final
    verify_file(archive, archive.name)
    expected = {rel: h for rel, h in manifest().items() if rel.startswith(folder + "/")}
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder}.partial-", dir=root))
    try:
        seen = set()
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.isdir():
                    continue
                name = os.path.normpath(member.name)
                if not member.isfile() or name not in expected:
                    raise MBOError(f"{archive} holds an unexpected member {member.name!r}; "
                                   f"expected only the {len(expected)} files of {folder}/ in the manifest")
                target = tmp / name
                target.parent.mkdir(parents=True, exist_ok=True)
                h = hashlib.sha256()
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        h.update(block)
                        dst.write(block)
                if h.hexdigest() != expected[name]:
                    raise ChecksumError(f"checksum mismatch for {name} inside {archive}: expected sha256 "
                                        f"{expected[name]}, got {h.hexdigest()}. The archive is corrupt")
                seen.add(name)
        missing = sorted(set(expected) - seen)
        if missing:
            raise MBOError(f"{archive} lacks {len(missing)} file(s) of {folder}/, e.g. {missing[0]}")
        try:
            os.replace(tmp / folder, final)
        except OSError:
            if not final.is_dir():  # another process may have finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final

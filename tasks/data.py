"""Where task data lives, how it is checked, fetched and unpacked.

Resolution order: an explicit ``data_dir`` (``--data-dir``), else ``$MBO_DATA_DIR``, else the
per-user cache ``$MBO_CACHE_DIR`` or ``$XDG_CACHE_HOME/mbo/design_bench`` (``~/.cache/mbo/design_bench``).
The folders use design-bench's own layout (``tf_bind_8-SIX6_REF_R1/tf_bind_8-x-0.npy``, ...).

Integrity: every file we know is listed with its SHA-256 in ``tasks/design_bench.sha256``, a
manifest shipped inside the package. Tasks check each file on first use (:func:`verify_on_use`);
the verdict is remembered by path, size and mtime in ``<cache>/verified/``, so later runs do not
re-hash. Downloads (Hugging Face mirror ``beckhamc/design_bench_data``) and archive unpacking write
into a temporary folder, check the SHA-256, then rename: an interrupted transfer never leaves a
file under its final name. Without network access a download fails within seconds, naming every
missing file.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path

from mbo.errors import ChecksumError, MBOError, MissingDataError, require

HF_REPO = "beckhamc/design_bench_data"
MANIFEST = "design_bench.sha256"
PROBE_TIMEOUT = 5.0  # seconds: one reachability check of the hub before any download


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


def _mismatch(path: str | os.PathLike, relpath: str, expected: str, actual: str,
              task: str | None) -> ChecksumError:
    name = task or "TASK"
    root = Path(path).parents[len(Path(relpath).parts) - 1]  # the data folder holding <relpath>
    return ChecksumError(
        f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}. The file is corrupt or "
        f"incomplete. Check every file with: mbo data verify {name}; replace it with: mbo data download "
        f"{name} --to {root} (the corrupt copy is replaced once the new one checks out)")


def verify_file(path: str | os.PathLike, relpath: str, task: str | None = None) -> str:
    """Check ``path`` against the manifest entry for ``relpath`` (always re-hashes).

    Returns:
        ``"ok"`` or ``"unlisted"`` (no checksum known for this file).

    Raises:
        ChecksumError: naming the file, the expected and the actual hash, and the fix commands.
    """
    expected = manifest().get(relpath)
    if expected is None:
        return "unlisted"
    actual = sha256_file(path)
    if actual != expected:
        raise _mismatch(path, relpath, expected, actual, task)
    _remember(path, expected)
    return "ok"


def _stamp_path(path: str | os.PathLike) -> Path:
    key = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:24]
    return cache_dir() / "verified" / f"{key}.json"


def _stamp(path: str | os.PathLike, digest: str) -> dict:
    st = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}


def _remember(path: str | os.PathLike, digest: str) -> None:
    """Record that ``path`` (at its current size and mtime) hashes to ``digest``; best effort."""
    target = _stamp_path(path)
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=".json", dir=target.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(_stamp(path, digest), f)
        os.replace(tmp, target)
    except OSError:  # a read-only cache only costs a re-hash next time
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def verify_on_use(path: str | os.PathLike, relpath: str, task: str | None = None) -> str:
    """:func:`verify_file`, but only once per file version: a file whose path, size and mtime match
    a successful earlier check (``<cache>/verified/``) is not hashed again.

    Returns:
        ``"ok"``, ``"cached"`` (verified before, unchanged since) or ``"unlisted"``.

    Raises:
        ChecksumError: the file differs from the manifest.
    """
    expected = manifest().get(relpath)
    if expected is None:
        return "unlisted"
    try:
        if json.loads(_stamp_path(path).read_text()) == _stamp(path, expected):
            return "cached"
    except (OSError, ValueError):
        pass
    return verify_file(path, relpath, task)


# -- download ------------------------------------------------------------------
def hub_endpoint() -> str:
    """The Hugging Face endpoint downloads go to (``$HF_ENDPOINT``, else huggingface.co)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def probe(url: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """One short request to ``url`` (proxies from the environment apply).

    Returns:
        ``None`` when the server answered (any HTTP status), else the reason it could not be reached.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # the server answered
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__


def _missing_message(head: str, missing: list[str], task: str, root: Path,
                     data_dir: str | os.PathLike | None) -> str:
    folders = list(dict.fromkeys([*search_dirs(data_dir), root]))
    files = "".join(f"\n  {rel}" for rel in missing)
    return (f"{head}\nTask {task!r} still misses {len(missing)} file(s):{files}\n"
            f"Without network access, copy them (keeping the <folder>/<file> layout) into one of: "
            f"{', '.join(map(str, folders))}; then check them with: mbo data verify {task}")


def _remove_empty(folder: Path, stop: Path | None) -> None:
    """Remove ``folder`` and its parents up to ``stop`` (inclusive) while they are empty."""
    if stop is None:
        return
    while True:
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == stop:
            return
        folder = folder.parent


def _first_missing_ancestor(folder: Path) -> Path | None:
    """The outermost folder of ``folder``'s chain that does not exist yet (``None``: it exists)."""
    top = None
    while not folder.exists():
        top, folder = folder, folder.parent
    return top


def download(relpaths: list[str], task: str, dest: str | os.PathLike | None = None,
             repo_id: str = HF_REPO, revision: str | None = None,
             data_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """Fetch files from the Hugging Face dataset mirror into ``dest`` (default: the cache).

    Files already in ``dest`` (or, without an explicit ``dest``, in a searched folder) are checked
    and kept; a corrupt one in ``dest`` is fetched again and replaced once the new copy checks out.
    Before fetching, the hub is probed once (:data:`PROBE_TIMEOUT`); when it cannot be reached the
    call fails at once, naming every missing file and the folders to copy them into. Each file goes
    to a temporary folder inside ``dest``, is checked against the manifest, then renamed into place;
    on any failure (or Ctrl-C) the temporary folder and any folder this call created are removed.

    Args:
        relpaths: paths inside the mirror, which uses design-bench's layout.
        task: the task name, for messages.
        dest: the data folder to fill.
        data_dir: the ``--data-dir`` in effect (searched for present files, named in messages).

    Returns:
        ``{relpath: "present" | "ok" | "unlisted"}`` (``unlisted``: no checksum to check).
    """
    root = Path(dest).expanduser() if dest else cache_dir()
    status: dict[str, str] = {}
    todo: list[str] = []
    for rel in relpaths:
        final = root / rel
        found = final if final.is_file() else None if dest else find_file(rel, data_dir)
        if found is not None:
            try:
                verify_on_use(found, rel, task)
                status[rel] = "present"
                continue
            except ChecksumError:
                if found != final:  # not ours to replace: say where it is
                    raise
        todo.append(rel)
    if not todo:
        return status
    hub = require("huggingface_hub", package="huggingface_hub")
    endpoint = hub_endpoint()
    why = probe(endpoint)
    if why is not None:
        raise MissingDataError(_missing_message(
            f"cannot reach the Hugging Face hub at {endpoint} ({why}); nothing was downloaded.",
            todo, task, root, data_dir))
    for i, rel in enumerate(todo):
        final = root / rel
        created = _first_missing_ancestor(final.parent)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".mbo-partial-", dir=final.parent))
        done = False
        try:
            try:
                got = Path(hub.hf_hub_download(repo_id=repo_id, filename=rel, repo_type="dataset",
                                               revision=revision, local_dir=str(tmp)))
            except MBOError:
                raise
            except Exception as exc:  # network, auth, missing file on the mirror
                reason = (str(exc).splitlines() or [""])[0][:200]
                raise MissingDataError(_missing_message(
                    f"could not download {rel} from the Hugging Face dataset {repo_id}: "
                    f"{type(exc).__name__}: {reason}", todo[i:], task, root, data_dir)) from None
            status[rel] = verify_file(got, rel, task)
            os.replace(got, final)
            if status[rel] == "ok":
                _remember(final, manifest()[rel])
            done = True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if not done:
                _remove_empty(final.parent, created)
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
        for name in seen:  # checked while extracting: no need to hash them again on first use
            _remember(root / name, expected[name])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final

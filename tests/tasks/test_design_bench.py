"""Design-Bench data layer: exact oracles, training subsets, checksums, downloads, clear failures.

Synthetic shard sets written to ``tmp_path`` keep most tests fast; tests on the real files run
when ``MBO_DATA_DIR`` holds them (CI points it at ``../shared/data/design_bench``).
"""
from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from mbo.core import DesignSpace, Optimizer
from mbo.errors import ChecksumError, MissingDataError, OracleUnavailableError
from mbo.harness import execute, plan
from mbo.tasks import data as _data
from mbo.tasks.design_bench import TFBind8, TFBind10, UTR, _assign_last

# -- fixtures --------------------------------------------------------------------


class TinyBind(TFBind10):
    """TF-Bind-10's code on 3-mers: 3 shards with repeated sequences carrying different y."""

    name = "tinybind"
    space = DesignSpace.discrete(length=3, vocab_size=4)
    folder, prefix, num_shards = "tiny_bind", "tiny_bind", 3
    archive = "tiny_bind.tar.xz"
    max_samples = 7
    data_version = "tiny"


def _tiny_shards(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shard 0 starts with all 64 3-mers; then 184 random rows: many repeats within and across shards."""
    rng = np.random.default_rng(seed)
    every = np.array(np.unravel_index(np.arange(64), (4, 4, 4))).T
    xs = [np.concatenate([every, rng.integers(0, 4, size=(40, 3))]),
          rng.integers(0, 4, size=(50, 3)), rng.integers(0, 4, size=(30, 3))]
    return [(x.astype(np.int32), rng.normal(size=(len(x), 1)).astype(np.float32)) for x in xs]


def _write_shards(root, shards, task=TinyBind) -> dict[str, bytes]:
    files = {}
    for i, (x, y) in enumerate(shards):
        for k, arr in (("x", x), ("y", y)):
            buf = io.BytesIO()
            np.save(buf, arr)
            files[f"{task.folder}/{task.prefix}-{k}-{i}.npy"] = buf.getvalue()
    for rel, blob in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob)
    return files


@pytest.fixture
def cache(tmp_path, monkeypatch):
    c = tmp_path / "cache"
    monkeypatch.setenv("MBO_CACHE_DIR", str(c))
    monkeypatch.delenv("MBO_DATA_DIR", raising=False)
    return c


def _fake_manifest(monkeypatch, files: dict[str, bytes]) -> dict[str, str]:
    m = {rel: hashlib.sha256(blob).hexdigest() for rel, blob in files.items()}
    monkeypatch.setattr(_data, "manifest", lambda: m)
    return m


# -- exact lookup: last occurrence in shard order ----------------------------------


def test_assign_last_keeps_last_occurrence():
    table = np.zeros(4, np.float32)
    _assign_last(table, np.array([2, 1, 2, 3, 2]), np.array([1, 2, 3, 4, 5], np.float32))
    np.testing.assert_array_equal(table, [0, 2, 5, 4])


def test_tfbind10_lookup_is_last_occurrence(tmp_path, cache):
    shards = _tiny_shards()
    _write_shards(tmp_path / "data", shards)
    task = TinyBind(data_dir=str(tmp_path / "data"))
    reference = {}
    for x, y in shards:  # the dict design-bench builds, in shard order
        for row, v in zip(x, y[:, 0]):
            reference[tuple(row)] = v
    keys = np.array(list(reference), dtype=np.int64)
    np.testing.assert_array_equal(task.score(keys), np.array(list(reference.values()), np.float64))


def test_tfbind10_training_subset_and_derived_cache(tmp_path, cache, monkeypatch):
    shards = _tiny_shards()
    _write_shards(tmp_path / "data", shards)
    y_all = np.concatenate([y[:, 0] for _, y in shards])
    data = TinyBind(data_dir=str(tmp_path / "data")).offline_data()
    assert len(data) == 7
    assert data.y.max() <= np.percentile(y_all, 50)
    assert set(data.y.tolist()) <= set(y_all.tolist())
    assert len(list((cache / "derived").glob("tinybind-*.npz"))) == 1
    # a second instance reuses the derived cache: building again would fail here
    monkeypatch.setattr(TinyBind, "_build", lambda self, paths: pytest.fail("derived cache not reused"))
    again = TinyBind(data_dir=str(tmp_path / "data")).offline_data()
    np.testing.assert_array_equal(again.x, data.x)
    np.testing.assert_array_equal(again.y, data.y)


def test_damaged_files_say_what_to_do(tmp_path, cache):
    _write_shards(tmp_path / "data", _tiny_shards())
    task = TinyBind(data_dir=str(tmp_path / "data"))
    task.offline_data()
    derived = next((cache / "derived").glob("*.npz"))
    derived.write_bytes(b"garbage")  # a damaged derived cache is rebuilt, not trusted
    assert len(TinyBind(data_dir=str(tmp_path / "data")).offline_data()) == 7
    shard = tmp_path / "data" / TinyBind.folder / f"{TinyBind.prefix}-y-1.npy"
    shard.write_bytes(shard.read_bytes()[:60])  # truncated download
    with pytest.raises(ChecksumError, match=r"tiny_bind-y-1.npy.*mbo data verify tinybind"):
        TinyBind(data_dir=str(tmp_path / "data")).offline_data()


def _tar_xz(path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:xz") as tar:
        for rel, blob in files.items():
            info = tarfile.TarInfo(rel)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def test_tfbind10_unpacks_archive_into_cache(tmp_path, cache, monkeypatch):
    files = _write_shards(tmp_path / "src", _tiny_shards())
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _tar_xz(data_dir / TinyBind.archive, files)
    _fake_manifest(monkeypatch, files)
    task = TinyBind(data_dir=str(data_dir))
    ok, why = task.availability()
    assert ok and TinyBind.archive in why
    assert len(task.offline_data()) == 7
    assert (cache / TinyBind.folder / f"{TinyBind.prefix}-x-2.npy").is_file()
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no partial folders left


def test_corrupt_archive_member_names_file_and_hashes(tmp_path, cache, monkeypatch):
    files = _write_shards(tmp_path / "src", _tiny_shards())
    m = _fake_manifest(monkeypatch, files)
    bad = dict(files)
    rel = f"{TinyBind.folder}/{TinyBind.prefix}-y-1.npy"
    bad[rel] = files[rel][:-4] + b"\0\0\0\0"
    _tar_xz(tmp_path / "a.tar.xz", bad)
    with pytest.raises(ChecksumError) as err:
        _data.unpack_archive(tmp_path / "a.tar.xz", TinyBind.folder)
    msg = str(err.value)
    assert rel in msg and m[rel] in msg and hashlib.sha256(bad[rel]).hexdigest() in msg
    assert not cache.exists() or not any(cache.iterdir())


# -- real files (MBO_DATA_DIR) -------------------------------------------------------


def _need(task):
    ok, why = task.availability()
    if not ok:
        pytest.skip(f"{task.name} data not here ({why}); set MBO_DATA_DIR to ../shared/data/design_bench")


def test_tfbind8_oracle_is_exact_over_the_file():
    task = TFBind8()
    _need(task)
    x = np.load(_data.find_file("tf_bind_8-SIX6_REF_R1/tf_bind_8-x-0.npy"))
    y = np.load(_data.find_file("tf_bind_8-SIX6_REF_R1/tf_bind_8-y-0.npy"))[:, 0]
    np.testing.assert_array_equal(task.score(x), y.astype(np.float64))
    data = task.offline_data()
    assert len(data) == 32_898
    assert round(float(task.normalize(data.y.max())), 3) == 0.439


def test_tfbind10_real_data():
    task = TFBind10()
    _need(task)
    data = task.offline_data()
    assert len(data) == 10_000 and data.x.dtype == np.int64
    assert abs(float(task.normalize(data.y.max())) - 0.467) < 0.002
    d = task._derived
    np.testing.assert_allclose(d["y_range"], [task.y_min, task.y_max], rtol=1e-6)
    assert int(d["num_rows"]) == 8_321_066 and not np.isnan(d["table"]).any()
    # the last shard holds the last occurrence of every sequence it contains
    x = np.load(_data.find_file("tf_bind_10-pho4/tf_bind_10-x-83.npy"))
    y = np.load(_data.find_file("tf_bind_10-pho4/tf_bind_10-y-83.npy"))[:, 0]
    last = {tuple(r): v for r, v in zip(x[:2000].tolist(), y[:2000])}
    later = {tuple(r) for r in x[2000:].tolist()}
    keep = [k for k in last if k not in later]
    np.testing.assert_array_equal(task.score(np.array(keep)), np.array([last[k] for k in keep], np.float64))


def test_manifest_covers_local_tasks():
    m = _data.manifest()
    for task in (TFBind8(), TFBind10(), UTR()):
        assert set(task.data_files()) <= set(m), task.name
    assert TFBind10.archive in m


# -- clear failures -------------------------------------------------------------------


def test_missing_data_message(tmp_path, cache):
    task = TFBind8(data_dir=str(tmp_path / "empty"))
    with pytest.raises(MissingDataError) as err:
        task.offline_data()
    msg = str(err.value)
    for part in ("'tfbind8'", "tf_bind_8-SIX6_REF_R1/tf_bind_8-x-0.npy", str(tmp_path / "empty"), str(cache),
                 "mbo data download tfbind8"):
        assert part in msg
    ok, why = task.availability()
    assert not ok and "mbo data download tfbind8" in why


def test_tfbind10_missing_mentions_archive(tmp_path, cache):
    with pytest.raises(MissingDataError, match="tf_bind_10-pho4.tar.xz was not found"):
        TFBind10(data_dir=str(tmp_path)).offline_data()


def test_checksum_mismatch_names_file_and_both_hashes(tmp_path, monkeypatch):
    rel = "tf_bind_8-SIX6_REF_R1/tf_bind_8-y-0.npy"
    path = tmp_path / "y.npy"
    path.write_bytes(b"not the real file")
    with pytest.raises(ChecksumError) as err:
        _data.verify_file(path, rel, "tfbind8")
    msg = str(err.value)
    assert str(path) in msg and _data.manifest()[rel] in msg
    assert hashlib.sha256(b"not the real file").hexdigest() in msg


class _FakeHub:
    """Stands in for huggingface_hub.hf_hub_download: writes ``payload`` then optionally fails."""

    def __init__(self, payload: bytes, fail: BaseException | None = None, cut: int | None = None):
        self.payload, self.fail, self.cut = payload, fail, cut

    def __call__(self, repo_id, filename, repo_type, revision=None, local_dir=None):
        assert repo_id == _data.HF_REPO and repo_type == "dataset"
        out = Path(local_dir) / filename
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(self.payload[: self.cut])
        if self.fail is not None:
            raise self.fail
        return str(out)


@pytest.mark.parametrize("fake, error", [
    (_FakeHub(b"abcdef" * 100, ConnectionError("reset by peer"), cut=50), MissingDataError),
    (_FakeHub(b"abcdef" * 100, KeyboardInterrupt(), cut=50), KeyboardInterrupt),
    (_FakeHub(b"tampered" * 10), ChecksumError),
], ids=["network-error", "interrupted", "wrong-content"])
def test_failed_download_leaves_no_file(tmp_path, monkeypatch, fake, error):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    rel = "gfp/gfp-x-0.npy"
    _fake_manifest(monkeypatch, {rel: b"abcdef" * 100})
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake)
    with pytest.raises(error):
        _data.download([rel], "gfp", tmp_path)
    assert not (tmp_path / rel).exists()
    assert [p.name for p in (tmp_path / "gfp").iterdir()] == []  # no partial folder either


def test_download_checks_then_renames(tmp_path, monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    rel = "gfp/gfp-x-0.npy"
    _fake_manifest(monkeypatch, {rel: b"abcdef" * 100})
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _FakeHub(b"abcdef" * 100))
    assert _data.download([rel], "gfp", tmp_path) == {rel: "ok"}
    assert (tmp_path / rel).read_bytes() == b"abcdef" * 100
    assert sorted(p.name for p in (tmp_path / "gfp").iterdir()) == ["gfp-x-0.npy"]
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _FakeHub(b"", RuntimeError("no second fetch")))
    assert _data.download([rel], "gfp", tmp_path) == {rel: "present"}


class _Spy(Optimizer):
    name = "spy"
    description = "records whether fit ran"
    fitted = False

    def fit(self, data):
        type(self).fitted = True

    def propose(self, n):
        raise AssertionError("never reached")


def test_unavailable_oracle_fails_before_training(tmp_path):
    rec = execute(plan(UTR(), _Spy, budget=4, device="cpu"), tmp_path)
    assert rec["status"] == "failed"
    assert rec["error"].startswith("OracleUnavailableError") and "'utr'" in rec["error"]
    assert not _Spy.fitted
    with pytest.raises(OracleUnavailableError, match="not available in mbo yet"):
        UTR().check_oracle()

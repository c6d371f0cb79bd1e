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
from mbo.isolation import RunContext
from mbo.tasks import data as _data
from mbo.tasks.design_bench import TFBind8, TFBind10, TFBind10Fixed, UTR, _assign_last, _base_index, _decode
from tests.conftest import DATA_HINT

# -- fixtures --------------------------------------------------------------------


class TinyBind(TFBind10):
    """TF-Bind-10's code on 3-mers: 3 shards with repeated sequences carrying different y."""

    name = "tinybind"
    space = DesignSpace.discrete(length=3, vocab_size=4)
    folder, prefix, num_shards = "tiny_bind", "tiny_bind", 3
    archive = "tiny_bind.tar.xz"
    max_samples = 7
    data_version = "tiny"


class TinyBindFixed(TinyBind):
    """The fixed-subset variant of :class:`TinyBind`, as ``tfbind10-fixed`` is of ``tfbind10``."""

    name = "tinybind-fixed"
    seeded_data = False
    variant_of = "tinybind"


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
    assert len(list((cache / "derived").glob("tiny_bind-*.npz"))) == 1
    # a second instance reuses the derived cache: building again would fail here
    monkeypatch.setattr(TinyBind, "_build", lambda self, paths: pytest.fail("derived cache not reused"))
    again = TinyBind(data_dir=str(tmp_path / "data")).offline_data()
    np.testing.assert_array_equal(again.x, data.x)
    np.testing.assert_array_equal(again.y, data.y)


def test_decode_inverts_base_index():
    x = np.random.default_rng(0).integers(0, 4, size=(50, 10))
    np.testing.assert_array_equal(_decode(_base_index(x, 4), 10, 4), x)


def _rows(task, seed):
    """The training set of ``seed`` as a set of (design, label) pairs, and its recorded rows."""
    data = task.offline_data(seed)
    return {(tuple(r), float(v)) for r, v in zip(data.x.tolist(), data.y.tolist())}, task.data_rows(seed)


def test_tfbind10_draws_its_subset_from_the_run_seed(tmp_path, cache):
    """design-bench draws the training subset anew each trial: two seeds see different rows, the fixed
    variant gives every seed the same rows, seed 0 is reproducible and equals the fixed subset."""
    _write_shards(tmp_path / "data", _tiny_shards())
    data_dir = str(tmp_path / "data")
    seeded, fixed = TinyBind(data_dir=data_dir), TinyBindFixed(data_dir=data_dir)
    (a, ra), (b, rb) = _rows(seeded, 0), _rows(seeded, 1)
    assert len(a) == len(b) == 7 and a != b and ra["rows_sha256"] != rb["rows_sha256"]
    assert (ra["seed"], rb["seed"], ra["per_trial"], ra["rows"]) == (0, 1, True, 7)
    (f0, rf0), (f1, rf1) = _rows(fixed, 0), _rows(fixed, 1)
    assert f0 == f1 and rf0 == rf1 and rf0["seed"] == 0 and not rf0["per_trial"]
    again, r_again = _rows(TinyBind(data_dir=data_dir), 0)  # a new instance, from the derived cache
    assert again == a == f0 and r_again["rows_sha256"] == ra["rows_sha256"] == rf0["rows_sha256"]
    assert seeded.offline_data() is seeded.offline_data(0)  # no seed: seed 0
    # the rows named are the ones drawn: hash the subset's indices in the full file by hand
    y_all = np.concatenate([y[:, 0] for _, y in _tiny_shards()])
    band = np.flatnonzero(y_all <= np.percentile(y_all, 50))
    rows = np.sort(np.random.default_rng(1).choice(band, size=7, replace=False))
    assert rb["rows_sha256"] == hashlib.sha256(rows.astype("<i8").tobytes()).hexdigest()[:16]
    x_all = np.concatenate([x for x, _ in _tiny_shards()])
    assert b == {(tuple(x), float(v)) for x, v in zip(x_all[rows].tolist(), y_all[rows].tolist())}


class _Seen(Optimizer):
    name = "seen"
    description = "records the training rows it was given"
    seen: list = []

    def fit(self, data):
        type(self).seen.append(np.asarray(data.x).copy())
        self._x = np.asarray(data.x)

    def propose(self, n):
        return self._x[:n]


def test_harness_passes_the_run_seed_and_records_the_rows(tmp_path, cache):
    _write_shards(tmp_path / "data", _tiny_shards())
    recs = {}
    for cls in (TinyBind, TinyBindFixed):
        for seed in (0, 1):
            _Seen.seen = []
            rec = execute(plan(cls(data_dir=str(tmp_path / "data")), _Seen, seed=seed, budget=4, device="cpu"),
                          tmp_path / "results", context=RunContext(in_process=True))  # _Seen records here
            assert rec["status"] == "ok", rec.get("error")
            recs[cls.name, seed] = (rec["data_subset"], _Seen.seen[0])
    (s0, x0), (s1, x1) = recs["tinybind", 0], recs["tinybind", 1]
    assert s0["seed"] == 0 and s1["seed"] == 1 and s0["rows_sha256"] != s1["rows_sha256"]
    assert not np.array_equal(x0, x1)
    (f0, y0), (f1, y1) = recs["tinybind-fixed", 0], recs["tinybind-fixed", 1]
    assert f0 == f1 and np.array_equal(y0, y1) and np.array_equal(y0, x0)


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
        pytest.skip(f"{task.name} data not here ({why}); {DATA_HINT}")


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
    # per-seed subsets: seed 0 is the fixed variant's subset, seed 1 another one of the same band
    fixed, one = TFBind10Fixed().offline_data(5), task.offline_data(1)
    np.testing.assert_array_equal(fixed.x, data.x)
    assert len(one) == 10_000 and not np.array_equal(one.x, data.x)
    assert task.data_rows(1)["rows_sha256"] != task.data_rows(0)["rows_sha256"] == TFBind10Fixed().data_rows(7)[
        "rows_sha256"]
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


@pytest.fixture
def hub_up(monkeypatch):
    """The reachability probe says the hub answered (the fake hub stands in for the transfers)."""
    monkeypatch.setattr(_data, "probe", lambda url, timeout=_data.PROBE_TIMEOUT: None)


@pytest.mark.parametrize("fake, error", [
    (_FakeHub(b"abcdef" * 100, ConnectionError("reset by peer"), cut=50), MissingDataError),
    (_FakeHub(b"abcdef" * 100, KeyboardInterrupt(), cut=50), KeyboardInterrupt),
    (_FakeHub(b"tampered" * 10), ChecksumError),
], ids=["network-error", "interrupted", "wrong-content"])
def test_failed_download_leaves_no_file(tmp_path, monkeypatch, hub_up, fake, error):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    rel = "gfp/gfp-x-0.npy"
    _fake_manifest(monkeypatch, {rel: b"abcdef" * 100})
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake)
    with pytest.raises(error):
        _data.download([rel], "gfp", tmp_path / "dest")
    assert not (tmp_path / "dest").exists()  # no partial file, no partial or empty folder either


def test_failed_download_names_every_file_still_missing(tmp_path, monkeypatch, hub_up):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    rels = ["gfp/gfp-x-0.npy", "gfp/gfp-x-1.npy", "gfp/gfp-y-0.npy"]
    _fake_manifest(monkeypatch, {rel: b"abcdef" * 100 for rel in rels})
    calls = []

    def hub(repo_id, filename, repo_type, revision=None, local_dir=None):
        calls.append(filename)
        if len(calls) > 1:
            raise ConnectionError("connection reset by peer\n(40 more lines of traceback)")
        return _FakeHub(b"abcdef" * 100)(repo_id, filename, repo_type, revision, local_dir)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub)
    with pytest.raises(MissingDataError) as err:
        _data.download(rels, "gfp", tmp_path / "dest", data_dir=tmp_path / "mine")
    msg = str(err.value)
    assert "gfp-x-1.npy" in msg and "gfp-y-0.npy" in msg and "still misses 2 file(s)" in msg
    assert "40 more lines" not in msg and str(tmp_path / "mine") in msg and str(tmp_path / "dest") in msg
    assert calls == rels[:2]  # stops at the first failure instead of retrying every file
    assert sorted(p.name for p in (tmp_path / "dest" / "gfp").iterdir()) == ["gfp-x-0.npy"]


def test_download_without_network_fails_at_once(tmp_path, monkeypatch):
    """A dead endpoint (a closed local port) is found by one probe: no transfer is attempted."""
    huggingface_hub = pytest.importorskip("huggingface_hub")
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: connections are refused
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _FakeHub(b"", ConnectionError("not called")))
    rels = ["gfp/gfp-x-0.npy", "gfp/gfp-y-0.npy"]
    _fake_manifest(monkeypatch, {rel: b"abcdef" for rel in rels})
    t = time.perf_counter()
    with pytest.raises(MissingDataError, match=rf"cannot reach the Hugging Face hub at http://127.0.0.1:{port}"):
        _data.download(rels, "gfp", tmp_path / "dest")
    assert time.perf_counter() - t < 3
    assert not (tmp_path / "dest").exists()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert _data.probe("http://127.0.0.1:1") == "HF_HUB_OFFLINE is set"


def test_probe_counts_any_http_answer_as_reachable(monkeypatch):
    import http.server
    import threading

    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)  # answers 501
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        assert _data.probe(f"http://127.0.0.1:{server.server_address[1]}", timeout=5) is None
    finally:
        thread.join(5)
        server.server_close()


def test_download_replaces_a_corrupt_copy(tmp_path, monkeypatch, hub_up):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    rel = "gfp/gfp-x-0.npy"
    _fake_manifest(monkeypatch, {rel: b"abcdef" * 100})
    (tmp_path / "gfp").mkdir()
    (tmp_path / rel).write_bytes(b"abcdef" * 99 + b"abcdeX")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _FakeHub(b"abcdef" * 100))
    assert _data.download([rel], "gfp", tmp_path) == {rel: "ok"}
    assert (tmp_path / rel).read_bytes() == b"abcdef" * 100


def test_download_checks_then_renames(tmp_path, monkeypatch, hub_up):
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


# -- checksums on first use ------------------------------------------------------------


class TinyBind8(TFBind8):
    """TF-Bind-8's code (one shard pair read whole) on 3-mers."""

    name = "tinybind8"
    space = DesignSpace.discrete(length=3, vocab_size=4)
    folder, prefix = "tiny_bind_8", "tiny_bind_8"
    data_version = "tiny8"


@pytest.mark.parametrize("task_cls", [TinyBind8, TinyBind], ids=["tfbind8-style", "tfbind10-style"])
def test_flipped_byte_fails_the_run_with_the_fix(tmp_path, cache, monkeypatch, task_cls):
    files = _write_shards(tmp_path / "data", _tiny_shards()[: task_cls.num_shards], task_cls)
    _fake_manifest(monkeypatch, files)
    rel = f"{task_cls.folder}/{task_cls.prefix}-x-0.npy"
    path = tmp_path / "data" / rel
    blob = bytearray(path.read_bytes())
    blob[-4] ^= 1  # the last token (int32, little-endian) changes within 0..3: the file still loads
    path.write_bytes(bytes(blob))
    rec = execute(plan(task_cls(data_dir=str(tmp_path / "data")), "dataset-best", budget=4, device="cpu"),
                  tmp_path / "results")
    assert rec["status"] == "failed" and rec["error"].startswith("ChecksumError")
    for part in (str(path), f"mbo data verify {task_cls.name}",
                 f"mbo data download {task_cls.name} --to {tmp_path / 'data'}"):
        assert part in rec["error"]


def test_checksums_are_verified_once_per_file_version(tmp_path, cache, monkeypatch):
    files = _write_shards(tmp_path / "data", _tiny_shards()[:1], TinyBind8)
    _fake_manifest(monkeypatch, files)
    hashed = []
    real = _data.sha256_file
    monkeypatch.setattr(_data, "sha256_file", lambda p, *a: hashed.append(Path(p).name) or real(p, *a))
    TinyBind8(data_dir=str(tmp_path / "data")).offline_data()
    assert sorted(hashed) == ["tiny_bind_8-x-0.npy", "tiny_bind_8-y-0.npy"]
    TinyBind8(data_dir=str(tmp_path / "data")).offline_data()  # a new run: nothing re-hashed
    assert len(hashed) == 2
    y = tmp_path / "data" / TinyBind8.folder / f"{TinyBind8.prefix}-y-0.npy"
    y.write_bytes(y.read_bytes())  # same bytes, new mtime: checked again
    TinyBind8(data_dir=str(tmp_path / "data")).offline_data()
    assert hashed[2:] == ["tiny_bind_8-y-0.npy"]


def test_unpacked_archive_is_not_hashed_again_on_first_use(tmp_path, cache, monkeypatch):
    files = _write_shards(tmp_path / "src", _tiny_shards())
    (tmp_path / "data").mkdir()
    _tar_xz(tmp_path / "data" / TinyBind.archive, files)
    _fake_manifest(monkeypatch, {**files, TinyBind.archive: (tmp_path / "data" / TinyBind.archive).read_bytes()})
    hashed = []
    real = _data.sha256_file
    monkeypatch.setattr(_data, "sha256_file", lambda p, *a: hashed.append(Path(p).name) or real(p, *a))
    assert len(TinyBind(data_dir=str(tmp_path / "data")).offline_data()) == 7
    assert hashed == [TinyBind.archive]  # members were checked while extracting

"""``mbo data`` and ``mbo tasks``: what a user sees about data and availability."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from mbo.cli import main
from mbo.tasks import data as _data
from tests.conftest import DATA_HINT

REL = "tf_bind_8-SIX6_REF_R1/tf_bind_8-y-0.npy"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("MBO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MBO_QUIET", "1")
    return tmp_path


def test_data_path_lists_search_order(env):
    res = CliRunner().invoke(main, ["data", "path", "--data-dir", str(env / "d")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[1].strip().startswith(str(env / "d")) and lines[2].strip().startswith(str(env / "cache"))
    assert any(line.startswith("tfbind8") and "0/2 files" in line for line in lines)


def test_data_verify_reports_mismatch(env):
    real = _data.find_file(REL)
    if real is None:
        pytest.skip(f"TF-Bind-8 files not here; {DATA_HINT}")
    ok = CliRunner().invoke(main, ["data", "verify", "tfbind8", "--data-dir", str(real.parent.parent)])
    assert ok.exit_code == 0 and "2 ok, 0 missing" in ok.output
    bad = env / "bad"
    shutil.copytree(real.parent, bad / real.parent.name)
    (bad / REL).chmod(0o644)
    (bad / REL).write_bytes(b"\x93NUMPY truncated")
    res = CliRunner().invoke(main, ["data", "verify", "tfbind8", "--data-dir", str(bad)])
    assert res.exit_code == 1
    assert str(bad / REL) in res.output and _data.manifest()[REL] in res.output


def test_tasks_shows_availability(env):
    res = CliRunner().invoke(main, ["tasks", "--data-dir", str(env / "nothing")])
    assert res.exit_code == 0, res.output
    block = res.output.split("utr", 1)[1]
    assert "NOT READY" in block and "oracle not available yet" in block
    tf8 = res.output.split("tfbind8", 1)[1].split("utr", 1)[0]
    assert "NOT READY" in tf8 and "mbo data download tfbind8" in tf8


def test_download_unknown_task_fails_cleanly(env):
    res = CliRunner().invoke(main, ["data", "download", "branin"])
    assert res.exit_code == 2 and "reads no data files" in res.output


def test_download_offline_is_fast_clear_and_leaves_nothing(env, monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: a dead endpoint, no real network
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")

    def unreachable(**kwargs):  # what the hub client raises offline (after its retries)
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    t = time.perf_counter()
    res = CliRunner().invoke(main, ["data", "download", "chembl", "--data-dir", str(env / "mine")])
    assert time.perf_counter() - t < 5
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "cannot reach the Hugging Face hub" in res.output
    for rel in ("chembl-MCHC-CHEMBL3885882/chembl-x-0.npy", "chembl-MCHC-CHEMBL3885882/chembl-y-0.npy"):
        assert rel in res.output  # every missing file, not only the first
    assert str(env / "mine") in res.output and str(env / "cache") in res.output  # the folders searched
    assert sorted(p.name for p in env.iterdir()) == []  # no data folder, no cache folder, no partial file

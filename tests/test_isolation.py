"""The test suite never touches the user's cache, and run outputs stay out of git."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mbo.tasks import data as _data
from tests import conftest

ROOT = Path(__file__).resolve().parents[1]


def test_session_uses_a_temporary_cache():
    assert _data.cache_dir() == Path(conftest.TEST_CACHE_DIR)
    assert Path(conftest.TEST_CACHE_DIR).name.startswith("mbo-test-cache-")
    if conftest.USER_CACHE_DIR:
        assert _data.cache_dir() != Path(conftest.USER_CACHE_DIR)


def test_loading_conftest_by_path_keeps_the_session_cache():
    import mbo

    before = set(Path(conftest.TEST_CACHE_DIR).parent.glob("mbo-test-cache-*"))
    mbo.make_task("tests/conftest.py:TinyDiscrete")  # executes this file again as another module
    assert _data.cache_dir() == Path(conftest.TEST_CACHE_DIR)
    assert set(Path(conftest.TEST_CACHE_DIR).parent.glob("mbo-test-cache-*")) == before


def test_a_test_run_writes_nothing_into_the_home_cache(tmp_path):
    """A pytest run with a fresh HOME: tests that fill the cache leave HOME untouched."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "test_fill.py").write_text(
        "from mbo.tasks import data\n"
        "def test_fill():\n"
        "    d = data.cache_dir(); d.mkdir(parents=True, exist_ok=True); (d / 'x').write_text('1')\n"
        "    print('CACHE=' + str(d))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MBO_CACHE_DIR", "MBO_TEST_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider", "-s",
                          str(tmp_path / "t")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not (tmp_path / "home").exists()
    assert "mbo-test-cache-" in res.stdout  # the inner session's own folder ...
    assert not Path(res.stdout.split("CACHE=")[1].split()[0]).exists()  # ... removed when it ended


def test_the_committed_store_is_tracked():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    git = ["git", "-C", str(ROOT)]
    ignored = subprocess.run(git + ["check-ignore", "-q", "results/records/tfbind8/x/1.json"])
    assert ignored.returncode == 1, "results/records/ is the committed store (mbo run writes to a per-user folder)"
    tracked_but_ignored = subprocess.run(git + ["ls-files", "-ci", "--exclude-standard", "results"],
                                         capture_output=True, text=True, check=True).stdout
    assert tracked_but_ignored == ""

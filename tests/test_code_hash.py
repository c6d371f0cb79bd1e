"""The code hash covers every module the optimizer and task import from mbo or their plug-in folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import mbo
from mbo.registry import code_hash, load_class, source_files

ROOT = Path(__file__).resolve().parents[1]
TINY_C = "tests/conftest.py:TinyContinuous"

PLUGIN = """\
import numpy as np
from mbo.core import Optimizer


class Shift(Optimizer):
    name = "shift"

    def fit(self, data):
        self.data_ = data

    def propose(self, n):
        from helper import SHIFT  # a lazy import of a module next to this file

        return np.clip(self.data_.top(n)[0] + SHIFT, -2, 2)
"""


def test_the_hash_covers_shared_mbo_modules_the_optimizer_imports():
    files = {p.as_posix() for p in source_files(load_class("optimizer", "grad-ascent"), load_class("task", "tfbind8"))}
    for part in ("mbo/samplers/ascent.py", "mbo/nn/surrogate.py", "mbo/core.py", "optimizers/baselines.py",
                 "tasks/design_bench.py", "tasks/data.py"):
        assert any(f.endswith(part) for f in files), part
    assert not any("site-packages" in f for f in files)  # third-party code is left out (versions are recorded)


def test_flipping_a_sign_in_a_copy_of_a_shared_module_changes_the_hash(tmp_path):
    """The reported case: an edit of mbo/samplers/ascent.py gave the same hash and a stale cached record."""
    pkg = tmp_path / "mbo"
    shutil.copytree(ROOT / "mbo", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "optimizers", pkg / "optimizers", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tasks", pkg / "tasks", ignore=shutil.ignore_patterns("__pycache__"))
    script = textwrap.dedent("""
        import pathlib, mbo
        from mbo.registry import code_hash
        from mbo.optimizers.baselines import GradientAscent
        from mbo.tasks.synthetic import Branin
        assert pathlib.Path(mbo.__file__).parent == pathlib.Path(%r), mbo.__file__
        before = code_hash(GradientAscent, Branin)
        ascent = pathlib.Path(%r)
        ascent.write_text(ascent.read_text().replace("(x + step_size * grad)", "(x - step_size * grad)", 1))
        print(before, code_hash(GradientAscent, Branin))
    """ % (str(pkg), str(pkg / "samplers" / "ascent.py")))
    assert "(x + step_size * grad)" in (pkg / "samplers" / "ascent.py").read_text(), "the edit must change the file"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    before, after = res.stdout.split()
    assert before != after


def test_editing_a_plugins_helper_module_defeats_the_cache(tmp_path, monkeypatch):
    plug = tmp_path / "plug"
    plug.mkdir()
    (plug / "shift.py").write_text(PLUGIN)
    (plug / "helper.py").write_text("SHIFT = 0.0\n")
    monkeypatch.syspath_prepend(str(plug))
    name, results = f"{plug / 'shift.py'}:Shift", tmp_path / "results"
    first = mbo.run(TINY_C, name, seed=0, budget=4, results_dir=results, device="cpu")
    assert first["status"] == "ok", first["error"]
    assert mbo.run(TINY_C, name, seed=0, budget=4, results_dir=results, device="cpu").get("_cached")
    (plug / "helper.py").write_text("SHIFT = 0.5\n")  # the plug-in file itself is unchanged
    edited = mbo.run(TINY_C, name, seed=0, budget=4, results_dir=results, device="cpu")
    assert not edited.get("_cached") and edited["code_hash"] != first["code_hash"]
    assert edited["candidates"] != first["candidates"]


def _committed_plugin(tmp_path: Path) -> tuple[Path, str]:
    """A git repository holding the plug-in and its helper module, committed; its folder and HEAD."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "shift.py").write_text(PLUGIN)
    (repo / "helper.py").write_text("SHIFT = 0.0\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "plug-in"], check=True)
    head = subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    return repo, head


def test_records_say_whether_the_hashed_code_had_uncommitted_changes(tmp_path, monkeypatch):
    repo, _ = _committed_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(repo))
    name = f"{repo / 'shift.py'}:Shift"
    clean = mbo.run(TINY_C, name, seed=0, budget=4, results_dir=tmp_path / "r", device="cpu")
    assert clean["code_dirty"] in (True, False)  # the mbo files it imports may be edited in this checkout
    assert not {"helper.py", "shift.py"} & set(clean.get("code_dirty_files", []))
    (repo / "helper.py").write_text("SHIFT = 0.25\n")
    dirty = mbo.run(TINY_C, name, seed=0, budget=4, results_dir=tmp_path / "r", device="cpu")
    assert dirty["code_dirty"] is True and "helper.py" in dirty["code_dirty_files"]
    assert "shift.py" not in dirty["code_dirty_files"]
    outside = mbo.run(TINY_C, "random", seed=0, budget=4, results_dir=tmp_path / "r2", device="cpu")
    assert outside["code_dirty"] in (True, False)  # mbo's own checkout (None only outside git)


def test_records_name_each_commit_when_the_hashed_code_spans_checkouts(tmp_path, monkeypatch):
    # the plug-in's repository is at its own commit, so the record says which files came from it
    repo, head = _committed_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(repo))
    rec = mbo.run(TINY_C, f"{repo / 'shift.py'}:Shift", seed=0, budget=4, results_dir=tmp_path / "r", device="cpu")
    assert rec["status"] == "ok", rec["error"]
    assert rec["code_commits"][head] == ["helper.py", "shift.py"]
    assert set(rec["code_commits"]) - {head} <= {rec["git_commit"]}  # the rest: mbo's own checkout
    alone = mbo.run(TINY_C, "random", seed=0, budget=4, results_dir=tmp_path / "r2", device="cpu")
    assert "code_commits" not in alone  # every hashed file from mbo's own checkout (or none in git)


def test_the_hash_does_not_depend_on_where_the_plugin_lives(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        (folder / "shift.py").write_text(PLUGIN)
        (folder / "helper.py").write_text("SHIFT = 0.0\n")
    ha = code_hash(load_class("optimizer", f"{a / 'shift.py'}:Shift"))
    assert ha == code_hash(load_class("optimizer", f"{b / 'shift.py'}:Shift"))
    assert [p.name for p in source_files(load_class("optimizer", f"{a / 'shift.py'}:Shift"))
            if p.parent == a] == ["helper.py", "shift.py"]


def test_the_leaderboard_marks_a_cell_whose_newest_attempt_failed_and_counts_ignored_failures(tmp_path, monkeypatch):
    from mbo.report import format_table, leaderboard, load_records

    kw = dict(budget=4, results_dir=tmp_path, device="cpu")
    for seed in (0, 1):
        assert mbo.run(TINY_C, "tests/faulty.py:FailsOnRequest", seed=seed, **kw)["status"] == "ok"
    mbo.run(TINY_C, "random", seed=0, **kw)
    monkeypatch.setenv("MBO_TEST_FAIL", "1")  # the method's code now fails (as after a bad edit)
    assert mbo.run(TINY_C, "tests/faulty.py:FailsOnRequest", seed=0, force=True, **kw).get("_kept_ok")
    assert mbo.run(TINY_C, "tests/faulty.py:FailsOnRequest", seed=2, **kw)["status"] == "failed"
    table = leaderboard(load_records(tmp_path))
    text = format_table(table)
    assert "failed: 2 failed runs ignored" in text
    assert "fails-on-request on tiny-continuous" in text and text.count("†") == 2  # the cell and the legend
    row = next(line for line in text.splitlines() if line.startswith("fails-on-request"))
    assert "(n=2) †" in row
    assert "†" not in next(line for line in text.splitlines() if line.startswith("random"))


def test_hashing_runs_no_plugin_code(tmp_path):
    """Finding the files must not import them: a plug-in folder's package may act on import (as
    tests/conftest.py sets MBO_QUIET)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("open(__file__ + '.ran', 'w').close()\n")
    (tmp_path / "pkg" / "sub.py").write_text("X = 1\n")
    (tmp_path / "plug.py").write_text(PLUGIN.replace("from helper import SHIFT", "from pkg.sub import X as SHIFT"))
    files = source_files(load_class("optimizer", f"{tmp_path / 'plug.py'}:Shift"))
    assert {p.name for p in files if p.parent.parent == tmp_path} == {"__init__.py", "sub.py"}
    assert not (tmp_path / "pkg" / "__init__.py.ran").exists()

"""Values refused at planning, and results folders that never mix a user's runs with the committed ones."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mbo
from mbo.cli import main
from mbo.diagnostics import euclidean_diversity, nearest_distances
from mbo.errors import ConfigError
from mbo.harness import plan
from mbo.registry import load_class
from mbo.store import results_dir
from mbo.sweep import parse_seeds

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _records(root: Path) -> list[Path]:
    return sorted(root.glob("records/*/*/*.json"))


def test_repeated_seeds_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="seed 0 more than once.*e.g. 0,1"):
        parse_seeds("0,0,1")
    with pytest.raises(ConfigError, match="seed 2 more than once"):
        parse_seeds("0-3,2")
    for cmd in (["run", "-t", "branin", "-o", "dataset-best"], ["sweep", "--tasks", "branin", "-o", "dataset-best"]):
        res = _run(*cmd, "--seeds", "0,0,1", "-Q", "4", "--results-dir", str(tmp_path))
        assert res.exit_code == 2 and "more than once" in res.output, res.output
    assert not _records(tmp_path)


def test_negative_seed_is_refused_at_planning(tmp_path):
    res = _run("run", "-t", "branin", "-o", "random", "--seed", "-1", "--results-dir", str(tmp_path))
    assert res.exit_code == 2 and "seed -1" in res.output and "--seed 0" in res.output, res.output
    with pytest.raises(ConfigError, match="seed 4294967296"):
        plan("branin", "random", seed=2**32)
    assert not _records(tmp_path)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_config_values_are_refused_with_the_key(tmp_path, value):
    for cmd in (["run", "-t", "branin"], ["sweep", "--tasks", "branin", "--seeds", "0"]):
        res = _run(*cmd, "-o", "grad-ascent", "--profile", "quick", "--set", f"learning_rate={value}",
                   "--set", "epochs=1", "--set", "num_steps=1", "-Q", "4", "--results-dir", str(tmp_path))
        assert res.exit_code == 2, res.output
        assert "learning_rate" in res.output and "finite" in res.output and "--set learning_rate=" in res.output
    assert not _records(tmp_path)


class Ranged(mbo.Optimizer):
    """A plug-in whose config declares ranges in field metadata."""

    name = "ranged"

    @dataclass
    class Config:
        lr: float = field(default=0.1, metadata={"gt": 0, "le": 1})
        steps: int = field(default=3, metadata={"ge": 1})
        cap: float = field(default=float("inf"), metadata={"finite": False})

    def fit(self, data):
        self.data_ = data

    def propose(self, n):
        return self.data_.top(n)[0]


def test_config_fields_declare_their_range():
    with pytest.raises(ConfigError, match=r"lr=0.0: lr must be > 0; fix: --set lr=.*\(the default is 0.1\)"):
        plan("branin", Ranged, overrides={"lr": "0"})
    with pytest.raises(ConfigError, match="lr must be ≤ 1"):
        plan("branin", Ranged, overrides={"lr": "2"})
    with pytest.raises(ConfigError, match="steps must be ≥ 1"):
        plan("branin", Ranged, overrides={"steps": "0"})
    assert plan("branin", Ranged, overrides={"cap": "inf", "lr": "1"}).config.cap == float("inf")
    with pytest.raises(ConfigError, match="cap must be a finite number"):
        plan("branin", Ranged, overrides={"cap": "nan"})


def test_huge_budget_fails_at_planning(tmp_path):
    res = _run("run", "-t", "branin", "-o", "random", "--budget", "10000000", "--results-dir", str(tmp_path))
    assert res.exit_code == 2 and "--budget 10000000" in res.output and "--budget 100000" in res.output, res.output
    res = _run("sweep", "--tasks", "branin", "-o", "random", "--seeds", "0", "--budget", "10000000",
               "--results-dir", str(tmp_path))
    assert res.exit_code == 2 and "--budget 10000000" in res.output, res.output
    assert not _records(tmp_path)


def test_pairwise_diagnostics_are_computed_in_blocks():
    a = np.random.default_rng(0).normal(size=(301, 5))
    sq = (a * a).sum(1)
    dense = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * a @ a.T, 0))[np.triu_indices(301, 1)].mean()
    for rows in (None, 1, 7, 1000):
        assert euclidean_diversity(a, rows=rows) == pytest.approx(dense, rel=1e-12)
    b = np.random.default_rng(1).normal(size=(50, 5))
    dense_nn = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(nearest_distances(a, b, chunk=7), dense_nn, rtol=1e-9)


def test_reproduce_and_leaderboard_on_a_missing_or_empty_folder(tmp_path):
    missing = tmp_path / "nope"
    for cmd in ("reproduce", "leaderboard"):
        res = _run(cmd, "--results-dir", str(missing))
        assert res.exit_code == 2 and f"results folder {missing} does not exist" in res.output, res.output
    (tmp_path / "empty").mkdir()
    for cmd in ("reproduce", "leaderboard"):
        res = _run(cmd, "--results-dir", str(tmp_path / "empty"))
        assert res.exit_code == 2 and "no run records in" in res.output, res.output


def test_default_results_folder_is_per_user_not_the_repository(tmp_path, monkeypatch):
    clone = tmp_path / "clone"
    (clone / "results").mkdir(parents=True)
    monkeypatch.chdir(clone)
    monkeypatch.delenv("MBO_RESULTS_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert results_dir() == tmp_path / "xdg" / "mbo" / "results"
    res = _run("run", "-t", "branin", "-o", "dataset-best", "-Q", "4")
    assert res.exit_code == 0, res.output
    assert len(_records(tmp_path / "xdg" / "mbo" / "results")) == 1
    assert not (clone / "results" / "records").exists()
    monkeypatch.setenv("MBO_RESULTS_DIR", str(tmp_path / "mine"))
    assert results_dir() == tmp_path / "mine" and results_dir("x") == Path("x")


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_report_targets_refuse_uncommitted_records(tmp_path):
    """results/records is the committed store: report targets refuse records git does not track
    (a user's own runs copied there), before running anything."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "results" / "records" / "branin").mkdir(parents=True)
    (tmp_path / "results" / "records" / "branin" / "mine.json").write_text("{}")
    for target in ("reproduce", "leaderboard", "reports"):
        res = subprocess.run(["make", "-s", target], cwd=tmp_path, capture_output=True, text=True)
        assert res.returncode != 0 and "holds records git does not track" in res.stdout + res.stderr
    text = (REPO / "Makefile").read_text()
    assert "mbo reproduce --results-dir results " in text  # the committed records, named explicitly


def test_plugin_file_imports_a_module_next_to_it(tmp_path):
    (tmp_path / "mbo_t23_helper.py").write_text("def top(data, n):\n    return data.top(n)[0]\n")
    (tmp_path / "plug.py").write_text(
        "import mbo\nfrom mbo_t23_helper import top\n\n"
        "class Plug(mbo.Optimizer):\n    name = 'plug'\n\n"
        "    def fit(self, data):\n        self.data_ = data\n\n"
        "    def propose(self, n):\n        import mbo_t23_helper\n        return mbo_t23_helper.top(self.data_, n)\n")
    cls = load_class("optimizer", f"{tmp_path / 'plug.py'}:Plug")
    assert cls.name == "plug"
    rec = mbo.run("branin", f"{tmp_path / 'plug.py'}:Plug", budget=4, results_dir=tmp_path / "res", device="cpu")
    assert rec["status"] == "ok", rec.get("error")

"""Small things a newcomer tripped on in a fresh clone: each message or figure says what is true."""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from mbo import report
from mbo.cli import main
from mbo.harness import plan

REPO = Path(__file__).resolve().parents[2]
PLAIN = '''import mbo
from dataclasses import dataclass


class Plain(mbo.Optimizer):
    """A plug-in with a config and no profiles."""
    name = "plain"

    @dataclass
    class Config:
        k: int = 1

    def fit(self, data):
        self.data_ = data

    def propose(self, n):
        return self.data_.top(n)[0]
'''


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """random (seeds 0-2) and dataset-best on Branin and a tiny continuous task, Q=4."""
    root = tmp_path_factory.mktemp("records")
    for task in ("branin", "tests/conftest.py:TinyContinuous"):
        for opt in ("random", "dataset-best"):
            res = _run("run", "-t", task, "-o", opt, "--seeds", "0-2", "-Q", "4", "--results-dir", str(root))
            assert res.exit_code == 0, res.output
    return root


def test_leaderboard_names_an_unknown_optimizer(store):
    res = _run("leaderboard", "--results-dir", str(store), "--optimizers", "nosuch")
    assert res.exit_code == 2, res.output
    assert "--optimizers: no runs of nosuch" in res.output and "Labels with runs: dataset-best, random" in res.output
    res = _run("leaderboard", "--results-dir", str(store), "--optimizers", "randon")
    assert res.exit_code == 2 and "Did you mean: random?" in res.output


def test_plot_with_an_unknown_extension_is_a_clear_error(store, tmp_path):
    res = _run("leaderboard", "--results-dir", str(store), "--plot", str(tmp_path / "x.jpgg"))
    assert res.exit_code == 2, res.output
    assert "x.jpgg" in res.output and "png" in res.output and "Traceback" not in res.output
    assert "Did you mean: jpg" in res.output and not (tmp_path / "x.jpgg").exists()


def test_code_version_warnings_only_for_the_tasks_shown(store, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(store, root)
    path = sorted(root.glob("records/tiny-continuous/random/*.json"))[0]
    rec = json.loads(path.read_text())
    rec["code_hash"] = "0123456789abcdef"
    path.write_text(json.dumps(rec))
    for tasks, expected in (("branin", False), ("tiny-continuous", True)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = _run("leaderboard", "--results-dir", str(root), "--tasks", tasks)
        assert res.exit_code == 0, res.output
        mixed = [w for w in caught if "versions of the code" in str(w.message)]
        assert bool(mixed) is expected, (tasks, [str(w.message) for w in caught])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _run("leaderboard", "--results-dir", str(root), "--optimizers", "dataset-best")
    assert not [w for w in caught if "versions of the code" in str(w.message)]


def test_a_renamed_quick_run_still_says_quick():
    assert plan("branin", "grad-ascent", profile="quick", label="mine").label == "mine[quick]"
    assert plan("branin", "grad-ascent", profile="quick", label="mine[v2]").label == "mine[v2,quick]"
    assert plan("branin", "grad-ascent", profile="quick", label="mine[quick]").label == "mine[quick]"
    assert plan("branin", "grad-ascent", label="mine").label == "mine"  # paper: nothing to mark


def test_plugins_without_profiles_are_not_called_the_published_setting(tmp_path):
    (tmp_path / "plain.py").write_text(PLAIN)
    target = f"{tmp_path / 'plain.py'}:Plain"
    res = _run("run", "-t", "branin", "-o", target, "-Q", "4", "--results-dir", str(tmp_path / "r"))
    assert res.exit_code == 0, res.output
    assert "published" not in res.output and "plain: its defaults (it declares no paper profile)" in res.output
    res = _run("optimizers", target)
    assert res.exit_code == 0 and "published setting" not in res.output.replace("not a published setting", "")
    res = _run("run", "-t", "branin", "-o", "grad-ascent", "--profile", "nosuch", "--results-dir", str(tmp_path))
    assert "the published setting" in res.output  # a built-in's paper profile is the paper's


def test_data_path_counts_an_archive_as_the_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv("MBO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MBO_DATA_DIR", raising=False)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "tf_bind_10-pho4.tar.xz").write_bytes(b"")
    res = _run("data", "path", "--data-dir", str(tmp_path / "d"))
    line = next(ln for ln in res.output.splitlines() if ln.startswith("tfbind10"))
    assert "0/168 files" in line and "unpacked from" in line and "tf_bind_10-pho4.tar.xz" in line, line


def test_ci_plot_draws_the_interval_not_the_std(store, monkeypatch):
    df = report.load_records(store)
    table = report.leaderboard(df, ci=95)
    figures = []
    monkeypatch.setattr(report, "_save", lambda fig, path: figures.append(fig) or Path(path))
    report.plot(table, "unused.png")
    ax = figures[0].axes[0]
    task = ax.get_title()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    for container, label in zip(ax.containers, labels):
        (x0, _), (x1, _) = container.lines[2][0].get_segments()[0]
        lo, hi, std, mid = (table.loc[label, (task, k)] for k in ("lo", "hi", "std", "mean"))
        assert (x0, x1) == pytest.approx((lo, hi)), label
        if std > 0:
            assert (x0, x1) != pytest.approx((mid - std, mid + std))


def test_skip_messages_name_no_development_path():
    dev_path = "shared/" + "data"  # this repository's development layout (../shared/data/design_bench)
    offenders = [f"{p.relative_to(REPO)}:{i}" for p in (REPO / "tests").rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if "skip(" in line and dev_path in line]
    assert not offenders, offenders


def test_readme_installs_the_cpu_build_of_torch_from_pytorchs_index():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1)
    assert re.search(r"pip install torch==[\d.]+ --index-url https://download\.pytorch\.org/whl/cpu &&", block)

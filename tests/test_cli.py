"""End-to-end command line: run, leaderboard, listings, and errors that say what to do."""
from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from mbo.cli import main


def test_run_then_leaderboard_end_to_end(tmp_path):
    r = CliRunner()
    res = r.invoke(main, ["run", "--task", "branin", "--optimizer", "grad-ascent", "--profile", "quick",
                          "--set", "epochs=3", "--seeds", "0-1", "--budget", "16", "--device", "cpu",
                          "--results-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "branin / grad-ascent[quick,epochs=3] / seed 1: 100th" in res.output
    res = r.invoke(main, ["run", "-t", "branin", "-o", "dataset-best", "-Q", "16", "--results-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    for fmt in ("table", "md", "csv", "latex"):
        res = r.invoke(main, ["leaderboard", "--format", fmt, "--results-dir", str(tmp_path), "--raw"])
        assert res.exit_code == 0, res.output
        assert "grad-ascent[quick,epochs=3]" in res.output
    png = tmp_path / "lb.png"
    res = r.invoke(main, ["leaderboard", "--results-dir", str(tmp_path), "--plot", str(png),
                          "--out", str(tmp_path / "lb.md"), "--format", "md"])
    md = (tmp_path / "lb.md").read_text()
    assert res.exit_code == 0 and png.exists() and md.startswith("**Protocol.**") and "\n| optimizer |" in md


def test_bad_input_messages(tmp_path):
    r = CliRunner()
    res = r.invoke(main, ["run", "-t", "branni", "-o", "random", "--results-dir", str(tmp_path)])
    assert res.exit_code == 2 and "Did you mean: branin" in res.output
    res = r.invoke(main, ["run", "-t", "branin", "-o", "grad-ascent", "--set", "num_step=3",
                          "--results-dir", str(tmp_path)])
    assert res.exit_code == 2 and "valid keys" in res.output and "num_steps" in res.output
    res = r.invoke(main, ["run", "-t", "branin", "-o", "grad-ascent", "--set", "num_steps=many",
                          "--results-dir", str(tmp_path)])
    assert res.exit_code == 2 and "num_steps expects int, got 'many'" in res.output
    res = r.invoke(main, ["leaderboard", "--results-dir", str(tmp_path)])
    assert res.exit_code == 2 and "no successful runs" in res.output
    res = r.invoke(main, ["run", "-t", "tests/conftest.py:TinyDiscrete", "-o", "tests/faulty.py:BadTokens",
                          "--results-dir", str(tmp_path)])
    assert res.exit_code == 1 and "FAILED" in res.output and "rows [2]" in res.output


def test_listings():
    r = CliRunner()
    res = r.invoke(main, ["tasks"])
    assert res.exit_code == 0 and "branin" in res.output and "continuous: 60 dims" in res.output
    res = r.invoke(main, ["optimizers"])
    assert res.exit_code == 0 and "cma-es" in res.output and "profiles: paper, quick" in res.output


def test_import_is_light():
    code = ("import sys, mbo, mbo.cli; heavy = [m for m in ('torch', 'pandas', 'matplotlib', 'cma', 'botorch', "
            "'ray', 'sklearn') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readme_plugin_example_runs(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "class TopK" in b)
    (tmp_path / "my_method.py").write_text(code)
    res = CliRunner().invoke(main, ["run", "--task", "branin", "--optimizer", f"{tmp_path}/my_method.py:TopK",
                                    "--set", "noise=0.1", "-Q", "8", "--results-dir", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "branin / topk[noise=0.1] / seed 0" in res.output

"""End-to-end command line: run, leaderboard, listings, and errors that say what to do."""
from __future__ import annotations

import json
import os
import re
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
    assert res.exit_code == 2 and "no run records in" in res.output
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
    record = json.loads(Path(re.search(r"record: (\S+)", res.output).group(1)).read_text())
    assert record["diagnostics"]["novelty"] > 0  # noise moves the top designs off the offline set


def _invoke(*args):
    return CliRunner().invoke(main, list(args))


def _one_line_error(res, *needles):
    """An exit code 2 with a single ``error:`` line containing every needle, and no traceback."""
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in res.output, res.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


FIT_MARKER = '''
from pathlib import Path
from mbo.core import Optimizer


class Marks(Optimizer):
    name = "marks"

    def fit(self, data):
        Path(__file__).with_suffix(".fitted").touch()
        self.data_ = data

    def propose(self, n):
        return self.data_.top(n)[0]
'''


def test_unknown_profile_fails_before_training_with_close_matches(tmp_path):  # item 5
    (tmp_path / "marks.py").write_text(FIT_MARKER.replace('name = "marks"', 'name = "marks"\n    profiles = '
                                                          '{"quick": {}}\n\n    @__import__("dataclasses").dataclass'
                                                          '\n    class Config:\n        steps: int = 3'))
    res = _invoke("run", "-t", "branin", "-o", "n2ce", "--profile", "quik", "--results-dir", str(tmp_path))
    _one_line_error(res, "no profile 'quik'", "Did you mean: quick", "paper, quick, smoke")
    res = _invoke("run", "-t", "branin", "-o", f"{tmp_path}/marks.py:Marks", "--profile", "quik",
                  "--results-dir", str(tmp_path))
    _one_line_error(res, "no profile 'quik'")
    assert not (tmp_path / "marks.fitted").exists()
    res = _invoke("sweep", "--tasks", "branin", "--optimizers", "random,grad-ascent", "--profile", "quik",
                  "--seeds", "0", "--results-dir", str(tmp_path))
    _one_line_error(res, "grad-ascent", "Did you mean: quick")
    res = _invoke("run", "-t", "branin", "-o", "random", "--profile", "anything", "-Q", "4",
                  "--results-dir", str(tmp_path))
    assert res.exit_code == 0 and "random has no tunable config" in res.output


def test_unwritable_results_folder_fails_before_training(tmp_path):  # item 6
    (tmp_path / "marks.py").write_text(FIT_MARKER)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for cmd in (["run", "-t", "branin", "-o", f"{tmp_path}/marks.py:Marks"],
                ["sweep", "--tasks", "branin", "--optimizers", f"{tmp_path}/marks.py:Marks", "--seeds", "0"]):
        res = _invoke(*cmd, "-Q", "4", "--results-dir", str(blocker / "results"))
        _one_line_error(res, "cannot write run records under", "Fix: pass --results-dir")
    assert not (tmp_path / "marks.fitted").exists()


def test_broken_plugin_files_give_one_line_errors_with_file_and_line(tmp_path):  # item 7
    bad = tmp_path / "bad.py"
    bad.write_text("from mbo.core import Optimizer\n\nclass Bad(Optimizer)\n    name = 'bad'\n")
    _one_line_error(_invoke("run", "-t", "branin", "-o", f"{bad}:Bad"), f"{bad}:3: syntax error", "fix that line")
    half = tmp_path / "half.py"
    half.write_text("from mbo.core import Optimizer\n\n\nclass Half(Optimizer):\n    name = 'half'\n\n"
                    "    def fit(self, data):\n        self.data_ = data\n")
    _one_line_error(_invoke("run", "-t", "branin", "-o", f"{half}:Half"),
                    f"{half}:4:", "does not implement propose", "def propose(self, n)")
    boom = tmp_path / "boom.py"
    boom.write_text("import math\n\nVALUE = math.sqrt(-1)\n")
    _one_line_error(_invoke("run", "-t", "branin", "-o", f"{boom}:X"), f"{boom}:3:", "ValueError")
    notask = tmp_path / "notask.py"
    notask.write_text("from mbo.core import Task\n\n\nclass T(Task):\n    name = 't'\n\n"
                      "    def _load_offline(self):\n        return None\n")
    _one_line_error(_invoke("run", "-t", f"{notask}:T", "-o", "random"), f"{notask}:4:", "does not implement _score")


def test_sweep_and_run_argument_mistakes_are_caught_with_the_fix(tmp_path):  # item 8
    out = str(tmp_path / "r")
    sweep = ["sweep", "--seeds", "0", "-Q", "4", "--results-dir", out]
    _one_line_error(_invoke(*sweep, "--tasks", "branin", "--optimizers", "random,dataset-best", "--set", "lr=1"),
                    "--set lr: no optimizer of this sweep has such a config key")
    _one_line_error(_invoke(*sweep, "--tasks", "branin", "--optimizers", "random,grad-ascent",
                            "--set", "learning_rat=1"), "Did you mean: learning_rate")
    _one_line_error(_invoke(*sweep, "--tasks", "levy,nosuch", "--optimizers", "random"), "unknown task 'nosuch'")
    _one_line_error(_invoke(*sweep, "--tasks", "branin", "--optimizers", "GRAD-ASCENT"), "Did you mean: grad-ascent")
    _one_line_error(_invoke("run", "-t", "branin", "-o", "GRAD-ASCENT"), "Did you mean: grad-ascent")
    _one_line_error(_invoke("run", "-t", "branin", "-o", "random", "--seeds", "5-1"),
                    "seed range '5-1' is reversed; write 1-5")
    _one_line_error(_invoke(*sweep[:3], "--seeds", "5-1", "--tasks", "branin", "--optimizers", "random"),
                    "reversed")
    _one_line_error(_invoke("run", "-t", "branin", "-o", "tests/faulty.py"),
                    "name the class in it as tests/faulty.py:ClassName", "Slow")
    assert not (tmp_path / "r" / "records").exists() or not list((tmp_path / "r").rglob("*.json"))


def test_run_says_which_profile_runs_and_hints_quick_for_slow_methods_on_cpu(tmp_path):  # item 9
    from mbo.optimizers.n2ce import N2CE

    assert "paper" in N2CE.slow_on_cpu
    slow = tmp_path / "slow.py"
    slow.write_text(FIT_MARKER + '\n\nclass Heavy(Marks):\n    name = "heavy"\n    slow_on_cpu = ("paper",)\n'
                    '    profiles = {"quick": {"steps": 1}, "paper": {}}\n\n'
                    '    @__import__("dataclasses").dataclass\n    class Config:\n        steps: int = 100\n')
    args = ["run", "-t", "branin", "-o", f"{slow}:Heavy", "-Q", "4", "--device", "cpu", "--results-dir", str(tmp_path)]
    res = _invoke(*args)
    assert res.exit_code == 0, res.output
    assert "heavy: profile paper (the defaults: the published setting), device cpu" in res.output
    assert "hint: heavy's paper profile is slow on a CPU" in res.output and "--profile quick" in res.output
    res = _invoke(*args, "--profile", "quick")
    assert "heavy: profile quick, device cpu" in res.output and "hint" not in res.output


def test_readme_quick_start_finishes_in_seconds(tmp_path):  # item 9
    import re
    import shlex
    import time
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1)
    command = shlex.split(block[block.index("mbo run"):].strip())
    assert "--profile" in command and command[command.index("--profile") + 1] == "quick"
    t0 = time.perf_counter()
    res = CliRunner().invoke(main, command[1:] + ["--results-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert time.perf_counter() - t0 < 60  # about 4 s on one idle core


def test_small_cli_papercuts(tmp_path):  # item 20
    import stat

    _one_line_error(_invoke("run", "-t", "branin", "-o", "random", "--set", "x=1"),
                    "optimizer 'random' has no config keys, so --set x=... cannot apply")
    _one_line_error(_invoke("run", "-t", "branin", "-o", "nosuch"), "An optimizer can also be given")
    res = _invoke("run", "-t", "tests/conftest.py:TinyContinuous", "-o", "random", "--seeds", "0-2", "-Q", "4",
                  "--results-dir", str(tmp_path))
    assert res.exit_code == 0
    assert re.search(r"mean ± std over 3 seeds \(normalized\): 100th \d\.\d{3} ± \d\.\d{3}  50th", res.output)
    umask = os.umask(0)
    os.umask(umask)
    for path in tmp_path.rglob("*.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    _invoke("run", "-t", "tests/conftest.py:TinyContinuous", "-o", "random", "-Q", "8", "--results-dir", str(tmp_path))
    res = _invoke("leaderboard", "--results-dir", str(tmp_path))
    assert res.exit_code == 2 and "several budgets [4, 8]" in res.output and "np.int64" not in res.output


def test_optimizers_command_shows_config_keys_defaults_and_profiles():  # item 20
    res = _invoke("optimizers", "grad-ascent")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "profiles: paper, quick" in res.output
    assert any(re.match(r"hidden_size\s+int\s+2048\s+256\s+16$", line) for line in lines), res.output
    assert any(re.match(r"learning_rate\s+float\s+0\.0003\s+·\s+·$", line) for line in lines), res.output
    res = _invoke("optimizers", "random")
    assert res.exit_code == 0 and "config: none" in res.output
    res = _invoke("optimizers")
    assert "n2ce" in res.output and "profiles: paper, quick, smoke" in res.output
    assert "profiles: none (no tunable config)" in res.output
    _one_line_error(_invoke("optimizers", "grad-asent"), "Did you mean: grad-ascent")

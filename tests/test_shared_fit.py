"""One fit, several Q (mbo.harness.execute_shared): each Q's record is the one a separate run gives."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mbo.cli import main
from mbo.errors import ConfigError
from mbo.harness import execute_shared, optimizer_class, plan, run_spec
from mbo.isolation import RunContext
from mbo.registry import names

from .conftest import TinyContinuous, TinyDiscrete


def _profile(cls) -> str:
    return "smoke" if "smoke" in cls.profiles else "quick"


@pytest.mark.parametrize("name", sorted(names("optimizer")))
def test_each_q_of_a_shared_fit_equals_its_own_run(name, tmp_path):
    """Every optimizer: Q = 4 and Q = 16 proposed from one fit give exactly the candidates of two
    separate runs (a propose that advanced shared state or the global RNG would differ here)."""
    cls = optimizer_class(name)
    task = TinyDiscrete() if cls.supports(TinyDiscrete.space)[0] else TinyContinuous()
    specs = [plan(task, name, seed=2, budget=q, profile=_profile(cls), device="cpu") for q in (4, 16)]
    ctx = RunContext(in_process=True)
    shared = execute_shared(specs, tmp_path, context=ctx, checkpoint_every=None)
    for spec, rec in zip(specs, shared):
        alone = run_spec(spec, ctx)
        assert rec["status"] == alone["status"] == "ok", (rec.get("error"), alone.get("error"))
        assert rec["run_id"] == alone["run_id"]
        np.testing.assert_array_equal(np.asarray(rec["candidates"]), np.asarray(alone["candidates"]),
                                      err_msg=f"{name}, Q = {spec.budget}")
        assert rec["shared_fit"] == {"run_ids": [s.run_id for s in specs], "budgets": [4, 16]}


def test_cli_several_q_fit_once_and_are_reused(tmp_path):
    """`-Q 4,8` writes one record per Q behind the process boundary; a second call reuses both, and a
    separate `-Q 8` run is served from the shared fit's record (same run id)."""
    args = ["run", "-t", "branin", "-o", "grad-ascent", "--profile", "quick", "--seed", "1", "-q",
            "--results-dir", str(tmp_path)]
    res = CliRunner().invoke(main, [*args, "-Q", "4,8"])
    assert res.exit_code == 0, res.output
    assert "seed 1 / Q 4:" in res.output and "seed 1 / Q 8:" in res.output
    files = sorted(tmp_path.glob("records/branin/*/*.json"))
    recs = [json.loads(f.read_text()) for f in files]
    assert sorted(r["budget"] for r in recs) == [4, 8]
    assert all(r["shared_fit"]["budgets"] == [4, 8] and r["isolation"] == "process" for r in recs)
    again = CliRunner().invoke(main, [*args, "-Q", "8"])
    assert again.exit_code == 0 and "cached" in again.output, again.output


def test_bad_budget_lists_fail_before_training(tmp_path):
    for bad, words in (("4,4", "more than once"), ("4,x", "whole number")):
        res = CliRunner().invoke(main, ["run", "-t", "branin", "-o", "random", "-Q", bad,
                                        "--results-dir", str(tmp_path)])
        assert res.exit_code != 0 and words in res.output, res.output
    assert not (tmp_path / "records").exists()
    task = TinyContinuous()
    specs = [plan(task, "random", seed=s, budget=4, device="cpu") for s in (0, 1)]
    with pytest.raises(ConfigError, match="budget Q alone"):
        execute_shared(specs, tmp_path)


def test_an_experiment_sweep_fits_once_for_several_q(tmp_path):
    """`mbo sweep --plan` groups the Q of one (configuration, task, seed) into one job: one fit, a
    record per Q, each equal to a separate run; a resumed sweep has nothing left to run."""
    from mbo.sweep import Job, pending, run_sweep

    study = tmp_path / "study.toml"
    study.write_text('tasks = ["branin"]\nseeds = [0]\nbudgets = [4, 8]\n\n[[optimizers]]\nname = "grad-ascent"\n'
                     'profile = "quick"\nset = { epochs = 2, num_steps = 5 }\n')
    res = CliRunner().invoke(main, ["sweep", "--plan", str(study), "--results-dir", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 0, res.output
    assert "sweep: 2 runs, 0 already finished, 2 to run" in res.output and "(1 fits" in res.output
    recs = [json.loads(f.read_text()) for f in sorted((tmp_path / "r").glob("records/branin/*/*.json"))]
    assert sorted(r["budget"] for r in recs) == [4, 8] and all(r["shared_fit"]["budgets"] == [4, 8] for r in recs)
    job = Job("branin", "grad-ascent", 0, (4, 8), "quick", (("epochs", 2), ("num_steps", 5)), "cpu", None,
              str(tmp_path / "r"), False)
    assert pending([job]) == ([], 2)
    alone = run_sweep([Job("branin", "grad-ascent", 0, 8, "quick", (("epochs", 2), ("num_steps", 5)), "cpu", None,
                           str(tmp_path / "alone"), False)])[0]
    assert alone["candidates"] == next(r for r in recs if r["budget"] == 8)["candidates"]

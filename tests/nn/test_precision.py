"""``--precision fp32|bf16``: validated before training, stored, in the label and the run id; bf16 runs."""
from __future__ import annotations

import pytest
import torch

from mbo import store
from mbo.core import config_dict
from mbo.errors import ConfigError
from mbo.harness import default_label, execute, plan
from mbo.nn.device import autocast, check_precision

from ..conftest import TinyContinuous


def test_unknown_precision_fails_before_training():
    with pytest.raises(ConfigError, match="--precision 'fp8' is not known; use one of fp32, bf16"):
        plan(TinyContinuous(), "grad-ascent", profile="quick", precision="fp8", device="cpu")
    with pytest.raises(ConfigError):
        check_precision("float32")


def test_cli_rejects_bad_precision(tmp_path):
    from click.testing import CliRunner

    from mbo.cli import main

    res = CliRunner().invoke(main, ["run", "-t", "tests/conftest.py:TinyContinuous", "-o", "grad-ascent",
                                    "--precision", "half", "--results-dir", str(tmp_path)])
    assert res.exit_code != 0 and "--precision 'half' is not known" in res.output
    assert not list(tmp_path.rglob("*.json"))


def test_label_and_run_id_carry_precision():
    assert default_label("grad-ascent", None, {}, "bf16") == "grad-ascent[bf16]"
    assert default_label("n2ce", "quick", {"M": 10}, "bf16") == "n2ce[quick,M=10,bf16]"
    assert default_label("n2ce", "quick", {}) == "n2ce[quick]"
    fp32 = plan(TinyContinuous(), "grad-ascent", profile="quick", device="cpu")
    bf16 = plan(TinyContinuous(), "grad-ascent", profile="quick", device="cpu", precision="bf16")
    assert fp32.run_id != bf16.run_id
    # fp32 runs keep the ids they had before precision existed (committed records stay reusable)
    assert fp32.run_id == store.run_id(fp32.task.name, "grad-ascent", config_dict(fp32.config), 0, 128,
                                       fp32.task.data_version)


def test_autocast_runs_matmuls_in_bf16():
    a = torch.randn(4, 8)
    with autocast(torch.device("cpu"), "bf16"):
        assert (a @ a.T).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "fp32"):
        assert (a @ a.T).dtype == torch.float32


def test_bf16_smoke_run(tmp_path):
    spec = plan(TinyContinuous(), "grad-ascent", profile="quick", overrides={"epochs": 2, "num_steps": 5},
                budget=8, device="cpu", precision="bf16")
    rec = execute(spec, tmp_path)
    assert rec["status"] == "ok", rec.get("error")
    assert rec["precision"] == "bf16" and rec["label"] == "grad-ascent[quick,epochs=2,num_steps=5,bf16]"
    assert "bf16" in rec["_path"]


def test_sweep_jobs_carry_precision():
    from mbo.sweep import Job, _plan_all

    job = Job("tests/conftest.py:TinyContinuous", "grad-ascent", 0, 8, "quick", (), "cpu", None, "unused", False,
              "bf16")
    [spec] = _plan_all(job)
    assert spec.precision == "bf16" and spec.label == "grad-ascent[quick,bf16]"


@pytest.mark.parametrize("name", sorted(__import__("mbo.registry", fromlist=["names"]).names("optimizer")))
def test_every_optimizer_runs_under_bf16(name, tmp_path):
    from mbo.harness import optimizer_class

    from ..conftest import TINY_TASKS

    cls = optimizer_class(name)
    task = next(t() for t in TINY_TASKS if cls.supports(t.space)[0])
    profile = "smoke" if "smoke" in cls.profiles else "quick"
    rec = execute(plan(task, name, seed=0, budget=8, profile=profile, device="cpu", precision="bf16"), tmp_path)
    assert rec["status"] == "ok", rec.get("traceback") or rec.get("error")


def test_training_inside_one_bf16_autocast_context_learns():
    """Regression: with autocast's weight-cast cache on, a fit inside one context reused the initial
    weights' bf16 copies in every forward and the loss never moved (grad-ascent[bf16] Spearman 0.15)."""
    from mbo.nn import fit_regressor, mlp

    torch.manual_seed(0)
    x = torch.randn(1000, 8)
    y = torch.tanh(x @ torch.randn(8) / 2)
    y = (y - y.mean()) / y.std()
    losses = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = mlp(8, 1, 64, 2, "leaky_relu")
        with autocast(torch.device("cpu"), precision):
            losses[precision] = fit_regressor(model, x, y, epochs=3, batch_size=100,
                                              generator=torch.Generator().manual_seed(0))
    assert losses["bf16"][-1] < 0.5 * losses["bf16"][0]
    assert losses["bf16"][-1] == pytest.approx(losses["fp32"][-1], rel=0.2)

"""Ehrlich tasks: checked against pytorch-holo's reference function; the install hint without it."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner

from mbo.errors import MissingDependencyError
from mbo.tasks.ehrlich import INSTALL, EhrlichV32L32, EhrlichV32L128, sample_markov

TASKS = [EhrlichV32L32, EhrlichV32L128]


@pytest.fixture(scope="module")
def holo():
    return pytest.importorskip("holo.test_functions.closed_form",
                               reason=f"pytorch-holo is not installed ({INSTALL}); CI installs it")


def _reference(holo, cls):
    return holo.Ehrlich(num_states=32, dim=cls.length, num_motifs=4, motif_length=4, quantization=4, random_seed=0)


@pytest.mark.parametrize("cls", TASKS)
def test_task_agrees_with_the_reference(holo, cls):
    import torch

    task, ref = cls(), _reference(holo, cls)
    assert task.space.length == cls.length and task.space.vocab_size == 32 and task.optimum == 1.0
    np.testing.assert_array_equal(task.score(ref.optimal_solution().numpy()[None]), [1.0])

    full_x, full_y = task._full
    ref_full = ref.evaluate_true(torch.as_tensor(full_x)).double().numpy()
    assert np.isfinite(ref_full).all()  # every offline design is feasible
    data = task.offline_data()
    assert data.y.max() < 1.0 and np.all(data.y <= np.percentile(full_y, 50))
    assert task.y_min == full_y.min() and task.y_max == full_y.max()

    rng = np.random.default_rng(0)
    mutated = full_x[:200].copy()
    mutated[np.arange(200), rng.integers(0, cls.length, 200)] = rng.integers(0, 32, 200)
    batch = np.concatenate([full_x[:100], mutated, rng.integers(0, 32, (100, cls.length))])
    want = ref.evaluate_true(torch.as_tensor(batch)).double().numpy()
    got = task.score(batch)
    feasible = np.isfinite(want)
    assert 0 < feasible.sum() < len(batch)  # both kinds are in the batch
    np.testing.assert_array_equal(got[feasible], want[feasible])
    np.testing.assert_array_equal(got[~feasible], task.infeasible_score)
    np.testing.assert_array_equal(task.feasible(batch), feasible)
    assert task.candidate_diagnostics(batch) == {"infeasible": float(np.mean(~feasible))}


def test_records_report_the_infeasible_share(holo, tmp_path):
    import mbo

    task = EhrlichV32L32()
    rand = mbo.run(task, "random", seed=0, budget=32, results_dir=tmp_path)
    best = mbo.run(task, "dataset-best", seed=0, budget=32, results_dir=tmp_path)
    assert rand["status"] == best["status"] == "ok"
    assert rand["diagnostics"]["task"]["infeasible"] > 0.9  # uniform tokens break the banded chain
    assert best["diagnostics"]["task"]["infeasible"] == 0.0
    assert np.isfinite(rand["scores"]["raw"]).all() and min(rand["scores"]["raw"]) == 0.0


def test_markov_sampler_draws_only_allowed_transitions():
    transition = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8], [0.9, 0.0, 0.1]])
    x = sample_markov(np.array([1.0, 0.0, 0.0]), transition, 6, 20_000, np.random.default_rng(0))
    assert (x[:, 0] == 0).all() and (transition[x[:, :-1], x[:, 1:]] > 0).all()
    counts = np.zeros((3, 3))
    np.add.at(counts, (x[:, :-1].ravel(), x[:, 1:].ravel()), 1)
    np.testing.assert_allclose(counts / counts.sum(axis=1, keepdims=True), transition, atol=0.02)


def test_without_holo_runs_fail_before_training_with_the_install_command(monkeypatch, tmp_path):
    from mbo.cli import main

    for mod in [m for m in sys.modules if m == "holo" or m.startswith("holo.")] + ["holo"]:
        monkeypatch.setitem(sys.modules, mod, None)  # import holo(.x) → ImportError, find_spec → None
    monkeypatch.setenv("MBO_QUIET", "1")
    with pytest.raises(MissingDependencyError, match="pip install --no-deps pytorch-holo"):
        EhrlichV32L32().check_oracle()
    listing = CliRunner().invoke(main, ["tasks"])
    assert listing.exit_code == 0, listing.output
    block = listing.output.split("ehrlich-v32-l32-m4-k4", 1)[1].split("\n", 3)
    assert "discrete: length 32, 32 tokens" in block[0] and "NOT READY" in block[2] and INSTALL in block[2]
    res = CliRunner().invoke(main, ["run", "--task", "ehrlich-v32-l128-m4-k4", "--optimizer", "grad-ascent",
                                    "--profile", "quick", "--results-dir", str(tmp_path)])
    assert res.exit_code == 1 and "FAILED: MissingDependencyError" in res.output and INSTALL in res.output
    import json

    rec = json.loads(next(tmp_path.rglob("*.json")).read_text())
    assert "fit" not in rec["timings"]  # it stopped before training

"""Harness rules: failures are recorded not raised, records are atomic, resume and --force."""
from __future__ import annotations

import json

import numpy as np
import pytest

import mbo
from mbo import store
from mbo.errors import ConfigError, UnknownNameError
from mbo.report import load_records

TINY_D = "tests/conftest.py:TinyDiscrete"
TINY_C = "tests/conftest.py:TinyContinuous"


@pytest.mark.parametrize("opt, task, why", [
    ("tests/faulty.py:ReturnsNaN", TINY_C, r"non-finite values .* rows \[1, 4\]"),
    ("tests/faulty.py:WrongCount", TINY_C, "expected 8 candidates"),
    ("tests/faulty.py:WrongShape", TINY_D, r"shape \[n, 6\]"),
    ("tests/faulty.py:BadTokens", TINY_D, r"tokens out of range .* rows \[2\]"),
    ("tests/faulty.py:Raises", TINY_D, "boom in fit"),
])
def test_bad_optimizers_fail_their_run_with_a_reason(opt, task, why, tmp_path):
    rec = mbo.run(task, opt, seed=0, budget=8, results_dir=tmp_path, device="cpu")
    assert rec["status"] == "failed"
    assert rec["error"] and __import__("re").search(why, rec["error"]), rec["error"]
    # the failure is stored, and a later good run in the same folder is unaffected
    good = mbo.run(task, "dataset-best", seed=0, budget=8, results_dir=tmp_path, device="cpu")
    assert good["status"] == "ok"
    df = load_records(tmp_path, include_failed=True)
    assert set(df["status"]) == {"ok", "failed"}


def test_record_contents_and_resume(tmp_path):
    rec = mbo.run(TINY_C, "random", seed=2, budget=8, results_dir=tmp_path, device="cpu")
    assert rec["status"] == "ok"
    for key in ("run_id", "config", "seed", "budget", "scores", "summary", "dataset_best", "timings",
                "device", "versions", "started", "candidates", "num_clipped", "normalization"):
        assert key in rec
    assert len(rec["scores"]["normalized"]) == 8
    assert rec["summary"]["normalized"]["p100"] == pytest.approx(max(rec["scores"]["normalized"]))
    # the papers' median: TFP's 'nearest' over 8 scores is ascending index 7 - round_half_even(3.5) = 3
    assert rec["summary"]["normalized"]["p50_tfp_nearest"] == sorted(rec["scores"]["normalized"])[3]
    assert rec["data_subset"] is None  # the task does not subsample
    again = mbo.run(TINY_C, "random", seed=2, budget=8, results_dir=tmp_path, device="cpu")
    assert again.get("_cached") and again["run_id"] == rec["run_id"]
    forced = mbo.run(TINY_C, "random", seed=2, budget=8, results_dir=tmp_path, device="cpu", force=True)
    assert not forced.get("_cached")
    assert len(list(tmp_path.rglob("*.json"))) == 1
    other = mbo.run(TINY_C, "random", seed=3, budget=8, results_dir=tmp_path, device="cpu")
    assert other["run_id"] != rec["run_id"]


def test_same_seed_same_candidates_and_seed_matters(tmp_path):
    a = mbo.run(TINY_D, "grad-ascent", seed=1, budget=8, results_dir=tmp_path / "a", device="cpu", profile="quick")
    b = mbo.run(TINY_D, "grad-ascent", seed=1, budget=8, results_dir=tmp_path / "b", device="cpu", profile="quick")
    assert a["candidates"] == b["candidates"]
    r1 = mbo.run(TINY_D, "random", seed=1, budget=8, results_dir=tmp_path / "a", device="cpu")
    r2 = mbo.run(TINY_D, "random", seed=2, budget=8, results_dir=tmp_path / "a", device="cpu")
    assert r1["candidates"] != r2["candidates"]


def test_truncated_record_is_reported_and_skipped(tmp_path):
    rec = mbo.run(TINY_C, "random", seed=0, budget=8, results_dir=tmp_path, device="cpu")
    bad = tmp_path / "records" / "tiny-continuous" / "random" / "deadbeefdeadbeef.json"
    bad.write_text(json.dumps(rec)[:100])
    with pytest.warns(UserWarning, match="skipping unreadable record .*deadbeef"):
        df = load_records(tmp_path)
    assert len(df) == 1


def test_store_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    record = {"run_id": "abc", "task": "t", "label": "o", "value": np.float32(1.5)}
    path = store.write(tmp_path, record)
    assert json.loads(path.read_text())["value"] == 1.5
    assert not list(path.parent.glob(".tmp-*"))


def test_unknown_names_suggest_close_matches():
    with pytest.raises(UnknownNameError, match="Did you mean: branin"):
        mbo.make_task("brainn")
    with pytest.raises(UnknownNameError, match="grad-ascent"):
        mbo.make_optimizer("grad-asent")
    with pytest.raises(ConfigError, match="does not exist"):
        mbo.make_optimizer("nowhere/file.py:Thing")


def test_make_optimizer_applies_profile_and_overrides():
    opt = mbo.make_optimizer("grad-ascent", profile="quick", seed=4, device="cpu", num_steps="7")
    assert (opt.config.hidden_size, opt.config.num_steps, opt.seed) == (256, 7, 4)
    with pytest.raises(ConfigError, match="valid keys"):
        mbo.make_optimizer("grad-ascent", bogus=1)


def test_propose_before_fit_is_a_clear_error():
    opt = mbo.make_optimizer("dataset-best", device="cpu")
    with pytest.raises(mbo.errors.NotFittedError, match="call fit"):
        opt.propose(3)


def test_a_config_less_optimizer_accepts_any_profile_and_it_is_not_in_the_label(tmp_path):
    rec = mbo.run(TINY_C, "random", seed=0, budget=4, results_dir=tmp_path, profile="quick", device="cpu")
    assert rec["label"] == "random" and rec["profile"] is None
    assert "no tunable config" in rec["profile_note"]


def test_optimizer_diagnostics_are_stored_as_json(tmp_path):
    rec = mbo.run("branin", "tests/faulty.py:Diag", seed=0, budget=4, results_dir=tmp_path)
    assert rec["status"] == "ok"
    assert rec["diagnostics"]["optimizer"] == {"spearman": 0.5, "hist": [0, 1, 2], "bad": None}
    assert json.loads(open(rec["_path"]).read())["diagnostics"]["optimizer"]["hist"] == [0, 1, 2]


def test_surrogate_gradient_agreement_is_recorded_after_the_run(tmp_path):
    """The harness compares ``opt.surrogate_gradient`` at the top-Q offline designs with Task.gradient."""
    from mbo.core import Optimizer
    from mbo.tasks.synthetic import branin_gradient

    class Exact(Optimizer):
        name = "exact-grad"
        flip = 1.0

        def fit(self, data):
            self.data_ = data

        def propose(self, n):
            return self.data_.top(n)[0]

        def surrogate_gradient(self, x):
            return -self.flip * 3.0 * branin_gradient(x)

    rec = mbo.run("branin", Exact, seed=0, budget=8, results_dir=tmp_path, in_process=True)  # a local class
    sg = rec["diagnostics"]["surrogate_gradient"]
    assert sg["num_points"] == 8 and sg["sign_agreement"] == 1.0 and sg["cosine_mean"] == pytest.approx(1.0)

    class Flipped(Exact):
        name = "flipped-grad"
        flip = -1.0

    sg = mbo.run("branin", Flipped, seed=0, budget=8, results_dir=tmp_path,
                 in_process=True)["diagnostics"]["surrogate_gradient"]
    assert sg["sign_agreement"] == 0.0 and sg["cosine_max"] == pytest.approx(-1.0)
    rec = mbo.run("branin", "random", seed=0, budget=8, results_dir=tmp_path)   # no surrogate: no entry
    assert "surrogate_gradient" not in rec["diagnostics"]

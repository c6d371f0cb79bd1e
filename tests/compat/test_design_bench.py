"""mbo.compat.design_bench: design-bench's task API over mbo's tasks, and solve() as an optimizer."""
from __future__ import annotations

import json
import os
import pickle
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mbo
from mbo.compat import design_bench as db
from mbo.core import Optimizer
from mbo.errors import ConfigError, OracleAccessError
from mbo.harness import optimizer_class, plan
from mbo.nn.encoding import DesignEncoder, Standardizer
from tests.conftest import TinyContinuous, TinyDiscrete

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "my_solver.py"
STAND_IN = Path(__file__).resolve().parent / "stand_in"
needs_data = pytest.mark.skipif(not os.environ.get("MBO_DATA_DIR"), reason="MBO_DATA_DIR is not set (TF-Bind-8 files)")


def view(task) -> db.TaskView:
    return db.TaskView.from_task(task)


# -- the task API ----------------------------------------------------------------------------------
@needs_data
def test_tfbind8_is_mbo_native_task_with_design_bench_shapes():
    native = mbo.make_task("tfbind8")
    data = native.offline_data()
    t = db.make("TFBind8-Exact-v0")
    assert t.x.shape == (32898, 8) and t.x.dtype == np.int32 and t.input_shape == (8,) and t.input_size == 8
    assert t.y.shape == (32898, 1) and t.y.dtype == np.float32 and t.dataset_size == 32898
    assert t.is_discrete and t.num_classes == 4 and t.dataset_max_percentile == 50.0
    np.testing.assert_array_equal(t.x, data.x)
    np.testing.assert_array_equal(t.y[:, 0], data.y)
    np.testing.assert_array_equal(t.predict(t.x[:500])[:, 0], native.score(data.x[:500]).astype(np.float32))
    # normalization constants: mbo's own encoder (z-scored logits) and y scaler on the same rows
    t.map_to_logits()
    t.map_normalize_x()
    t.map_normalize_y()
    enc = DesignEncoder(data.space, data.x, standardize_discrete=True)
    np.testing.assert_allclose(t.dataset.x_mean.reshape(-1), enc.scaler.mean, rtol=1e-6)
    np.testing.assert_allclose(t.dataset.x_standard_dev.reshape(-1), enc.scaler.std, rtol=1e-6)
    np.testing.assert_allclose(t.x.reshape(len(data.x), -1), enc.encode(data.x).numpy(), rtol=1e-5, atol=1e-6)
    ys = Standardizer(data.y)
    assert t.dataset.y_mean.shape == (1, 1)
    np.testing.assert_allclose(t.y[:, 0], ys.transform(data.y), rtol=1e-5, atol=1e-6)
    # predict takes the normalized logits and answers in normalized y, as design-bench's does
    np.testing.assert_allclose(t.denormalize_y(t.predict(t.x[:50]))[:, 0], native.score(data.x[:50]), rtol=1e-5)


def test_logits_and_normalizers_round_trip():
    t = view(TinyDiscrete())
    ints = t.x.copy()
    assert ints.dtype == np.int32 and t.input_dtype == np.int32
    with pytest.raises(ValueError, match="cannot normalize discrete"):
        t.map_normalize_x()
    t.map_to_logits()
    assert t.x.shape == ints.shape + (3,) and t.input_shape == (6, 3) and t.input_dtype == np.float32
    np.testing.assert_array_equal(t.to_integers(t.x), ints)
    assert t.to_integers(t.x).dtype == np.int32
    np.testing.assert_array_equal(t.to_logits(ints), t.x)
    raw_logits = t.x
    t.map_normalize_x()
    z = t.x
    np.testing.assert_allclose(z.reshape(len(z), -1).mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(t.denormalize_x(z), raw_logits, atol=1e-5)
    np.testing.assert_allclose(t.normalize_x(raw_logits), z, atol=1e-5)
    np.testing.assert_allclose(t.predict(z), t.predict(ints))        # any format predict takes
    y = t.y
    t.map_normalize_y()
    np.testing.assert_allclose(t.denormalize_y(t.y), y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.denormalize_y(t.predict(ints)), TinyDiscrete()._score(ints)[:, None], rtol=1e-5)
    t.map_denormalize_y()
    t.map_to_integers()                                              # also undoes map_normalize_x
    assert not t.is_normalized_x and not t.is_logits
    np.testing.assert_array_equal(t.x, ints)


def test_continuous_task_and_discrete_only_members():
    t = view(TinyContinuous())
    assert not t.is_discrete and t.x.dtype == np.float32 and t.input_shape == (2,)
    with pytest.raises(ValueError, match="only supported on discrete"):
        t.num_classes
    with pytest.raises(ValueError, match="only supported on discrete"):
        t.map_to_logits()
    x = t.x
    t.map_normalize_x()
    np.testing.assert_allclose(t.x.std(0), 1, rtol=1e-5)
    np.testing.assert_allclose(t.predict(t.x)[:, 0], TinyContinuous()._score(x), rtol=1e-5)


def test_iterate_batches_and_samples():
    t = view(TinyContinuous())
    n = t.dataset_size
    batches = list(t.iterate_batches(64))
    assert [len(b[0]) for b in batches] == [64] * (n // 64) + ([n % 64] if n % 64 else [])
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), t.x)
    assert all(len(b) == 64 for b in t.iterate_batches(64, return_y=False, drop_remainder=True))
    assert sum(1 for _ in t.iterate_samples()) == n
    xs, ys = next(iter(t))
    assert xs.shape == (32, 2) and ys.shape == (32, 1)
    with pytest.raises(ValueError, match="invalid arguments"):
        next(t.iterate_batches(0))


def test_subsample_reselects_rows_and_refreshes_statistics():
    t = view(TinyContinuous())
    t.map_normalize_y()
    np.random.seed(0)
    t.dataset.subsample(max_percentile=50)
    y = t.denormalize_y(t.y)[:, 0]
    all_y = TinyContinuous().offline_data().y
    assert t.dataset_size == (all_y <= np.percentile(all_y, 50)).sum()
    assert y.max() <= t.dataset_max_output == pytest.approx(np.percentile(all_y, 50))
    np.testing.assert_allclose(t.y.mean(), 0, atol=1e-5)
    t.dataset.subsample(max_samples=20, distribution="linear")
    assert t.dataset_size == 20 and t.x.shape == (20, 2)


def test_make_errors_name_what_is_served_and_what_is_missing():
    with pytest.raises(ConfigError) as err:
        db.make("TFBind8-Exact-v1")
    msg = str(err.value)
    assert "Did you mean: TFBind8-Exact-v0" in msg and "Branin-Exact-v0 (branin)" in msg
    assert "Superconductor-RandomForest-v0 (dataset only:" in msg and "pip install 'mbo[design-bench]'" in msg
    with pytest.raises(ConfigError, match="max_percentile=60 is not served.*max_percentile=50"):
        db.make("TFBind8-Exact-v0", dataset_kwargs={"max_percentile": 60})
    with pytest.raises(ConfigError, match="max_percentile=50 is not served.*no dataset_kwargs"):
        db.make("Branin-Exact-v0", dataset_kwargs={"max_percentile": 50})
    with pytest.raises(ConfigError, match="max_samples='many' is not served"):
        db.make("TFBind10-Exact-v0", dataset_kwargs={"max_samples": "many"})
    with pytest.raises(ConfigError, match="noise_std"):
        db.make("Branin-Exact-v0", oracle_kwargs={"noise_std": 0.1})


def test_closed_form_names():
    t = db.make("Branin-Exact-v0", dataset_kwargs={"soft_interpolation": 0.6}, relabel=True)
    native = mbo.make_task("branin")
    np.testing.assert_array_equal(t.x, native.offline_data().x)
    np.testing.assert_allclose(t.predict(t.x[:10])[:, 0], native.score(t.x[:10]).astype(np.float32))
    assert t.dataset_min_output == -np.inf and t.dataset_max_output == np.inf


DESIGN_BENCH_SCRIPT = '''
import design_bench
import numpy as np

# a design-baselines-style gradient ascent, written from design-bench's README: only its task API
task = design_bench.make(TASK)
x0, y0 = task.x, task.y
if task.is_discrete:
    task.map_to_logits()
    assert (task.to_integers(task.x) == x0).all()
task.map_normalize_x()
task.map_normalize_y()
assert np.allclose(task.denormalize_y(task.y), y0, atol=1e-4)
x = task.x.reshape(task.dataset_size, -1)
y = task.y
w = np.zeros((x.shape[1], 1), np.float32)
for epoch in range(20):                                      # a linear forward model, minibatch SGD
    for xb, yb in task.iterate_batches(128):
        xb = xb.reshape(len(xb), -1)
        w -= 0.05 * xb.T @ (xb @ w - yb) / len(xb)
idx = np.argsort(-y[:, 0])[:128]
solution = x[idx] + 0.5 * np.sqrt(x.shape[1]) * w[:, 0] / np.linalg.norm(w)
solution = solution.reshape((128,) + task.input_shape).astype(np.float32)
score = task.denormalize_y(task.predict(solution))
RESULT = dict(score=score, start=task.denormalize_y(task.predict(x[idx].reshape((128,) + task.input_shape))))
'''


@pytest.mark.parametrize("name", ["Branin-Exact-v0", pytest.param("TFBind8-Exact-v0", marks=needs_data)])
def test_a_design_bench_script_runs_unchanged(name, tmp_path, monkeypatch):
    script = tmp_path / "script.py"
    script.write_text(f"TASK = {name!r}\n" + DESIGN_BENCH_SCRIPT)
    monkeypatch.setitem(sys.modules, "design_bench", db)              # the one changed import
    out = runpy.run_path(str(script))["RESULT"]
    assert out["score"].shape == (128, 1) and np.isfinite(out["score"]).all()


# -- solve() as an optimizer -------------------------------------------------------------------------
def test_solver_class_is_an_optimizer_that_pickles_by_reference():
    cls = optimizer_class(f"{EXAMPLE}:solve")
    assert issubclass(cls, Optimizer) and cls.name == "my_solver.solve" and cls.target == f"{EXAMPLE}:solve"
    assert optimizer_class(f"{EXAMPLE}:solve") is cls
    assert pickle.loads(pickle.dumps(cls)) is cls
    opt = cls(seed=3)
    assert type(pickle.loads(pickle.dumps(opt))) is cls and not hasattr(opt, "task")
    code = "import pickle, sys; c = pickle.loads(sys.stdin.buffer.read()); print(c.name, c.seed)"
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(opt), capture_output=True, check=True,
                         cwd="/")
    assert out.stdout.decode().split() == ["my_solver.solve", "3"]


def test_solver_accepts_the_function_itself_and_checks_its_signature(tmp_path):
    f = tmp_path / "two.py"
    f.write_text("def solve(task, budget):\n    return task.x[:budget]\n")
    with pytest.raises(ConfigError, match=r"must take \(task, budget, seed\)"):
        optimizer_class(f"{f}:solve")
    with pytest.raises(ConfigError, match="neither an mbo.Optimizer subclass nor"):
        optimizer_class("mbo.compat.design_bench:NATIVE")
    with pytest.raises(ConfigError, match="solve functions there: solve, solve_quick"):
        optimizer_class(str(ROOT / "benchmarks" / "design_baselines_gradient_ascent.py"))
    from tests.compat import solvers

    assert optimizer_class(solvers.top).target == "tests.compat.solvers:top"


@pytest.mark.parametrize("task", [TinyDiscrete, TinyContinuous])
def test_example_runs_through_the_harness(task, tmp_path):
    rec = mbo.run(task(), f"{EXAMPLE}:solve", seed=0, budget=16, results_dir=tmp_path)
    assert rec["status"] == "ok", rec.get("error")
    assert rec["label"] == "my_solver.solve" and len(rec["candidates"]) == 16
    again = mbo.run(task(), f"{EXAMPLE}:solve", seed=0, budget=16, results_dir=tmp_path, force=True)
    assert again["candidates"] == rec["candidates"]


def test_edited_solver_file_changes_the_code_hash(tmp_path):
    f = tmp_path / "s.py"
    f.write_text("def solve(task, budget, seed):\n    return task.x[:budget]\n")
    first = plan(TinyContinuous(), f"{f}:solve").code_hash
    f.write_text("def solve(task, budget, seed):\n    return task.x[-budget:]\n")
    assert plan(TinyContinuous(), f"{f}:solve").code_hash != first


@pytest.mark.parametrize("body", ["task.predict(task.x[:budget])",
                                  "__import__('mbo.compat.design_bench').compat.design_bench"
                                  ".make('Branin-Exact-v0').predict(task.x[:1])"])
def test_calling_the_oracle_inside_solve_fails_the_run(body, tmp_path):
    f = tmp_path / "cheat.py"
    f.write_text(f"def solve(task, budget, seed):\n    {body}\n    return task.x[:budget]\n")
    rec = mbo.run(TinyContinuous(), f"{f}:solve", seed=0, budget=8, results_dir=tmp_path)
    assert rec["status"] == "failed" and rec["error"].startswith("OracleAccessError")


def test_view_without_oracle_raises_oracle_access_error():
    data = TinyDiscrete().offline_data()
    t = db.TaskView(db.Dataset.from_offline(data))
    with pytest.raises(OracleAccessError, match="only the harness calls"):
        t.predict(t.x[:2])


@needs_data
def test_readme_example_runs_with_mbo_run(tmp_path):
    for task in ("tfbind8", "branin"):
        out = subprocess.run([sys.executable, "-m", "mbo.cli", "run", "--task", task, "--optimizer",
                              "examples/my_solver.py:solve", "-Q", "32", "--results-dir", str(tmp_path), "-q"],
                             cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
    recs = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("records/*/*/*.json"))]
    assert sorted(r["task"] for r in recs) == ["branin", "tfbind8"] and all(r["status"] == "ok" for r in recs)
    assert {r["label"] for r in recs} == {"my_solver.solve"}


# -- design-bench itself (a stand-in module) ------------------------------------------------------------
@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.syspath_prepend(str(STAND_IN))
    monkeypatch.delitem(sys.modules, "design_bench", raising=False)
    yield
    sys.modules.pop("design_bench", None)


def test_external_task_through_design_bench(stand_in, tmp_path):
    import design_bench

    cls = mbo.registry.load_class("task", "mbo.compat.design_bench:Superconductor-RandomForest-v0")
    assert cls is db.external_task("Superconductor-RandomForest-v0") and pickle.loads(pickle.dumps(cls)) is cls
    task = cls()
    ref = design_bench.make("Superconductor-RandomForest-v0")
    data = task.offline_data()
    np.testing.assert_array_equal(data.x, ref.x)
    np.testing.assert_array_equal(data.y, ref.y[:, 0])
    full_y = np.concatenate(ref.dataset.y_shards)[:, 0]
    assert (task.y_min, task.y_max) == (full_y.min(), full_y.max()) and len(data) < len(full_y)
    np.testing.assert_allclose(task.score(data.x[:5]), ref.predict(data.x[:5])[:, 0])
    task2 = pickle.loads(pickle.dumps(task))
    assert "_db_task" not in task2.__dict__
    rec = mbo.run(task, f"{EXAMPLE}:solve", seed=0, budget=8, results_dir=tmp_path)
    assert rec["status"] == "ok", rec.get("error")
    assert rec["task"] == "Superconductor-RandomForest-v0"


def test_make_falls_back_to_design_bench_for_names_mbo_lacks(stand_in):
    t = db.make("ToyDiscrete-Exact-v0")
    assert t.is_discrete and t.num_classes == 3 and t.x.dtype == np.int32
    np.testing.assert_array_equal(t.predict(t.x[:4])[:, 0], (t.x[:4] == 2).sum(1))
    with pytest.raises(ValueError, match="No registered task"):
        db.make("Nothing-Exact-v0")

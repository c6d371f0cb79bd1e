"""Engine-computed run diagnostics: novelty, diversity, distinct, clipped (hand cases and TF-Bind-8)."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

import mbo
from mbo.core import DesignSpace
from mbo.diagnostics import (candidate_diagnostics, continuous_novelty, discrete_novelty, distinct_count,
                             euclidean_diversity, hamming_diversity, in_offline, nearest_distances, std_scale)
from mbo.tasks.design_bench import TFBind8
from tests.conftest import DATA_HINT

TINY_D = "tests/conftest.py:TinyDiscrete"
TINY_C = "tests/conftest.py:TinyContinuous"
KEYS = {"novelty", "diversity", "distinct", "clipped", "optimizer"}


def test_discrete_novelty_counts_rows_not_in_the_offline_set():
    offline = np.array([[0, 1, 2], [3, 3, 3], [0, 1, 2]])
    cands = np.array([[0, 1, 2], [2, 1, 0], [3, 3, 3], [2, 1, 0]])  # duplicates count per row
    np.testing.assert_array_equal(in_offline(cands, offline), [True, False, True, False])
    assert discrete_novelty(cands, offline) == 0.5
    assert discrete_novelty(offline, offline) == 0.0


def test_in_offline_is_exact_on_many_rows():
    rng = np.random.default_rng(0)
    offline = rng.integers(0, 20, size=(5000, 30))
    cands = np.concatenate([offline[:50], rng.integers(0, 20, size=(50, 30))])
    cands[60] = offline[7]
    truth = [any((offline == c).all(axis=1)) for c in cands]
    np.testing.assert_array_equal(in_offline(cands, offline), truth)


def test_hamming_diversity_is_a_fraction_of_the_length():
    x = np.array([[0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]])
    # pairs: (0,1) 2/4, (0,2) 4/4, (1,2) 2/4 → mean 2/3
    assert hamming_diversity(x) == pytest.approx(2 / 3)
    assert hamming_diversity(x[:1]) == 0.0 and hamming_diversity(np.repeat(x[:1], 5, 0)) == 0.0
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, size=(40, 7))
    brute = np.mean([(y[i] != y[j]).mean() for i in range(40) for j in range(i + 1, 40)])
    assert hamming_diversity(y) == pytest.approx(brute)


def test_continuous_distances_in_std_units():
    offline = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 20.0], [2.0, 20.0]])
    scale = std_scale(offline)
    np.testing.assert_allclose(scale, [1.0, 10.0])
    cands = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 50.0]])
    np.testing.assert_allclose(nearest_distances(cands / scale, offline / scale), [0.0, 1.0, 3.0])
    assert continuous_novelty(cands / scale, offline / scale) == pytest.approx(1.0)
    # pairwise (scaled): (0,0)-(1,0): 1; (0,0)-(2,5): √29; (1,0)-(2,5): √26
    assert euclidean_diversity(cands / scale) == pytest.approx((1 + 29 ** 0.5 + 26 ** 0.5) / 3)
    assert std_scale(np.array([[1.0, 5.0], [1.0, 7.0]]))[0] == 1.0  # a constant dimension stays unscaled


def test_candidate_diagnostics_schema_and_distinct():
    space = DesignSpace.continuous([-1, -1], [1, 1])
    offline = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    cands = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]], np.float32)
    out = candidate_diagnostics(cands, offline, space, clipped=2)
    # offline std is 0.5 per dimension: raw pairwise distances 0, √2, √2 become 0, 2√2, 2√2
    assert out == {"novelty": 0.0, "diversity": pytest.approx(4 * 2 ** 0.5 / 3), "distinct": 2, "clipped": 2}
    assert distinct_count(np.array([[1, 2], [1, 2], [2, 1]])) == 2
    json.dumps(out)


@pytest.mark.parametrize("task", [TINY_D, TINY_C])
def test_every_record_holds_the_diagnostics(task, tmp_path):
    rec = mbo.run(task, "random", seed=0, budget=16, results_dir=tmp_path, device="cpu")
    diag = json.loads(open(rec["_path"]).read())["diagnostics"]
    assert set(diag) == KEYS and diag["optimizer"] == {}
    assert isinstance(diag["novelty"], float) and isinstance(diag["diversity"], float)
    assert isinstance(diag["distinct"], int) and diag["clipped"] == rec["num_clipped"]
    assert 1 <= diag["distinct"] <= 16
    best = mbo.run(task, "dataset-best", seed=0, budget=16, results_dir=tmp_path, device="cpu")
    assert best["diagnostics"]["novelty"] == 0.0


def test_tfbind8_random_is_half_novel_and_dataset_best_is_not_novel(tmp_path):
    task = TFBind8()
    ok, why = task.availability()
    if not ok:
        pytest.skip(f"TF-Bind-8 data not here ({why}); {DATA_HINT}")
    # 32,898 training rows hold 32,768 distinct 8-mers: half of the 65,536
    rnd = mbo.run(task, "random", seed=0, budget=1024, results_dir=tmp_path, device="cpu")
    assert abs(rnd["diagnostics"]["novelty"] - 0.5) < 0.06  # binomial std at Q=1024: 0.016
    assert rnd["diagnostics"]["diversity"] == pytest.approx(0.75, abs=0.01)  # 4 tokens: P(differ) = 3/4
    best = mbo.run(task, "dataset-best", seed=0, budget=128, results_dir=tmp_path, device="cpu")
    assert best["diagnostics"]["novelty"] == 0.0
    t = time.perf_counter()
    candidate_diagnostics(np.array(rnd["candidates"][:128]), task.offline_data().x, task.space)
    assert time.perf_counter() - t < 0.5  # milliseconds in practice

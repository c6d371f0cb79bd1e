"""Leaderboard statistics, ranks, protocol statements, bootstrap intervals, diagnostics, formats and plots."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mbo.cli import main
from mbo.errors import ConfigError
from mbo.report import (DBEST, cell_ci, format_table, iqm_across_tasks, leaderboard, load_records, plot,
                        plot_intervals, probability_of_improvement, protocol_lines)


def _df(rows, profile="quick"):
    base = {"status": "ok", "budget": 128, "optimizer": None, "profile": profile}
    out = []
    for task, label, seed, p100, best in rows:
        out.append({**base, "task": task, "label": label, "optimizer": label, "seed": seed, "p100": p100,
                    "p50": p100 / 2, "raw_p100": p100 * 10, "dbest": best, "dbest_raw": best * 10})
    return pd.DataFrame(out)


DF = _df([
    ("a", "x", 0, 0.9, 0.5), ("a", "x", 1, 0.7, 0.5), ("a", "y", 0, 0.6, 0.5), ("a", "z", 0, 0.6, 0.5),
    ("b", "x", 0, 0.1, 0.2), ("b", "y", 0, 0.3, 0.2), ("b", "z", 0, 0.2, 0.2),
])


def test_means_stds_ranks_and_dbest():
    t = leaderboard(DF)
    assert t.loc["x", ("a", "mean")] == pytest.approx(0.8)
    assert t.loc["x", ("a", "std")] == pytest.approx(np.std([0.9, 0.7], ddof=1))
    assert t.loc["x", ("a", "n")] == 2
    # task a: x=1, y=z tied → 2.5 each; task b: y=1, z=2, x=3
    assert t.loc["x", ("all", "mean rank")] == pytest.approx(2.0)
    assert t.loc["y", ("all", "mean rank")] == pytest.approx(1.75)
    assert t.loc["z", ("all", "mean rank")] == pytest.approx(2.25)
    assert t.loc[DBEST, ("a", "mean")] == 0.5 and np.isnan(t.loc[DBEST, ("all", "mean rank")])
    assert list(t.index) == ["y", "x", "z", DBEST]
    raw = leaderboard(DF, raw=True)
    assert raw.loc["x", ("a", "mean")] == pytest.approx(8.0)
    assert raw[("all", "mean score")].isna().all()  # raw scales differ across tasks
    assert leaderboard(DF, percentile=50).loc["y", ("b", "mean")] == pytest.approx(0.15)


def test_mean_rank_is_over_labels_with_every_task_and_ignores_incomplete_rows():
    # item 13: w (task a only, best there) used to push x from rank 1 to 2 on task a
    t = leaderboard(pd.concat([DF, _df([("a", "w", 0, 0.95, 0.5)])]))
    assert t.loc["w", ("a", "mean")] == pytest.approx(0.95)
    assert np.isnan(t.loc["w", ("all", "mean score")]) and np.isnan(t.loc["w", ("all", "mean rank")])
    before = leaderboard(DF)
    for label in "xyz":
        assert t.loc[label, ("all", "mean rank")] == before.loc[label, ("all", "mean rank")]
    assert "among the 3 labels that have every task shown" in t.attrs["rank"]


def test_mixed_budgets_need_a_choice():
    df = pd.concat([DF, _df([("a", "x", 5, 0.1, 0.5)]).assign(budget=256)])
    with pytest.raises(ConfigError, match="several budgets"):
        leaderboard(df)
    assert leaderboard(df, budget=256).loc["x", ("a", "n")] == 1
    with pytest.raises(ConfigError, match="percentile"):
        leaderboard(DF, percentile=90)


def test_seed_aggregates_against_hand_computation():
    vals = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 5.0]
    df = _df([("a", "x", s, v, 0.5) for s, v in enumerate(vals)])
    assert leaderboard(df, aggregate="median").loc["x", ("a", "median")] == pytest.approx(0.45)
    # IQM of 8 runs drops the 2 lowest and 2 highest: mean(0.3, 0.4, 0.5, 0.6)
    assert leaderboard(df, aggregate="iqm").loc["x", ("a", "iqm")] == pytest.approx(0.45)
    assert leaderboard(df).loc["x", ("a", "mean")] == pytest.approx(np.mean(vals))
    with pytest.raises(ConfigError, match="aggregate"):
        leaderboard(df, aggregate="max")


def test_cell_bootstrap_ci_against_hand_computation():
    # two seeds a, b: resampled means are a, (a+b)/2, b with probability 1/4, 1/2, 1/4,
    # so the 2.5% and 97.5% quantiles are exactly a and b
    assert cell_ci(np.array([0.2, 0.6])) == pytest.approx((0.2, 0.6))
    lo, hi = cell_ci(np.array([0.7]))
    assert np.isnan(lo) and np.isnan(hi)  # one seed: no interval
    assert cell_ci(np.array([0.3, 0.3, 0.3])) == pytest.approx((0.3, 0.3))
    # reproducible: a fixed RNG seed
    v = np.array([0.1, 0.5, 0.4, 0.9, 0.3])
    assert cell_ci(v) == cell_ci(v)
    lo, hi = cell_ci(v, confidence=0.5)
    lo95, hi95 = cell_ci(v)
    assert lo95 <= lo <= np.mean(v) <= hi <= hi95


def test_iqm_across_tasks_stratified_bootstrap_against_hand_computation():
    # task A runs [0, 1], task B a single run 0.5 (kept fixed). IQM of 3 pooled values trims
    # int(0.25 * 3) = 0 per side, so it is their mean. Resampling A within its stratum gives
    # pooled means 1/6 (p 1/4), 1/2 (p 1/2), 5/6 (p 1/4): the 95% interval is [1/6, 5/6].
    point, lo, hi = iqm_across_tasks([np.array([0.0, 1.0]), np.array([0.5])])
    assert point == pytest.approx(0.5)
    assert (lo, hi) == pytest.approx((1 / 6, 5 / 6))
    # 8 pooled runs: IQM = mean of the middle four
    point, lo, hi = iqm_across_tasks([np.array([1.0, 2, 3, 4]), np.array([5.0, 6, 7, 8])])
    assert point == pytest.approx(4.5)
    assert lo <= point <= hi
    # stratified: no resample moves a run to another task, so constant tasks give a point interval;
    # 7 pooled values trim int(0.25 * 7) = 1 per side: mean(0.2, 0.2, 0.9, 0.9, 0.9) = 0.62
    assert iqm_across_tasks([np.full(3, 0.2), np.full(4, 0.9)]) == pytest.approx((0.62, 0.62, 0.62))


def test_probability_of_improvement_against_hand_computation():
    # task 1: x=[1,3] vs y=[2,2] → pairs (1>2 no, 1>2 no, 3>2, 3>2) = 0.5
    # task 2: x=[5,5] vs y=[5,4] → (5=5 ½, 5>4 1) twice = 0.75; average over tasks 0.625
    p, lo, hi = probability_of_improvement([np.array([1.0, 3]), np.array([5.0, 5])],
                                           [np.array([2.0, 2]), np.array([5.0, 4])])
    assert p == pytest.approx(0.625)
    assert 0 <= lo <= p <= hi <= 1
    same = probability_of_improvement([np.array([0.3, 0.7])], [np.array([0.3, 0.7])])
    assert same[0] == pytest.approx(0.5)
    always = probability_of_improvement([np.array([0.9, 0.8])], [np.array([0.1, 0.2])])
    assert always == pytest.approx((1.0, 1.0, 1.0))


def test_leaderboard_ci_iqm_and_versus_columns():
    rng = np.random.default_rng(0)
    rows = [(t, lab, s, float(np.clip(mu + 0.05 * rng.standard_normal(), 0, 1)), 0.4)
            for t in ("a", "b") for lab, mu in (("good", 0.9), ("base", 0.6)) for s in range(4)]
    t = leaderboard(_df(rows), ci=95, versus="base")
    assert t.loc["good", ("all", "poi")] == pytest.approx(1.0)
    assert t.loc["base", ("all", "poi")] == pytest.approx(0.5)
    assert t.loc["good", ("a", "lo")] <= t.loc["good", ("a", "mean")] <= t.loc["good", ("a", "hi")]
    assert t.loc["good", ("all", "iqm lo")] <= t.loc["good", ("all", "iqm")] <= t.loc["good", ("all", "iqm hi")]
    text = format_table(t, "table")
    assert "P(> base)" in text and "IQM" in text and "95% percentile bootstrap CI over seeds" in text
    with pytest.raises(ConfigError, match="no such label"):
        leaderboard(_df(rows), ci=95, versus="bse")
    with pytest.raises(ConfigError, match="percent"):
        leaderboard(_df(rows), ci=0.95 * 0)


def test_every_format_states_its_protocol_and_n_in_every_cell(tmp_path):
    t = leaderboard(DF)
    for fmt in ("table", "md", "latex", "csv"):
        text = format_table(t, fmt)
        for needle in ("100th percentile (max) of each run's Q normalized scores", "Q = 128",
                       "seeds) per cell shown in every cell", "normalized: (y - y_min)", "profiles: quick",
                       "ddof = 1", "mean rank"):
            assert needle in text, (fmt, needle)
        assert "percentile over seeds" not in text
    md = format_table(t, "md")
    assert md.startswith("**Protocol.**")
    assert "| optimizer | a | b | mean score | mean rank |" in md
    assert "0.800 ± 0.141 (n=2)" in md and "0.600 (n=1)" in md  # n in every cell, not only odd ones
    assert "$\\pm$" in format_table(t, "latex") and "\\toprule" in format_table(t, "latex")
    csv = format_table(t, "csv")
    back = pd.read_csv(io.StringIO(csv), comment="#")
    assert list(back.columns[:4]) == ["optimizer", "a_mean", "a_std", "a_n"]
    path = plot(t, tmp_path / "lb.png")
    assert path.stat().st_size > 1000


def _record(root, task, optimizer, seed, p100, *, label=None, profile=None, budget=128, overrides=None,
            dbest=0.4, diagnostics=None, folder="x", rid=None):
    label = label or optimizer
    rid = rid or f"{task}-{label}-{seed}-{budget}".replace("[", "_").replace("]", "_").replace(",", "_")
    rec = {"record_version": 1, "run_id": rid, "task": task, "optimizer": optimizer, "label": label,
           "profile": profile, "overrides": overrides or {}, "seed": seed, "budget": budget, "status": "ok",
           "error": None, "dataset_best": {"raw": dbest, "normalized": dbest},
           "summary": {"normalized": {"p100": p100, "p75": p100 - 0.1, "p50": p100 - 0.2, "p25": p100 - 0.3,
                                      "mean": p100 - 0.2},
                       "raw": {"p100": p100, "p75": p100 - 0.1, "p50": p100 - 0.2, "p25": p100 - 0.3,
                               "mean": p100 - 0.2}}}
    if diagnostics is not None:
        rec["diagnostics"] = diagnostics
    path = root / folder / "records" / task / label / f"{rid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))
    return rec


def test_diagnostics_tables_and_records_without_them(tmp_path):
    diag = {"novelty": 0.5, "diversity": 4.0, "distinct": 128, "clipped": 0, "optimizer": {"fit": 0.9}}
    for s in range(3):
        _record(tmp_path, "tfbind8", "random", s, 0.9, diagnostics={**diag, "novelty": 0.5 + 0.01 * s})
        _record(tmp_path, "tfbind8", "dataset-best", s, 0.44, diagnostics={**diag, "novelty": 0.0})
    _record(tmp_path, "tfbind8", "grad-ascent", 0, 0.95)  # an older record: no diagnostics key
    _record(tmp_path, "tfbind8", "grad-ascent", 1, 0.96, diagnostics={"optimizer": {}})  # datadiag not yet in
    df = load_records(tmp_path)  # a folder of results folders
    assert len(df) == 8 and df.loc[df["optimizer"] == "grad-ascent", "diag_novelty"].isna().all()
    t = leaderboard(df, stat="novelty")
    assert t.loc["random", ("tfbind8", "mean")] == pytest.approx(0.51)
    assert t.loc["dataset-best", ("tfbind8", "mean")] == 0.0
    assert "grad-ascent" not in t.index and DBEST not in t.index
    assert ("all", "mean rank") not in t.columns and "not ranked" in t.attrs["rank"]
    text = format_table(t, "md")
    assert "share of candidates not in the offline set" in text and "(n=3)" in text
    only_old = df[df["optimizer"] == "grad-ascent"]
    with pytest.raises(ConfigError, match="no record has diagnostics.diversity"):
        leaderboard(only_old, stat="diversity")


def test_same_run_in_two_results_folders_counts_once(tmp_path):
    _record(tmp_path, "tfbind8", "random", 0, 0.9, folder="a", rid="same")
    _record(tmp_path, "tfbind8", "random", 0, 0.9, folder="b", rid="same")
    _record(tmp_path, "tfbind8", "random", 1, 0.8, folder="b")
    df = load_records(tmp_path)
    assert len(df) == 2
    assert len(load_records(tmp_path / "a")) == 1  # a results folder itself still works


def test_dataset_best_above_dbest_is_explained_where_printed():
    df = _df([("tfbind10", "dataset-best", s, 0.603, 0.467) for s in range(3)])
    df["optimizer"] = "dataset-best"
    text = format_table(leaderboard(df), "table")
    assert "dataset-best on tfbind10 scores 0.603 while D(best) is 0.467" in text
    assert "last occurrence" in text and "results/design_bench/NOTES.md" in text
    same = _df([("tfbind8", "dataset-best", 0, 0.439, 0.439)]).assign(optimizer="dataset-best")
    assert "dbest note" not in leaderboard(same).attrs


def test_interval_plot_and_cli(tmp_path):
    for t, (g, b) in {"t1": (0.9, 0.5), "t2": (0.8, 0.6)}.items():
        for s in range(3):
            _record(tmp_path, t, "good", s, g + 0.01 * s, diagnostics={"novelty": 0.2, "diversity": 1.0})
            _record(tmp_path, t, "random", s, b - 0.01 * s, diagnostics={"novelty": 0.5, "diversity": 3.0})
    table = leaderboard(load_records(tmp_path), ci=95, versus="random")
    assert plot_intervals(table, tmp_path / "iv.png").stat().st_size > 1000
    assert any(line.startswith("across tasks: IQM") for line in protocol_lines(table))
    r = CliRunner()
    png = tmp_path / "lb.png"
    res = r.invoke(main, ["leaderboard", "--results-dir", str(tmp_path), "--ci", "95", "--versus", "random",
                          "--aggregate", "median", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert "P(> random)" in res.output and "median over seeds" in res.output
    assert png.exists() and (tmp_path / "lb_intervals.png").exists()
    res = r.invoke(main, ["leaderboard", "--results-dir", str(tmp_path), "--stat", "diversity", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert "# statistic: diversity" in res.output
    res = r.invoke(main, ["leaderboard", "--results-dir", str(tmp_path), "--tasks", "t1,nosuch"])
    assert res.exit_code == 2 and "nosuch" in res.output

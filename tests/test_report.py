"""Leaderboard statistics, ranks, formats and plots."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mbo.errors import ConfigError
from mbo.report import DBEST, format_table, leaderboard, plot


def _df(rows):
    base = {"status": "ok", "budget": 128, "optimizer": None}
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


def test_mixed_budgets_need_a_choice():
    df = pd.concat([DF, _df([("a", "x", 5, 0.1, 0.5)]).assign(budget=256)])
    with pytest.raises(ConfigError, match="several budgets"):
        leaderboard(df)
    assert leaderboard(df, budget=256).loc["x", ("a", "n")] == 1
    with pytest.raises(ConfigError, match="percentile"):
        leaderboard(DF, percentile=90)


def test_formats_and_plot(tmp_path):
    t = leaderboard(DF)
    md = format_table(t, "md")
    assert md.splitlines()[0].startswith("| optimizer | a | b | mean score | mean rank |")
    assert "0.800 ± 0.141" in md
    assert "$\\pm$" in format_table(t, "latex") and "\\toprule" in format_table(t, "latex")
    csv = format_table(t, "csv")
    assert csv.splitlines()[0].startswith("optimizer,a_mean,a_std,a_n")
    assert "0.800 ± 0.141" in format_table(t, "table")
    path = plot(t, tmp_path / "lb.png")
    assert path.stat().st_size > 1000

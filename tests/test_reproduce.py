"""The papers' cells as data, and ``mbo reproduce``: matching, verdicts, null baselines, protocol."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mbo import registry
from mbo.cli import main
from mbo.reference import papers, parse_spec, same_overrides
from mbo.reference.reproduce import compare, counts, render
from mbo.report import load_records
from tests.test_report import _record


def _cell(paper, table, method, task, statistic="p100"):
    ref = papers()
    hit = ref[(ref["paper"] == paper) & (ref["table"] == table) & (ref["method"] == method) & (ref["task"] == task)
              & (ref["statistic"] == statistic)]
    assert len(hit) == 1, (paper, table, method, task, len(hit))
    return hit.iloc[0]


N2CE, DEMO, DB, BNEM = ("Yu et al. (N2CE)", "Yuan et al. 2025 (DEMO)", "Trabucco et al. 2022 (Design-Bench)",
                        "OuYang et al. (BNEM poster)")


@pytest.mark.parametrize("paper, table, method, task, stat, scale, q, trials, value, spread, kind, mbo", [
    # n2ce.md:812  "| Ours | **0.990 ± 0.003** | **0.803 ± 0.085** | **0.661 ± 0.025** | ..." (Tab. 7)
    (N2CE, "7", "Ours", "tfbind10", "p100", "normalized", 256, 5, 0.803, 0.085, "std", "n2ce"),
    # n2ce.md:796  "| −6.1 / −0.4 | −4.0 ± 4.3 | −1.8 ± 0.8 | −1.6 ± 0.1 | −0.4 ± 0.1 |" (Tab. 6: GA, BONET, DDOM, Ours)
    (N2CE, "6", "DDOM", "branin", "p100", "raw", 128, 5, -1.6, 0.1, "std", "ddom|ddom@branin-ref"),
    # n2ce.md:859  "| DDOM | 0.971 ± 0.005 | 0.885 ± 0.367 | 387950.000 ± 1050.000 | ..." (Tab. 21, raw)
    (N2CE, "21", "DDOM", "chembl", "p100", "raw", 256, 5, 387950.0, 1050.0, "std", "ddom"),
    # n2ce.md:871  "| Gradient Ascent | 0.572 ± 0.024 | 0.470 ± 0.004 | ..." (Tab. 22, 50th percentile)
    (N2CE, "22", "Gradient Ascent", "tfbind8", "p50", "normalized", 256, 5, 0.572, 0.024, "std", "grad-ascent"),
    # n2ce.md:899  "| MINs | 0.905 ± 0.052 | 0.616 ± 0.021 | 0.499 ± 0.017 | 0.445 ± 0.080 | ..." (Tab. 23, Q = 128)
    (N2CE, "23", "MINs", "ant", "p100", "normalized", 128, 8, 0.445, 0.080, "std", "mins"),  # Design-Bench's 8
    # demo.md:505  "| **DEMO** | **0.982 ± 0.016** | **0.762 ± 0.058** | 0.753 ± 0.017 | ..." (Table 2)
    (DEMO, "2", "DEMO", "tfbind10", "p100", "normalized", 128, 8, 0.762, 0.058, "s.e.", "demo"),
    # demo.md:567  "| TF8 | 8 | 0.980 ± 0.004 | 0.965 ± 0.008 | 0.420 ± 0.004 |" (DEMO, Grad-only, Diffusion-only)
    (DEMO, "ablation (Fig. 2a)", "Grad-only", "tfbind8", "p100", "normalized", 128, 8, 0.965, 0.008, "s.e.",
     "demo[edit=false]"),
    # baselines.md:461  "| CMA-ES | 0.953 ± 0.022 | 0.670 ± 0.023 | 0.465 ± 0.024 | 1.214 ± 0.732 (1.219 ± 0.738) | ..."
    (DB, "§9.1", "CMA-ES", "ant", "p100", "normalized", 128, 8, 1.214, 0.732, "std", "cma-es"),
    # baselines.md:465  "| MINs | 0.905 ± 0.052 | 0.616 ± 0.021 | 0.469 ± 0.023 [RM] | ..."
    (DB, "§9.1", "MINs", "superconductor", "p100", "normalized", 128, 8, 0.469, 0.023, "std", "mins"),
])
def test_cells_match_the_method_notes(paper, table, method, task, stat, scale, q, trials, value, spread, kind, mbo):
    c = _cell(paper, table, method, task, stat)
    assert (c["scale"], c["Q"], c["trials"], c["spread_kind"], c["mbo"]) == (scale, q, trials, kind, mbo)
    assert c["value"] == pytest.approx(value) and c["spread"] == pytest.approx(spread)


def test_special_cells():
    # n2ce.md:822  "| D (best) (reordered) | 0.439 | 0.467 | 0.605 | 0.399 | 0.565 | 0.884 | – |"
    c = _cell(N2CE, "8", "D (best) (reordered)", "chembl")
    assert c["value"] == pytest.approx(0.605) and c["mbo"] == "D(best)" and "wrong column order" in c["note"]
    # baselines.md:461: the README value in brackets is kept in the note
    assert "1.219 ± 0.738" in _cell(DB, "§9.1", "CMA-ES", "ant")["note"]
    # bnem.md:469  "| BNEM (ours) | 3.652 | 2.973 | 0.830 | 0.467 | 0.458 | 0.134 |"  (no spread, no Q)
    c = _cell(BNEM, "1", "BNEM (ours)", "gmm40", "E-W2")
    assert c["value"] == pytest.approx(2.973) and np.isnan(c["spread"]) and np.isnan(c["Q"])
    # Tab. 8: the NCE ablation maps to both spellings of M = 1
    assert parse_spec(_cell(N2CE, "8", "NCE-LEBM (M=1, K=6) [SVGD sampler]", "tfbind8")["mbo"]) == [
        ("n2ce", {"prior": "nce"}, "paper"), ("n2ce", {"M": "1"}, "paper")]
    # N²CE Tab. 6 DDOM on Branin comes from the reference's separate Branin pipeline: profile branin-ref
    assert parse_spec(_cell(N2CE, "6", "DDOM", "branin")["mbo"]) == [("ddom", {}, "paper"), ("ddom", {}, "branin-ref")]


def test_n2ce_table22_shifted_columns_carry_the_right_task():
    """N²CE Tab. 22 prints the Supercon./Ant/D'Kitty/ChEMBL values under ChEMBL/Supercon./Ant/D'Kitty
    (n2ce.md:874 "| ChAS | 0.422 ± 0.007 | 0.458 ± 0.001 | 0.111 ± 0.009 | 0.384 ± 0.010 | 0.752 ± 0.003 |
    0.633 ± 0.000 |"); Tab. 25 gives the same CbAS as Supercon. 0.111, Ant 0.384, D'Kitty 0.753."""
    ref = papers()
    t22 = ref[(ref["paper"] == N2CE) & (ref["table"] == "22")]
    assert len(t22) == 54 and t22["note"].str.contains("columns are shifted").sum() == 36
    cbas = {r["task"]: r["value"] for _, r in t22[t22["mbo"] == "cbas"].iterrows()}
    t25 = {r["task"]: r["value"] for _, r in ref[(ref["paper"] == N2CE) & (ref["table"] == "25")
                                                  & (ref["mbo"] == "cbas")].iterrows()}
    assert cbas["superconductor"] == t25["superconductor"] == pytest.approx(0.111)
    assert cbas["ant"] == t25["ant"] == pytest.approx(0.384)
    assert cbas["dkitty"] == pytest.approx(0.752) and t25["dkitty"] == pytest.approx(0.753)
    assert cbas["chembl"] == pytest.approx(0.633) and "printed in the D'Kitty column" in t22[
        (t22["mbo"] == "cbas") & (t22["task"] == "chembl")]["note"].iloc[0]
    copied = ref[(ref["paper"] == N2CE) & ref["table"].isin(["23", "25"])
                 & ref["method"].isin(["GP-qEI", "CMA-ES", "REINFORCE", "CbAS", "Auto.CbAS", "MINs"])]
    assert len(copied) == 60 and (copied["trials"] == 8).all()


def test_reference_table_is_well_formed():
    ref = papers()
    assert len(ref) > 600 and not ref["value"].isna().all()
    assert (ref["spread"].dropna() >= 0).all()
    assert set(ref["scale"]) == {"normalized", "raw"}
    assert set(ref["spread_kind"]) <= {"std", "s.e.", ""}
    assert not ref.duplicated(["paper", "table", "method", "task", "statistic"]).any()
    design_tasks = {"tfbind8", "tfbind10", "chembl", "superconductor", "ant", "dkitty", "levy", "branin"}
    assert design_tasks <= set(registry.names("task"))
    assert set(ref["task"]) <= design_tasks | {"nas", "branin-n50", "gmm40", "dw4"}
    for spec in ref["mbo"]:
        for name, overrides, profile in parse_spec(spec):
            assert name and profile and all(k and v for k, v in overrides.items()), spec
    assert set(ref["source"].str.split(":").str[0]) == {"n2ce.md", "demo.md", "baselines.md", "bnem.md"}


def test_override_matching():
    assert same_overrides({"M": 1}, {"M": "1"}) and same_overrides({"M": 1.0}, {"M": "1"})
    assert same_overrides({"use_reweighting": False}, {"use_reweighting": "false"})
    assert not same_overrides({"M": 10}, {"M": "1"}) and not same_overrides({}, {"M": "1"})
    assert same_overrides(None, {})


REF = pd.DataFrame([
    # paper, table, method, mbo, task, statistic, scale, Q, trials, value, spread, spread_kind
    ("P", "1", "Ours", "n2ce", "tfbind8", "p100", "normalized", 128, 5, 0.90, 0.01, "std"),
    ("P", "1", "GA", "grad-ascent", "tfbind8", "p100", "normalized", 128, 5, 0.95, 0.01, "std"),
    ("P", "1", "GA", "grad-ascent", "tfbind10", "p100", "normalized", 128, 5, 0.50, 0.0, "std"),
    ("P", "1", "NCE", "n2ce[prior=nce]|n2ce[M=1]", "tfbind8", "p100", "normalized", 128, 5, 0.80, 0.05, "std"),
    ("P", "1", "DDOM", "ddom", "tfbind8", "p100", "normalized", 128, 5, 0.97, 0.01, "std"),
    ("P", "1", "DEMO", "demo", "tfbind8", "p100", "normalized", 128, 8, 0.98, 0.01, "s.e."),
    ("P", "1", "D(best)", "D(best)", "tfbind8", "p100", "normalized", 128, np.nan, 0.439, np.nan, ""),
    ("P", "2", "Ours", "n2ce", "tfbind8", "p50", "normalized", 256, 5, 0.41, 0.01, "std"),
    ("P", "3", "BONET", "", "tfbind8", "p100", "normalized", 128, 5, 0.97, 0.01, "std"),
], columns=["paper", "table", "method", "mbo", "task", "statistic", "scale", "Q", "trials", "value", "spread",
            "spread_kind"]).assign(note="", source="x.md:1")


@pytest.fixture
def runs(tmp_path):
    def rec(task, *args, **kw):
        _record(tmp_path, task, *args, dbest={"tfbind8": 0.4393, "tfbind10": 0.467}[task], **kw)

    for s in range(3):
        rec("tfbind8", "n2ce", s, 0.90 + 0.01 * (s - 1))                           # within
        rec("tfbind8", "grad-ascent", s, 0.99)                                     # above
        rec("tfbind10", "grad-ascent", s, 0.45)                                    # below (the 0.02 floor)
        rec("tfbind8", "n2ce", s, 0.81, label="n2ce[M=1]", overrides={"M": 1})     # within, through M=1
        rec("tfbind8", "ddom", s, 0.93, label="ddom[quick]", profile="quick")      # not comparable
        rec("tfbind8", "n2ce", s, 0.60, budget=256, label="n2ce")                  # Q = 256: the p50 cell
        rec("tfbind8", "random", s, 0.92 + 0.01 * s)
        rec("tfbind8", "dataset-best", s, 0.439)
        rec("tfbind10", "dataset-best", s, 0.603)
    return tmp_path


def test_verdicts_null_baselines_and_counts(runs):
    t = compare(load_records(runs), REF)
    assert "BONET" not in set(t["method"])  # no mbo method: not listed
    by = {(r["method"], r["task"], r["table"], r["label"], r["runs_Q"] if r["runs_Q"] == r["runs_Q"] else None):
          r for _, r in t.iterrows()}
    ours = by[("Ours", "tfbind8", "1", "n2ce", 128)]
    assert ours["verdict"] == "within" and ours["n"] == 3
    assert ours["ours"] == pytest.approx(0.90) and ours["ours_std"] == pytest.approx(0.01)  # ddof = 1
    assert ours["delta_units"] == pytest.approx(0.0, abs=1e-9)
    assert ours["random"] == pytest.approx(0.93) and ours["random_n"] == 3
    assert ours["dataset_best"] == pytest.approx(0.439)
    ga = by[("GA", "tfbind8", "1", "grad-ascent", 128)]
    assert ga["verdict"] == "above" and ga["delta_units"] == pytest.approx(4.0)  # 0.04 > 2 · 0.01
    ga10 = by[("GA", "tfbind10", "1", "grad-ascent", 128)]
    assert ga10["verdict"] == "below" and np.isnan(ga10["delta_units"])  # spread 0: band is the 0.02 floor
    assert ga10["dataset_best"] == pytest.approx(0.603)
    assert by[("NCE", "tfbind8", "1", "n2ce[M=1]", 128)]["verdict"] == "within"
    quick = by[("DDOM", "tfbind8", "1", "ddom[quick]", 128)]
    assert quick["verdict"] == "not comparable" and quick["ours"] == pytest.approx(0.93)  # shown, not compared
    # the Q = 256 runs are shown against the Q = 128 cell but not compared; the Q = 256 p50 cell is compared
    assert by[("Ours", "tfbind8", "1", "n2ce", 256)]["verdict"] == "not comparable"
    p50 = by[("Ours", "tfbind8", "2", "n2ce", 256)]
    assert p50["verdict"] == "within" and p50["ours"] == pytest.approx(0.40)  # the records' p50 = p100 - 0.2
    assert by[("DEMO", "tfbind8", "1", "", None)]["verdict"] == "not run"
    assert by[("D(best)", "tfbind8", "1", "D(best)", None)]["verdict"] == "within"
    assert counts(t) == {"within": 4, "above": 1, "below": 1, "not comparable": 1, "not run": 1}


def test_a_cell_can_name_the_profile_that_follows_the_papers_protocol(tmp_path):
    ref = REF.iloc[[4]].assign(mbo="ddom|ddom@branin-ref")  # the DDOM cell, 0.97 ± 0.01 at Q = 128
    for s in range(3):
        _record(tmp_path, "tfbind8", "ddom", s, 0.97, dbest=0.4393, label="ddom[branin-ref]", profile="branin-ref")
        _record(tmp_path, "tfbind8", "ddom", s, 0.97, dbest=0.4393, label="ddom[quick]", profile="quick")
    by = {r["label"]: r for _, r in compare(load_records(tmp_path), ref).iterrows()}
    assert by["ddom[branin-ref]"]["verdict"] == "within"
    assert by["ddom[quick]"]["verdict"] == "not comparable"


def test_render_formats_state_protocol(runs):
    t = compare(load_records(runs), REF)
    md = render(t, "md", source=str(runs))
    assert "within: 4, above: 1, below: 1, not comparable: 1, not run: 1" in md
    for needle in ("ddof = 1", "percentile of its Q candidates", "y_min, y_max over the task's full dataset",
                   "a [quick] run is never compared", "max(2 · paper spread, 0.02)", "## Cells not run"):
        assert needle in md, needle
    assert "dataset-best on tfbind10 scores 0.603 while D(best) is 0.467" in md
    csv = render(t, "csv")
    back = pd.read_csv(io.StringIO(csv), comment="#")
    assert {"verdict", "random", "dataset_best", "n", "profile", "runs_Q"} <= set(back.columns)
    tex = render(t, "latex")
    assert tex.startswith("% paper:") and "\\begin{tabular}" in tex and "$\\pm$" in tex


def test_cli_reproduce(runs, tmp_path):
    out = tmp_path / "R.md"
    res = CliRunner().invoke(main, ["reproduce", "--results-dir", str(runs), "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "ddom[quick]" in text and "not comparable" in text
    res = CliRunner().invoke(main, ["reproduce", "--results-dir", str(runs), "--format", "csv"])
    assert res.exit_code == 0 and "verdict" in res.output


def test_design_bench_lineage_cells_use_the_papers_median_and_spread(tmp_path):
    """A Design-Bench p50 cell is compared with TFP's 'nearest' median computed from the stored scores
    (records made before ``p50_tfp_nearest`` existed), and ours is shown as a population std; a DEMO
    cell's spread as a standard error; another paper's as a sample std."""
    ref = pd.DataFrame([
        (DB, "§9.2", "CMA-ES", "cma-es", "tfbind8", "p50", "normalized", 128, 8, 0.63, 0.001, "std"),
        (DEMO, "3", "CMA-ES", "cma-es", "tfbind8", "p50", "normalized", 128, 8, 0.63, 0.001, "s.e."),
        ("P", "1", "CMA-ES", "cma-es", "tfbind8", "p50", "normalized", 128, 8, 0.635, 0.001, "std"),
    ], columns=REF.columns[:12]).assign(note="", source="x.md:1")
    base = np.arange(128) * 0.01  # ascending index i scores 0.01 i: TFP's median 0.63, linear 0.635
    for s, shift in enumerate((-0.01, 0.0, 0.01)):
        rec = _record(tmp_path, "tfbind8", "cma-es", s, 1.27 + shift)
        scores = np.random.default_rng(s).permutation(base + shift)
        rec["scores"] = {"normalized": scores.tolist(), "raw": scores.tolist()}
        rec["summary"]["normalized"]["p50"] = float(np.percentile(scores, 50))
        path = tmp_path / "x" / "records" / "tfbind8" / "cma-es" / f"{rec['run_id']}.json"
        path.write_text(json.dumps(rec))
    df = load_records(tmp_path)
    assert df["p50_tfp_nearest"].to_numpy() == pytest.approx([0.62, 0.63, 0.64])
    t = compare(df, ref).set_index("paper")
    db, demo, other = t.loc[DB], t.loc[DEMO], t.loc["P"]
    assert db["stat_column"] == demo["stat_column"] == "p50_tfp_nearest" and other["stat_column"] == "p50"
    assert db["ours"] == pytest.approx(0.63) and db["verdict"] == "within"  # the linear median is 0.635
    assert other["ours"] == pytest.approx(0.635)
    assert db["ours_spread_kind"] == "std0" and db["ours_spread"] == pytest.approx(np.sqrt(2 / 3) * 0.01)
    assert demo["ours_spread_kind"] == "s.e." and demo["ours_spread"] == pytest.approx(0.01 / np.sqrt(3))
    assert other["ours_spread_kind"] == "std1" and other["ours_spread"] == pytest.approx(0.01)
    assert other["ours_std"] == db["ours_std"] == pytest.approx(0.01)  # the ddof = 1 column is kept
    md = render(compare(df, ref), "md", source=str(tmp_path))
    assert "p50 TFP-nearest norm" in md and "std ddof=0, n=3" in md and "s.e., n=3" in md
    assert "round-half-to-even" in md


def test_a_task_variant_is_shown_beside_its_task_but_not_compared(tmp_path):
    """tfbind10-fixed runs (one subset for every seed) stand beside the tfbind10 cells, not compared."""
    ref = REF.iloc[[2, 6]].assign(task="tfbind10")  # GA 0.50 ± 0.0 and D(best) 0.439 on tfbind10
    for s in range(3):
        _record(tmp_path, "tfbind10-fixed", "grad-ascent", s, 0.50, dbest=0.439)
    t = compare(load_records(tmp_path), ref)
    ga = t[t["method"] == "GA"].iloc[0]
    assert ga["runs_task"] == "tfbind10-fixed" and ga["verdict"] == "not comparable" and ga["n"] == 3
    assert t[t["method"] == "D(best)"].iloc[0]["verdict"] == "within"
    assert "on tfbind10-fixed" in render(t, "md", source=str(tmp_path))

"""Experiments as data: the loader's checks, `mbo sweep --plan`, `mbo report`, and the one-store migration."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mbo import store
from mbo.cli import main
from mbo.errors import MBOError
from mbo.experiment import embed, load, plot_digest
from mbo.migrate import fold, migrate, relabel, variant_run_id
from mbo.report import format_summary, load_records, summary

ROOT = Path(__file__).resolve().parent.parent

STUDY = """
description = "grad-ascent against the nulls on Branin"
tasks = ["branin"]
seeds = "0-1"
budgets = [8]
nulls = ["random", "dataset-best"]
embed = ["REPORT.md"]

[[optimizers]]
name = "grad-ascent"
profile = "quick"
set = {{ {sets} }}
label = "ga-short"

[[tables]]
name = "p100"
ci = 95
versus = "random"

[[tables]]
name = "p50"
percentile = "50"
nulls = false

[[tables]]
kind = "summary"
name = "runs"
columns = ["seeds", "p100", "p50_tfp", "per-seed p100", {{ column = "config num_steps", header = "steps" }},
           "time total"]

[[plots]]
name = "board"

[[plots]]
name = "intervals"
kind = "intervals"
ci = 95
versus = "random"
"""


def _study(tmp_path, sets="num_steps = 5, epochs = 2, hidden_size = 16", **replace):
    text = STUDY.format(sets=sets)
    for old, new in replace.items():
        text = text.replace(old, new)
    (tmp_path / "experiments").mkdir(exist_ok=True)
    path = tmp_path / "experiments" / "study.toml"
    path.write_text(text)
    return path


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_loader_grid_labels_and_nulls(tmp_path):
    exp = load(_study(tmp_path))
    assert exp.name == "study" and exp.seeds == (0, 1) and exp.budgets == (8,)
    assert [e.label for e in exp.entries] == ["ga-short[quick]", "random", "dataset-best"]
    assert len(list(exp.cells())) == 3 * 2
    assert [t.name for t in exp.tables] == ["p100", "p50", "runs"] and exp.tables[0].ci == 95.0
    assert exp.tables[2].kind == "summary" and ("config num_steps", "steps") in exp.tables[2].columns
    assert [(p.name, p.kind, p.file) for p in exp.plots] == [("board", "leaderboard", "board.png"),
                                                             ("intervals", "intervals", "intervals.png")]


def test_per_optimizer_seeds_and_the_nulls_follow_them(tmp_path):
    text = _study(tmp_path).read_text().replace('seeds = "0-1"', 'seeds = "0-4"').replace(
        'label = "ga-short"', 'label = "ga-short"\nseeds = [1, 3]')
    path = tmp_path / "experiments" / "study.toml"
    path.write_text(text)
    exp = load(path)
    cells = [(e.label, s) for e, _, _, s in exp.cells()]
    assert cells == [("ga-short[quick]", 1), ("ga-short[quick]", 3), ("random", 1), ("random", 3),
                     ("dataset-best", 1), ("dataset-best", 3)]
    path.write_text(text.replace('label = "ga-short"', 'label = "ga-short"\narchived = true'))
    exp = load(path)  # archived: records of earlier code, reported but never planned again
    assert [e.label for e, *_ in exp.cells()] == ["random"] * 2 + ["dataset-best"] * 2
    assert [e.label for e, *_ in exp.cells(archived=True)][:2] == ["ga-short[quick]"] * 2
    res = _invoke("sweep", "--plan", path, "--results-dir", tmp_path / "r", "--quiet")
    assert res.exit_code == 0, res.output
    assert "not re-run (archived: records of earlier code): ga-short[quick]" in res.output
    assert "sweep: 4 runs" in res.output  # the nulls only
    assert {p.parent.name for p in (tmp_path / "r" / "records" / "branin").glob("*/*.json")} == {"random",
                                                                                                "dataset-best"}


def test_an_optimizer_can_run_on_a_subset_of_the_seeds(tmp_path):
    exp = load(_study(tmp_path, **{'label = "ga-short"': 'label = "ga-short"\nseeds = [1]'}))
    assert [(e.label, s) for e, _, _, s in exp.cells()] == [("ga-short[quick]", 1), ("random", 1),
                                                          ("dataset-best", 1)]  # nulls where the grid runs
    with pytest.raises(MBOError, match="seed 7 is not among the study's seeds"):
        load(_study(tmp_path, **{'label = "ga-short"': 'label = "ga-short"\nseeds = "7"'}))


def test_the_papers_median_is_a_table_statistic(tmp_path):
    exp = load(_study(tmp_path, **{'percentile = "50"': 'percentile = "50-tfp"'}))
    assert exp.tables[1].percentile == "50-tfp"


@pytest.mark.parametrize("change, message", [
    ({'description =': 'descripton ='}, "unknown key 'descripton'. Did you mean: description?"),
    ({'"grad-ascent"': '"grad-acent"'}, "grad-ascent"),
    ({'profile = "quick"': 'profile = "quik"'}, "no profile 'quik'. Did you mean: quick?"),
    ({'tasks = ["branin"]': 'tasks = ["branon"]'}, "branin"),
    ({'nulls = ["random"': 'nulls = ["randm"'}, "Did you mean: random?"),
    ({'percentile = "50"': 'percentile = "5"'}, "percentile: '5' is not one of"),
    ({'versus = "random"': 'versus = "random"\nbudget = 16'}, "Q = 16 is not among"),
    ({'kind = "summary"': 'kind = "sumary"'}, "'sumary' is not a table kind. Did you mean: summary?"),
    ({'"p50_tfp", "per-seed': '"p50_tpf", "per-seed'}, "summary column 'p50_tpf' is not one of the forms"),
    ({'"time total"]': '"time total", "paper p100"]'}, "paper columns need paper = "),
    ({'"time total"]': '"time total"]\npaper = "Trabuco et al. 2022 (Design-Bench)"'},
     "Did you mean: Trabucco et al. 2022 (Design-Bench)"),
    ({'name = "runs"': 'name = "runs"\npercentile = "50"'}, "'percentile' belongs to leaderboards"),
    ({'"time total"]': '"time total"]\npaper = "Yu et al. (N2CE)"\npaper_table = "66"'}, "Its tables: 19, 21"),
    ({'"time total"]': '"time total"]\npaper = "Yu et al. (N2CE)"\npaper_table = ["6", "7b"]'}, "no table '7b'"),
    ({'kind = "intervals"\nci = 95': 'kind = "intervals"'}, "an intervals plot needs ci"),
    ({'kind = "intervals"': 'kind = "interval"'}, "Did you mean: intervals?"),
    ({'name = "board"': 'name = "runs"\nformat = "md"'}, "unknown key 'format'"),
    ({'label = "ga-short"': 'label = "ga-short"\nseeds = [7]'}, "seed 7 is not among the study's seeds"),
])
def test_loader_names_every_mistake_with_close_matches(tmp_path, change, message):
    with pytest.raises(MBOError, match=None) as err:
        load(_study(tmp_path, **change))
    assert message in str(err.value)


def test_unknown_config_key_fails_before_any_run(tmp_path):
    res = _invoke("sweep", "--plan", _study(tmp_path, sets="num_stepz = 5"), "--results-dir", tmp_path / "r")
    assert res.exit_code == 2 and "no config key 'num_stepz'" in res.output and "Did you mean: num_steps" in res.output
    assert not (tmp_path / "r" / "records").exists() or not any((tmp_path / "r" / "records").rglob("*.json"))


def test_sweep_plan_then_report_is_deterministic_and_fills_marker_blocks(tmp_path):
    plan = _study(tmp_path)
    doc = tmp_path / "REPORT.md"
    doc.write_text("# Study\ntext kept\n<!-- mbo:table study/p50 -->\nstale numbers\n<!-- /mbo:table -->\nend\n")
    out = tmp_path / "out"
    res = _invoke("sweep", "--plan", plan, "--results-dir", out, "--quiet")
    assert res.exit_code == 0, res.output
    assert "sweep: 6 runs, 0 already finished" in res.output
    labels = {p.parent.name for p in (out / "records" / "branin").glob("*/*.json")}
    assert labels == {"ga-short_quick", "random", "dataset-best"}
    again = _invoke("sweep", "--plan", plan, "--results-dir", out)
    assert "6 already finished, 0 to run" in again.output  # resumable: nothing runs twice

    res = _invoke("report", plan, "--results-dir", out)
    assert res.exit_code == 0, res.output
    p100 = (out / "study" / "p100.md").read_text()
    assert "ga-short[quick]" in p100 and "random" in p100 and "P(>" in p100
    p50 = (out / "study" / "p50.md").read_text()
    assert "random" not in p50.split("|", 1)[1]  # nulls = false
    runs = (out / "study" / "runs.md").read_text()
    assert "| configuration | seeds | 100th | 50th TFP-nearest | 100th: seed 0 / 1 | steps | wall s |" in runs
    assert "| ga-short[quick] | 0,1 |" in runs and "| 5 |" in runs and "| random | 0,1 |" in runs
    assert "population" not in runs and "sample std (ddof = 1)" in runs and "paper's columns" not in runs
    for name in ("board.png", "intervals.png"):  # plots: PNGs carrying the digest of the leaderboard they show
        assert (out / "study" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert plot_digest(out / "study" / name).startswith("mbo:")
    text = doc.read_text()
    assert text.startswith("# Study\ntext kept\n<!-- mbo:table study/p50 -->\n") and "stale" not in text
    assert p50 in text and text.endswith("<!-- /mbo:table -->\nend\n")
    before = {p: p.read_bytes() for p in [*(out / "study").iterdir(), doc]}
    res = _invoke("report", plan, "--results-dir", out, "--check")
    assert res.exit_code == 0 and "every table matches" in res.output
    _invoke("report", plan, "--results-dir", out)
    assert {p: p.read_bytes() for p in before} == before  # byte-for-byte
    doc.write_text(text.replace("| ga-short", "| hand-edited"))
    res = _invoke("report", plan, "--results-dir", out, "--check")
    assert res.exit_code == 1 and "REPORT.md" in res.output
    doc.write_text(text)
    (out / "study" / "intervals.png").write_bytes((out / "study" / "board.png").read_bytes())  # another figure
    res = _invoke("report", plan, "--results-dir", out, "--check")
    assert res.exit_code == 1 and "intervals.png" in res.output and "board.png" not in res.output
    res = _invoke("report", plan, "--results-dir", out)
    assert res.output.strip().endswith("intervals.png") and "board.png" not in res.output  # redrawn, only it


def test_embed_leaves_unknown_blocks_and_rejects_unclosed_ones():
    text = "<!-- mbo:table a/x -->\nold\n<!-- /mbo:table -->\n<!-- mbo:table b/y -->\nkeep\n<!-- /mbo:table -->\n"
    new, filled = embed(text, {"a/x": "NEW\n"})
    assert filled == ["a/x"] and "NEW\n<!-- /mbo:table -->" in new and "keep" in new
    with pytest.raises(MBOError, match="close every block"):
        embed("<!-- mbo:table a/x -->\nold\n", {"a/x": "NEW\n"})


def _rec(root: Path, folder: str, rid: str, label: str, status="ok", started="2026-12-01T00:00:00",
         task="tfbind8", name=None) -> Path:
    rec = {"record_version": 1, "run_id": rid, "task": task, "optimizer": label.split("[")[0], "label": label,
           "seed": 0, "budget": 128, "status": status, "started": started}
    path = store.record_path(root / folder if folder else root, task, label, rid).with_name(name or f"{rid}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))
    return path


def test_relabel_drops_work_tracking_numbers_for_what_differs():
    assert relabel("n2ce[quick,issue14]") == "n2ce[quick,v2]"
    assert relabel("n2ce[quick,issue14,lambda1=0]") == "n2ce[quick,v2,lambda1=0]"
    assert relabel("ddom[quick,gamma=0]") == "ddom[quick,gamma=0]" and relabel("random") == "random"


def test_migration_one_copy_per_run_newest_ok_wins_and_is_idempotent(tmp_path):
    r = tmp_path / "results"
    _rec(r, "a", "r1", "random", started="2026-12-01T00:00:00")
    _rec(r, "b", "r1", "random", started="2026-12-03T00:00:00")           # newer duplicate: kept
    _rec(r, "a", "r2", "ddom[quick]", status="failed", started="2026-12-05T00:00:00")
    _rec(r, "b", "r2", "ddom[quick]", started="2026-12-02T00:00:00")      # ok beats a newer failure
    _rec(r, "a", "r3", "n2ce[quick,issue14]", status="failed")            # only a failure: kept
    _rec(r, "", "r4", "coms[quick]")                                      # already in the store
    _rec(r, "b", "r4", "coms[quick]", started="2026-11-01T00:00:00")      # older copy elsewhere
    _rec(r, "b", "r5", "coms[quick]", status="failed", name="r5.failed.json")
    _rec(r, "b", "r5", "coms[quick]")
    (r / "a" / "REPORT.md").write_text("kept\n")
    counts = migrate(r)
    assert counts["records"] == 5 and counts["relabelled"] == 1
    files = sorted(str(p.relative_to(r)) for p in r.rglob("*.json"))
    assert files == ["records/tfbind8/coms_quick/r4.json", "records/tfbind8/coms_quick/r5.json",
                     "records/tfbind8/ddom_quick/r2.json", "records/tfbind8/n2ce_quick,v2/r3.json",
                     "records/tfbind8/random/r1.json"]
    read = {p.stem: json.loads(p.read_text()) for p in r.rglob("*.json")}
    assert read["r1"]["started"].startswith("2026-12-03") and read["r2"]["status"] == "ok"
    assert read["r3"]["label"] == "n2ce[quick,v2]" and read["r3"]["status"] == "failed"
    assert read["r4"]["started"].startswith("2026-12-01") and read["r5"]["status"] == "ok"
    assert (r / "a" / "REPORT.md").read_text() == "kept\n" and not (r / "a" / "records").exists()
    snapshot = {p: p.read_bytes() for p in r.rglob("*") if p.is_file()}
    assert migrate(r) == {"records": 5, "moved": 0, "relabelled": 0, "dropped": 0}
    assert {p: p.read_bytes() for p in r.rglob("*") if p.is_file()} == snapshot


def _side(root: Path, folder: str, rid: str, label: str, seed=0, cands=(1,), commit="abcdef123", **extra) -> Path:
    rec = {"record_version": 1, "run_id": rid, "task": "levy", "optimizer": label.split("[")[0], "label": label,
           "seed": seed, "budget": 8, "status": "ok", "started": "2026-12-01T00:00:00", "git_commit": commit,
           "candidates": [list(cands)], "scores": {"raw": [float(cands[0])]}, **extra}
    path = store.record_path(root / folder if folder else root, "levy", label, rid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))
    return path


def test_fold_names_the_variant_keeps_one_copy_per_run_and_refuses_unlabelled_runs(tmp_path):
    r = tmp_path / "results"
    _side(r, "", "a1", "demo[quick]", cands=(1,))                      # the store's demo[quick]
    _side(r, "", "n0", "random", cands=(5,))
    _side(r, "s/x", "a1", "demo[quick]", cands=(2,), commit="1234567890")  # same config, other code
    _side(r, "s/x", "b1", "demo[quick]", seed=1, cands=(3,), relabelled={"from": "old"})  # other config
    _side(r, "s/x", "n0", "random", cands=(5,))                         # a null the store holds: not duplicated
    _side(r, "s/x", "n1", "random", seed=1, cands=(6,))                 # a null the store lacks: moves as is
    (r / "s" / "x" / "NOTES.md").write_text("kept\n")
    with pytest.raises(MBOError, match="label 'demo\\[quick\\]' has no variant label"):
        fold(r, r / "s" / "x", {}, "why")
    assert len(list((r / "s" / "x").rglob("*.json"))) == 4  # nothing moved
    counts = fold(r, r / "s" / "x", {"demo[quick]": "demo[quick,code={commit}]"}, "re-run after a fix")
    assert counts == {"relabelled": 2, "moved": 1, "duplicates": 1, "dropped": 0}
    assert not (r / "s" / "x" / "records").exists() and (r / "s" / "x" / "NOTES.md").exists()
    recs = {(p.parent.name, p.stem): json.loads(p.read_text()) for p in (r / "records").rglob("*.json")}
    vid = variant_run_id("a1", "demo[quick,code=1234567]")
    assert set(recs) == {("demo_quick", "a1"), ("random", "n0"), ("random", "n1"),
                         ("demo_quick,code=1234567", vid), ("demo_quick,code=abcdef1", "b1")}
    assert recs[("demo_quick", "a1")]["candidates"] == [[1]]  # the store's record is untouched
    moved = recs[("demo_quick,code=1234567", vid)]
    assert moved["run_id"] == vid and moved["candidates"] == [[2]]
    assert moved["relabelled"] == {"from": "demo[quick]", "from_folder": "s/x", "why": "re-run after a fix",
                                   "from_run_id": "a1"}
    assert recs[("demo_quick,code=abcdef1", "b1")]["relabelled"]["earlier"] == {"from": "old"}
    assert recs[("random", "n1")]["migrated"] == {"from_folder": "s/x", "why": "re-run after a fix"}
    assert fold(r, r / "s" / "x", {}, "why") == {"relabelled": 0, "moved": 0, "duplicates": 0, "dropped": 0}
    _side(r, "s/y", "n2", "random", seed=2, cands=(7,))
    assert fold(r, r / "s" / "y", {}, "why", new_nulls=False)["dropped"] == 1
    assert not (r / "s" / "y" / "records").exists() and not list(r.rglob("n2.json"))
    df = load_records(r, check_code=False)
    assert len(df) == 5 and df["run_id"].is_unique


def test_committed_store_has_no_work_tracking_label():
    labels = {json.loads(p.read_text()).get("label", "") for p in (ROOT / "results").glob("**/records/*/*/*.json")}
    assert labels and not [lab for lab in labels if "issue" in lab.lower()]


@pytest.mark.parametrize("name", ["ddom", "baselines"])
def test_a_committed_report_regenerates_byte_for_byte(name):
    res = _invoke("report", ROOT / "experiments" / f"{name}.toml", "--results-dir", ROOT / "results", "--check")
    assert res.exit_code == 0, res.output


def _scored(root: Path, label: str, profile, seed: int, raw: list[float], optimizer="grad-ascent",
            overrides=None) -> None:
    """A record of a Branin run at Q = 128 whose raw scores are ``raw`` (padded to 128 with its last value)."""
    scores = np.array(raw + [raw[-1]] * (128 - len(raw)))
    summ = {"p100": float(scores.max()), "p50": float(np.percentile(scores, 50)), "mean": float(scores.mean())}
    rec = {"record_version": 1, "run_id": f"{label}-{seed}", "task": "branin", "optimizer": optimizer,
           "label": label, "profile": profile, "overrides": overrides or {}, "config": {"num_steps": 7}, "seed": seed,
           "budget": 128, "status": "ok", "started": "2026-12-01T00:00:00", "scores": {"raw": scores.tolist()},
           "summary": {"raw": summ, "normalized": summ}, "dataset_best": {"raw": -6.0, "normalized": 0.5},
           "timings": {"total": 12.0}, "diagnostics": {"optimizer": {"rho": 0.5 + seed}}}
    path = store.record_path(root, "branin", label, rec["run_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))


def test_summary_times_of_resumed_runs_include_earlier_attempts_or_say_they_do_not(tmp_path):
    for seed in (0, 1):
        _scored(tmp_path, "grad-ascent", None, seed, [-3.0])
        _scored(tmp_path, "cma-es", None, seed, [-3.0], optimizer="cma-es")
    for label, extra in (("grad-ascent", {"timings": {"total": 12.0, "before_resume": 100.0}}),  # recorded
                         ("cma-es", {})):  # resumed before records kept the earlier attempts' time
        path = store.record_path(tmp_path, "branin", label, f"{label}-0")
        rec = json.loads(path.read_text())
        path.write_text(json.dumps({**rec, **extra, "resumed": [{"stage": "000-x", "position": 3, "total": 9}]}))
    table = summary(load_records(tmp_path, check_code=False), ["p100", "time total"], raw=True)
    text = format_summary(table)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert rows["grad-ascent"].endswith("| 62 |")  # (112 + 12) / 2
    assert rows["cma-es"].endswith("| ≥ 12 |")
    assert "≥: a run resumed before records kept that" in text


def test_summary_puts_the_papers_cells_in_their_own_columns_with_verdicts_only_under_its_protocol(tmp_path):
    # N2CE Table 6 prints GA (grad-ascent) on Branin, Q = 128, raw: -4.0 ± 4.3; and D(best) -6.1
    for seed, best in ((0, -3.0), (1, -5.0)):
        _scored(tmp_path, "grad-ascent", None, seed, [best, -20.0])           # the paper's protocol
        _scored(tmp_path, "grad-ascent[quick]", "quick", seed, [best, -20.0])  # a CPU preset: no verdict
        _scored(tmp_path, "random", None, seed, [-1.0, -30.0], optimizer="random")
        _scored(tmp_path, "grad-ascent[quick,num_steps=1]", "quick", seed, [-9.0], overrides={"num_steps": "1"})
    df = load_records(tmp_path, check_code=False)
    table = summary(df, ["seeds", "p100", "paper p100", "per-seed p100", "config num_steps", "diag optimizer.rho",
                         "time total"], order=["grad-ascent", "grad-ascent[quick]"], raw=True, spread="std0",
                    paper="Yu et al. (N2CE)", paper_table="6")
    text = format_summary(table, {"diag optimizer.rho": "ρ"})
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert rows["configuration"] == ("| configuration | seeds | 100th (ours) | paper's 100th | 100th: seed 0 / 1 | "
                                     "num_steps | ρ | wall s |")
    assert rows["grad-ascent"] == ("| grad-ascent | 0,1 | -4.000 ± 1.000 | -4.000 ± 4.300 (within) | -3.000 / -5.000 | "
                                   "7 | 1.000 | 12 |")
    assert rows["grad-ascent[quick]"].split(" | ")[3] == "-4.000 ± 4.300"  # the paper's value, never a verdict
    assert rows["grad-ascent[quick,num_steps=1]"].split(" | ")[3] == "–"  # other overrides: not the paper's method
    assert rows["random"].split(" | ")[3] == "–"
    assert rows["D(best)"].startswith("| D(best) | – | -6.000 | -6.100 |")
    assert list(rows)[1:3] == ["random", "grad-ascent"]  # nulls first, then the given order
    assert "- paper's columns: published cells of Yu et al. (N2CE), table 6 (p100)" in text
    assert "ρ: diagnostics.optimizer.rho" in text and "population std (ddof = 0" in text
    far = summary(df[df["label"] == "grad-ascent"].assign(raw_p100=[-15.0, -14.0]), ["p100", "paper p100"], raw=True,
                  paper="Yu et al. (N2CE)", paper_table="6", dbest=False)
    # N2CE Table 6's DDOM cell (-1.6 ± 0.1) maps to ddom|ddom@branin-ref: that profile follows the paper's protocol
    for seed in (0, 1):
        _scored(tmp_path, "ddom[branin-ref]", "branin-ref", seed, [-1.7], optimizer="ddom")
        _scored(tmp_path, "ddom[quick]", "quick", seed, [-1.7], optimizer="ddom")
    ddom = summary(load_records(tmp_path, check_code=False).query("optimizer == 'ddom'"), ["paper p100"], raw=True,
                   paper="Yu et al. (N2CE)", paper_table="6", dbest=False)["paper p100"]
    assert ddom.to_dict() == {"ddom[branin-ref]": "-1.600 ± 0.100 (within)", "ddom[quick]": "-1.600 ± 0.100"}
    with pytest.raises(MBOError, match="several different p100 cells for it .19, 6.; give the table paper_table"):
        summary(df, ["paper p100"], raw=True, paper="Yu et al. (N2CE)")
    # several tables: each statistic from whichever of them prints it (here Table 6's 100th; 19 is left out)
    both = summary(df[df["label"] == "grad-ascent"], ["paper p100"], raw=True, paper="Yu et al. (N2CE)",
                   paper_table=["6", "8"], dbest=False)
    assert both.loc["grad-ascent", "paper p100"] == "-4.000 ± 4.300 (within)"
    assert far.loc["grad-ascent", "paper p100"] == "-4.000 ± 4.300 (**below**)"

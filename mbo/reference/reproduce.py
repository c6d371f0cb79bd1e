"""Our runs against the papers' cells: the ``mbo reproduce`` table.

For each paper cell (:func:`mbo.reference.papers`) whose method maps to an mbo optimizer, every
group of matching runs (same task, optimizer and overrides; one row per label and Q) gives one
row: the paper's value ± spread, ours (mean over seeds ± a spread of the paper's kind,
:func:`spread_kind`), Δ = ours − paper in units of the paper's spread, and a verdict:

* ``within``: |Δ| ≤ max(2 · paper spread, 0.02);
* ``above`` / ``below``: outside that band;
* ``not comparable``: the runs used another Q or a profile other than the paper's (e.g. ``quick``;
  a cell may name a second profile that follows the paper's protocol, ``name@profile``), or a
  task variant with another data protocol (``tfbind10-fixed`` beside ``tfbind10`` cells), or the
  paper's statistic is not one mbo computes; shown, never compared;
* ``not run``: no matching runs.

Each cell is compared with the statistic it prints (:func:`stat_column`): Design-Bench-lineage
papers (Design-Bench, N²CE, DEMO) log TensorFlow Probability's ``nearest`` percentile, so their
50th-percentile cells use ``p50_tfp_nearest``; every other percentile is numpy's linear one (the
100th is the maximum under both).

``D(best)`` cells are compared with the best training label stored in every record of the task.
Beside every row: ``random`` and ``dataset-best`` on the same task and Q (same statistic).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mbo.errors import ConfigError
from mbo.reference import DBEST_SPEC, papers, parse_spec, same_overrides
from mbo.report import P50_TFP
from mbo.stats import spread

TOLERANCE = 0.02  # absolute floor of the "within" band, in the cell's own units
PAPER_PROFILES = (None, "paper")
VERDICTS = ("within", "above", "below", "not comparable", "not run")
_STATS = {"p100": "p100", "p75": "p75", "p50": "p50", "p25": "p25", "mean": "mean"}
LINEAGE = ("(Design-Bench)", "(N2CE)", "(DEMO)")  # papers whose numbers come from design-baselines' logger
_SPREAD_TEXT = {"std0": "std ddof=0", "std1": "std ddof=1", "s.e.": "s.e."}


def design_bench_lineage(paper: str) -> bool:
    """Whether a paper's cells were computed the Design-Bench way (TFP percentiles, population std)."""
    return any(tag in str(paper) for tag in LINEAGE)


def stat_column(paper: pd.Series) -> str | None:
    """The record column a cell is compared with: ``p50_tfp_nearest`` for a Design-Bench-lineage
    50th-percentile cell, else the percentile or mean it names (``raw_`` prefixed for raw cells);
    ``None`` for a statistic mbo does not compute."""
    col = _STATS.get(paper["statistic"])
    if col is None:
        return None
    if col == "p50" and design_bench_lineage(paper["paper"]):
        col = P50_TFP
    return f"raw_{col}" if paper["scale"] == "raw" else col


def spread_kind(paper: pd.Series) -> str:
    """How our across-seed spread is shown beside a cell (:func:`mbo.stats.spread`): ``s.e.`` where
    the paper prints a standard error (DEMO), ``std0`` (population std, as Design-Bench's ``np.std``)
    for the other Design-Bench-lineage cells, ``std1`` (sample std) elsewhere."""
    if paper.get("spread_kind") == "s.e.":
        return "s.e."
    return "std0" if design_bench_lineage(paper["paper"]) else "std1"


def _stat_text(paper: pd.Series) -> str:
    col = stat_column(paper) or paper["statistic"]
    name = "p50 TFP-nearest" if col.endswith(P50_TFP) else paper["statistic"]
    return f"{name} {paper['scale'][:4]}"


def _verdict(ours: float, paper: float, spread: float) -> tuple[str, float]:
    delta = ours - paper
    band = max(2 * (spread if np.isfinite(spread) else 0.0), TOLERANCE)
    units = delta / spread if np.isfinite(spread) and spread > 0 else np.nan
    if abs(delta) <= band:
        return "within", units
    return ("above" if delta > 0 else "below"), units


def _null(df: pd.DataFrame, name: str, task: str, budget, col: str) -> tuple[float, int]:
    if df.empty or col not in df:
        return np.nan, 0
    g = df[(df["optimizer"] == name) & (df["task"] == task) & (df["budget"] == budget)][col].dropna()
    return (float(g.mean()), len(g)) if len(g) else (np.nan, 0)


def _profile(p) -> str:
    return p if isinstance(p, str) and p else "paper"


def compare(df: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (paper cell, group of matching runs); a cell without runs gets one ``not run`` row.

    Args:
        df: :func:`mbo.report.load_records` output (may be empty).
        reference: the paper cells (default: the shipped ``papers.csv``).

    Returns:
        Columns ``cell`` (index of the paper row), the paper's columns, ``stat_column`` (the record
        column compared, :func:`stat_column`), ``label, runs_task, runs_Q, profile, ours, ours_std``
        (ddof = 1), ``ours_spread, ours_spread_kind`` (the paper's kind, :func:`spread_kind`), ``n,
        delta, delta_units, verdict, random, random_n, dataset_best, dataset_best_n``. Cells of
        methods mbo does not implement (empty ``mbo``) are left out.
    """
    ref = papers() if reference is None else reference
    if not df.empty:
        df = df[df["status"] == "ok"]
    variants = _variants(df)
    out = []
    for cell, paper in ref.iterrows():
        spec = paper["mbo"]
        if not spec:
            continue
        col = stat_column(paper)
        base = {"cell": cell, **paper.to_dict(), "stat_column": col or "", "ours_spread_kind": spread_kind(paper)}
        rows = [] if col is None or df.empty else _matches(df, paper, spec, col, variants)
        if not rows:
            rnd, rn = _null(df, "random", paper["task"], paper["Q"], col) if col else (np.nan, 0)
            dbo, dn = _null(df, "dataset-best", paper["task"], paper["Q"], col) if col else (np.nan, 0)
            out.append({**base, "label": "", "runs_task": "", "runs_Q": np.nan, "profile": "", "ours": np.nan,
                        "ours_std": np.nan, "ours_spread": np.nan, "n": 0, "delta": np.nan, "delta_units": np.nan,
                        "verdict": "not run", "random": rnd, "random_n": rn, "dataset_best": dbo,
                        "dataset_best_n": dn})
        for row in rows:
            out.append({**base, **row})
    table = pd.DataFrame(out)
    table.attrs["notes"] = _notes(df)
    return table


def _notes(df: pd.DataFrame) -> list[str]:
    """Why dataset-best's oracle score can differ from D(best)."""
    from mbo.report import _dbest_notes

    if df.empty:
        return []
    return [f"Q = {int(q)}: {note}" for q, g in df.groupby("budget") for note in _dbest_notes(g, "p100", "100")]


def _variants(df: pd.DataFrame) -> dict[str, list[str]]:
    """``{task: [its variants among the records' tasks]}`` from each task class's ``variant_of``."""
    from mbo.errors import MBOError
    from mbo.registry import load_class

    out: dict[str, list[str]] = {}
    for name in ([] if df.empty else sorted(df["task"].dropna().unique())):
        try:
            base = getattr(load_class("task", name), "variant_of", None)
        except (MBOError, ImportError, AttributeError):  # a record of a task not installed here
            continue
        if base:
            out.setdefault(base, []).append(name)
    return out


def _matches(df: pd.DataFrame, paper: pd.Series, spec: str, col: str,
             variants: dict[str, list[str]] | None = None) -> list[dict]:
    names = [paper["task"], *(variants or {}).get(paper["task"], [])]
    task = df[df["task"].isin(names)]
    if task.empty:
        return []
    kind = spread_kind(paper)
    if spec == DBEST_SPEC:
        best = task["dbest_raw" if paper["scale"] == "raw" else "dbest"].dropna()
        if best.empty:
            return []
        ours = float(best.mean())
        verdict, units = _verdict(ours, paper["value"], paper["spread"])
        return [{"label": DBEST_SPEC, "runs_task": ",".join(sorted(task["task"].unique())), "runs_Q": np.nan,
                 "profile": "any", "ours": ours, "ours_std": spread(best, "std1"), "ours_spread": spread(best, kind),
                 "n": len(best), "delta": ours - paper["value"], "delta_units": units, "verdict": verdict,
                 "random": np.nan, "random_n": 0, "dataset_best": np.nan, "dataset_best_n": 0}]
    if col not in task:  # no record carries the statistic (nor the scores to compute it)
        return []
    keep = np.zeros(len(task), bool)
    protocol = [set() for _ in range(len(task))]  # the profiles that count as the paper's, per run
    for name, overrides, profile in parse_spec(spec):
        hit = ((task["optimizer"] == name).to_numpy()
               & np.array([same_overrides(o, overrides) for o in task["overrides"]], bool))
        for i in np.flatnonzero(hit):
            protocol[i].add(profile)
        keep |= hit
    runs = task[keep].assign(_protocol=[protocol[i] for i in np.flatnonzero(keep)])
    rows = []
    for (name, label, budget), g in runs.groupby(["task", "label", "budget"]):
        v = g[col].dropna().to_numpy(float)
        if not len(v):
            continue
        profiles = sorted({_profile(p) for p in g["profile"]})
        ours = float(v.mean())
        comparable = (name == paper["task"] and int(budget) == paper["Q"]
                      and all(_profile(p) in ok for p, ok in zip(g["profile"], g["_protocol"])))
        if comparable:
            verdict, units = _verdict(ours, paper["value"], paper["spread"])
        else:
            verdict, units = "not comparable", np.nan
        rnd, rn = _null(task, "random", name, budget, col)
        dbo, dn = _null(task, "dataset-best", name, budget, col)
        rows.append({"label": label, "runs_task": name, "runs_Q": int(budget), "profile": ",".join(profiles),
                     "ours": ours, "ours_std": spread(v, "std1"), "ours_spread": spread(v, kind), "n": len(v),
                     "delta": ours - paper["value"], "delta_units": units, "verdict": verdict,
                     "random": rnd, "random_n": rn, "dataset_best": dbo, "dataset_best_n": dn})
    return rows


def cell_verdicts(table: pd.DataFrame) -> pd.Series:
    """One verdict per paper cell: a comparable row's verdict (most seeds first), else not comparable / not run."""
    if table.empty:
        return pd.Series(dtype=str)
    order = {v: i for i, v in enumerate(VERDICTS)}

    def pick(g: pd.DataFrame) -> str:
        comp = g[g["verdict"].isin(VERDICTS[:3])]
        if len(comp):
            return comp.sort_values("n", ascending=False)["verdict"].iloc[0]
        return min(g["verdict"], key=order.get)

    return table.groupby("cell")[["verdict", "n"]].apply(pick)


def counts(table: pd.DataFrame, dbest: bool | None = None) -> dict[str, int]:
    """How many paper cells got each verdict (only D(best) cells with ``dbest=True``, none with ``False``)."""
    per_cell = cell_verdicts(table)
    if dbest is not None and len(per_cell):
        is_dbest = table.groupby("cell")["mbo"].first() == DBEST_SPEC
        per_cell = per_cell[is_dbest.reindex(per_cell.index) == dbest]
    return {v: int((per_cell == v).sum()) for v in VERDICTS}


def _num(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return f"{v:.{digits}g}" if abs(v) >= 1000 else f"{v:.{digits}f}"


def _paper_text(r) -> str:
    text = _num(r["value"])
    if np.isfinite(r["spread"]):
        text += f" ± {_num(r['spread'])} ({r['spread_kind']}"
        text += f", {int(r['trials'])} trials)" if np.isfinite(r["trials"]) else ")"
    return text


def _ours_text(r) -> str:
    if r["verdict"] == "not run":
        return "not run"
    text = _num(r["ours"])
    if np.isfinite(r["ours_spread"]):
        text += f" ± {_num(r['ours_spread'])} ({_SPREAD_TEXT[r['ours_spread_kind']]}, n={int(r['n'])}"
    else:
        text += f" (n={int(r['n'])}"
    if np.isfinite(r["runs_Q"]):
        text += f", Q={int(r['runs_Q'])}, {r['profile']}"
    if r["runs_task"] and r["runs_task"] != r["task"]:
        text += f", on {r['runs_task']}"
    return text + ")"


def _null_text(v, n) -> str:
    return "–" if not n else f"{_num(v)} (n={int(n)})"


PROTOCOL = [
    "paper: the published value ± its spread, as printed (spread kind and number of trials in brackets; "
    "DEMO calls its ± a standard error, the others a std; Design-Bench's std is ddof = 0)",
    "ours: mean over seeds ± the spread of each run's statistic in the paper's kind, named in brackets: population "
    "std (ddof = 0, Design-Bench's np.std) for Design-Bench, N²CE and DEMO cells printed as a std, standard error "
    "(sample std with ddof = 1, / √n) for DEMO's 'standard error', sample std (ddof = 1) for other papers; "
    "n = seeds; Q and profile as run (and the task, where a variant such as tfbind10-fixed ran)",
    "statistic: a run's statistic is the percentile of its Q candidates' scores named in the `stat` column; "
    "`p50 TFP-nearest` (Design-Bench, N²CE and DEMO 50th-percentile cells) is TensorFlow Probability's "
    "percentile(interpolation='nearest') that design-baselines logs: descending sort, index round-half-to-even("
    "(Q - 1) / 2), i.e. ascending index 63 of 128 (numpy's 'nearest' takes 64); other percentiles use numpy's "
    "linear interpolation, and p100 is the maximum under both",
    "normalization: (y - y_min) / (y_max - y_min) with y_min, y_max over the task's full dataset (as the papers); "
    "`raw` cells are oracle values",
    f"verdict: within if |ours - paper| ≤ max(2 · paper spread, {TOLERANCE}); above / below otherwise; "
    "not comparable when our Q or profile differs from the paper's (a [quick] run is never compared), or when the "
    "runs used a task variant with another data protocol (tfbind10-fixed: one training subset for every seed, "
    "where the papers draw one per trial); not run without matching runs",
    "Δ/σ = (ours - paper) / paper spread, for comparable rows",
    "random, dataset-best: our null baselines on the same task and Q, same statistic (mean over n seeds)",
    "D(best) rows compare the paper's D(best) with the best training label in our records (normalized or raw); "
    "their n counts the records that carry it",
]


def render(table: pd.DataFrame, fmt: str = "md", source: str = "results") -> str:
    """The reproduction report as Markdown (with counts and protocol), CSV or LaTeX."""
    if fmt not in ("md", "csv", "latex"):
        raise ConfigError(f"format must be one of md, csv, latex; got {fmt!r}")
    if table.empty:
        raise ConfigError("no paper cells map to an mbo optimizer; is mbo/reference/papers.csv installed?")
    rows = table.copy()
    rows["vrank"] = rows["verdict"].map({v: i for i, v in enumerate(VERDICTS)})
    rows["tkey"] = rows["table"].map(lambda t: (0, int(t), "") if str(t).isdigit() else (1, 0, str(t)))
    rows = rows.sort_values(["vrank", "paper", "tkey", "task", "method"], kind="stable")
    if fmt == "csv":
        cols = ["paper", "table", "method", "mbo", "task", "statistic", "scale", "Q", "trials", "value", "spread",
                "spread_kind", "stat_column", "label", "runs_task", "runs_Q", "profile", "ours", "ours_std",
                "ours_spread", "ours_spread_kind", "n", "delta", "delta_units", "verdict", "random", "random_n",
                "dataset_best", "dataset_best_n", "note"]
        head = "".join(f"# {line}\n" for line in PROTOCOL)
        return head + rows[cols].to_csv(index=False, float_format="%.6g")
    shown = pd.DataFrame({
        "paper": rows["paper"], "table": rows["table"], "method": rows["method"], "task": rows["task"],
        "stat": [_stat_text(r) for _, r in rows.iterrows()], "Q": rows["Q"].map(lambda q: _num(q, 0)),
        "paper value": [_paper_text(r) for _, r in rows.iterrows()],
        "ours (label)": [("" if not r["label"] else f"`{r['label']}` ") + _ours_text(r) for _, r in rows.iterrows()],
        "Δ/σ": rows["delta_units"].map(lambda v: _num(v, 1)),
        "verdict": rows["verdict"],
        "random": [_null_text(v, n) for v, n in zip(rows["random"], rows["random_n"])],
        "dataset-best": [_null_text(v, n) for v, n in zip(rows["dataset_best"], rows["dataset_best_n"])],
        "note": rows["note"].fillna(""),
    })
    if fmt == "latex":
        from mbo.report import _latex

        tex = _latex(shown.set_index("paper").replace("`", "", regex=True))
        for a, b in (("±", "$\\pm$"), ("Δ/σ", "$\\Delta/\\sigma$"), ("§", "\\S"), ("≤", "$\\le$")):
            tex = tex.replace(a, b)
        return "\n".join([f"% {line}" for line in PROTOCOL] + [tex])
    return _markdown_report(table, shown, rows["verdict"].to_numpy() == "not run", source)


def _markdown_report(table: pd.DataFrame, shown: pd.DataFrame, not_run: np.ndarray, source: str) -> str:
    from mbo.report import _markdown

    c = counts(table)
    ref = papers()
    unmapped = ref[ref["mbo"] == ""]
    lines = [
        "# Reproduction: our runs against the papers' tables",
        "",
        f"Generated by `mbo reproduce --results-dir {source}` (`make reproduce`) from the committed run records and "
        "`mbo/reference/papers.csv`; do not edit by hand. Paper values are the papers' numbers, labelled as such; "
        "every other number is computed from our records.",
        "",
        "**Protocol.**",
        "",
        *[f"- {line}" for line in PROTOCOL],
        "",
        f"**Cells** ({sum(c.values())} paper cells of methods mbo implements or is adding): "
        + ", ".join(f"{v}: {c[v]}" for v in VERDICTS) + ".",
        "Of these, method cells: " + ", ".join(f"{v}: {n}" for v, n in counts(table, dbest=False).items())
        + "; D(best) cells (data and normalization checks): "
        + ", ".join(f"{v}: {n}" for v, n in counts(table, dbest=True).items()) + ".",
        f"A further {len(unmapped)} cells belong to methods mbo does not implement "
        f"({', '.join(sorted(unmapped['method'].unique()))}); they are in `papers.csv` but not listed here.",
        "",
        *[f"Note on dataset-best: {n}" for n in table.attrs.get("notes", [])],
        "",
        "## Cells with runs",
        "",
        "One row per paper cell and group of matching runs (label and Q), ordered by verdict.",
        "",
        _markdown(shown[~not_run].set_index("paper")),
        "",
        "## Cells not run",
        "",
        "No matching record yet (the method, task or data is not available here, or nobody ran it). The null "
        "baselines are ours at the paper's Q where we have them.",
        "",
        _markdown(shown[not_run].drop(columns=["ours (label)", "Δ/σ", "note"]).set_index("paper")),
    ]
    return "\n".join(lines)

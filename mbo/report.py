"""From stored records to leaderboards: normalized-score, rank and percentile tables and plots.

A leaderboard row is an optimizer label (name plus profile and overrides), a column a task.
Each cell is the mean ± std over seeds of one per-run statistic: a percentile (100, 75, 50, 25)
or the mean of the Q normalized scores (or raw scores with ``raw=True``).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mbo import store
from mbo.errors import ConfigError

DBEST = "D(best)"
STATS = ("100", "75", "50", "25", "mean")


def load_records(results_dir: str | Path | None = None, include_failed: bool = False) -> pd.DataFrame:
    """One row per stored run: identity, status, per-run statistics and timings.

    Columns: ``run_id, task, optimizer, label, profile, seed, budget, status, error, device,
    p100 … p25, mean`` (normalized), ``raw_p100 … raw_mean``, ``dbest``, ``dbest_raw``,
    ``time_fit, time_propose, time_total``, ``num_clipped``, ``path``.
    """
    rows = []
    for rec in store.iter_records(store.results_dir(results_dir)):
        if rec.get("status") != "ok" and not include_failed:
            continue
        row = {k: rec.get(k) for k in ("run_id", "task", "optimizer", "label", "profile", "seed",
                                       "budget", "status", "error", "device", "num_clipped", "code_hash")}
        summ = rec.get("summary") or {}
        for key, val in (summ.get("normalized") or {}).items():
            row[key] = val
        for key, val in (summ.get("raw") or {}).items():
            row[f"raw_{key}"] = val
        best = rec.get("dataset_best") or {}
        row["dbest"], row["dbest_raw"] = best.get("normalized"), best.get("raw")
        for key, val in (rec.get("timings") or {}).items():
            row[f"time_{key}"] = val
        row["path"] = rec.get("_path")
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:  # one label's runs should come from one version of the optimizer and task code
        for (task, label), hashes in df.fillna({"code_hash": "none"}).groupby(["task", "label"])["code_hash"]:
            if hashes.nunique() > 1:
                warnings.warn(f"{label} on {task}: its runs come from {hashes.nunique()} versions of the code "
                              f"(code hashes {', '.join(sorted(hashes.unique()))}); re-run the old ones or give "
                              "the new code its own --label", stacklevel=2)
    return df


def _column(percentile: str | int, raw: bool) -> str:
    p = str(percentile)
    if p not in STATS:
        raise ConfigError(f"percentile must be one of {', '.join(STATS)}, got {percentile!r}")
    col = "mean" if p == "mean" else f"p{p}"
    return f"raw_{col}" if raw else col


def leaderboard(df: pd.DataFrame, percentile: str | int = 100, budget: int | None = None,
                raw: bool = False) -> pd.DataFrame:
    """Mean ± std over seeds per (optimizer label, task), plus mean score and mean rank.

    Args:
        df: output of :func:`load_records`.
        percentile: ``100, 75, 50, 25`` or ``"mean"`` of each run's Q scores.
        budget: keep runs with this Q only. Without it, each task must have a single Q.
        raw: unnormalized scores (Branin is reported raw in the papers).

    Returns:
        A frame indexed by label with columns ``(task, "mean"|"std"|"n")`` and
        ``("all", "mean score")`` (not with ``raw`` over several tasks), ``("all", "mean rank")``.
        The ``D(best)`` row is the best offline score; it is not ranked. Ranks are 1 = best, ties
        averaged, per task; mean score and mean rank are given only for labels with every task.
    """
    if df.empty:
        raise ConfigError("no successful runs found; run some with `mbo run` or `mbo sweep` first")
    col = _column(percentile, raw)
    df = df[df["status"] == "ok"]
    if budget is not None:
        df = df[df["budget"] == budget]
        if df.empty:
            raise ConfigError(f"no runs with budget Q={budget}")
    for task, group in df.groupby("task"):
        budgets = sorted(int(b) for b in group["budget"].unique())
        if len(budgets) > 1:
            raise ConfigError(f"task {task!r} has runs with several budgets {budgets}; "
                              f"pick one with --budget (e.g. --budget {budgets[-1]})")
    agg = df.groupby(["label", "task"])[col].agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    table = agg.unstack("task")
    table.columns = table.columns.swaplevel(0, 1)
    tasks = sorted(df["task"].unique())
    table = table.reindex(columns=pd.MultiIndex.from_product([tasks, ["mean", "std", "n"]]))
    means = table.xs("mean", axis=1, level=1)
    ranks = means.rank(axis=0, ascending=False, method="average")
    # a label without runs on every task has no cross-task summary: it would not be comparable
    complete = means.notna().all(axis=1)
    # raw scores live on different scales, so their mean across tasks means nothing
    table[("all", "mean score")] = means.mean(axis=1).where(complete) if not raw or len(tasks) == 1 else np.nan
    table[("all", "mean rank")] = ranks.mean(axis=1).where(complete)
    best_col = "dbest_raw" if raw else "dbest"
    dbest = df.groupby("task")[best_col].first()
    row = {(t, "mean"): dbest.get(t, np.nan) for t in tasks}
    row.update({(t, "std"): np.nan for t in tasks})
    row.update({(t, "n"): np.nan for t in tasks})
    row[("all", "mean score")] = dbest.reindex(tasks).mean() if not raw or len(tasks) == 1 else np.nan
    row[("all", "mean rank")] = np.nan
    table.loc[DBEST] = pd.Series(row)
    table = table.sort_values(("all", "mean rank"), na_position="last")
    table.index.name = "optimizer"
    return table


def format_table(table: pd.DataFrame, fmt: str = "table", digits: int = 3) -> str:
    """Render a :func:`leaderboard` frame as ``table`` (terminal), ``md``, ``csv`` or ``latex``."""
    if fmt == "csv":
        flat = table.copy()
        flat.columns = [f"{t}_{s}".replace(" ", "_") for t, s in flat.columns]
        return flat.to_csv(float_format=f"%.{digits + 3}g")
    tasks = [t for t in dict.fromkeys(table.columns.get_level_values(0)) if t != "all"]
    pm = "$\\pm$" if fmt == "latex" else "±"
    cells = {}
    for t in tasks:
        m, s, n = table[(t, "mean")], table[(t, "std")], table[(t, "n")]
        cells[t] = [("–" if pd.isna(mi) else f"{mi:.{digits}f}" + (f" {pm} {si:.{digits}f}" if pd.notna(si) else "")
                     + (f" (n={int(ni)})" if pd.notna(ni) and fmt == "table" and ni != n.max() else ""))
                    for mi, si, ni in zip(m, s, n)]
    out = pd.DataFrame(cells, index=table.index)
    out["mean score"] = [("–" if pd.isna(v) else f"{v:.{digits}f}") for v in table[("all", "mean score")]]
    out["mean rank"] = [("–" if pd.isna(v) else f"{v:.2f}") for v in table[("all", "mean rank")]]
    if fmt == "md":
        return out.to_markdown() if _has_tabulate() else _markdown(out)
    if fmt == "latex":
        return _latex(out)
    if fmt == "table":
        return out.to_string()
    raise ConfigError(f"format must be one of table, md, csv, latex; got {fmt!r}")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def _markdown(out: pd.DataFrame) -> str:
    header = [out.index.name or ""] + list(out.columns)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    for idx, row in out.iterrows():
        lines.append("| " + " | ".join([str(idx)] + [str(v) for v in row]) + " |")
    return "\n".join(lines)


def _latex(out: pd.DataFrame) -> str:
    def esc(s: str) -> str:
        return str(s).replace("_", "\\_").replace("%", "\\%").replace("&", "\\&").replace("–", "--")

    cols = "l" + "c" * len(out.columns)
    lines = ["\\begin{tabular}{" + cols + "}", "\\toprule",
             " & ".join(["Method"] + [esc(c) for c in out.columns]) + " \\\\", "\\midrule"]
    for idx, row in out.iterrows():
        lines.append(" & ".join([esc(idx)] + [esc(v) for v in row]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines)


def plot(table: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """One panel per task: a point per optimizer (mean ± std over seeds), D(best) dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in dict.fromkeys(table.columns.get_level_values(0)) if t != "all"]
    labels = [i for i in table.index if i != DBEST]
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks) + 1.5, 0.45 * len(labels) + 1.6),
                             squeeze=False, sharey=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, task in zip(axes[0], tasks):
        m = table.loc[labels, (task, "mean")].to_numpy(float)
        s = np.nan_to_num(table.loc[labels, (task, "std")].to_numpy(float))
        pos = np.arange(len(labels))
        for i in pos:  # points, not bars: the axis does not start at zero
            if np.isnan(m[i]):
                continue
            ax.errorbar(m[i], i, xerr=s[i], fmt="o", color=colors[i % len(colors)], capsize=3, ms=6)
        best = table.loc[DBEST, (task, "mean")] if DBEST in table.index else np.nan
        if pd.notna(best):
            ax.axvline(best, color="k", ls="--", lw=1, label="D(best)")
            ax.legend(loc="best", fontsize=7)
        lo = np.nanmin(np.concatenate([m - s, [best]]))
        hi = np.nanmax(np.concatenate([m + s, [best]]))
        pad = 0.08 * (hi - lo if hi > lo else 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_title(task)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(np.arange(len(labels)), labels)
    axes[0][0].invert_yaxis()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path

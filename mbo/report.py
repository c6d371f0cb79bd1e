"""From stored records to leaderboards: score, rank, diagnostic and interval-estimate tables and plots.

A leaderboard row is an optimizer label (name plus profile and overrides), a column a task.
Each cell summarises one per-run statistic over seeds: a percentile (100, 75, 50, 25) or the mean
of the run's Q scores (normalized, or raw with ``raw=True``), or an engine diagnostic (novelty,
diversity, distinct candidates, clipped count). Seeds are summarised by the mean, median or
interquartile mean, with the sample std (ddof = 1) and, on request, a percentile-bootstrap CI.
Across tasks, with ``ci``: the interquartile mean of normalized scores with a stratified bootstrap
CI and the probability of improvement over a baseline (Agarwal et al., 2021, "Deep RL at the edge
of the statistical precipice"; computed with ``scipy.stats.bootstrap``, not the ``rliable`` package).

Every rendered table and plot states its protocol (:func:`protocol_lines`).
"""
from __future__ import annotations

import difflib
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mbo import store
from mbo.errors import ConfigError, did_you_mean
from mbo.stats import percentile_tfp_nearest

P50_TFP = "p50_tfp_nearest"  # the papers' median of a run's Q scores (mbo.stats.percentile_tfp_nearest)

DBEST = "D(best)"
STATS = ("100", "75", "50", "25", "mean", "50-tfp")  # 50-tfp: the papers' median (P50_TFP)
AGGREGATES = ("mean", "median", "iqm")
DIAGNOSTICS = ("novelty", "diversity", "distinct", "clipped")
N_RESAMPLES = 2000
BOOTSTRAP_SEED = 0  # fixed, so a table regenerated from the same records is identical

_DIAG_TEXT = {
    "novelty": "novelty (discrete: share of candidates not in the offline set; continuous: median distance "
               "to the nearest offline design in per-dimension std units)",
    "diversity": "diversity (mean pairwise Hamming / Euclidean distance among the Q candidates)",
    "distinct": "number of distinct candidates among the Q",
    "clipped": "number of candidates clipped to the box",
}
# where dataset-best's oracle score differs from the best training label, the reader needs to know why
_DBEST_WHY = {
    "tfbind10": "the TF-Bind-10 file lists every 10-mer 5-8 times with different labels and the exact oracle "
                "returns one of them (the last occurrence), so a training design's oracle value differs from its "
                "own training label for 87% of the training rows (results/design_bench/NOTES.md)",
}


def load_records(results_dir: str | Path | None = None, include_failed: bool = False,
                 check_code: bool = True) -> pd.DataFrame:
    """One row per stored run: identity, status, per-run statistics, diagnostics and timings.

    ``results_dir`` is a results folder (``<dir>/records/...``) or a folder of them
    (``results/*/records/...``); a run stored in several folders (same run id) counts once.

    Columns: ``run_id, task, optimizer, label, profile, seed, budget, status, error, device,
    overrides, data_version, p100 … p25, mean, p50_tfp_nearest`` (normalized; the last computed from
    the stored scores where a record predates it), ``raw_p100 … raw_mean, raw_p50_tfp_nearest``, ``dbest``,
    ``dbest_raw``, ``diag_novelty, diag_diversity, diag_distinct, diag_clipped`` (NaN where a record
    has no diagnostics), ``time_fit, time_propose, time_total`` (a resumed run's fit and total include
    its earlier attempts'), ``resumed``, ``time_partial`` (resumed, but its record has only the time after resuming),
    ``num_clipped``, ``path``, and
    ``newest_failed``: a later attempt of that run failed (kept beside it as ``.failed.json``).
    ``df.attrs["failed"]`` lists ``(task, label)`` of every failed run, which leaderboards ignore.
    With ``check_code`` it warns (:func:`warn_mixed_code`) about labels whose runs come from different code;
    a caller that shows only some rows passes ``False`` and calls :func:`warn_mixed_code` on those.
    """
    root = store.results_dir(results_dir)
    roots = [root] if (root / "records").is_dir() else sorted(p.parent for p in root.glob("*/records") if p.is_dir())
    rows, seen, failed = [], set(), []
    for folder in roots:
        kept = {str(f.get("run_id")): f for f in store.iter_failures(folder)}
        failed += [(f.get("task"), f.get("label")) for f in kept.values()]
        for rec in store.iter_records(folder):
            if rec.get("status") != "ok":
                failed.append((rec.get("task"), rec.get("label")))
                if not include_failed:
                    continue
            if rec.get("run_id") in seen:
                continue
            seen.add(rec.get("run_id"))
            row = _row(rec)
            newer = kept.get(str(rec.get("run_id")))  # a later attempt (other code, or --force) failed
            row["newest_failed"] = newer is not None and _attempt(newer) > _attempt(rec)
            rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["failed"] = failed  # (task, label) of every failed run, ignored by leaderboards
    if check_code:
        warn_mixed_code(df)
    return df


def warn_mixed_code(df: pd.DataFrame) -> None:
    """Warn about each (task, label) of ``df`` whose runs come from more than one version of the code."""
    if df.empty:
        return
    for (task, label), hashes in df.fillna({"code_hash": "none"}).groupby(["task", "label"])["code_hash"]:
        if hashes.nunique() > 1:
            warnings.warn(f"{label} on {task}: its runs come from {hashes.nunique()} versions of the code "
                          f"(code hashes {', '.join(sorted(hashes.unique()))}); re-run the old ones or give "
                          "the new code its own --label", stacklevel=3)


def _attempt(rec: dict) -> tuple[str, float]:
    """When a run was attempted: its start time (to the second), then its file's modification time."""
    path = rec.get("_path")
    return str(rec.get("started", "")), store._mtime(Path(path)) if path else 0.0


def _row(rec: dict) -> dict:
    row = {k: rec.get(k) for k in ("run_id", "task", "optimizer", "label", "profile", "seed", "budget",
                                   "status", "error", "device", "num_clipped", "data_version", "code_hash")}
    row["overrides"] = rec.get("overrides") or {}
    summ = rec.get("summary") or {}
    for key, val in (summ.get("normalized") or {}).items():
        row[key] = val
    for key, val in (summ.get("raw") or {}).items():
        row[f"raw_{key}"] = val
    scores = rec.get("scores") or {}
    for scale, prefix in (("normalized", ""), ("raw", "raw_")):  # records made before the field existed
        if row.get(f"{prefix}{P50_TFP}") is None and scores.get(scale):
            row[f"{prefix}{P50_TFP}"] = percentile_tfp_nearest(scores[scale], 50)
    best = rec.get("dataset_best") or {}
    row["dbest"], row["dbest_raw"] = best.get("normalized"), best.get("raw")
    diag = rec.get("diagnostics") if isinstance(rec.get("diagnostics"), dict) else {}
    for key in DIAGNOSTICS:
        val = diag.get(key)
        row[f"diag_{key}"] = float(val) if isinstance(val, (int, float)) and not isinstance(val, bool) else np.nan
    timings = rec.get("timings") or {}
    for key, val in timings.items():
        row[f"time_{key}"] = val
    earlier = timings.get("before_resume")
    for key in ("fit", "total"):  # a resumed run's time includes its earlier attempts'
        if earlier is not None and row.get(f"time_{key}") is not None:
            row[f"time_{key}"] += earlier
    row["resumed"] = bool(rec.get("resumed"))
    row["time_partial"] = row["resumed"] and earlier is None  # made before that was recorded
    row["path"] = rec.get("_path")
    return row


def _column(percentile: str | int, raw: bool) -> str:
    p = str(percentile)
    if p not in STATS:
        raise ConfigError(f"percentile must be one of {', '.join(STATS)}, got {percentile!r}")
    col = {"mean": "mean", "50-tfp": P50_TFP}.get(p, f"p{p}")
    return f"raw_{col}" if raw else col


def aggregate_fn(name: str):
    """``f(x, axis=-1)`` for ``mean``, ``median`` or ``iqm`` (the 25%-trimmed mean, as in rliable)."""
    from scipy import stats

    fns = {"mean": np.mean, "median": np.median, "iqm": lambda x, axis=-1: stats.trim_mean(x, 0.25, axis=axis)}
    if name not in fns:
        raise ConfigError(f"aggregate must be one of {', '.join(AGGREGATES)}, got {name!r}")
    return fns[name]


def _bootstrap(samples: list[np.ndarray], statistic, confidence: float) -> tuple[float, float]:
    """Percentile-bootstrap CI of ``statistic(*samples)``, each sample resampled on its own (stratified).

    Samples with a single observation cannot be resampled; they enter the statistic unchanged.
    Returns ``(nan, nan)`` when no sample has two observations.
    """
    from scipy import stats

    free = [i for i, s in enumerate(samples) if len(s) >= 2]
    if not free:
        return np.nan, np.nan

    def stat(*resampled, axis=-1):
        full = list(samples)
        for i, s in zip(free, resampled):
            full[i] = s
        shape = np.broadcast_shapes(*(np.shape(s)[:-1] for s in resampled))
        full = [np.broadcast_to(s, shape + (np.shape(s)[-1],)) for s in full]
        return statistic(*full, axis=axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate (all-equal) samples give a point interval, which is right
        res = stats.bootstrap([samples[i] for i in free], stat, vectorized=True, paired=False,
                              confidence_level=confidence, n_resamples=N_RESAMPLES, method="percentile",
                              rng=np.random.default_rng(BOOTSTRAP_SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def cell_ci(values: np.ndarray, aggregate: str = "mean", confidence: float = 0.95) -> tuple[float, float]:
    """Bootstrap CI of the seed aggregate of one cell (seeds resampled with replacement)."""
    fn = aggregate_fn(aggregate)
    return _bootstrap([np.asarray(values, float)], lambda x, axis=-1: fn(x, axis=axis), confidence)


def iqm_across_tasks(per_task: list[np.ndarray], confidence: float = 0.95) -> tuple[float, float, float]:
    """IQM of the pooled per-run scores of all tasks, with a stratified bootstrap CI (runs resampled per task)."""
    fn = aggregate_fn("iqm")

    def stat(*samples, axis=-1):
        return fn(np.concatenate(samples, axis=-1), axis=-1)

    arrays = [np.asarray(a, float) for a in per_task]
    return float(stat(*arrays)), *_bootstrap(arrays, stat, confidence)


def probability_of_improvement(x_per_task: list[np.ndarray], y_per_task: list[np.ndarray],
                               confidence: float = 0.95) -> tuple[float, float, float]:
    """P(X > Y) averaged over tasks (ties count ½), with a stratified bootstrap CI.

    Per task it is the Mann-Whitney U statistic of X's runs against Y's divided by ``n·m``;
    X's and Y's runs are resampled independently within each task, as in rliable.
    """
    xs = [np.asarray(a, float) for a in x_per_task]
    ys = [np.asarray(a, float) for a in y_per_task]
    if len(xs) != len(ys) or not xs:
        raise ConfigError("probability of improvement needs the same, non-empty list of tasks for both labels")

    def stat(*samples, axis=-1):
        out = []
        for x, y in zip(samples[0::2], samples[1::2]):
            gt = (x[..., :, None] > y[..., None, :]).mean(axis=(-1, -2))
            eq = (x[..., :, None] == y[..., None, :]).mean(axis=(-1, -2))
            out.append(gt + 0.5 * eq)
        return np.mean(out, axis=0)

    arrays = [a for pair in zip(xs, ys) for a in pair]
    return float(stat(*arrays)), *_bootstrap(arrays, stat, confidence)


def leaderboard(df: pd.DataFrame, percentile: str | int = 100, budget: int | None = None,
                raw: bool = False, aggregate: str = "mean", ci: float | None = None,
                versus: str | None = None, stat: str = "score") -> pd.DataFrame:
    """Seed aggregate ± std (and CI) per (optimizer label, task), plus cross-task summaries.

    Args:
        df: output of :func:`load_records`.
        percentile: ``100, 75, 50, 25``, ``"mean"`` of each run's Q scores, or ``"50-tfp"``, the
            median as the papers compute it (:func:`mbo.stats.percentile_tfp_nearest`).
        budget: keep runs with this Q only. Without it, each task must have a single Q.
        raw: unnormalized scores (Branin is reported raw in the papers).
        aggregate: how seeds are summarised: ``mean``, ``median`` or ``iqm``.
        ci: confidence level in percent (e.g. 95) for bootstrap CIs; also adds the across-task IQM.
        versus: a baseline label (or optimizer name) for the probability of improvement; needs ``ci``.
        stat: ``score``, or a diagnostic: ``novelty``, ``diversity``, ``distinct``, ``clipped``.

    Returns:
        A frame indexed by label with columns ``(task, aggregate|"std"|"n"[|"lo"|"hi"])`` and
        ``("all", "mean score")``, ``("all", "mean rank")`` (``[("all", "iqm"|"iqm lo"|"iqm hi"|"poi"|
        "poi lo"|"poi hi")]`` with ``ci``). Cross-task summaries are given only for labels that have
        every task shown, and ranks (1 = best, ties averaged) are taken among those labels only, so
        adding an incomplete row never changes them. The ``D(best)`` row is the best training label
        (score tables only); it is not ranked. ``table.attrs`` holds the protocol.
    """
    if df.empty:
        raise ConfigError("no successful runs found; run some with `mbo run` or `mbo sweep` first")
    failed = df.attrs.get("failed", [])
    aggregate_fn(aggregate)
    if stat == "score":
        col = _column(percentile, raw)
    elif stat in DIAGNOSTICS:
        col = f"diag_{stat}"
    else:
        raise ConfigError(f"stat must be score or one of {', '.join(DIAGNOSTICS)}, got {stat!r}")
    if ci is not None and not 0 < ci < 100:
        raise ConfigError(f"--ci is a confidence level in percent, between 0 and 100; got {ci}")
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
    if col not in df or df[col].isna().all():
        raise ConfigError(f"no record has diagnostics.{stat}: records written before diagnostics existed lack it; "
                          "re-run them with `mbo run ... --force` (or `mbo sweep ... --force`)")
    df = df[df[col].notna()]
    fn = aggregate_fn(aggregate)
    level = None if ci is None else ci / 100
    tasks = sorted(df["task"].unique())
    cells = {}
    for (label, task), group in df.groupby(["label", "task"]):
        v = group[col].to_numpy(float)
        cell = {aggregate: float(fn(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else np.nan, "n": len(v)}
        if level is not None:
            cell["lo"], cell["hi"] = cell_ci(v, aggregate, level)
        cells[(label, task)] = cell
    subs = [aggregate, "std", "n"] + (["lo", "hi"] if level is not None else [])
    labels = sorted({label for label, _ in cells})
    table = pd.DataFrame(index=pd.Index(labels, name="optimizer"),
                         columns=pd.MultiIndex.from_product([tasks, subs]), dtype=float)
    for (label, task), cell in cells.items():
        for sub, val in cell.items():
            table.loc[label, (task, sub)] = val
    points = table.xs(aggregate, axis=1, level=1)
    complete = points.notna().all(axis=1)
    ranked = stat == "score"
    if ranked:
        ranks = points[complete].rank(axis=0, ascending=False, method="average")
        # raw scores live on different scales, so their mean across tasks means nothing
        table[("all", "mean score")] = points.mean(axis=1).where(complete) if not raw or len(tasks) == 1 else np.nan
        table[("all", "mean rank")] = ranks.mean(axis=1).reindex(table.index)
    if level is not None and ranked and not (raw and len(tasks) > 1):
        _across_tasks(table, df, col, tasks, complete, level, versus)
    elif versus is not None:
        raise ConfigError("--versus needs score tables with --ci (e.g. --ci 95) and normalized scores")
    if ranked:
        best_col = "dbest_raw" if raw else "dbest"
        dbest = df.groupby("task")[best_col].first()
        table.loc[DBEST] = np.nan
        for t in tasks:
            table.loc[DBEST, (t, aggregate)] = dbest.get(t, np.nan)
        table.loc[DBEST, ("all", "mean score")] = (dbest.reindex(tasks).mean()
                                                   if not raw or len(tasks) == 1 else np.nan)
        table = table.sort_values(("all", "mean rank"), na_position="last")
    table.index.name = "optimizer"
    table.attrs.update(_protocol(df, col, stat, percentile, raw, aggregate, ci, versus, int(complete.sum()), tasks))
    _mark_failures(table, df, failed, tasks)
    return table


def _mark_failures(table: pd.DataFrame, df: pd.DataFrame, failed: list, tasks: list[str]) -> None:
    """State how many failed runs the table ignores, and mark (``†``) each cell that still counts an
    ok record although that run's newest attempt failed (with newer code, or under ``--force``)."""
    stale: dict[str, list[str]] = {}
    if "newest_failed" in df:
        for (label, task), _ in df[df["newest_failed"].fillna(False).astype(bool)].groupby(["label", "task"]):
            stale.setdefault(label, []).append(task)
    n = sum(1 for task, _ in failed if task in tasks)
    if not n and not stale:
        return
    text = f"{n} failed run{'s' if n != 1 else ''} ignored (status failed; their records say why)"
    if stale:
        where = "; ".join(f"{label} on {', '.join(ts)}" for label, ts in sorted(stale.items()))
        text += (f". † = the newest attempt of a run in this cell failed, and the older ok record is still "
                 f"counted ({where}): re-run it or read its .failed.json beside the record")
    table.attrs["failed"] = text
    table.attrs["newest failed"] = stale


def _across_tasks(table: pd.DataFrame, df: pd.DataFrame, col: str, tasks: list[str], complete: pd.Series,
                  level: float, versus: str | None) -> None:
    runs = {label: [g.loc[g["task"] == t, col].to_numpy(float) for t in tasks]
            for label, g in df.groupby("label") if complete.get(label, False)}
    for label, per_task in runs.items():
        est = iqm_across_tasks(per_task, level)
        for key, val in zip(("iqm", "iqm lo", "iqm hi"), est):
            table.loc[label, ("all", key)] = val
    if versus is None:
        return
    base = resolve_label(df, versus)
    if base not in runs:
        raise ConfigError(f"--versus {versus!r}: {base!r} lacks some of the tasks shown ({', '.join(tasks)}); "
                          "restrict --tasks or pick a baseline run on every task")
    for label, per_task in runs.items():
        est = probability_of_improvement(per_task, runs[base], level)
        for key, val in zip(("poi", "poi lo", "poi hi"), est):
            table.loc[label, ("all", key)] = val
    table.attrs["versus"] = base


def resolve_label(df: pd.DataFrame, name: str) -> str:
    """A label given as itself or as an optimizer name that has exactly one label."""
    labels = sorted(df["label"].unique())
    if name in labels:
        return name
    of_name = sorted(df.loc[df["optimizer"] == name, "label"].unique())
    if len(of_name) == 1:
        return of_name[0]
    if of_name:
        raise ConfigError(f"--versus {name!r} matches several labels ({', '.join(of_name)}); give one of them")
    close = difflib.get_close_matches(name, labels, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ConfigError(f"--versus {name!r}: no such label among the runs shown.{hint} Labels: {', '.join(labels)}")


def _stat_text(stat: str, percentile: str | int, raw: bool) -> str:
    if stat != "score":
        return _DIAG_TEXT[stat]
    p = str(percentile)
    if p == "50-tfp":
        return (f"50th percentile (median) of each run's Q {'raw' if raw else 'normalized'} scores as the papers "
                "compute it (TensorFlow Probability's 'nearest': ascending index 63 of 128, 127 of 256)")
    what = "mean" if p == "mean" else {"100": "100th percentile (max)", "50": "50th percentile (median)"}.get(
        p, f"{p}th percentile")
    return (f"{what} of each run's Q {'raw' if raw else 'normalized'} scores"
            + ("" if p in ("100", "mean") else " (linear interpolation; Design-Bench uses 'nearest')"))


def _protocol(df: pd.DataFrame, col: str, stat: str, percentile, raw: bool, aggregate: str, ci, versus,
              n_complete: int, tasks: list[str]) -> dict:
    qs = df.groupby("task")["budget"].first()
    q_text = (f"Q = {int(qs.iloc[0])}" if qs.nunique() == 1
              else "Q = " + ", ".join(f"{int(q)} ({t})" for t, q in qs.items()))
    profiles = sorted({p if isinstance(p, str) and p else "paper/default" for p in df["profile"]})
    ns = df.groupby(["label", "task"]).size()
    norm = ("raw oracle values" if raw else
            "normalized: (y - y_min) / (y_max - y_min), y_min and y_max over the task's full dataset")
    out = {
        "statistic": f"{_stat_text(stat, percentile, raw)}; per cell the {aggregate} over seeds"
                     + (" (25%-trimmed mean)" if aggregate == "iqm" else "") + " ± sample std (ddof = 1)",
        "budget": q_text,
        "seeds": f"n runs (seeds) per cell shown in every cell: {int(ns.min())}-{int(ns.max())}"
                 if ns.min() != ns.max() else f"n runs (seeds) per cell shown in every cell: {int(ns.min())}",
        "normalization": norm if stat == "score" else "not applicable (diagnostic)",
        "profiles": ", ".join(profiles) + ("; [quick] rows are a CPU preset, not the paper's protocol"
                                           if "quick" in profiles else ""),
    }
    if stat == "score":
        out["rank"] = (f"mean rank = mean over tasks of the rank (1 = best, ties averaged) among the {n_complete} "
                       "labels that have every task shown; mean score likewise; labels missing a task get neither")
        out["dbest"] = (f"{DBEST} = the best training label{'' if raw else ' (normalized)'}, not ranked; "
                        "dataset-best = the oracle's scores of the top-Q training designs")
        notes = _dbest_notes(df, col, percentile)
        if notes:
            out["dbest note"] = " ".join(notes)
    else:
        out["rank"] = "not ranked: a higher value of a diagnostic is not better"
    if ci is not None:
        out["ci"] = (f"[lo, hi] = {ci:g}% percentile bootstrap CI over seeds (scipy.stats.bootstrap, "
                     f"{N_RESAMPLES} resamples, RNG seed {BOOTSTRAP_SEED})")
        if stat == "score" and not (raw and len(tasks) > 1):
            out["across tasks"] = ("IQM = interquartile mean of all runs' scores pooled over the tasks shown, with a "
                                   f"{ci:g}% stratified bootstrap CI (runs resampled within each task); labels with "
                                   "every task only (Agarwal et al., 2021)")
            if versus is not None:
                out["poi"] = (f"P(> baseline) = probability that a run of the label beats a run of the baseline on "
                              f"the same task (ties ½), averaged over tasks, {ci:g}% stratified bootstrap CI")
    return out


def _dbest_notes(df: pd.DataFrame, col: str, percentile) -> list[str]:
    """Explain a dataset-best score that differs from D(best) (only meaningful at the 100th percentile)."""
    if str(percentile) != "100":
        return []
    best_col = "dbest_raw" if col.startswith("raw_") else "dbest"
    notes = []
    for task, g in df[df["optimizer"] == "dataset-best"].groupby("task"):
        ours, best = g[col].mean(), g[best_col].iloc[0]
        if best is not None and np.isfinite(best) and abs(ours - best) > 1e-3 * max(1.0, abs(best)):
            why = _DBEST_WHY.get(task.removesuffix("-fixed"),
                                 "the oracle's value of a training design differs from its training label")
            notes.append(f"dataset-best on {task} scores {ours:.3f} while {DBEST} is {best:.3f}: {DBEST} is the best "
                         f"training label, dataset-best is what the oracle returns for the top-Q training designs, "
                         f"and {why}.")
    return notes


def protocol_lines(table: pd.DataFrame) -> list[str]:
    """The protocol of a :func:`leaderboard` table, one ``key: text`` line each."""
    keys = ("statistic", "budget", "seeds", "normalization", "profiles", "ci", "rank", "across tasks", "poi",
            "dbest", "dbest note", "failed")
    lines = [f"{k}: {table.attrs[k]}" for k in keys if k in table.attrs]
    if "versus" in table.attrs:
        lines.append(f"baseline for P(>): {table.attrs['versus']}")
    return lines


def _point(table: pd.DataFrame) -> str:
    subs = list(dict.fromkeys(table.columns.get_level_values(1)))
    return next(s for s in subs if s in AGGREGATES)


def format_table(table: pd.DataFrame, fmt: str = "table", digits: int = 3) -> str:
    """Render a :func:`leaderboard` frame as ``table`` (terminal), ``md``, ``csv`` or ``latex``, protocol first."""
    if fmt not in ("table", "md", "csv", "latex"):
        raise ConfigError(f"format must be one of table, md, csv, latex; got {fmt!r}")
    proto = protocol_lines(table)
    if fmt == "csv":
        flat = table.copy()
        flat.columns = [f"{t}_{s}".replace(" ", "_") for t, s in flat.columns]
        return "".join(f"# {line}\n" for line in proto) + flat.to_csv(float_format=f"%.{digits + 3}g")
    point = _point(table)
    tasks = [t for t in dict.fromkeys(table.columns.get_level_values(0)) if t != "all"]
    pm = "$\\pm$" if fmt == "latex" else "±"

    def num(v, d=digits):
        return "–" if pd.isna(v) else f"{v:.{d}f}"

    cells = {}
    has_ci = any(s == "lo" for s in table.columns.get_level_values(1))
    for t in tasks:
        col = []
        for label in table.index:
            m, s, n = (table.loc[label, (t, k)] for k in (point, "std", "n"))
            if pd.isna(m):
                col.append("–")
                continue
            text = num(m) + (f" {pm} {num(s)}" if pd.notna(s) else "")
            if has_ci and pd.notna(table.loc[label, (t, "lo")]):
                text += f" [{num(table.loc[label, (t, 'lo')])}, {num(table.loc[label, (t, 'hi')])}]"
            if pd.notna(n):
                text += f" (n={int(n)})"
            if t in table.attrs.get("newest failed", {}).get(label, ()):
                text += " †"
            col.append(text)
        cells[t] = col
    out = pd.DataFrame(cells, index=table.index)
    if ("all", "mean score") in table.columns:
        out["mean score"] = [num(v) for v in table[("all", "mean score")]]
        out["mean rank"] = [num(v, 2) for v in table[("all", "mean rank")]]
    for key, name in (("iqm", "IQM"), ("poi", f"P(> {table.attrs.get('versus', '')})")):
        if ("all", key) in table.columns:
            out[name] = [("–" if pd.isna(v) else f"{num(v)} [{num(lo)}, {num(hi)}]") for v, lo, hi in
                         zip(table[("all", key)], table[("all", f"{key} lo")], table[("all", f"{key} hi")])]
    if fmt == "md":
        body = out.to_markdown() if _has_tabulate() else _markdown(out)
        return "\n".join(["**Protocol.**", ""] + [f"- {line}" for line in proto] + ["", body])
    if fmt == "latex":
        return "\n".join([f"% {line}" for line in proto] + [_latex(out)])
    return "\n".join([f"# {line}" for line in proto] + [out.to_string()])


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
             " & ".join([esc(out.index.name or "Method")] + [esc(c) for c in out.columns]) + " \\\\", "\\midrule"]
    for idx, row in out.iterrows():
        lines.append(" & ".join([esc(idx)] + [esc(v) for v in row]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines)


def _figure_protocol(fig, table: pd.DataFrame) -> None:
    import textwrap

    text = "\n".join(textwrap.fill(line, 160) for line in protocol_lines(table))
    fig.text(0.01, 0.005, text, fontsize=6, va="bottom", ha="left", family="monospace")


def plot(table: pd.DataFrame, path: str | Path, title: str = "", metadata: dict | None = None) -> Path:
    """One panel per task: a point per optimizer (aggregate ± std over seeds, or its bootstrap CI when the
    table has one), D(best) dashed; protocol below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    point = _point(table)
    tasks = [t for t in dict.fromkeys(table.columns.get_level_values(0)) if t != "all"]
    labels = [i for i in table.index if i != DBEST]
    n_proto = len(protocol_lines(table))
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks) + 1.5, 0.45 * len(labels) + 1.8 + 0.2 * n_proto),
                             squeeze=False, sharey=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, task in zip(axes[0], tasks):
        m = table.loc[labels, (task, point)].to_numpy(float)
        if (task, "lo") in table.columns:  # --ci: the bootstrap interval, not ± std
            below = np.nan_to_num(m - table.loc[labels, (task, "lo")].to_numpy(float))
            above = np.nan_to_num(table.loc[labels, (task, "hi")].to_numpy(float) - m)
        else:
            below = above = np.nan_to_num(table.loc[labels, (task, "std")].to_numpy(float))
        n = table.loc[labels, (task, "n")].to_numpy(float)
        pos = np.arange(len(labels))
        for i in pos:  # points, not bars: the axis does not start at zero
            if np.isnan(m[i]):
                continue
            ax.errorbar(m[i], i, xerr=[[below[i]], [above[i]]], fmt="o", color=colors[i % len(colors)], capsize=3,
                        ms=6)
            ax.annotate(f"n={int(n[i])}", (m[i], i), xytext=(0, 6), textcoords="offset points", fontsize=6,
                        ha="center")
        best = table.loc[DBEST, (task, point)] if DBEST in table.index else np.nan
        if pd.notna(best):
            ax.axvline(best, color="k", ls="--", lw=1, label="D(best)")
            ax.legend(loc="best", fontsize=7)
        lo = np.nanmin(np.concatenate([m - below, [best]]))
        hi = np.nanmax(np.concatenate([m + above, [best]]))
        pad = 0.08 * (hi - lo if hi > lo else 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_title(task)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(np.arange(len(labels)), labels)
    axes[0][0].invert_yaxis()
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.03 + 0.022 * n_proto, 1, 1))
    _figure_protocol(fig, table)
    return _save(fig, path) if metadata is None else _save(fig, path, metadata)


def plot_intervals(table: pd.DataFrame, path: str | Path, title: str = "", metadata: dict | None = None) -> Path:
    """Across-task interval estimates: one row per label, IQM (and P(> baseline)) with its CI; protocol below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if ("all", "iqm") not in table.columns:
        raise ConfigError("interval estimates need a score table built with --ci (normalized scores)")
    rows = table[table[("all", "iqm")].notna()].sort_values(("all", "iqm"))
    panels = [("iqm", "IQM of normalized scores")]
    if ("all", "poi") in table.columns:
        panels.append(("poi", f"P(X > {table.attrs.get('versus', 'baseline')})"))
    n_proto = len(protocol_lines(table))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels) + 2, 0.45 * len(rows) + 1.8 + 0.2 * n_proto),
                             squeeze=False, sharey=True)
    pos = np.arange(len(rows))
    for ax, (key, name) in zip(axes[0], panels):
        v = rows[("all", key)].to_numpy(float)
        lo, hi = rows[("all", f"{key} lo")].to_numpy(float), rows[("all", f"{key} hi")].to_numpy(float)
        err = np.vstack([np.nan_to_num(v - lo), np.nan_to_num(hi - v)])
        ax.errorbar(v, pos, xerr=err, fmt="o", capsize=4, ms=6)
        if key == "poi":
            ax.axvline(0.5, color="k", ls="--", lw=1)
        ax.set_title(name)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(pos, list(rows.index))
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.03 + 0.022 * n_proto, 1, 1))
    _figure_protocol(fig, table)
    return _save(fig, path) if metadata is None else _save(fig, path, metadata)


def check_plot_path(path: str | Path) -> None:
    """Refuse a figure file name whose extension matplotlib cannot write, naming the ones it can.

    Raises:
        ConfigError: e.g. for ``x.jpgg``.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    ext = Path(path).suffix.lstrip(".").lower()
    if ext not in kinds:
        raise ConfigError(f"cannot draw a figure to {str(path)!r}: {'.' + ext if ext else 'no'} extension is not an "
                          f"image format.{did_you_mean(ext, kinds)} Use one of: {', '.join(sorted(kinds))} "
                          "(e.g. leaderboard.png)")


def _save(fig, path: str | Path, metadata: dict | None = None) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, metadata=metadata)
    plt.close(fig)
    return path


# ---- summary tables: one row per configuration, chosen columns (experiment files' kind = "summary") ----

SUMMARY_STATS = {"p100": "100th", "p75": "75th", "p50": "50th", "p25": "25th", "mean": "mean",
                 "p50_tfp": "50th TFP-nearest"}
SUMMARY_FORMS = ("seeds", "STAT", "per-seed STAT", "paper STAT", "config KEY", "diag PATH", "time KEY")


def _summary_column(col: str) -> tuple[str, str]:
    """``(form, argument)`` of a summary column spec, e.g. ``"paper p100"`` → ``("paper", "p100")``."""
    if col == "seeds":
        return "seeds", ""
    if col in SUMMARY_STATS:
        return "stat", col
    head, _, arg = col.partition(" ")
    arg = arg.strip()
    if head in ("per-seed", "paper") and arg in SUMMARY_STATS and not (head == "paper" and arg == "p50_tfp"):
        return head, arg
    if head in ("config", "diag", "time") and arg:
        return head, arg
    raise ConfigError(f"summary column {col!r} is not one of the forms {', '.join(SUMMARY_FORMS)} (STAT: "
                      f"{', '.join(SUMMARY_STATS)}; a paper's 50th is 'paper p50', compared the paper's way)."
                      f"{did_you_mean(col, list(SUMMARY_STATS) + ['seeds'])}")


def check_summary_columns(where: str, columns: list[str], paper: str | None,
                          paper_table: str | Sequence[str] = ()) -> None:
    """Refuse an unknown column form, and paper columns without a paper (and table) known to :mod:`mbo.reference`."""
    from mbo.reference import papers

    forms = []
    for col in columns:
        try:
            forms.append(_summary_column(col)[0])
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    ref = papers()
    known = sorted(set(ref["paper"]))
    if "paper" in forms and paper is None:
        raise ConfigError(f"{where}: paper columns need paper = \"...\", one of: {'; '.join(known)}")
    if paper is not None and paper not in known:
        raise ConfigError(f"{where}: no paper {paper!r} in mbo/reference/papers.csv.{did_you_mean(paper, known)} "
                          f"Papers: {'; '.join(known)}")
    tables = sorted(set(ref.loc[ref["paper"] == paper, "table"]))
    for table in _tables(paper_table):
        if table not in tables:
            raise ConfigError(f"{where}: {paper} has no table {table!r} in mbo/reference/papers.csv."
                              f"{did_you_mean(table, tables)} Its tables: {', '.join(tables)}")


def _tables(paper_table: str | Sequence[str] | None) -> tuple[str, ...]:
    """``paper_table`` as a tuple: one table, several, or none (every table of the paper)."""
    if not paper_table:
        return ()
    return (paper_table,) if isinstance(paper_table, str) else tuple(paper_table)


def _stat_col(stat: str, raw: bool) -> str:
    col = P50_TFP if stat == "p50_tfp" else stat
    return f"raw_{col}" if raw else col


def _num(v: float, digits: int = 3) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _record_json(path: str) -> dict:
    import json

    return json.loads(Path(path).read_text())


def _dig(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d.get(part) if isinstance(d, dict) else None
    return d


def _shown(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return "–" if v is None else str(v)


def _paper_cell(ref: pd.DataFrame, runs: pd.DataFrame, task: str, stat: str, raw: bool, variant: bool):
    """The paper's cell for these runs (one label on one task) and its verdict, or None."""
    from mbo.reference import parse_spec, same_overrides
    from mbo.reference.reproduce import PAPER_PROFILES, _verdict, stat_column

    first = runs.iloc[0]
    q = int(first["budget"])
    cells = ref[(ref["task"] == task) & (ref["statistic"] == stat) & (ref["scale"] == ("raw" if raw else "normalized"))
                & (ref["Q"] == q)]
    hits = []
    for _, cell in cells.iterrows():
        for name, overrides, profile in parse_spec(cell["mbo"]):
            if name == first["optimizer"] and same_overrides(first["overrides"], overrides):
                hits.append((cell, profile))
    if not hits:
        return None
    if len({(float(c["value"]), float(c["spread"]) if pd.notna(c["spread"]) else None) for c, _ in hits}) > 1:
        raise ConfigError(f"{first['label']} on {task}: the paper prints several different {stat} cells for it "
                          f"({', '.join(sorted({str(c['table']) for c, _ in hits}))}); give the table "
                          "paper_table = \"...\" to pick one")
    cell = hits[0][0]
    allowed = set(PAPER_PROFILES) | {profile for _, profile in hits}  # e.g. ddom@branin-ref follows the paper too
    profiles = [p if isinstance(p, str) and p else None for p in runs["profile"]]
    comparable = not variant and all(p in allowed for p in profiles)
    verdict = None
    if comparable:
        verdict = _verdict(float(runs[stat_column(cell)].astype(float).mean()), float(cell["value"]),
                           float(cell["spread"]) if pd.notna(cell["spread"]) else np.nan)[0]
    return cell, verdict


def _dbest_cell(ref: pd.DataFrame, task: str, stat: str, raw: bool):
    from mbo.reference import DBEST_SPEC

    cells = ref[(ref["task"] == task) & (ref["statistic"] == stat) & (ref["mbo"] == DBEST_SPEC)
                & (ref["scale"] == ("raw" if raw else "normalized"))]
    return None if cells.empty else cells.iloc[0]


def summary(df: pd.DataFrame, columns: list[str], order: list[str] | None = None, raw: bool = False,
            spread: str = "std1", paper: str | None = None, dbest: bool = True,
            nulls: tuple[str, ...] = ("random", "dataset-best"),
            paper_table: str | Sequence[str] = ()) -> pd.DataFrame:
    """One row per (task, label) of ``df`` with the listed columns (:func:`_summary_column` forms), as text.

    Args:
        df: the runs to show (:func:`load_records` rows, one Q per task).
        columns: e.g. ``["seeds", "p100", "paper p100", "p50_tfp", "per-seed p100", "config gamma",
            "diag optimizer.surrogate_spearman_train", "time total"]``.
        order: labels in the order shown (after the null baselines ``nulls``); others follow, sorted.
        raw: raw oracle values instead of normalized scores.
        spread: across-seed spread of the statistic columns (:func:`mbo.stats.spread`: std0, std1, s.e.).
        paper: the paper (``mbo/reference/papers.csv``) whose cells fill the ``paper STAT`` columns.
        paper_table: its table (or tables) to read, where it prints a method's cell in several: e.g. ``["2", "4"]``
            for a 100th percentile printed in Table 2 and an ablation, and a 50th in Table 4.
        dbest: add a ``D(best)`` row (the best training label; the paper's D(best) beside it).

    Returns:
        A frame of strings indexed by label (plus a ``task`` column with several tasks), columns named by
        their spec; ``attrs["protocol"]`` holds the protocol lines.
    """
    from mbo.registry import load_class
    from mbo.stats import spread as spread_of

    if df.empty:
        raise ConfigError("no successful runs to summarise")
    forms = [(c, *_summary_column(c)) for c in columns]
    ref = None
    if any(f == "paper" for _, f, _ in forms):
        from mbo.reference import papers

        ref = papers()
        tables = _tables(paper_table)
        ref = ref[(ref["paper"] == paper) & (ref["table"].isin(tables) if tables else True)]
    for task, g in df.groupby("task"):
        if g["budget"].nunique() > 1:
            raise ConfigError(f"task {task!r} has runs with several budgets {sorted(g['budget'].unique())}; "
                              "give the table a budget")
    tasks = list(dict.fromkeys(sorted(df["task"])))
    labels_seen = set(df["label"])
    ordered = [n for n in nulls if n in labels_seen] + [lab for lab in (order or []) if lab in labels_seen]
    ordered += sorted(labels_seen - set(ordered))
    variant_of = {t: getattr(load_class("task", t), "variant_of", None) for t in tasks}
    variants_shown: set[tuple[str, str]] = set()
    partial_times = False
    rows, index, seed_sets = [], [], set()
    for task in tasks:
        base = variant_of[task] or task
        tdf = df[df["task"] == task]
        for label in [lab for lab in ordered if lab in set(tdf["label"])]:
            g = tdf[tdf["label"] == label].sort_values("seed")
            recs = None
            row = {"task": task} if len(tasks) > 1 else {}
            for spec, form, arg in forms:
                if form == "seeds":
                    row[spec] = ",".join(str(int(s)) for s in g["seed"])
                elif form == "stat":
                    v = g[_stat_col(arg, raw)].to_numpy(float)
                    sd = spread_of(v, spread)
                    row[spec] = _num(v.mean()) + ("" if np.isnan(sd) else f" ± {_num(sd)}")
                elif form == "per-seed":
                    row[spec] = " / ".join(_num(v) for v in g[_stat_col(arg, raw)].to_numpy(float))
                elif form == "paper":
                    hit = _paper_cell(ref, g, base, arg, raw, variant=base != task)
                    if hit is None:
                        row[spec] = "–"
                        continue
                    cell, verdict = hit
                    row[spec] = _num(float(cell["value"])) + (f" ± {_num(float(cell['spread']))}"
                                                              if pd.notna(cell["spread"]) else "")
                    if verdict:
                        row[spec] += f" ({verdict})" if verdict == "within" else f" (**{verdict}**)"
                    elif base != task:
                        row[spec] += " ‡"
                        variants_shown.add((task, base))
                elif form == "time":
                    col = f"time_{arg}"
                    v = g[col].to_numpy(float) if col in g else np.array([np.nan])
                    m = np.nanmean(v) if np.isfinite(v).any() else np.nan
                    row[spec] = "–" if np.isnan(m) else (f"{m:.0f}" if m >= 10 else f"{m:.1f}")
                    if not np.isnan(m) and arg in ("fit", "total") and g.get("time_partial", pd.Series()).any():
                        row[spec] = "≥ " + row[spec]
                        partial_times = True
                else:  # config / diag: read from the records themselves
                    recs = recs or [_record_json(p) for p in g["path"]]
                    if form == "config":
                        vals = list(dict.fromkeys(_shown((r.get("config") or {}).get(arg)) for r in recs))
                        row[spec] = " / ".join(vals)
                    else:
                        vals = [_dig(r.get("diagnostics") or {}, arg) for r in recs]
                        vals = [float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
                        row[spec] = _diag_num(float(np.mean(vals))) if vals else "–"
            rows.append(row)
            index.append(label)
            seed_sets.add(tuple(str(int(s)) for s in g["seed"]))
        if dbest and any(f in ("stat", "paper") for _, f, _ in forms):
            best = tdf["dbest_raw" if raw else "dbest"].dropna()
            row = {"task": task} if len(tasks) > 1 else {}
            for spec, form, arg in forms:
                row[spec] = "–"
                if form == "stat" and not best.empty:
                    row[spec] = _num(float(best.iloc[0]))
                elif form == "paper":
                    cell = _dbest_cell(ref, base, arg, raw)
                    if cell is not None:
                        row[spec] = _num(float(cell["value"])) + (" ‡" if base != task else "")
                        if base != task:
                            variants_shown.add((task, base))
            rows.append(row)
            index.append(DBEST)
    out = pd.DataFrame(rows, index=pd.Index(index, name="configuration")).fillna("–")
    out.attrs["seeds"] = seed_sets
    out.attrs["protocol"] = _summary_protocol(df, forms, raw, spread, paper, ref, dbest, variants_shown)
    out.attrs["columns"] = {spec: text for spec, text in (
        (spec, {"diag": f"diagnostics.{arg} of each record, mean over seeds (– where the records lack it)",
                "time": f"timings.{arg} of each record in seconds, mean over seeds, on the machine each record "
                        "names (shared CPUs: indicative only)" + (
                            "; a resumed run's includes its earlier attempts' up to their last checkpoint" + (
                                " (≥: a run resumed before records kept that counts only the part after "
                                "resuming)" if partial_times else "")
                            if arg in ("fit", "total") and df.get("resumed", pd.Series()).any() else ""),
                "config": f"the config value {arg} the runs used"}.get(form)) for spec, form, arg in forms) if text}
    return out


def _diag_num(m: float) -> str:
    """A diagnostic's mean with three decimals below 1 (Spearman 0.336, MSE 0.049), fewer above."""
    return f"{m:.3f}" if abs(m) <= 1 else f"{m:.1f}" if abs(m) < 100 else f"{m:.0f}"


def _summary_protocol(df: pd.DataFrame, forms: list, raw: bool, spread: str, paper: str | None, ref,
                      dbest: bool, variants: set) -> list[str]:
    from mbo.reference.reproduce import TOLERANCE

    scale = "raw" if raw else "normalized"
    stats = list(dict.fromkeys(a for _, f, a in forms if f in ("stat", "per-seed")))
    text = {"p100": "100th = the max", "p75": "75th", "p50": "50th = the median (linear interpolation)",
            "p25": "25th", "mean": "mean",
            "p50_tfp": "50th TFP-nearest = the median as Design-Bench's logger computes it (TensorFlow "
                       "Probability's 'nearest': ascending index round-half-to-even((Q - 1) / 2), 63 of 128, "
                       "127 of 256)"}
    spreads = {"std0": "population std (ddof = 0, as Design-Bench)", "std1": "sample std (ddof = 1)",
               "s.e.": "standard error (ddof = 1 std / √n)"}
    qs = df.groupby("task")["budget"].first()
    profiles = sorted({p if isinstance(p, str) and p else "paper/default" for p in df["profile"]})
    lines = []
    if stats:
        lines.append("statistic: " + "; ".join(text[s] for s in stats) + f" of each run's Q {scale} scores; "
                     f"per cell the mean over seeds ± {spreads[spread]}; per-seed columns in seed order")
    lines.append("budget: " + (f"Q = {int(qs.iloc[0])}" if qs.nunique() == 1
                               else "Q = " + ", ".join(f"{int(q)} ({t})" for t, q in qs.items())))
    lines.append("normalization: " + ("raw oracle values" if raw else
                                      "(y - y_min) / (y_max - y_min), y_min and y_max over the task's full dataset"))
    lines.append("profiles: " + ", ".join(profiles) + ("; [quick] rows are a CPU preset, not the paper's protocol"
                                                       if "quick" in profiles else ""))
    if dbest:
        lines.append(f"{DBEST} = the best training label{'' if raw else ' (normalized)'}, not a run; dataset-best = "
                     "the oracle's scores of the top-Q training designs")
    if ref is not None:
        tables = ", ".join(sorted({f"{t} ({s})" for t, s in zip(ref["table"], ref["statistic"])
                                   if s in {a for _, f, a in forms if f == "paper"}}))
        lines.append(f"paper's columns: published cells of {paper}, table {tables}, mean ± their printed spread; "
                     "not our runs; the paper's 50th is compared with the statistic it prints (Design-Bench lineage: "
                     "TFP-nearest)")
        lines.append(f"verdict (as `mbo reproduce`): within if |ours − paper| ≤ max(2 × paper spread, {TOLERANCE}), "
                     "else above / below; given only for runs under the paper's protocol (its profile, task and Q); "
                     "other rows show the paper's value for reference only")
        for task, base in sorted(variants):
            lines.append(f"‡ = the paper's cell is for {base}; {task} is a variant with another data protocol, "
                         "so it is shown, not compared")
    return lines


def format_summary(table: pd.DataFrame, headers: dict[str, str | None] | None = None) -> str:
    """Markdown of a :func:`summary` frame, protocol first; ``headers`` renames columns (spec → header)."""
    headers = headers or {}
    has_paper = any(_summary_column(c)[0] == "paper" for c in table.columns if c != "task")
    seeds = table.attrs.get("seeds", set())

    def head(spec: str) -> str:
        if headers.get(spec):
            return headers[spec]
        if spec == "task":
            return "task"
        form, arg = _summary_column(spec)
        name = SUMMARY_STATS.get(arg, arg)
        if form == "stat":
            return name + (" (ours)" if has_paper else "")
        if form == "per-seed":
            return f"{name}: seed {' / '.join(next(iter(seeds)))}" if len(seeds) == 1 else f"{name} per seed"
        if form == "paper":
            return f"paper's {name}"
        if form == "time":
            return "wall s" if arg == "total" else f"{arg} s"
        if form == "diag":
            return arg.rsplit(".", 1)[-1]
        return spec if form == "seeds" else arg

    cols = ["configuration"] + [head(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(["---"] * len(cols)) + "|"]
    for label, row in table.iterrows():
        lines.append("| " + " | ".join([str(label)] + [str(v) for v in row]) + " |")
    proto = table.attrs.get("protocol", []) + [f"{head(c)}: {t}" for c, t in table.attrs.get("columns", {}).items()]
    return "\n".join(["**Protocol.**", ""] + [f"- {line}" for line in proto] + [""] + lines)

"""A static results site built from stored records alone: ``mbo site --out site/``.

Plain HTML and CSS with one small script (table sorting and filtering); no server and no CDN, so
it opens from disk and from any static host. Pages:

* ``index.html``: the tasks, the reports and the reproduction matrix, with the site's protocol;
* ``tasks/<task>.html``: per Q, the leaderboard at the 100th and 50th percentiles with bootstrap
  CIs (``random`` and ``dataset-best`` marked as reference rows, ``D(best)`` as the best training
  label), an interval plot, and every run;
* ``reproduce.html``: method × task per paper table, each cell coloured by its verdict and linked
  to the paper value, our runs and the note;
* ``reports/<name>/<file>.html``: every Markdown report under the results folder, rendered;
* ``runs/<task>/<run_id>.html`` (and ``.json``, the raw record): config, seed, Q, device,
  precision, code hash, timings, diagnostics and a histogram of the Q candidates' scores.

Every page states its protocol. Nothing is re-run: numbers come from :mod:`mbo.report` and
:mod:`mbo.reference.reproduce` over the records.
"""
from __future__ import annotations

import html
import json
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mbo import store
from mbo.errors import ConfigError

NULLS = ("random", "dataset-best")
VERDICT_CLASS = {"within": "v-within", "above": "v-above", "below": "v-below",
                 "not comparable": "v-nc", "not run": "v-none"}
CI_LEVEL = 95.0
PERCENTILES = ("100", "50")
_SITE_PROTOCOL = [
    "scores: normalized (y - y_min) / (y_max - y_min), y_min and y_max over each task's full dataset "
    "(Design-Bench's convention); Branin also raw where the papers report raw values",
    "a run's statistic: a percentile of its Q candidates' scores (linear interpolation), per cell the mean over "
    f"seeds ± sample std (ddof = 1) with a {CI_LEVEL:g}% percentile-bootstrap CI over seeds",
    "random (uniform designs) and dataset-best (the top-Q training designs) are the null baselines, shown on every "
    "leaderboard; D(best) is the best training label",
    "[quick] labels are a CPU preset, not the paper's protocol",
]


def build(results_dir: str | Path | None = None, out: str | Path = "site") -> Path:
    """Write the site for every record under ``results_dir`` into ``out``; returns the index page.

    Raises:
        ConfigError: the results folder is missing or holds no successful run.
    """
    from mbo.report import load_records

    root = Path(results_dir) if results_dir is not None else store.results_dir(None)
    if not root.is_dir():
        raise ConfigError(f"results folder {str(root)!r} does not exist; pass --results-dir with your runs")
    df = load_records(root)
    if df.empty:
        raise ConfigError(f"no successful runs under {str(root)!r}; run some with `mbo run` first")
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "assets").mkdir(parents=True)
    for name in ("style.css", "table.js"):
        (out / "assets" / name).write_text(resources.files("mbo.site").joinpath(name).read_text())
    run_pages = _run_pages(df, out)
    tasks = sorted(df["task"].unique())
    for task in tasks:
        _task_page(df[df["task"] == task], task, out, run_pages)
    verdicts = _reproduce_page(df, out, run_pages)
    reports = _report_pages(root, out)
    _index_page(df, tasks, reports, verdicts, out)
    return out / "index.html"


# --- page frame -----------------------------------------------------------------------------------

def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _page(path: Path, out: Path, title: str, body: str, protocol: list[str]) -> None:
    """Write one page: navigation, title, protocol box, body. Links in ``body`` are relative to ``path``."""
    up = "../" * (len(path.relative_to(out).parts) - 1)
    proto = "".join(f"<li>{_e(line)}</li>" for line in protocol)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_e(title)} · mbo</title>"
        f"<link rel='stylesheet' href='{up}assets/style.css'><script src='{up}assets/table.js' defer></script>"
        f"</head><body><nav><a href='{up}index.html'>mbo results</a> · <a href='{up}reproduce.html'>reproduction"
        f"</a></nav><main><h1>{_e(title)}</h1><details class='protocol' open><summary>Protocol</summary><ul>{proto}"
        f"</ul></details>{body}</main></body></html>\n")


def _num(value: Any, digits: int = 3) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if not np.isfinite(v):
        return "–"
    return f"{v:.{digits}g}" if abs(v) >= 1000 else f"{v:.{digits}f}"


def _table(headers: list[str], rows: list[list[str]], cls: str = "", row_classes: list[str] | None = None,
           table_id: str = "") -> str:
    """A sortable table; cells are HTML already (escape before); a cell's ``data-v`` sorts numerically."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        rc = f" class='{row_classes[i]}'" if row_classes and row_classes[i] else ""
        body.append(f"<tr{rc}>" + "".join(row) + "</tr>")
    tid = f" id='{table_id}'" if table_id else ""
    return (f"<input class='filter' type='search' placeholder='filter rows'>"
            f"<table class='sortable {cls}'{tid}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _td(text: str, sort: float | None = None) -> str:
    key = "" if sort is None or not np.isfinite(sort) else f" data-v='{sort:.6g}'"
    return f"<td{key}>{text}</td>"


# --- runs -----------------------------------------------------------------------------------------

def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "_"


def _run_href(task: str, run_id: str) -> str:
    return f"runs/{_slug(task)}/{run_id}.html"


def _run_pages(df: pd.DataFrame, out: Path) -> dict[str, str]:
    """One page and one raw JSON per run; returns run id -> page path relative to ``out``."""
    pages = {}
    for _, row in df.iterrows():
        rec = store.read(Path(row["path"]))
        if rec is None:
            continue
        href = _run_href(rec["task"], rec["run_id"])
        page = out / href
        page.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(row["path"], page.with_suffix(".json"))
        pages[rec["run_id"]] = href
        _page(page, out, f"{rec['label']} on {rec['task']}, seed {rec['seed']}", _run_body(rec),
              _run_protocol(rec))
    return pages


def _run_protocol(rec: dict) -> list[str]:
    norm = rec.get("normalization") or {}
    return [f"one run: Q = {rec.get('budget')} candidates from seed {rec.get('seed')}, scored once by the oracle",
            f"normalized = (y - y_min) / (y_max - y_min), y_min = {_num(norm.get('y_min'))}, "
            f"y_max = {_num(norm.get('y_max'))} over the task's full dataset",
            "percentiles over the Q candidates by linear interpolation; p50_tfp_nearest (where stored) is "
            "Design-Bench's statistic",
            f"profile: {rec.get('profile') or 'paper/default'}"]


def _kv(items: dict) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(json.dumps(v) if isinstance(v, (dict, list)) else v)}</td></tr>"
                   for k, v in items.items())
    return f"<table class='kv'>{rows}</table>"


def _run_body(rec: dict) -> str:
    ident = {k: rec.get(k) for k in ("task", "optimizer", "label", "profile", "seed", "budget", "status",
                                     "device", "precision", "torch_threads", "subnormals", "code_hash", "code_dirty",
                                     "git_commit", "code_commits", "data_version", "started", "run_id") if k in rec}
    parts = [f"<p><a href='{rec['run_id']}.json'>raw record (JSON)</a></p>", "<h2>Run</h2>", _kv(ident)]
    summ = (rec.get("summary") or {}).get("normalized") or {}
    if summ:
        parts += ["<h2>Scores (normalized)</h2>", _kv({k: _num(v) for k, v in summ.items()})]
        best = rec.get("dataset_best") or {}
        parts.append(f"<p>dataset best: {_num(best.get('normalized'))} normalized ({_num(best.get('raw'))} raw)</p>")
    scores = ((rec.get("scores") or {}).get("normalized")) or []
    if scores:
        parts += ["<h2>Score histogram of the Q candidates</h2>", _histogram_svg(np.asarray(scores, float),
                                                                                   (rec.get("dataset_best") or {})
                                                                                   .get("normalized"))]
    if rec.get("error"):
        parts += ["<h2>Error</h2>", f"<pre>{_e(rec['error'])}</pre>"]
    parts += ["<h2>Config (resolved)</h2>", _kv(rec.get("config") or {}),
              "<h2>Timings (s)</h2>", _kv({k: _num(v, 2) for k, v in (rec.get("timings") or {}).items()}),
              "<h2>Diagnostics</h2>", f"<pre>{_e(json.dumps(rec.get('diagnostics') or {}, indent=1))}</pre>",
              "<h2>Versions</h2>", _kv(rec.get("versions") or {})]
    return "".join(parts)


def _histogram_svg(values: np.ndarray, dbest: float | None, bins: int = 30, w: int = 480, h: int = 160) -> str:
    """An inline SVG histogram of normalized scores (dashed line: dataset best)."""
    values = values[np.isfinite(values)]
    lo, hi = float(values.min()), float(values.max())
    if dbest is not None and np.isfinite(dbest):
        lo, hi = min(lo, dbest), max(hi, dbest)
    if hi <= lo:
        hi = lo + 1e-6
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    pad, bw = 30, (w - 40) / bins
    top = max(int(counts.max()), 1)
    bars = "".join(f"<rect x='{pad + i * bw:.1f}' y='{h - 20 - c / top * (h - 40):.1f}' width='{bw - 1:.1f}' "
                   f"height='{c / top * (h - 40):.1f}'><title>{edges[i]:.3f}–{edges[i + 1]:.3f}: {c}</title></rect>"
                   for i, c in enumerate(counts))
    mark = ""
    if dbest is not None and np.isfinite(dbest):
        x = pad + (dbest - lo) / (hi - lo) * (w - 40)
        mark = f"<line class='dbest' x1='{x:.1f}' x2='{x:.1f}' y1='10' y2='{h - 20}'/>"
    return (f"<svg class='hist' viewBox='0 0 {w} {h}' width='{w}' height='{h}' role='img' "
            f"aria-label='histogram of {len(values)} scores'>{bars}{mark}"
            f"<text x='{pad}' y='{h - 4}'>{lo:.3f}</text><text x='{w - 10}' y='{h - 4}' text-anchor='end'>"
            f"{hi:.3f}</text><text x='{pad}' y='12'>max count {top}</text></svg>")


# --- tasks ----------------------------------------------------------------------------------------

def _task_href(task: str) -> str:
    return f"tasks/{_slug(task)}.html"


def _task_page(df: pd.DataFrame, task: str, out: Path, run_pages: dict[str, str]) -> None:
    from mbo.report import DBEST, leaderboard, protocol_lines

    parts, protocol = [], []
    for q in sorted(int(b) for b in df["budget"].unique()):
        dq = df[df["budget"] == q]
        parts.append(f"<h2 id='q{q}'>Q = {q}</h2>")
        for pct in PERCENTILES:
            table = leaderboard(dq, percentile=pct, budget=q, ci=CI_LEVEL)
            protocol = protocol or protocol_lines(table)
            parts.append(f"<h3>{pct}th percentile</h3>")
            parts.append(_leaderboard_html(table, task, DBEST, f"lb-q{q}-p{pct}"))
            parts.append(_interval_svg(table, task, DBEST))
        parts.append(f"<h3>Runs (Q = {q})</h3>")
        rows, classes = [], []
        for _, r in dq.sort_values(["label", "seed"]).iterrows():
            href = "../" + run_pages[r["run_id"]] if r["run_id"] in run_pages else ""
            link = f"<a href='{href}'>{_e(r['run_id'])}</a>" if href else _e(r["run_id"])
            rows.append([_td(_e(r["label"])), _td(str(int(r["seed"])), r["seed"]), _td(_num(r.get("p100")),
                         r.get("p100")), _td(_num(r.get("p50")), r.get("p50")), _td(link)])
            classes.append("null" if r["optimizer"] in NULLS else "")
        parts.append(_table(["label", "seed", "p100", "p50", "run"], rows, "runs", classes))
    _page(out / _task_href(task), out, f"Task {task}", "".join(parts), protocol or _SITE_PROTOCOL)


def _leaderboard_html(table: pd.DataFrame, task: str, dbest: str, table_id: str) -> str:
    point = next(s for s in ("mean", "median", "iqm") if (task, s) in table.columns)
    rows, classes = [], []
    for label, r in table.iterrows():
        v, lo, hi = r[(task, point)], r.get((task, "lo"), np.nan), r.get((task, "hi"), np.nan)
        ci = f"[{_num(lo)}, {_num(hi)}]" if np.isfinite(lo) else "–"
        n = r.get((task, "n"), np.nan)
        rows.append([_td(_e(label)), _td(_num(v), v), _td(_num(r.get((task, "std"), np.nan))), _td(ci),
                     _td("–" if not np.isfinite(n) else str(int(n)), n)])
        name = str(label).split("[")[0]
        classes.append("ref" if label == dbest else "null" if name in NULLS else "")
    return _table(["label", point, "std", f"{CI_LEVEL:g}% CI", "n"], rows, "leaderboard", classes, table_id)


def _interval_svg(table: pd.DataFrame, task: str, dbest: str, w: int = 560) -> str:
    """Point estimate and bootstrap CI per label, on a shared axis (nulls in grey, D(best) dashed)."""
    point = next(s for s in ("mean", "median", "iqm") if (task, s) in table.columns)
    rows = [(str(lab), r[(task, point)], r.get((task, "lo"), np.nan), r.get((task, "hi"), np.nan))
            for lab, r in table.iterrows() if lab != dbest and np.isfinite(r[(task, point)])]
    if not rows:
        return ""
    vals = [x for _, v, lo, hi in rows for x in (v, lo, hi) if np.isfinite(x)]
    best = table.loc[dbest, (task, point)] if dbest in table.index else np.nan
    if np.isfinite(best):
        vals.append(best)
    lo_all, hi_all = min(vals), max(vals)
    span = (hi_all - lo_all) or 1.0
    left, right, step = 230, w - 20, 18
    h = step * len(rows) + 30

    def x(v: float) -> float:
        return left + (v - lo_all) / span * (right - left)

    items = []
    for i, (lab, v, lo, hi) in enumerate(rows):
        y = 14 + i * step
        cls = "null" if lab.split("[")[0] in NULLS else "est"
        bar = (f"<line class='{cls}' x1='{x(lo):.1f}' x2='{x(hi):.1f}' y1='{y}' y2='{y}'/>"
               if np.isfinite(lo) and np.isfinite(hi) else "")
        items.append(f"<text x='{left - 6}' y='{y + 4}' text-anchor='end'>{_e(lab)}</text>{bar}"
                     f"<circle class='{cls}' cx='{x(v):.1f}' cy='{y}' r='4'><title>{_e(lab)}: {v:.3f}</title>"
                     "</circle>")
    if np.isfinite(best):
        items.append(f"<line class='dbest' x1='{x(best):.1f}' x2='{x(best):.1f}' y1='4' y2='{h - 22}'/>")
    axis = (f"<text x='{left}' y='{h - 6}'>{lo_all:.3f}</text>"
            f"<text x='{right}' y='{h - 6}' text-anchor='end'>{hi_all:.3f}</text>")
    return (f"<svg class='intervals' viewBox='0 0 {w} {h}' width='{w}' height='{h}' role='img' "
            f"aria-label='interval plot'>{''.join(items)}{axis}</svg>")


# --- reproduction matrix --------------------------------------------------------------------------

def _reproduce_page(df: pd.DataFrame, out: Path, run_pages: dict[str, str]) -> dict[str, int]:
    from mbo.reference.reproduce import PROTOCOL, compare, counts

    table = compare(df)
    verdicts = counts(table)
    legend = "".join(f"<span class='chip {cls}'>{_e(v)}: {verdicts[v]}</span>" for v, cls in VERDICT_CLASS.items())
    parts = [f"<p>{legend}</p>", "<p>Each square is one paper cell; its colour is our verdict. Click a square for "
             "the paper value, our runs and the note.</p>"]
    table = table.assign(group=table["paper"] + ", Table " + table["table"].astype(str))
    per_cell = table.sort_values("n", ascending=False).groupby("cell").first()
    from mbo.reference.reproduce import cell_verdicts

    per_cell["final"] = cell_verdicts(table)
    for group, g in per_cell.groupby("group", sort=True):
        tasks = sorted(g["task"].unique())
        head = "<tr><th>method</th>" + "".join(f"<th>{_e(t)}</th>" for t in tasks) + "</tr>"
        body = []
        for method, m in g.groupby("method", sort=False):
            cells = []
            for t in tasks:
                hit = m[m["task"] == t]
                if hit.empty:
                    cells.append("<td></td>")
                    continue
                cid, c = hit.index[0], hit.iloc[0]
                cells.append(f"<td class='{VERDICT_CLASS[c['final']]}'><a href='#cell-{cid}' title="
                             f"'{_e(c['final'])}'>{_e(c['final'])}</a></td>")
            body.append(f"<tr><th>{_e(method)}</th>{''.join(cells)}</tr>")
        parts.append(f"<h2>{_e(group)}</h2><table class='matrix'>{head}{''.join(body)}</table>")
    parts.append("<h2>Cells</h2>")
    rows, classes = [], []
    for _, r in table.sort_values(["cell"]).iterrows():
        runs = df[(df["task"] == r["task"]) & (df["label"] == r["label"])]
        if np.isfinite(r.get("runs_Q", np.nan)):
            runs = runs[runs["budget"] == r["runs_Q"]]
        links = " ".join(f"<a href='{run_pages[rid]}'>{int(s)}</a>" for rid, s in zip(runs["run_id"], runs["seed"])
                         if rid in run_pages)
        paper = f"{_num(r['value'])}" + (f" ± {_num(r['spread'])} ({_e(r['spread_kind'])})"
                                         if np.isfinite(r["spread"]) else "")
        anchor = f"<a id='cell-{r['cell']}'></a>"
        rows.append([_td(anchor + _e(f"{r['paper']} T{r['table']}")), _td(_e(r["method"])), _td(_e(r["task"])),
                     _td(_e(f"{r['statistic']} Q={_num(r['Q'], 0)}")), _td(paper, r["value"]),
                     _td(_e(r["label"]) + (f" {_num(r['ours'])}" if np.isfinite(r["ours"]) else ""), r["ours"]),
                     _td(_e(r["verdict"])), _td(_num(r["random"]), r["random"]),
                     _td(_num(r["dataset_best"]), r["dataset_best"]), _td(links or "–"),
                     _td(_e(r.get("note") or ""))])
        classes.append(VERDICT_CLASS[r["verdict"]])
    parts.append(_table(["paper, table", "method", "task", "stat", "paper value", "ours", "verdict", "random",
                         "dataset-best", "seeds (runs)", "note"], rows, "cells", classes))
    _page(out / "reproduce.html", out, "Reproduction: our runs against the papers", "".join(parts), list(PROTOCOL))
    return verdicts


# --- reports --------------------------------------------------------------------------------------

_LINK = re.compile(r"(href|src)=\"([^\"#:]+)(#[^\"]*)?\"")


def _report_pages(root: Path, out: Path) -> list[tuple[str, str]]:
    """Render every ``*.md`` of the results folder; returns ``(title, href)`` per page."""
    import markdown

    sources = sorted(p for p in root.rglob("*.md") if "records" not in p.relative_to(root).parts)
    targets = {p.resolve(): Path("reports") / p.relative_to(root).with_suffix(".html") for p in sources}
    pages = []
    for src in sources:
        rel = targets[src.resolve()]
        text = markdown.markdown(src.read_text(), extensions=["tables", "fenced_code"])
        page = out / rel

        def link(match: re.Match, src: Path = src, page: Path = page) -> str:
            attr, target, anchor = match.group(1), match.group(2), match.group(3) or ""
            path = (src.parent / target).resolve()
            if path in targets:
                return f'{attr}="{_relative(out / targets[path], page)}{anchor}"'
            if path.is_file() and path.suffix.lower() in (".png", ".svg", ".jpg", ".jpeg", ".gif"):
                asset = out / "reports" / "assets" / path.name
                asset.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, asset)
                return f'{attr}="{_relative(asset, page)}"'
            return f'data-source="{_e(target)}"'  # a file the site does not host: the text stays, the link goes

        body = _LINK.sub(link, text)
        title = src.relative_to(root).as_posix()
        _page(page, out, title, f"<article class='report'>{body}</article>",
              [f"rendered from {title} in the results folder; its tables were generated from the records by the "
               "command the report names", *_SITE_PROTOCOL])
        pages.append((title, rel.as_posix()))
    return pages


def _relative(target: Path, page: Path) -> str:
    import os

    return Path(os.path.relpath(target, page.parent)).as_posix()


# --- index ----------------------------------------------------------------------------------------

def _index_page(df: pd.DataFrame, tasks: list[str], reports: list[tuple[str, str]], verdicts: dict[str, int],
                out: Path) -> None:
    rows = []
    for task in tasks:
        g = df[df["task"] == task]
        qs = ", ".join(str(int(q)) for q in sorted(g["budget"].unique()))
        rows.append([_td(f"<a href='{_task_href(task)}'>{_e(task)}</a>"), _td(str(g['label'].nunique()),
                     g["label"].nunique()), _td(str(len(g)), len(g)), _td(qs)])
    summary = ", ".join(f"{v}: {n}" for v, n in verdicts.items())
    body = ("<h2>Tasks</h2>" + _table(["task", "labels", "runs", "Q"], rows, "tasks")
            + f"<h2>Reproduction</h2><p><a href='reproduce.html'>Paper cells by verdict</a> ({_e(summary)}).</p>"
            + "<h2>Reports</h2><ul>" + "".join(f"<li><a href='{h}'>{_e(t)}</a></li>" for t, h in reports) + "</ul>")
    _page(out / "index.html", out, "mbo results", body, _SITE_PROTOCOL)

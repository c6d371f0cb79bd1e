"""Experiments as data: one TOML file declares a study; the sweep runs it and the report renders it.

``experiments/<name>.toml``::

    description = "what the study asks"
    tasks = ["tfbind8", "branin"]
    seeds = "0-2"                      # or a list [0, 1, 2]
    budgets = [128]                    # Q, one or several
    device = "auto"
    nulls = ["random", "dataset-best"] # reference optimizers run on every (task, Q, seed) the optimizers run
    embed = ["results/ddom/REPORT.md"] # Markdown files whose <!-- mbo:table NAME --> blocks are filled

    [[optimizers]]
    name = "ddom"
    profile = "quick"
    set = { gamma = 0.0 }              # config overrides (as --set)
    label = "ddom[quick,gamma=0]"      # optional display label; default: name[profile,overrides]
    tasks = ["tfbind8"]                # optional subset of the study's tasks / budgets / seeds
    budgets = [256]
    seeds = [0]
    archived = false                   # true: its records were made by earlier code whose configuration the
                                       # profile no longer gives; reported from the store, never re-run

    [[tables]]
    name = "tfbind8_p100"              # written to results/<experiment>/<name>.md
    tasks = ["tfbind8"]                # optional subsets of the grid
    budget = 256                       # needed where a task has several Q
    percentile = "100"                 # 100, 75, 50, 25, mean, 50-tfp (the papers' median)
    aggregate = "mean"                 # mean, median, iqm
    ci = 95                            # bootstrap CIs (optional)
    versus = "random"                  # probability of improvement (needs ci)
    raw = false
    stat = "score"                     # or a diagnostic
    nulls = true                       # show the null rows
    format = "md"                      # md, csv, latex
    seeds = "0-2"                      # optional subset of the study's seeds (every table kind)

    [[tables]]
    kind = "summary"                   # one row per configuration, the columns you list (Markdown)
    name = "tfbind8_vs_paper"
    tasks = ["tfbind8"]
    spread = "std0"                    # across seeds: std0 (ddof 0, Design-Bench), std1, s.e.
    paper = "Trabucco et al. 2022 (Design-Bench)"   # mbo/reference/papers.csv, for "paper STAT" columns
    paper_table = "§9.1"               # optional: its table(s) to read, where it prints a method in several
                                       #   (a list, e.g. ["2", "4"], to take the 100th from one, the 50th from another)
    columns = ["seeds", "p100", "paper p100", "p50_tfp", "paper p50", "per-seed p100",
               {column = "config gamma", header = "γ"}, "diag optimizer.surrogate_spearman_train",
               "time total"]

    [[plots]]
    name = "intervals"                 # written to results/<experiment>/<name>.png
    kind = "intervals"                 # intervals (across-task IQM / P(>) with CIs; needs ci) or leaderboard
    ci = 95                            # and the leaderboard keys of [[tables]] (tasks, budget, percentile, ...)
    versus = "random"

Summary columns (:func:`mbo.report.summary`): ``seeds``; a statistic of each run's Q scores (``p100``, ``p75``,
``p50``, ``p25``, ``mean``, ``p50_tfp`` = TFP's nearest 50th percentile) as mean ± spread over seeds;
``per-seed STAT``; ``paper STAT``: the published cell of ``paper`` for the row's method, task, Q and scale,
in a column headed as the paper's (never ours), with a verdict only where the runs follow the paper's protocol;
``config KEY``; ``diag PATH`` (a diagnostics entry, e.g. ``optimizer.surrogate_spearman_train``);
``time KEY`` (mean seconds of ``timings.KEY``).

The null baselines run on every (task, Q) an optimizer runs on, with the seeds the optimizers use there.
Records are selected from the one store by the grid (task, label, seed, Q), never by folder.
Every name is checked before any run: unknown keys, tasks, optimizers, profiles and config keys
fail with the close matches.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mbo.errors import ConfigError, did_you_mean

_TOP = {"description", "tasks", "seeds", "budgets", "device", "nulls", "embed", "optimizers", "tables", "plots"}
_OPT = {"name", "profile", "set", "label", "tasks", "budgets", "seeds", "archived"}
_TABLE = {"name", "tasks", "budget", "optimizers", "percentile", "aggregate", "ci", "versus", "raw", "stat",
          "nulls", "format", "seeds", "kind", "columns", "spread", "paper", "paper_table", "dbest"}
_PLOT = {"name", "kind", "tasks", "budget", "optimizers", "seeds", "percentile", "aggregate", "ci", "versus", "raw",
         "nulls", "title"}
PLOT_KINDS = ("leaderboard", "intervals")
NULLS = ("random", "dataset-best")
MARK_OPEN, MARK_CLOSE = "<!-- mbo:table {} -->", "<!-- /mbo:table -->"


@dataclass(frozen=True)
class Entry:
    """One configured optimizer of a study and the (task, Q, seed) cells it runs on (``seeds`` empty: the study's)."""

    name: str
    profile: str | None
    overrides: tuple[tuple[str, Any], ...]
    label: str
    tasks: tuple[str, ...]
    budgets: tuple[int, ...]
    null: bool = False
    seeds: tuple[int, ...] | None = None  # a subset of the study's seeds; None: all of them
    archived: bool = False  # records of earlier code, selected by the report, never planned by the sweep


@dataclass(frozen=True)
class Table:
    """One rendered table of a study's report (arguments of :func:`mbo.report.leaderboard`)."""

    name: str
    tasks: tuple[str, ...]
    budget: int | None
    labels: tuple[str, ...] | None
    percentile: str = "100"
    aggregate: str = "mean"
    ci: float | None = None
    versus: str | None = None
    raw: bool = False
    stat: str = "score"
    nulls: bool = True
    format: str = "md"
    seeds: tuple[int, ...] | None = None
    kind: str = "leaderboard"  # or "summary" (:func:`mbo.report.summary`)
    columns: tuple[tuple[str, str | None], ...] = ()  # summary: (column, header or None)
    spread: str = "std1"
    paper: str | None = None
    dbest: bool = True
    paper_table: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        """The table's file name in ``results/<experiment>/``."""
        return f"{self.name}.{ {'md': 'md', 'csv': 'csv', 'latex': 'tex'}[self.format] }"


@dataclass(frozen=True)
class Plot:
    """One figure of a study's report, drawn from a leaderboard of the selected records (PNG)."""

    name: str
    kind: str
    tasks: tuple[str, ...]
    budget: int | None
    labels: tuple[str, ...] | None
    seeds: tuple[int, ...] | None = None
    percentile: str = "100"
    aggregate: str = "mean"
    ci: float | None = None
    versus: str | None = None
    raw: bool = False
    nulls: bool = True
    title: str = ""

    @property
    def file(self) -> str:
        """The figure's file name in ``results/<experiment>/``."""
        return f"{self.name}.png"


@dataclass
class Experiment:
    """A parsed, validated ``experiments/<name>.toml``."""

    name: str
    path: Path
    description: str
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    budgets: tuple[int, ...]
    device: str
    entries: list[Entry]
    tables: list[Table] = field(default_factory=list)
    embed: tuple[str, ...] = ()
    plots: list[Plot] = field(default_factory=list)

    def cells(self, archived: bool = False):
        """Every ``(entry, task, Q, seed)`` of the grid, in file order; ``archived`` entries only when asked
        (a sweep would make runs of today's configuration under their label)."""
        for e in self.entries:
            if e.archived and not archived:
                continue
            for t in e.tasks:
                for q in e.budgets:
                    for s in e.seeds or self.seeds:
                        yield e, t, q, s

    def select(self, df):
        """The rows of a :func:`mbo.report.load_records` frame that belong to this study's grid."""
        keys = {(t, e.label, int(s), int(q)) for e, t, q, s in self.cells(archived=True)}
        if df.empty:
            return df
        mask = [(t, lab, int(s), int(q)) in keys
                for t, lab, s, q in zip(df["task"], df["label"], df["seed"], df["budget"])]
        return df[mask]


def _keys(where: str, got: dict, known: set[str]) -> None:
    for k in got:
        if k not in known:
            raise ConfigError(f"{where}: unknown key {k!r}.{did_you_mean(k, known)} Known keys: "
                              f"{', '.join(sorted(known))}")


def _list(where: str, value: Any, kind: type) -> tuple:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, kind) and not isinstance(v, bool) for v in items):
        raise ConfigError(f"{where} must be a non-empty list of {kind.__name__}; got {value!r}")
    return tuple(items)


def _subset(where: str, value: Any, full: tuple, kind: type) -> tuple:
    if value is None:
        return full
    items = _list(where, value, kind)
    extra = [v for v in items if v not in full]
    if extra:
        raise ConfigError(f"{where}: {extra[0]!r} is not in the study's {where.rsplit('.', 1)[-1]} "
                          f"{list(full)}.{did_you_mean(str(extra[0]), map(str, full))}")
    return items


def _seed_list(where: str, value: Any) -> tuple[int, ...]:
    """Seeds given as ``"0-2"`` or a list of whole numbers."""
    from mbo.sweep import parse_seeds

    return tuple(parse_seeds(value if isinstance(value, str) else ",".join(map(str, _list(where, value, int)))))


def label_of(name: str, profile: str | None, overrides: dict[str, Any], label: str | None) -> str:
    """The label a run of this configuration is stored under (as :func:`mbo.harness.plan` names it)."""
    from mbo.harness import _marked, default_label, optimizer_class

    cls = optimizer_class(name)
    shown = cls.name or cls.__name__
    applied = profile if profile in (cls.profiles or {}) else None
    return _marked(label, applied) if label else default_label(shown, applied, overrides)


def _check_optimizer(where: str, name: str, profile: str | None, overrides: dict[str, Any]) -> None:
    from mbo.harness import optimizer_class

    cls = optimizer_class(name)
    profiles = sorted(cls.profiles or {})
    if profile is not None and profile != "paper" and profile not in profiles:
        raise ConfigError(f"{where}: {name} has no profile {profile!r}.{did_you_mean(profile, profiles)} "
                          f"Its profiles: {', '.join(profiles) or 'none'}")
    fields = [f.name for f in dataclasses.fields(cls.Config)] if dataclasses.is_dataclass(cls.Config) else []
    for k in overrides:
        if k not in fields:
            raise ConfigError(f"{where}: {name} has no config key {k!r}.{did_you_mean(k, fields)} "
                              f"Its keys: {', '.join(fields) or 'none'}")


def load(path: str | Path) -> Experiment:
    """Parse and validate an experiment file (names only: no data is read, nothing runs)."""
    from mbo.registry import load_class

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no experiment file {path}; experiments live in experiments/<name>.toml")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    where = path.name
    _keys(where, raw, _TOP)
    for k in ("tasks", "seeds", "budgets", "optimizers"):
        if k not in raw:
            raise ConfigError(f"{where}: missing key {k!r}")
    tasks = _list(f"{where}: tasks", raw["tasks"], str)
    for t in tasks:
        load_class("task", t)
    seeds = _seed_list(f"{where}: seeds", raw["seeds"])
    budgets = tuple(int(q) for q in _list(f"{where}: budgets", raw["budgets"], int))
    if any(q < 1 for q in budgets):
        raise ConfigError(f"{where}: budgets must be positive; got {list(budgets)}")
    entries: list[Entry] = []
    for i, opt in enumerate(raw["optimizers"]):
        w = f"{where}: optimizers[{i}]"
        if not isinstance(opt, dict) or "name" not in opt:
            raise ConfigError(f"{w}: each [[optimizers]] needs a name")
        _keys(w, opt, _OPT)
        overrides = dict(opt.get("set") or {})
        _check_optimizer(w, opt["name"], opt.get("profile"), overrides)
        label = label_of(opt["name"], opt.get("profile"), overrides, opt.get("label"))
        entries.append(Entry(opt["name"], opt.get("profile"), tuple(sorted(overrides.items())), label,
                             _subset(f"{w}.tasks", opt.get("tasks"), tasks, str),
                             _subset(f"{w}.budgets", opt.get("budgets"), budgets, int),
                             seeds=_seeds(f"{w}.seeds", opt.get("seeds"), seeds),
                             archived=bool(opt.get("archived", False))))
    nulls = _list(f"{where}: nulls", raw["nulls"], str) if raw.get("nulls") else ()
    for n in nulls:
        if n not in NULLS:
            raise ConfigError(f"{where}: nulls: {n!r} is not a null baseline.{did_you_mean(n, NULLS)} "
                              f"Null baselines: {', '.join(NULLS)}")
        used: dict[tuple[str, int], set[int]] = {}  # nulls run on every seed an optimizer runs on that (task, Q)
        for e in entries:
            if not e.null:
                for t in e.tasks:
                    for q in e.budgets:
                        used.setdefault((t, q), set()).update(e.seeds or seeds)
        for t in tasks:
            for q in budgets:
                if (t, q) in used:
                    on = tuple(sorted(used[(t, q)]))
                    entries.append(Entry(n, None, (), n, (t,), (q,), null=True,
                                         seeds=None if on == tuple(sorted(seeds)) else on))
    configs: dict[str, tuple] = {}
    for e in entries:  # one label, one configuration (it may be listed twice for different cells)
        if configs.setdefault(e.label, (e.name, e.profile, e.overrides)) != (e.name, e.profile, e.overrides):
            raise ConfigError(f"{where}: two [[optimizers]] with different configurations have the label "
                              f"{e.label!r}; give one a distinct label")
    exp = Experiment(path.stem, path, str(raw.get("description", "")), tasks, seeds, budgets,
                     str(raw.get("device", "auto")), entries,
                     embed=tuple(_list(f"{where}: embed", raw["embed"], str)) if raw.get("embed") else ())
    exp.tables = [_table(f"{where}: tables[{i}]", t, exp) for i, t in enumerate(raw.get("tables") or [])]
    exp.plots = [_plot(f"{where}: plots[{i}]", p, exp) for i, p in enumerate(raw.get("plots") or [])]
    names = [t.file for t in exp.tables] + [p.file for p in exp.plots]
    if len(set(names)) < len(names):
        raise ConfigError(f"{where}: two [[tables]] or [[plots]] share a name and format; each is a file, give each "
                          "its own name")
    return exp


def _seeds(where: str, value: Any, full: tuple[int, ...]) -> tuple[int, ...] | None:
    """A subset of the study's seeds, given as ``"0-2"`` or a list; None when not given."""
    if value is None:
        return None
    got = _seed_list(where, value)
    extra = [s for s in got if s not in full]
    if extra:
        raise ConfigError(f"{where}: seed {extra[0]} is not among the study's seeds {list(full)}")
    return got


def _labels(where: str, t: dict, exp: Experiment) -> tuple[str, ...] | None:
    if t.get("optimizers") is None:
        return None
    known = list(dict.fromkeys(e.label for e in exp.entries))
    labels = _list(f"{where}.optimizers", t["optimizers"], str)
    for lab in labels:
        if lab not in known:
            raise ConfigError(f"{where}.optimizers: no label {lab!r} in this study.{did_you_mean(lab, known)} "
                              f"Labels: {', '.join(known)}")
    return labels


def _table(where: str, t: dict, exp: Experiment) -> Table:
    from mbo.report import AGGREGATES, DIAGNOSTICS, STATS

    if not isinstance(t, dict) or "name" not in t:
        raise ConfigError(f"{where}: each [[tables]] needs a name")
    _keys(where, t, _TABLE)
    labels = _labels(where, t, exp)
    if t.get("kind", "leaderboard") != "leaderboard":
        return _summary_table(where, t, exp, labels)
    for key in ("columns", "spread", "paper", "paper_table", "dbest"):
        if key in t:
            raise ConfigError(f"{where}: {key!r} belongs to summary tables (kind = \"summary\"), not to leaderboards")
    checks = {"percentile": (str(t.get("percentile", "100")), STATS), "aggregate": (t.get("aggregate", "mean"),
              AGGREGATES), "stat": (t.get("stat", "score"), ("score",) + DIAGNOSTICS),
              "format": (t.get("format", "md"), ("md", "csv", "latex"))}
    for key, (val, allowed) in checks.items():
        if val not in allowed:
            raise ConfigError(f"{where}.{key}: {val!r} is not one of {', '.join(allowed)}")
    budget = t.get("budget")
    if budget is not None and budget not in exp.budgets:
        raise ConfigError(f"{where}.budget: Q = {budget} is not among the study's budgets {list(exp.budgets)}")
    if t.get("versus") is not None and t.get("ci") is None:
        raise ConfigError(f"{where}: versus needs ci (e.g. ci = 95)")
    return Table(str(t["name"]), _subset(f"{where}.tasks", t.get("tasks"), exp.tasks, str), budget, labels,
                 str(t.get("percentile", "100")), t.get("aggregate", "mean"),
                 float(t["ci"]) if t.get("ci") is not None else None, t.get("versus"), bool(t.get("raw", False)),
                 t.get("stat", "score"), bool(t.get("nulls", True)), t.get("format", "md"),
                 _seeds(f"{where}.seeds", t.get("seeds"), exp.seeds))


def _summary_table(where: str, t: dict, exp: Experiment, labels: tuple[str, ...] | None) -> Table:
    """A ``kind = "summary"`` table: one row per configuration, the columns it lists (checked here)."""
    from mbo.report import check_summary_columns
    from mbo.stats import SPREADS

    if t["kind"] != "summary":
        raise ConfigError(f"{where}.kind: {t['kind']!r} is not a table kind.{did_you_mean(str(t['kind']), TABLE_KINDS)}"
                          f" Table kinds: {', '.join(TABLE_KINDS)}")
    for key in ("percentile", "aggregate", "ci", "versus", "stat"):
        if key in t:
            raise ConfigError(f"{where}: {key!r} belongs to leaderboards; a summary table names its statistics in "
                              "columns (e.g. columns = [\"p100\", \"p50_tfp\"])")
    if t.get("format", "md") != "md":
        raise ConfigError(f"{where}.format: summary tables are Markdown only (format = \"md\")")
    if not t.get("columns"):
        raise ConfigError(f"{where}: a summary table needs columns, e.g. columns = [\"seeds\", \"p100\", \"p50_tfp\"]")
    columns = []
    for i, c in enumerate(t["columns"] if isinstance(t["columns"], list) else [t["columns"]]):
        if isinstance(c, dict):
            _keys(f"{where}.columns[{i}]", c, {"column", "header"})
            if "column" not in c:
                raise ConfigError(f"{where}.columns[{i}]: an inline column needs column = \"...\"")
            columns.append((str(c["column"]), str(c["header"]) if "header" in c else None))
        elif isinstance(c, str):
            columns.append((c, None))
        else:
            raise ConfigError(f"{where}.columns[{i}]: a column is a string or {{ column = ..., header = ... }}; "
                              f"got {c!r}")
    spread = t.get("spread", "std1")
    if spread not in SPREADS:
        raise ConfigError(f"{where}.spread: {spread!r} is not one of {', '.join(SPREADS)}")
    budget = t.get("budget")
    if budget is not None and budget not in exp.budgets:
        raise ConfigError(f"{where}.budget: Q = {budget} is not among the study's budgets {list(exp.budgets)}")
    paper_table = t.get("paper_table", [])
    paper_table = tuple(str(x) for x in (paper_table if isinstance(paper_table, list) else [paper_table]))
    check_summary_columns(f"{where}.columns", [c for c, _ in columns], t.get("paper"), paper_table)
    return Table(str(t["name"]), _subset(f"{where}.tasks", t.get("tasks"), exp.tasks, str), budget, labels,
                 raw=bool(t.get("raw", False)), nulls=bool(t.get("nulls", True)),
                 seeds=_seeds(f"{where}.seeds", t.get("seeds"), exp.seeds), kind="summary", columns=tuple(columns),
                 spread=spread, paper=t.get("paper"), dbest=bool(t.get("dbest", True)), paper_table=paper_table)


TABLE_KINDS = ("leaderboard", "summary")


def _plot(where: str, p: dict, exp: Experiment) -> Plot:
    """A ``[[plots]]`` entry: a figure of a leaderboard (``leaderboard``) or of its across-task intervals."""
    from mbo.report import AGGREGATES, STATS

    if not isinstance(p, dict) or "name" not in p:
        raise ConfigError(f"{where}: each [[plots]] needs a name")
    _keys(where, p, _PLOT)
    kind = p.get("kind", "leaderboard")
    if kind not in PLOT_KINDS:
        raise ConfigError(f"{where}.kind: {kind!r} is not a plot kind.{did_you_mean(str(kind), PLOT_KINDS)} "
                          f"Plot kinds: {', '.join(PLOT_KINDS)}")
    for key, val, allowed in (("percentile", str(p.get("percentile", "100")), STATS),
                              ("aggregate", p.get("aggregate", "mean"), AGGREGATES)):
        if val not in allowed:
            raise ConfigError(f"{where}.{key}: {val!r} is not one of {', '.join(allowed)}")
    if kind == "intervals" and (p.get("ci") is None or p.get("raw")):
        raise ConfigError(f"{where}: an intervals plot needs ci (e.g. ci = 95) and normalized scores (raw = false)")
    if p.get("versus") is not None and p.get("ci") is None:
        raise ConfigError(f"{where}: versus needs ci (e.g. ci = 95)")
    budget = p.get("budget")
    if budget is not None and budget not in exp.budgets:
        raise ConfigError(f"{where}.budget: Q = {budget} is not among the study's budgets {list(exp.budgets)}")
    return Plot(str(p["name"]), kind, _subset(f"{where}.tasks", p.get("tasks"), exp.tasks, str), budget,
                _labels(where, p, exp), _seeds(f"{where}.seeds", p.get("seeds"), exp.seeds),
                str(p.get("percentile", "100")), p.get("aggregate", "mean"),
                float(p["ci"]) if p.get("ci") is not None else None, p.get("versus"), bool(p.get("raw", False)),
                bool(p.get("nulls", True)), str(p.get("title", "")))


def _rows(exp: Experiment, df, t: Table | Plot, what: str):
    """The records of ``df`` (already this study's) that table or plot ``t`` shows, in a fixed order."""
    rows = df[df["task"].isin(t.tasks)]
    if t.budget is not None:
        rows = rows[rows["budget"] == t.budget]
    if t.seeds is not None:
        rows = rows[rows["seed"].isin(t.seeds)]
    if t.labels is not None:
        rows = rows[rows["label"].isin(t.labels) | (rows["label"].isin(NULLS) & t.nulls)]
    if not t.nulls:
        rows = rows[~rows["label"].isin(NULLS)]
    if rows.empty:
        raise ConfigError(f"{exp.path.name}: {what} {t.name!r} has no records in the store; run "
                          f"`mbo sweep --plan {exp.path}` first")
    return rows.sort_values(["task", "label", "seed", "budget", "run_id"]).reset_index(drop=True)


def render(exp: Experiment, df) -> dict[str, str]:
    """``{file name: text}`` of every table of ``exp``, from the records in ``df`` alone (deterministic)."""
    from mbo.report import format_summary, format_table, leaderboard, summary

    df = exp.select(df[df["status"] == "ok"])
    out = {}
    for t in exp.tables:
        rows = _rows(exp, df, t, "table")
        if t.kind == "summary":
            order = list(t.labels or [e.label for e in exp.entries if not e.null])
            table = summary(rows, [c for c, _ in t.columns], order=list(dict.fromkeys(order)), raw=t.raw,
                            spread=t.spread, paper=t.paper, dbest=t.dbest, nulls=NULLS if t.nulls else (),
                            paper_table=t.paper_table)
            out[t.file] = format_summary(table, dict(t.columns)) + "\n"
            continue
        table = leaderboard(rows, percentile=t.percentile, budget=t.budget, raw=t.raw, aggregate=t.aggregate,
                            ci=t.ci, versus=t.versus, stat=t.stat)
        out[t.file] = format_table(table, t.format) + "\n"
    return out


def render_plots(exp: Experiment, df) -> dict[str, tuple[str, Any]]:
    """``{file name: (digest, draw)}`` of every plot of ``exp``: ``draw(path)`` writes the PNG, and ``digest``
    (a hash of the leaderboard it shows, stored in the PNG's ``Description``) says whether a file is current,
    independent of the matplotlib version that drew it."""
    import hashlib

    from mbo.report import format_table, leaderboard, plot, plot_intervals

    df = exp.select(df[df["status"] == "ok"])
    out = {}
    for p in exp.plots:
        rows = _rows(exp, df, p, "plot")
        table = leaderboard(rows, percentile=p.percentile, budget=p.budget, raw=p.raw, aggregate=p.aggregate,
                            ci=p.ci, versus=p.versus)
        digest = hashlib.sha256(f"{p.kind}\n{p.title}\n{format_table(table, 'csv')}".encode()).hexdigest()[:16]
        draw = plot_intervals if p.kind == "intervals" else plot
        out[p.file] = (f"mbo:{digest}", lambda path, draw=draw, table=table, p=p, digest=digest:
                       draw(table, path, title=p.title, metadata={"Description": f"mbo:{digest}"}))
    return out


def plot_digest(path: str | Path) -> str | None:
    """The digest :func:`render_plots` stored in a PNG it drew (None for any other file)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.text.get("Description") if hasattr(im, "text") else None
    except (OSError, ValueError):
        return None


def embed(text: str, tables: dict[str, str], where: str = "") -> tuple[str, list[str]]:
    """Fill every ``<!-- mbo:table NAME -->`` … ``<!-- /mbo:table -->`` block of ``text`` whose NAME is in ``tables``
    (NAME is ``<experiment>/<table>``, a Markdown table of that experiment).

    Returns the new text and the names filled. A block naming a table that is not given is left as it is.
    """
    import re

    filled: list[str] = []
    pattern = re.compile(r"(<!-- mbo:table (\S+) -->\n)(.*?)(<!-- /mbo:table -->)", re.S)

    def sub(m):
        name = m.group(2)
        if name not in tables:
            return m.group(0)
        filled.append(name)
        return m.group(1) + tables[name] + m.group(4)

    new = pattern.sub(sub, text)
    opened = text.count("<!-- mbo:table ")
    if opened != text.count(MARK_CLOSE):
        raise ConfigError(f"{where}: {opened} <!-- mbo:table NAME --> markers but {text.count(MARK_CLOSE)} "
                          f"{MARK_CLOSE} markers; close every block")
    return new, filled

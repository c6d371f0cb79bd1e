"""Published numbers this toolkit is compared with, as data (``papers.csv``).

One row per printed cell: ``paper, table, method`` (as printed), ``mbo`` (the optimizer it maps to,
see below), ``task`` (mbo's task name), ``statistic`` (``p100``/``p50``, or a sampler metric),
``scale`` (``normalized``/``raw``), ``Q``, ``trials``, ``value``, ``spread``, ``spread_kind``
(``std`` or ``s.e.``, as the paper words it), ``note`` and ``source`` (the line of the method notes
in ``shared/methods/`` the cell was transcribed from).

The ``mbo`` column maps a paper's method to mbo runs: a registry name with optional config
overrides, ``name[key=value,...]``; alternatives are separated by ``|``
(e.g. ``n2ce[prior=nce]|n2ce[M=1]``). ``name@profile`` adds a profile that follows the paper's
protocol for that cell besides ``paper`` (e.g. ``ddom|ddom@branin-ref``: the paper's Branin row
comes from a separate reference pipeline); runs of other profiles are shown as not comparable.
``D(best)`` is the best training label (every record's ``dataset_best``); an empty value is a
method mbo does not implement.
"""
from __future__ import annotations

from importlib.resources import files
from typing import Any

DBEST_SPEC = "D(best)"


def papers():
    """The reference table as a DataFrame (``value``/``spread``/``Q``/``trials`` numeric, NaN if absent)."""
    import pandas as pd

    with files(__package__).joinpath("papers.csv").open() as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    for col in ("value", "spread", "Q", "trials"):
        df[col] = pd.to_numeric(df[col].replace("", None), errors="raise")
    return df


def parse_spec(spec: str) -> list[tuple[str, dict[str, str], str]]:
    """``"n2ce[prior=nce]|ddom@branin-ref"`` →
    ``[("n2ce", {"prior": "nce"}, "paper"), ("ddom", {}, "branin-ref")]`` (name, overrides, the
    profile that follows the paper's protocol)."""
    out = []
    for alt in filter(None, (s.strip() for s in spec.split("|"))):
        name, _, rest = alt.partition("[")
        name, _, profile = name.partition("@")
        overrides = {}
        for part in filter(None, rest.rstrip("]").split(",")):
            key, _, val = part.partition("=")
            overrides[key.strip()] = val.strip()
        out.append((name.strip(), overrides, profile.strip() or "paper"))
    return out


def same_overrides(record: dict[str, Any] | None, wanted: dict[str, str]) -> bool:
    """Whether a record's overrides are exactly ``wanted`` (values compared as numbers or text)."""
    record = record or {}
    if set(record) != set(wanted):
        return False
    return all(_same_value(record[k], wanted[k]) for k in wanted)


def _same_value(a: Any, b: str) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a).lower() == str(b).lower()

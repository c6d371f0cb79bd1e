"""Move tfbind10 records made on the fixed training subset to the task that names it, ``tfbind10-fixed``.

Until ``tfbind10`` drew its 10,000-row training subset from the run seed, every tfbind10 run
trained on one subset (seed 0), which is what ``tfbind10-fixed`` is now. A record without
``data_subset`` under ``records/tfbind10/`` was made that way. This script rewrites such a record
as the ``tfbind10-fixed`` run it was: task ``tfbind10-fixed``, the run id that task gives the same
optimizer, config, seed and Q (``mbo run --task tfbind10-fixed`` finds it), ``data_subset`` of the
fixed subset (checked against the data), and ``migrated`` (the old task and run id, and why). Scores,
candidates, code hash and timings are left as they were. The file moves to
``records/tfbind10-fixed/<label>/``. Idempotent; ``--dry-run`` lists what would move. Without the
data (``--no-data``) the subset's hash is left null, and a later run with the data fills it in.

    MBO_DATA_DIR=... python benchmarks/migrate_tfbind10_fixed.py results [--dry-run] [--no-data]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from mbo import store
from mbo.tasks.design_bench import TFBind10Fixed

WHY = ("made before tfbind10 drew its training subset from the run seed: trained on the fixed seed-0 subset, "
       "i.e. tfbind10-fixed")


def migrate(rec: dict, subset: dict) -> dict:
    """The record as the tfbind10-fixed run it was."""
    if rec.get("data_version") != TFBind10Fixed.data_version:
        raise SystemExit(f"record {rec.get('run_id')} has data version {rec.get('data_version')!r}, not "
                         f"{TFBind10Fixed.data_version!r}; not a fixed-subset tfbind10 run")
    new = dict(rec)
    new["task"] = TFBind10Fixed.name
    new["run_id"] = store.run_id(TFBind10Fixed.name, rec["optimizer"], rec["config"], rec["seed"], rec["budget"],
                                 rec["data_version"])
    new["data_subset"] = subset
    new["migrated"] = {"from_task": rec["task"], "from_run_id": rec["run_id"], "why": WHY}
    return new


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="results folders (or folders of them)")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--no-data", action="store_true", help="leave rows_sha256 null (fill it in later)")
    args = ap.parse_args()
    subset = ({"seed": TFBind10Fixed.sample_seed, "per_trial": False, "rows": TFBind10Fixed.max_samples,
               "of": None, "rows_sha256": None} if args.no_data else TFBind10Fixed().data_rows())
    moved = 0
    for top in map(Path, args.results):
        if subset["rows_sha256"] is not None:  # fill in the hash of records migrated without the data
            for path in sorted(top.glob("**/records/tfbind10-fixed/*/*.json")):
                rec = json.loads(path.read_text())
                if rec.get("migrated") and (rec.get("data_subset") or {}).get("rows_sha256") is None:
                    print(f"{path}: data_subset filled in")
                    if not args.dry_run:
                        path.write_text(store.dumps({**rec, "data_subset": subset}))
        for old in sorted(top.glob("**/records/tfbind10/*/*.json")):
            rec = json.loads(old.read_text())
            if rec.get("task") != "tfbind10" or "data_subset" in rec:
                continue
            new = migrate(rec, subset)
            suffix = ".failed.json" if old.name.endswith(".failed.json") else ".json"
            root = old.parents[3]
            target = store.record_path(root, new["task"], new["label"], new["run_id"]).with_suffix("")
            target = target.with_name(target.name + suffix)
            print(f"{old} -> {target}")
            moved += 1
            if args.dry_run:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(store.dumps(new))
            old.unlink()
            for folder in (old.parent, old.parent.parent):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    print(f"{moved} record(s) {'would move' if args.dry_run else 'moved'}")


if __name__ == "__main__":
    main()

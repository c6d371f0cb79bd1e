"""Move every record of results/*/records into the one store results/records (idempotent).

Per run id the newest ok record is kept (a failed one only if no copy is ok); labels that carried a
work-tracking number are renamed by what differs (mbo.migrate.relabel). Safe to run again, and on a
tree that has both layouts.
Usage: python benchmarks/migrate_one_store.py [RESULTS_DIR] [--dry-run]
"""
import sys
from pathlib import Path

from mbo.migrate import migrate

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--dry-run"]
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "results"
    counts = migrate(root, dry_run="--dry-run" in sys.argv)
    print(f"{root}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

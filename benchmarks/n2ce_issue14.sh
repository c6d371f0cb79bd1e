#!/usr/bin/env bash
# Issue 14 evidence for n2ce's re-selected quick profile, into results/n2ce (label n2ce[quick,issue14], so
# the runs do not share a leaderboard row with the issue-4 quick records): TF-Bind-8 (Q = 256, and the
# lambda1 = 0 control), TF-Bind-10 (Q = 256) and Branin (Q = 128), seeds 0-2, with random beside them
# (dataset-best is already recorded). Each run takes a CPU slot when SLOT is set. Resumable.
# Usage: bash benchmarks/n2ce_issue14.sh [SEEDS]   (needs MBO_DATA_DIR for the TF-Bind tasks)
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MBO_QUIET=1
SEEDS=${1:-0,1,2} R=results/n2ce SLOT="${SLOT:-}" L="n2ce[quick,issue14]"
run() { $SLOT mbo run "$@" --results-dir $R; }
for s in ${SEEDS//,/ }; do
  run --task tfbind8 --optimizer n2ce --profile quick -Q 256 --seeds "$s" --label "$L"
  run --task tfbind8 --optimizer n2ce --profile quick -Q 256 --seeds "$s" --set lambda1=0 \
      --label "n2ce[quick,issue14,lambda1=0]"
  run --task tfbind10 --optimizer n2ce --profile quick -Q 256 --seeds "$s" --label "$L"
  run --task branin --optimizer n2ce --profile quick -Q 128 --seeds "$s" --label "$L"
  for t in "tfbind8 256" "tfbind10 256" "branin 128"; do
    set -- $t
    run --task "$1" --optimizer random -Q "$2" --seeds "$s"
  done
done

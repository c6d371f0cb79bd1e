#!/usr/bin/env bash
# Issue 14 evidence for DDOM's new per-space defaults, into results/ddom: TF-Bind-8 quick at Q = 256 (the
# N²CE tables' Q) and the best-of-512 sensitivity row (-Q 512: the reference scores all 512 samples by
# default), label ddom[quick,issue14]; Branin with the paper's Branin pipeline (--profile branin-ref,
# Q = 128); seeds 0-2, random and dataset-best beside them. Each run takes a CPU slot when SLOT is set.
# Usage: bash benchmarks/ddom_issue14.sh [SEEDS]   (needs MBO_DATA_DIR)
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MBO_QUIET=1
SEEDS=${1:-0,1,2} R=results/ddom SLOT="${SLOT:-}"
run() { $SLOT mbo run "$@" --results-dir $R; }
for s in ${SEEDS//,/ }; do
  for q in 256 512; do
    run --task tfbind8 --optimizer ddom --profile quick -Q $q --seeds "$s" --label "ddom[quick,issue14]"
    run --task tfbind8 --optimizer random -Q $q --seeds "$s"
    run --task tfbind8 --optimizer dataset-best -Q $q --seeds "$s"
  done
  run --task branin --optimizer ddom --profile branin-ref -Q 128 --seeds "$s"
  run --task branin --optimizer random -Q 128 --seeds "$s"
  run --task branin --optimizer dataset-best -Q 128 --seeds "$s"
done

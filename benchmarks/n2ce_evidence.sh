#!/usr/bin/env bash
# Evidence runs for issue 4 (CPU, quick profile), sequential, each time-boxed.
# Usage: bash benchmarks/n2ce_evidence.sh [results-dir]   (needs MBO_DATA_DIR for tfbind8)
set -u
R=${1:-results/n2ce}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MBO_QUIET=1
run() { echo "== $(date -u +%H:%M:%S) mbo run $*"; timeout 1200 mbo run "$@" --results-dir "$R" || echo "!! failed/timeout: $*"; }
# (1) TF-Bind-8, Q = 256
run --task tfbind8 --optimizer n2ce --profile quick --budget 256 --seeds 0-2
run --task tfbind8 --optimizer grad-ascent --profile quick --budget 256 --seeds 0-2
run --task tfbind8 --optimizer dataset-best --budget 256 --seeds 0-2
# (2) Branin held-out, Q = 128
run --task branin --optimizer n2ce --profile quick --budget 128 --seeds 0-4
run --task branin --optimizer grad-ascent --profile quick --budget 128 --seeds 0-4
run --task branin --optimizer dataset-best --budget 128 --seeds 0
# (3) M ablation on TF-Bind-8 (M = 100 is step 1); same profile, same 10 negatives per positive
run --task tfbind8 --optimizer n2ce --profile quick --budget 256 --seeds 0-1 --set M=1
run --task tfbind8 --optimizer n2ce --profile quick --budget 256 --seeds 0-1 --set M=10
# extra seeds if time allows
run --task tfbind8 --optimizer n2ce --profile quick --budget 256 --seeds 2 --set M=1
run --task tfbind8 --optimizer n2ce --profile quick --budget 256 --seeds 2 --set M=10
run --task tfbind8 --optimizer n2ce --profile quick --budget 256 --seeds 3-4
echo "== $(date -u +%H:%M:%S) done"

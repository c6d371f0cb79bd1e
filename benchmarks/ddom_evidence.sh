#!/usr/bin/env bash
# Evidence runs for issue 6 (DDOM): one run at a time on a shared 2-core CPU, OMP_NUM_THREADS=1,
# one seed per command, each time-boxed. Finished runs are skipped (run ids), so it resumes.
set -u
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MBO_QUIET=1 MBO_DATA_DIR=${MBO_DATA_DIR:-../shared/data/design_bench}
MBO=${MBO:-mbo}
STOP_AT=${STOP_AT:-}  # e.g. 1225: start no run after 12:25 UTC
R=results/ddom
run() {  # run TASK OPTIMIZER SEEDS [ARGS...]
  local task=$1 opt=$2 seeds=$3; shift 3
  for s in $seeds; do
    if [ -n "${STOP_AT:-}" ] && [ "$(date -u +%H%M)" -ge "$STOP_AT" ]; then echo "past $STOP_AT UTC: skip $task $opt seed=$s"; continue; fi
    echo "[$(date -u +%H:%M:%S)] $task $opt seed=$s $*"
    timeout 900 $MBO run --results-dir $R -Q 256 -t "$task" -o "$opt" --seed "$s" "$@" 2>&1 | tail -2
  done
}
# (1) TF-Bind-8 quick, beside grad-ascent quick and dataset-best
run tfbind8 ddom "0 1 2" --profile quick
run tfbind8 grad-ascent "0 1 2" --profile quick
run tfbind8 dataset-best "0 1 2"
# (2) Branin quick (raw)
run branin ddom "0 1 2 3 4" --profile quick
run branin grad-ascent "0 1 2 3 4" --profile quick
run branin dataset-best "0 1 2 3 4"
# (3) ablation on TF-Bind-8
run tfbind8 ddom "0 1 2" --profile quick --set use_reweighting=false
run tfbind8 ddom "0 1 2" --profile quick --set gamma=0
# (4) TF-Bind-10 quick (10,000-row training subset), beside grad-ascent quick and dataset-best
run tfbind10 ddom "0 1 2" --profile quick
run tfbind10 grad-ascent "0 1 2" --profile quick
run tfbind10 dataset-best "0 1 2"
# (1b) more seeds on TF-Bind-8
run tfbind8 ddom "3 4" --profile quick
run tfbind8 grad-ascent "3 4" --profile quick
run tfbind8 dataset-best "3 4"
# (5) Levy (time-limited: seeds 0-2; dataset-best is seed-independent)
run levy dataset-best "0 1"
run levy grad-ascent "0 1 2" --profile quick
run levy ddom "0 1 2" --profile quick
echo "[$(date -u +%H:%M:%S)] done"

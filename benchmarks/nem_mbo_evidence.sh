#!/usr/bin/env bash
# MBO evidence for issue 11 (NEM/BNEM as offline-MBO optimizers): quick profiles, Q = 128, seeds 0-2,
# beside dataset-best, random and grad-ascent[quick]; one run at a time (run under /work/tools/slot).
# Finished runs are skipped (run ids), so it resumes.
set -u
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MBO_QUIET=1 MBO_DATA_DIR=${MBO_DATA_DIR:-../shared/data/design_bench}
MBO=${MBO:-mbo}
STOP_AT=${STOP_AT:-}  # e.g. 1000: start no run after 10:00 UTC
R=${R:-results/nem}  # issue 22's re-run with the run-scaled EMA and buffer: R=results/nem/scaled BASELINES=0
BASELINES=${BASELINES:-1}
run() {  # run TASK OPTIMIZER SEEDS [ARGS...]
  local task=$1 opt=$2 seeds=$3; shift 3
  for s in $seeds; do
    if [ -n "${STOP_AT:-}" ] && [ "$(date -u +%H%M)" -ge "$STOP_AT" ]; then echo "past $STOP_AT UTC: skip $task $opt seed=$s"; continue; fi
    echo "[$(date -u +%H:%M:%S)] $task $opt seed=$s $*"
    timeout 900 $MBO run --results-dir $R -Q 128 -t "$task" -o "$opt" --seed "$s" "$@" 2>&1 | tail -2
  done
}
for task in ${TASKS:-branin tfbind8 levy}; do
  run "$task" bnem "0 1 2" --profile quick
  run "$task" nem "0 1 2" --profile quick
  [ "$BASELINES" = 1 ] || continue
  run "$task" dataset-best "0 1 2"
  run "$task" random "0 1 2"
  run "$task" grad-ascent "0 1 2" --profile quick
done
[ "${TOP_SURROGATE:-1}" = 1 ] || exit 0
for task in ${TASKS:-branin tfbind8 levy}; do
  run "$task" bnem "0 1 2" --profile quick --set selection=top_surrogate
  run "$task" nem "0 1 2" --profile quick --set selection=top_surrogate
done

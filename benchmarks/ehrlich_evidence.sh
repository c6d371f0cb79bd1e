#!/usr/bin/env bash
# Evidence for the Ehrlich tasks: every optimizer (quick profile) and the null baselines, Q = 128,
# into results/ehrlich. Usage: benchmarks/ehrlich_evidence.sh TASK SEEDS (e.g. ehrlich-v32-l32-m4-k4 0).
# Each run takes a CPU slot when SLOT is set (SLOT=/work/tools/slot here). Resumable. OPTS overrides the
# optimizer list (cma-es is left out on L = 128: 128 full-covariance strategies in 3,968 logit dimensions
# would need ~16 GB for the covariances alone).
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MBO_QUIET=1
TASK=$1 SEEDS=$2 OUT=results/ehrlich SLOT="${SLOT:-}"
OPTS="${OPTS:-grad-ascent grad-ascent-mean grad-ascent-min cma-es reinforce bo-qei cbas autofocused-cbas mins
      coms coms-stochastic coms-decoupled demo nem bnem ddom n2ce}"
for s in ${SEEDS//,/ }; do
  $SLOT mbo run --task "$TASK" --optimizer random --seeds "$s" -Q 128 --results-dir $OUT
  $SLOT mbo run --task "$TASK" --optimizer dataset-best --seeds "$s" -Q 128 --results-dir $OUT
  for o in $OPTS; do
    $SLOT mbo run --task "$TASK" --optimizer "$o" --profile quick --seeds "$s" -Q 128 --results-dir $OUT
  done
done

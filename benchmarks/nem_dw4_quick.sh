#!/usr/bin/env bash
# DW-4 evidence for results/nem: NEM and BNEM, quick profile, the seeds given (default 0).
set -eu
seeds=${1:-0}
mkdir -p results/nem
for method in ${METHODS:-nem bnem}; do
  for s in $(echo "$seeds" | tr ',' ' '); do
    python benchmarks/nem_boltzmann.py --target dw4 --method "$method" --profile quick --seeds "$s" \
      --floor-repeats 3 --json "results/nem/dw4_${method}_quick_s${s}.json" > "results/nem/dw4_${method}_quick_s${s}.log" 2>&1
  done
done

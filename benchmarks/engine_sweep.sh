#!/usr/bin/env bash
# Issue 2 evidence: the baseline grid on the closed-form tasks, then its leaderboards.
# Single-threaded torch: on a shared 2-core machine, oversubscribed OpenMP threads made a
# Levy grad-ascent run take 1,199 s instead of 9 s.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/engine
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mbo sweep --tasks branin,levy --optimizers dataset-best,random,grad-ascent,cma-es --seeds 0-2 \
    --profile quick --results-dir "$out"
mbo sweep --tasks branin --optimizers grad-ascent,cma-es --seeds 0-2 --results-dir "$out"   # paper defaults
for p in 100 50; do
  mbo leaderboard --results-dir "$out" -p "$p" --format md --out "$out/leaderboard_p$p.md"
done
mbo leaderboard --results-dir "$out" --format csv --out "$out/leaderboard_p100.csv"
mbo leaderboard --results-dir "$out" --format latex --out "$out/leaderboard_p100.tex"
mbo leaderboard --results-dir "$out" --raw --tasks branin --format md --out "$out/leaderboard_branin_raw.md"
mbo leaderboard --results-dir "$out" --plot "$out/leaderboard_p100.png" > "$out/leaderboard_p100.txt"

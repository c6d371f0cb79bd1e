#!/usr/bin/env bash
# Evidence for issue 26: a published method's code run through mbo.compat.design_bench's solve()
# wrapper. design-baselines' gradient ascent (PyTorch port, benchmarks/design_baselines_gradient_ascent.py;
# solve_quick = the published TF-Bind-8 config with hidden 256 and 10 epochs for a CPU) beside random and
# dataset-best, TF-Bind-8, seeds 0-2, Q = 128, into results/compat, then the leaderboard.
# Run under one CPU slot:  /work/slot benchmarks/compat_evidence.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export MBO_DATA_DIR="${MBO_DATA_DIR:-$(cd .. && pwd)/shared/data/design_bench}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MBO_QUIET=1
MBO="${MBO:-mbo}"
OUT=results/compat
for opt in dataset-best random benchmarks/design_baselines_gradient_ascent.py:solve_quick; do
  "$MBO" run --task tfbind8 --optimizer "$opt" --seeds 0-2 --budget 128 --results-dir "$OUT"
done
"$MBO" leaderboard --results-dir "$OUT" --format md --out "$OUT/leaderboard.md"
"$MBO" leaderboard --results-dir "$OUT" --format md --percentile 50 --out "$OUT/leaderboard_p50.md"

#!/usr/bin/env bash
# Evidence for issue 3: reference rows and the two Design-Bench baselines on TF-Bind-8/10,
# seeds 0-2, Q = 128, into results/design_bench, then the leaderboard (markdown + figure).
# grad-ascent / cma-es use --profile quick: their paper settings (2048x2 MLP, 50 epochs) take
# more than 4 minutes per run on a shared 2-core CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export MBO_DATA_DIR="${MBO_DATA_DIR:-$(cd .. && pwd)/shared/data/design_bench}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MBO_QUIET=1
OUT=results/design_bench
for task in tfbind8 tfbind10; do
  mbo run --task "$task" --optimizer dataset-best --seeds 0-2 --budget 128 --results-dir "$OUT"
  mbo run --task "$task" --optimizer random --seeds 0-2 --budget 128 --results-dir "$OUT"
  mbo run --task "$task" --optimizer grad-ascent --profile quick --seeds 0-2 --budget 128 --results-dir "$OUT"
  mbo run --task "$task" --optimizer cma-es --profile quick --seeds 0-2 --budget 128 --results-dir "$OUT"
done
mbo leaderboard --results-dir "$OUT" --format md --out "$OUT/leaderboard.md" --plot "$OUT/leaderboard.png"
mbo leaderboard --results-dir "$OUT" --format md --percentile 50 --out "$OUT/leaderboard_p50.md"

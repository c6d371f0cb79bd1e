#!/usr/bin/env bash
# Paper-scale reproduction on one GPU machine: the `paper` profile of every method family with the
# papers' seeds and Q, on TF-Bind-8, TF-Bind-10, Branin and Levy, random and dataset-best beside
# each (task, Q, seeds) group. Several runs share the GPU at once (local workers, --gpus-per-run
# is a fraction). Resumable: `mbo sweep` skips finished runs, so stop and restart at will.
#
#   benchmarks/reproduce_gpu.sh                        # everything, results/paper/
#   benchmarks/reproduce_gpu.sh --only demo,coms       # some groups
#   benchmarks/reproduce_gpu.sh --profile smoke --seeds-max 1   # CPU dry run, results/paper-smoke/
#
# Options: --profile P (default paper; an optimizer without P runs `quick`, and the log says so),
# --jobs N (runs at once, default 4), --gpus-per-run F (default 1/jobs when a GPU is visible),
# --results-dir DIR (default results/paper, or results/paper-P for another profile),
# --only G1,G2 (groups below), --seeds-max K (first K seeds of each group, for dry runs).
# Wall time per (group, optimizer) is appended to DIR/timings.tsv; `mbo reproduce --results-dir DIR`
# compares the records with the papers.
set -euo pipefail
cd "$(dirname "$0")/.."
export MBO_DATA_DIR="${MBO_DATA_DIR:-$(cd .. && pwd)/shared/data/design_bench}"
export MBO_QUIET=1
command -v mbo >/dev/null || { echo "mbo is not on PATH: activate the virtual environment first" >&2; exit 1; }

PROFILE=paper JOBS=4 GPUS="" OUT="" ONLY="" SEEDS_MAX=""
while (( $# )); do
  case $1 in
    --profile) PROFILE=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --gpus-per-run) GPUS=$2; shift 2 ;;
    --results-dir) OUT=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --seeds-max) SEEDS_MAX=$2; shift 2 ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ -n $OUT ]] || { [[ $PROFILE == paper ]] && OUT=results/paper || OUT=results/paper-$PROFILE; }
mkdir -p "$OUT"
NGPU=$(python -c "import torch; print(torch.cuda.device_count())")
if (( NGPU > 0 )); then
  [[ -n $GPUS ]] || GPUS=$(python -c "print(round(${NGPU} / ${JOBS}, 4))")
  GPU_ARGS=(--gpus-per-run "$GPUS" --device cuda)
  THREADS=$(python -c "import os; print(max(1, len(os.sched_getaffinity(0)) // ${JOBS}))")
else
  GPU_ARGS=(--device cpu)
  THREADS=1
  [[ $PROFILE == paper ]] && echo "warning: no GPU visible; the paper profiles take hours per run on a CPU" >&2
fi
export OMP_NUM_THREADS=$THREADS

# group | optimizers | tasks | seeds | Q      (the source of each row's seeds and Q)
GROUPS_TABLE="
n2ce256   | n2ce | tfbind8,tfbind10 | 0-4 | 256                                   # N2CE Tab. 7 (5 runs)
n2ce128   | n2ce | tfbind8,tfbind10,branin,levy | 0-4 | 128                       # N2CE Tabs 6, 23
ddom      | ddom | tfbind8,tfbind10,branin,levy | 123,234,345,456,567 | 256       # DDOM reference seeds
coms      | coms,coms-stochastic,coms-decoupled | tfbind8,tfbind10,branin,levy | 0-7 | 128   # COMs, 8 trials
demo      | demo | tfbind8,tfbind10,branin,levy | 0-7 | 128                       # DEMO Tabs 1-2, 8 trials
baselines | grad-ascent,grad-ascent-mean,grad-ascent-min,cma-es,reinforce,cbas,autofocused-cbas,mins,bo-qei | tfbind8,tfbind10,branin,levy | 0-7 | 128   # Design-Bench, 8 trials
"

profile_for() {  # optimizer -> the requested profile if it has one, else quick
  python - "$1" "$PROFILE" <<'EOF'
import sys
from mbo.registry import load_class
cls = load_class("optimizer", sys.argv[1])
print(sys.argv[2] if sys.argv[2] in getattr(cls, "profiles", {}) else "quick")
EOF
}

first_seeds() {  # seeds spec, K -> the first K seeds as a comma list
  python -c "from mbo.sweep import parse_seeds; print(','.join(map(str, parse_seeds('$1')[:$2])))"
}

# one line per (group, optimizer) and invocation; a resumed invocation times only the runs it ran
[[ -f $OUT/timings.tsv ]] || printf 'group\toptimizer\tprofile\ttasks\tseeds\tQ\tjobs\twall_s\n' > "$OUT/timings.tsv"

while IFS='|' read -r group opts tasks seeds q; do
  group=$(echo "$group" | xargs); [[ -z $group ]] && continue
  [[ -n $ONLY && ",$ONLY," != *",$group,"* ]] && continue
  opts=$(echo "$opts" | xargs); tasks=$(echo "$tasks" | xargs); seeds=$(echo "$seeds" | xargs)
  q=$(echo "${q%%#*}" | xargs)
  [[ -n $SEEDS_MAX ]] && seeds=$(first_seeds "$seeds" "$SEEDS_MAX")
  echo "== $group: $tasks, seeds $seeds, Q=$q"
  mbo sweep --tasks "$tasks" -o random,dataset-best --seeds "$seeds" -Q "$q" \
    --results-dir "$OUT" --jobs 1 --device cpu --quiet
  for opt in ${opts//,/ }; do
    prof=$(profile_for "$opt")
    [[ $prof != "$PROFILE" ]] && echo "   $opt has no '$PROFILE' profile: running '$prof'"
    start=$(date +%s.%N)
    mbo sweep --tasks "$tasks" -o "$opt" --profile "$prof" --seeds "$seeds" -Q "$q" \
      --results-dir "$OUT" --jobs "$JOBS" --cpus-per-run "$THREADS" "${GPU_ARGS[@]}" --quiet
    wall=$(python -c "print(round($(date +%s.%N) - $start, 1))")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$group" "$opt" "$prof" "$tasks" "$seeds" "$q" "$JOBS" "$wall" >> "$OUT/timings.tsv"
    echo "   $opt: ${wall}s"
  done
done <<< "$GROUPS_TABLE"

mbo reproduce --results-dir "$OUT" --format md --out "$OUT/REPRODUCTION.md"
echo "records, timings.tsv and REPRODUCTION.md in $OUT"

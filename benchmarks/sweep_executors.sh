#!/usr/bin/env bash
# Time the same 16-run sweep with every executor, each into its own results folder under a temporary
# directory (RECORDS=DIR keeps them elsewhere; they are null-baseline runs the one store already holds).
# Usage (from the repository root, with MBO_DATA_DIR set):
#   /work/tools/slot bash benchmarks/sweep_executors.sh results/scale-out
set -euo pipefail
out=$(realpath -m "${1:-results/scale-out}")
rec=${RECORDS:-$(mktemp -d /tmp/mbo-sweep-executors.XXXXXX)}
mkdir -p "$out"
export OMP_NUM_THREADS=1 RAY_USAGE_STATS_ENABLED=0
grid=(--tasks branin,tfbind8 --optimizers random,dataset-best --seeds 0-3 -q)
: > "$out/timings.tsv"

timed() {  # timed NAME CMD...: run CMD, append "NAME<TAB>seconds" to timings.tsv
  local name=$1; shift
  local s e; s=$(date +%s%N)
  "$@"
  e=$(date +%s%N)
  printf '%s\t%d.%01d\n' "$name" $(( (e - s) / 1000000000 )) $(( (e - s) / 100000000 % 10 )) | tee -a "$out/timings.tsv"
}

timed "local --jobs 1" mbo sweep "${grid[@]}" --results-dir "$rec/local-j1"
timed "local --jobs 2" mbo sweep "${grid[@]}" --jobs 2 --results-dir "$rec/local-j2"
timed "slurm-local --jobs 2" mbo sweep "${grid[@]}" --executor slurm-local --jobs 2 --results-dir "$rec/slurm-local" \
  --slurm-folder "/tmp/mbo-sweep-executors-slurm"

# Ray: a head started with `ray start --head` in its own temp dir, reached through RAY_ADDRESS
raytmp=/tmp/ray-sweep-executors
timed "ray start --head" ray start --head --num-cpus 2 --port 6391 --temp-dir "$raytmp" --include-dashboard=false \
  --disable-usage-stats > "$out/ray-start.log" 2>&1
export RAY_ADDRESS
RAY_ADDRESS=$(grep -o "ray start --address='[^']*'" "$out/ray-start.log" | head -1 | sed "s/.*='\(.*\)'/\1/")
echo "RAY_ADDRESS=$RAY_ADDRESS"
stop_ray() {  # only this head's processes (`ray stop` would end every Ray on the machine); GCS needs SIGKILL
  pgrep -f "$raytmp" | xargs -r kill || true
  sleep 3
  pgrep -f "$raytmp" | xargs -r kill -9 || true
}
trap stop_ray EXIT
timed "ray (RAY_ADDRESS)" mbo sweep "${grid[@]}" --executor ray --results-dir "$rec/ray"
timed "ray, second call" mbo sweep "${grid[@]}" --executor ray --results-dir "$rec/ray" | tee "$out/ray-second-call.log"
grep -q "16 already finished, 0 to run" "$out/ray-second-call.log"

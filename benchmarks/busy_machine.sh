#!/usr/bin/env bash
# A run on a busy machine must not crawl (passive OpenMP wait, --threads). Times
#   mbo run --task tfbind8 --optimizer grad-ascent --profile quick --seed 0
# with one other CPU-bound process (a Python busy loop) running, and unloaded, for
#   before: the mbo of $BEFORE_MBO (e.g. a checkout of the previous code), default settings;
#   after:  this checkout's mbo, default settings (passive OpenMP wait, --threads from the CPUs);
#   OMP_NUM_THREADS=1 with this checkout's mbo (the reference the default must stay within 1.5x of).
# Every run starts from an environment without OMP_* settings (the defaults a newcomer gets) and
# writes to a fresh results folder. It needs the whole machine: on a shared one, hold every CPU
# slot (here: /work/slot /work/slot bash benchmarks/busy_machine.sh). Not run by the test suite.
#
# usage: BEFORE_MBO=/path/to/old/.venv/bin/mbo MBO_DATA_DIR=... bash benchmarks/busy_machine.sh [OUT]
set -u
cd "$(dirname "$0")/.."
OUT=${1:-results/engine/busy_machine.txt}
AFTER_MBO=${AFTER_MBO:-.venv/bin/mbo}
BEFORE_MBO=${BEFORE_MBO:-}
CAP=${CAP:-90}   # seconds; a run still going then is reported as "> CAP"
ARGS=(run --task tfbind8 --optimizer grad-ascent --profile quick --seed 0 --quiet)
CLEAN=(env -u OMP_NUM_THREADS -u OMP_WAIT_POLICY -u MKL_NUM_THREADS -u GOMP_SPINCOUNT)
TMP=$(mktemp -d)
LOAD_PID=""
cleanup() { [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

timed() {  # timed NAME ENV... -- MBO: one run, prints "NAME  seconds  threads"
  local name=$1; shift
  local dir; dir=$(mktemp -d -p "$TMP")
  local t0 t1 rc
  t0=$(date +%s.%N)
  timeout "$CAP" "${CLEAN[@]}" "$@" "${ARGS[@]}" --results-dir "$dir" > "$dir/log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  local secs; secs=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
  [ $rc -eq 124 ] && secs="> $CAP (stopped)"
  local threads; threads=$(grep -ho '"torch_threads": *[0-9]*' -r "$dir/records" 2>/dev/null | head -1 | grep -o '[0-9]*$')
  local score; score=$(grep -o '100th [0-9.]*' "$dir/log" | head -1)
  printf '%-58s %-18s threads %-3s %s\n' "$name" "$secs" "${threads:--}" "${score:-(rc $rc)}" | tee -a "$OUT"
}

mkdir -p "$(dirname "$OUT")"
{
  echo "# busy-machine benchmark (benchmarks/busy_machine.sh), $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "# host: $(env -u OMP_NUM_THREADS nproc) CPUs available ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); torch $(${AFTER_MBO%mbo}python -c 'import torch; print(torch.__version__)' 2>/dev/null)"
  echo "# after = $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- mbo || echo '+changes'); before = ${BEFORE_MBO:-not given}"
  echo "# mbo ${ARGS[*]}; wall seconds of the whole command (imports included); cap $CAP s"
} > "$OUT"

# warm the data caches (TF-Bind-8 verification) so no timed run pays for them
"${CLEAN[@]}" OMP_NUM_THREADS=1 "$AFTER_MBO" "${ARGS[@]}" --results-dir "$TMP/warm" > /dev/null 2>&1

echo "## unloaded" | tee -a "$OUT"
for rep in 1 2 3; do
  [ -n "$BEFORE_MBO" ] && timed "before, default (torch's threads, OpenMP's default wait) #$rep" "$BEFORE_MBO"
  timed "after, default #$rep" "$AFTER_MBO"
done
timed "after, OMP_NUM_THREADS=1" env OMP_NUM_THREADS=1 "$AFTER_MBO"

echo "## one other CPU-bound process running" | tee -a "$OUT"
python3 -c "while True: pass" &
LOAD_PID=$!
sleep 1
for rep in 1 2; do
  timed "after, OMP_NUM_THREADS=1 #$rep" env OMP_NUM_THREADS=1 "$AFTER_MBO"
  timed "after, default #$rep" "$AFTER_MBO"
  [ -n "$BEFORE_MBO" ] && timed "before, default #$rep" "$BEFORE_MBO"
done
kill "$LOAD_PID"; LOAD_PID=""
echo "wrote $OUT"

#!/usr/bin/env bash
# Evidence for issue 10 (DEMO). OMP_NUM_THREADS=1 per run; finished runs are skipped by run id, so
# the script resumes. Tables: results/demo/leaderboard*.md and tables.md (remade at the end).
#   CPU (what results/demo holds):  JOBS=2 benchmarks/demo_evidence.sh   (about 12 min on 2 cores)
#                                   PARTS="paper-surrogate tables" JOBS=2 benchmarks/demo_evidence.sh
#   GPU, the paper's protocol:      JOBS=4 benchmarks/demo_evidence.sh --device cuda --profile paper
#     (8 seeds; on an H200 one Levy run alone takes about 7 min, so plan hours for all of it)
# STOP_AT=HHMM (UTC) starts no run after that time. PARTS="main ablation steps tables" (default) and
# paper-surrogate (Grad-only with the paper's surrogate on Levy, seeds 0-2: ~20 min a run on one core),
# MAIN_TASKS="tfbind8 levy tfbind10", ABL_TASKS="tfbind8 levy" and
# ABLATIONS="grad-only diffusion-only edit_t=0.2 edit_t=0.6" pick what to (re)run. JOBS=N runs N at
# once (default 1; on a GPU several runs share it); RUN_TIMEOUT=S stops a run after S seconds.
set -u
cd "$(dirname "$0")/.."
DEVICE=cpu PROFILE=quick
while [ $# -gt 0 ]; do
  case $1 in
    --device) DEVICE=$2; shift 2 ;;
    --profile) PROFILE=$2; shift 2 ;;
    *) echo "usage: $0 [--device cpu|cuda] [--profile quick|paper]" >&2; exit 2 ;;
  esac
done
if [ "$PROFILE" = paper ]; then SEEDS="0 1 2 3 4 5 6 7"; ABL_SEEDS="0 1 2 3 4 5 6 7"; else SEEDS="0 1 2 3 4"; ABL_SEEDS="0 1 2"; fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MBO_QUIET=1 MBO_DATA_DIR=${MBO_DATA_DIR:-../shared/data/design_bench}
MBO=${MBO:-mbo}
R=${RESULTS_DIR:-results/demo}
STOP_AT=${STOP_AT:-}
PARTS=${PARTS:-main ablation steps tables}
MAIN_TASKS=${MAIN_TASKS:-tfbind8 levy tfbind10}
ABL_TASKS=${ABL_TASKS:-tfbind8 levy}
ABLATIONS=${ABLATIONS:-grad-only diffusion-only edit_t=0.2 edit_t=0.6}
JOBS=${JOBS:-1}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
ablation() { case " $ABLATIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
run() {  # run TASK OPTIMIZER SEEDS [ARGS...]
  local task=$1 opt=$2 seeds=$3; shift 3
  for s in $seeds; do
    if [ -n "$STOP_AT" ] && [ "$(date -u +%H%M)" -ge "$STOP_AT" ]; then echo "past $STOP_AT UTC: skip $task $opt seed=$s $*"; continue; fi
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    echo "[$(date -u +%H:%M:%S)] $task $opt seed=$s $*"
    { local t0; t0=$(date +%s)
      timeout "$RUN_TIMEOUT" $MBO run --results-dir "$R" -Q 128 --device "$DEVICE" -t "$task" -o "$opt" \
        --seed "$s" "$@" 2>&1 | tail -3
      echo "  wall $(( $(date +%s) - t0 )) s ($task $opt seed=$s $*)"; } &
  done
}
# (1) main: DEMO beside grad-ascent and the null baselines
part main && for task in $MAIN_TASKS; do
  run $task dataset-best "0"
  run $task random "$SEEDS"
  run $task demo "$SEEDS" --profile "$PROFILE"
  run $task grad-ascent "$SEEDS" --profile "$PROFILE"
done
# (2) ablation on TF-Bind-8 and Levy (the default edit_t = 0.4 is the main run above)
part ablation && for task in $ABL_TASKS; do
  ablation grad-only && run $task demo "$ABL_SEEDS" --profile "$PROFILE" --set edit=false \
    --label "demo[$PROFILE,grad-only]"
  ablation diffusion-only && run $task demo "$ABL_SEEDS" --profile "$PROFILE" --set ascent=false \
    --label "demo[$PROFILE,diffusion-only]"
  for t in 0.2 0.6; do
    ablation edit_t=$t && run $task demo "$ABL_SEEDS" --profile "$PROFILE" --set edit_t=$t \
      --label "demo[$PROFILE,edit_t=$t]"
  done
done
# (3) Tabs. 5-6: more ascent steps on TF-Bind-8
if [ "$PROFILE" = paper ]; then T_SEEDS=$ABL_SEEDS; else T_SEEDS="0 1"; fi
part steps && run tfbind8 demo "$T_SEEDS" --profile "$PROFILE" --set ascent_steps=200 --label "demo[$PROFILE,T=200]"
part steps && run tfbind8 demo "$T_SEEDS" --profile "$PROFILE" --set ascent_steps=300 --label "demo[$PROFILE,T=300]"
# (4) Stage 1 with the paper's surrogate (width 2048, 200 epochs) on Levy: does the ascent climb?
part paper-surrogate && run levy demo "0 1 2" --profile paper --set edit=false --label "demo[paper,grad-only]"
wait
# tables
if part tables; then
  for p in 100 50; do
    $MBO leaderboard --results-dir "$R" -Q 128 -p $p --format md --out "$R/leaderboard_p$p.md"
  done
  $MBO leaderboard --results-dir "$R" --format md --out "$R/leaderboard.md"
  ${PYTHON:-python} benchmarks/demo_tables.py --results-dir "$R" --out "$R/tables.md"
fi
echo "[$(date -u +%H:%M:%S)] done"

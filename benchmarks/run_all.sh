#!/usr/bin/env bash
# `make bench`: every reproduction and speed script. Long (hours on a 2-core CPU); each step
# resumes from the records already under results/, so it can be stopped and restarted.
set -euo pipefail
cd "$(dirname "$0")/.."
export MBO_DATA_DIR="${MBO_DATA_DIR:-$(cd .. && pwd)/shared/data/design_bench}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MBO_QUIET=1
python benchmarks/task_load.py --out results/design_bench/task_load.md
# experiments/*.toml run first (make bench); these are the scripts no experiment file expresses yet
# the paper-profile cost of COMs and the Design-Bench baselines on this machine, estimate beside a measured reference
python benchmarks/estimate_table.py --task tfbind8 --measure \
  --optimizers coms,coms-stochastic,coms-decoupled,reinforce,cbas,autofocused-cbas,grad-ascent,grad-ascent-min,grad-ascent-mean,mins,bo-qei \
  > results/engine/estimate_paper_cost.txt
python benchmarks/coms_spiral.py --out results/coms
python benchmarks/n2ce_speed.py
python benchmarks/subnormals.py  # its rows of results/engine/subnormals.txt
bash benchmarks/nem_gmm_quick.sh 0,1,2

#!/usr/bin/env bash
# Knowledge insulation at small scale (KI spec §8): TableWorld demonstrations, stage 0 (the
# backbone as a language model), then recipes × seeds from that backbone. Resumable at every stage:
# the dataset, each run (--resume from its checkpoint) and each finished run (its "done" file) are
# kept, so rerunning the same command picks up where a killed one stopped. Runs go one after the
# other, single-threaded; PARALLEL=2 runs two at once (spec §8.6), on a machine doing nothing else.
#
#   experiments/ki_grid.sh [recipes (default "R1 R2 R3 R4 R5 R6 R7")] [seeds (default "0 1")]
#
# The knobs of KI spec §8.5 run the same way into their own folder, the same knob for every recipe:
#   RUNS=runs/ki-knobs/demos500 EPISODES=500 EXTRA="--steps 12000 --eval-interval 1000" \
#     experiments/ki_grid.sh "R1 R2 R5" 0
# (RUNS: where the runs go, default runs/ki; EPISODES: demonstrations, default 2,000; EXTRA: more
# `engram ki train` flags for every run. Stage 0 is always runs/ki/stage0.)
set -euo pipefail
cd "$(dirname "$0")/.."
engram=${ENGRAM:-build/engram}
recipes=${1:-R1 R2 R3 R4 R5 R6 R7}
seeds=${2:-0 1}
runs=${RUNS:-runs/ki}
episodes=${EPISODES:-2000}
read -r -a extra <<< "${EXTRA:-}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p runs/sim runs/ki "$runs"
demos=runs/sim/tableworld.h5
[ "$episodes" = 2000 ] || demos=runs/sim/tableworld-$episodes.h5
[ -f "$demos" ] || "$engram" sim demos --task tableworld --episodes "$episodes" --out "$demos"
run_once() {  # DIR then the command's settings: train or resume the run in DIR unless it is done
  local dir=$1 cmd=$2
  shift 2
  [ -f "$dir/done" ] && return 0
  if [ -f "$dir/checkpoint.safetensors" ]; then
    "$engram" ki "$cmd" --resume "$dir" --quiet
  else
    "$engram" ki "$cmd" --out "$dir" --quiet "$@"
  fi
  touch "$dir/done"
}
run_once runs/ki/stage0 pretrain
jobs=()
for seed in $seeds; do
  for r in $recipes; do
    run_once "$runs/$r-seed$seed" train --recipe "$r" --seed "$seed" --data "$demos" \
      --backbone runs/ki/stage0/checkpoint.safetensors "${extra[@]}" > "$runs/$r-seed$seed.log" 2>&1 &
    jobs+=($!)
    if [ "${#jobs[@]}" -ge "${PARALLEL:-1}" ]; then wait "${jobs[0]}"; jobs=("${jobs[@]:1}"); fi
  done
done
for j in "${jobs[@]}"; do wait "$j"; done
echo "grid done: $runs/*/metrics.jsonl"

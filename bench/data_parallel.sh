#!/usr/bin/env bash
# Data-parallel overhead on this machine (issue 18): the same training run (induction task,
# transformer, global batch 16 × 128 tokens, 60 steps) on 1 process and on 2 local ranks
# (engram train --nproc 2, Gloo over loopback), at two model sizes, with the gradient all-reduce
# overlapping the backward pass (the default) and after it (ENGRAM_OVERLAP_ALLREDUCE=0, where it
# is timed on its own). Prints, per run, tokens/s, wall time, step time and all-reduce cost. On 2 cores the point is
# correctness and overhead, not speed-up: 1 process uses both cores, 2 ranks one core each.
#
#   bench/data_parallel.sh [steps=60]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-60}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for size in "2 64" "4 256"; do
  set -- $size
  common=(--quiet --set task.name=induction --set task.length=128 --set task.vocab=64 --set model.type=transformer
          --set model.n_layer="$1" --set model.n_embd="$2" --set model.n_head=4 --set train.batch_size=16
          --set train.steps="$steps" --set train.eval_interval="$steps" --set train.eval_batches=1)
  # 1 process; 2 ranks with the all-reduce overlapping the backward pass (the default); 2 ranks
  # with it after the backward pass, where its time can be measured on its own.
  for mode in "1 1" "2 1" "2 0"; do
    set -- $size $mode
    nproc=(); [ "$3" -gt 1 ] && nproc=(--nproc "$3")
    start=$(date +%s.%N)
    report=$(ENGRAM_OVERLAP_ALLREDUCE=$4 build/engram train "${nproc[@]}" --out "$out/$1x$2-$3-$4" "${common[@]}")
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    line=$(echo "$report" | awk '/^data-parallel/ {print}')
    tps=$(echo "$report" | awk '/^trained/ {for (i = 1; i <= NF; ++i) if ($i == "tokens/s") print $(i - 1)}')
    echo "model ${1}x${2}, $3 rank(s): ${tps} tokens/s (last interval), ${seconds} s wall for $steps steps ${line:+— $line}"
  done
done

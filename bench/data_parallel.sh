#!/usr/bin/env bash
# Data-parallel overhead on this machine (issue 18): the same training run (induction task,
# transformer, global batch 16 × 128 tokens, 60 steps) on 1 process and on 2 local ranks
# (engram train --nproc 2, Gloo over loopback), at two model sizes. Prints, per run, the step time
# and, for 2 ranks, the gradient all-reduce's time and bytes per step. On 2 cores the point is
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
  for ranks in 1 2; do
    nproc=(); [ "$ranks" -gt 1 ] && nproc=(--nproc "$ranks")
    start=$(date +%s.%N)
    report=$(build/engram train "${nproc[@]}" --out "$out/$1x$2-$ranks" "${common[@]}")
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    line=$(echo "$report" | awk '/^data-parallel/ {print}')
    tps=$(echo "$report" | awk '/^trained/ {for (i = 1; i <= NF; ++i) if ($i == "tokens/s") print $(i - 1)}')
    echo "model ${1}x${2}, $ranks rank(s): ${tps} tokens/s (last interval), ${seconds} s wall for $steps steps ${line:+— $line}"
  done
done

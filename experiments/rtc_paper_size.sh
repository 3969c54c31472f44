#!/usr/bin/env bash
# RTC spec §12.3's fidelity check: the paper-size mixer (C 256, channel hidden 512, token hidden 64,
# 4 blocks, ≈ 2.9 M parameters) on one task's dataset from experiments/rtc_minimal.sh, then naive vs
# RTC at d = 0…4 (s = max(d, 1), 256 episodes a cell) beside the CPU-size policy's cells.
# Resumable like rtc_minimal.sh; results in runs/policy/TASK-paper-delay.jsonl.
#
#   experiments/rtc_paper_size.sh TASK [training steps]
set -euo pipefail
cd "$(dirname "$0")/.."
engram=${ENGRAM:-build/engram}
task=${1:?usage: experiments/rtc_paper_size.sh TASK [steps]}
steps=${2:-5000}
[ -f "runs/sim/$task.h5" ] || { echo "make the dataset first: experiments/rtc_minimal.sh $task" >&2; exit 1; }
run=runs/policy/$task-paper
if [ ! -f "$run/done" ]; then
  if [ -f "$run/checkpoint.safetensors" ]; then
    "$engram" policy train --resume "$run" --quiet
  else
    "$engram" policy train --data "runs/sim/$task.h5" --out "$run" --quiet --set model.channels=256 \
      --set model.channel_hidden=512 --set model.token_hidden=64 --set model.blocks=4 \
      --set train.steps="$steps" --set train.weak_step=$((steps / 4))
  fi
  touch "$run/done"
fi
results=runs/policy/$task-paper-delay.jsonl
for d in 0 1 2 3 4; do
  s=$(( d > 1 ? d : 1 ))
  for m in naive rtc; do
    if [ -f "$results" ] && grep -q "\"delay\":$d,\"episodes\":256,.*\"method\":\"$m\"" "$results"; then continue; fi
    "$engram" policy eval --ckpt "$run/checkpoint.safetensors" --method "$m" --delay "$d" --shift "$s" --episodes 256 --json "$results"
  done
done

#!/usr/bin/env bash
# RTC's headline on one task (spec §12.4 minimal tier): expert demonstrations → a flow policy →
# naive vs RTC solve rate at delays d = 0…4 with s = max(d, 1), 256 episodes a cell.
# Resumable at every stage: the dataset, the training run (--resume) and each finished cell
# (runs/policy/TASK-delay.jsonl) are kept. RUN names the policy (default TASK: runs/policy/RUN/ and
# runs/policy/RUN-delay.jsonl); MODEL adds `--set model.…=…` overrides for its network.
#
#   experiments/rtc_minimal.sh TASK [training steps]
set -euo pipefail
cd "$(dirname "$0")/.."
engram=${ENGRAM:-build/engram}
task=${1:?usage: experiments/rtc_minimal.sh TASK [steps]}
steps=${2:-5000}
mkdir -p runs/sim runs/policy
[ -f "runs/sim/$task.h5" ] || "$engram" sim demos --task "$task" --episodes 400 --out "runs/sim/$task.h5"
run=runs/policy/${RUN:-$task}
if [ ! -f "$run/done" ]; then
  if [ -f "$run/checkpoint.safetensors" ]; then
    "$engram" policy train --resume "$run" --quiet
  else
    # shellcheck disable=SC2086  # MODEL is a list of options
    "$engram" policy train --data "runs/sim/$task.h5" --out "$run" --quiet ${MODEL:-} \
      --set train.steps="$steps" --set train.weak_step=$((steps / 4))
  fi
  touch "$run/done"
fi
results=$run-delay.jsonl
for d in 0 1 2 3 4; do
  s=$(( d > 1 ? d : 1 ))
  for m in naive rtc; do
    "$engram" policy eval --ckpt "$run/checkpoint.safetensors" --method "$m" --delay "$d" --shift "$s" --episodes 256 \
      --json "$results" --skip-done
  done
done

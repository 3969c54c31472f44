#!/usr/bin/env bash
# RTC spec §12.4's full tier on one task, after experiments/rtc_minimal.sh trained its policy:
# right panel d = 0…4, s = max(d, 1) for naive, RTC (soft), RTC-hard, temporal ensembling and BID
# (8 strong + 8 weak candidates, K = 3); left panel d = 1, s = 1…7 for all but BID. 256 episodes a
# cell, common random numbers, results appended to runs/policy/TASK-delay.jsonl; finished cells are
# skipped, so the script resumes where it stopped.
#
#   experiments/rtc_full.sh TASK
set -euo pipefail
cd "$(dirname "$0")/.."
engram=${ENGRAM:-build/engram}
task=${1:?usage: experiments/rtc_full.sh TASK}
run=runs/policy/$task
results=runs/policy/$task-delay.jsonl
[ -f "$run/done" ] || { echo "train the policy first: experiments/rtc_minimal.sh $task" >&2; exit 1; }
cell() {  # method d s
  "$engram" policy eval --ckpt "$run/checkpoint.safetensors" --method "$1" --delay "$2" --shift "$3" --episodes 256 \
    --json "$results" --skip-done
}
for d in 0 1 2 3 4; do
  s=$(( d > 1 ? d : 1 ))
  for m in naive rtc rtc-hard te bid; do cell $m $d $s; done
done
for s in 1 2 3 4 5 6 7; do
  for m in naive rtc rtc-hard te; do cell $m 1 $s; done
done

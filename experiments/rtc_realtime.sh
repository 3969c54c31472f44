#!/usr/bin/env bash
# The threaded runner of RTC spec §4 at 30 Hz on a trained policy: RTC and naive, without injected
# latency and with latencies of 1…4 ticks (d = 1…4 measured), 10 episodes each; reports appended to
# runs/policy/TASK-realtime.jsonl. Run it on an otherwise idle machine: it measures wall-clock timing.
#
#   experiments/rtc_realtime.sh TASK
set -euo pipefail
cd "$(dirname "$0")/.."
engram=${ENGRAM:-build/engram}
task=${1:?usage: experiments/rtc_realtime.sh TASK}
for latency in 0 33.4 66.7 100 133.4; do
  for method in rtc naive; do
    "$engram" policy run --ckpt "runs/policy/$task/checkpoint.safetensors" --hz 30 --method "$method" \
      --latency-ms "$latency" --episodes 10 --json "runs/policy/$task-realtime.jsonl"
  done
done

#!/usr/bin/env bash
# RTC spec §12.3's fidelity check: the paper-size mixer (C 256, channel hidden 512, token hidden 64,
# 4 blocks, ≈ 2.9 M parameters) on one task's dataset from experiments/rtc_minimal.sh, then naive vs
# RTC at d = 0…4 (s = max(d, 1), 256 episodes a cell) beside the CPU-size policy's cells.
# Resumable like rtc_minimal.sh; results in runs/policy/TASK-paper-delay.jsonl.
#
#   experiments/rtc_paper_size.sh TASK [training steps]
set -euo pipefail
cd "$(dirname "$0")/.."
task=${1:?usage: experiments/rtc_paper_size.sh TASK [steps]}
[ -f "runs/sim/$task.h5" ] || { echo "make the dataset first: experiments/rtc_minimal.sh $task" >&2; exit 1; }
RUN=$task-paper MODEL="--set model.channels=256 --set model.channel_hidden=512 --set model.token_hidden=64 --set model.blocks=4" \
  exec experiments/rtc_minimal.sh "$task" "${2:-5000}"

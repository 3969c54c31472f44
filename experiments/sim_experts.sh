#!/usr/bin/env bash
# Issue 5 evidence: each task's MPPI expert styles under actuation noise (≥ 100 episodes per style),
# the simulation benchmark, and a contact sheet + GIF of each task with the expert acting.
# Resumable: a task whose rows are already in runs/sim/experts.jsonl is skipped (--skip-done).
#
#   experiments/sim_experts.sh [episodes per style] [workers]
set -euo pipefail
cd "$(dirname "$0")/.."
engram=${ENGRAM:-build/engram}
episodes=${1:-100}
workers=${2:-1}
mkdir -p runs/sim docs/figures
for task in slalom cartpole_thrust lander unicycle chain_lander; do
  "$engram" sim expert --task "$task" --episodes "$episodes" --workers "$workers" --json runs/sim/experts.jsonl --skip-done
done
for task in slalom cartpole_thrust lander unicycle chain_lander; do
  [ -f "docs/figures/sim-$task.png" ] || "$engram" sim play --task "$task" --expert --size 160 \
    --sheet "docs/figures/sim-$task.png" --render "docs/figures/sim-$task.gif"
done
[ -f runs/sim/bench.jsonl ] || "$engram" sim bench --seconds 3 --json runs/sim/bench.jsonl

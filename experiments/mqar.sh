#!/usr/bin/env bash
# ATLAS E3 (spec §16.4): multi-query associative recall (L = 64, 8 pairs, vocabulary 256) for the
# ATLAS family and the transformer. Resumable; appends runs/mqar/results.jsonl (final accuracy on
# the query positions), then compares the learning curves.
#
#   experiments/mqar.sh [model ...]    (default: all configs/mqar-*.json)
set -euo pipefail
cd "$(dirname "$0")/.."
engram=${ENGRAM:-build/engram}
out=runs/mqar
mkdir -p "$out" docs/figures
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(transformer deltanet linear-attention titans atlas)
for m in "${models[@]}"; do
  dir=$out/$m
  if [ -f "$dir/done" ]; then continue; fi
  if [ -f "$dir/checkpoint.safetensors" ]; then
    "$engram" train --quiet --resume "$dir" | tee "$dir.txt"
  else
    "$engram" train --quiet --config configs/mqar-$m.json --out "$dir" | tee "$dir.txt"
  fi
  touch "$dir/done"
  python3 -c "import json; r=[json.loads(l) for l in open('$dir/metrics.jsonl') if 'val_accuracy' in l]; print(json.dumps({'model': '$m', 'steps': r[-1]['step'] + 1, 'val_accuracy': r[-1]['val_accuracy'], 'val_loss': r[-1]['val_loss']}))" >> "$out/results.jsonl"
done
dirs=()
for m in "${models[@]}"; do dirs+=("$out/$m"); done
"$engram" compare "${dirs[@]}" --metric val_accuracy --plot docs/figures/mqar-accuracy.png --title "MQAR (L 64, 8 pairs): accuracy on queries"

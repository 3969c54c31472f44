#!/usr/bin/env bash
# Trained comparisons on a synthetic task (ATLAS spec §16.4): for each model, train
# configs/TASK-MODEL.json into runs/TASK/MODEL (resumable: finished runs are skipped, interrupted
# ones resumed), append the final validation accuracy and the task's own score (score.json) to
# runs/TASK/results.jsonl, then plot the learning curves.
#
#   experiments/synthetic.sh mqar [model ...]   E3: multi-query associative recall (L 64, 8 pairs)
#   experiments/synthetic.sh niah [model ...]   E4: needle in a haystack, trained at 64–256, scored to 4096
#
# Models default to transformer deltanet linear-attention titans atlas. Extra `--set` overrides go
# in SETS (e.g. SETS="model.n_embd=32" OUT=runs/mqar-d32 experiments/synthetic.sh mqar); PLOT names
# the learning-curve figure (default docs/figures/<basename of OUT>-accuracy.png).
set -euo pipefail
cd "$(dirname "$0")/.."
engram=${ENGRAM:-build/engram}
task=${1:?usage: experiments/synthetic.sh TASK [model ...]}
shift
out=${OUT:-runs/$task}
mkdir -p "$out" docs/figures
sets=()
for s in ${SETS:-}; do sets+=(--set "$s"); done
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(transformer deltanet linear-attention titans atlas)
for m in "${models[@]}"; do
  dir=$out/$m
  if [ -f "$dir/done" ]; then continue; fi
  if [ -f "$dir/checkpoint.safetensors" ]; then
    args=(--resume "$dir")
  else
    args=(--config "configs/$task-$m.json" "${sets[@]}" --out "$dir")
  fi
  if ! "$engram" train --quiet "${args[@]}" > "$dir.txt" 2>&1; then
    echo "$m failed: $(tail -1 "$dir.txt")" >&2  # e.g. a diverged memory; the other models still run
    continue
  fi
  cat "$dir.txt"
  /usr/bin/python3 - "$dir" "$m" >> "$out/results.jsonl" <<'PY'
import json, os, sys
run, model = sys.argv[1], sys.argv[2]
evals = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if "val_accuracy" in l]
row = {"model": model, "steps": evals[-1]["step"] + 1, "val_accuracy": evals[-1]["val_accuracy"], "val_loss": evals[-1]["val_loss"]}
saved = json.load(open(os.path.join(run, "config.json")))
row["lr"] = saved["train"]["lr"]
config = saved["model"]
row.update({k: config[k] for k in ("n_embd", "n_head", "memory", "optimizer", "mode", "window", "chunk", "feature_map", "eta_max", "dual_form") if k in config})
if os.path.exists(os.path.join(run, "score.json")):
    row.update(json.load(open(os.path.join(run, "score.json"))))
print(json.dumps(row))
PY
  touch "$dir/done"
done
dirs=()
for m in "${models[@]}"; do dirs+=("$out/$m"); done
"$engram" compare "${dirs[@]}" --metric val_accuracy --plot "${PLOT:-docs/figures/$(basename "$out")-accuracy.png}" \
  --title "$(basename "$out"): accuracy on the scored positions"

#!/usr/bin/env bash
# RegBench grid (Memory Mosaics spec §13.3): mosaic vs transformer vs LSTM at several numbers of
# training languages. Resumable: finished runs are skipped, interrupted ones resumed. Appends one
# line per finished run to runs/regbench/results.jsonl and redraws docs/figures/regbench-*.png.
#
#   experiments/regbench.sh [N ...]      (default: 100 500 2500)
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/regbench
engram=${ENGRAM:-build/engram}  # set ENGRAM to a copy to keep rebuilding while this runs
mkdir -p "$out" docs/figures
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 500 2500)
for n in "${sizes[@]}"; do
  for model in mosaic transformer lstm; do
    dir=$out/$model-$n
    if [ -f "$dir/score.json" ]; then continue; fi
    if [ -f "$dir/checkpoint.safetensors" ]; then
      "$engram" train --quiet --resume "$dir"
    else
      "$engram" train --quiet --config configs/regbench-$model.json --set task.train_languages=$n --out "$dir"
    fi
    python3 -c "import json,sys; s=json.load(open('$dir/score.json')); s.update(model='$model', train_languages=$n); print(json.dumps(s))" >> "$out/results.jsonl"
  done
done
/usr/bin/python3 - "$out/results.jsonl" <<'PY'
import json, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| N_train | model | accuracy | TVD (L1) |\n|---|---|---|---|")
for r in sorted(rows, key=lambda r: (r["train_languages"], r["model"])):
    print(f"| {r['train_languages']} | {r['model']} | {r['test_accuracy']:.3f} | {r['test_tvd']:.3f} |")
for metric, label in (("test_accuracy", "accuracy on held-out languages"), ("test_tvd", "total variation (L1, lower is better)")):
    series = []
    for model in ("mosaic", "transformer", "lstm"):
        pts = sorted((r["train_languages"], r[metric]) for r in rows if r["model"] == model)
        if pts:
            series.append({"label": model, "x": [p[0] for p in pts], "y": [p[1] for p in pts], "style": "o-"})
    name = "accuracy" if metric == "test_accuracy" else "tvd"
    spec = {"out": f"docs/figures/regbench-{name}.png", "title": "RegBench: " + label, "xlabel": "training languages",
            "ylabel": label, "logx": True, "series": series}
    json.dump(spec, open(f"runs/regbench/plot-{name}.json", "w"))
    subprocess.run(["/usr/bin/python3", "scripts/plot.py", f"runs/regbench/plot-{name}.json"], check=True)
PY

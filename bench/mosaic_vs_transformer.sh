#!/usr/bin/env bash
# Mosaic training speed against the transformer of the same width and depth (issue 3's target:
# within 1.3×), at (batch, context, width, heads) = (32, 256, 128, 4) and (8, 256, 256, 4), with
# P = 3.5·width, for the persistent-memory and the MLP feed-forward variants. Interleaved, one
# line per measurement.
#
#   bench/mosaic_vs_transformer.sh [layers=4]
set -euo pipefail
cd "$(dirname "$0")/.."
layers=${1:-4}
for shape in "32 128" "8 256"; do
  set -- $shape
  for model in "type=transformer" "type=mosaic ffn=pmem" "type=mosaic ffn=mlp"; do
    sets=()
    for kv in $model n_layer=$layers n_embd=$2 n_head=4 vocab_size=4096; do sets+=(--set "$kv"); done
    tps=$(build/engram bench --seconds 4 --batch "$1" --block 256 "${sets[@]}" | awk '/^train throughput/ {print $3}')
    echo "batch $1, width $2, $layers blocks, $model: $tps tokens/s"
  done
done

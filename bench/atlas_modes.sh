#!/usr/bin/env bash
# ATLAS inner-loop modes (spec §7; issue 4's speed table): training tokens/s of the same 2-layer
# model (width 64, 4 heads, MLP memory on degree-2 features, window 8) in each chunking mode, with
# and without Newton–Schulz, against the naive per-token loop (mode P with chunk 1) and a
# transformer of the same shape, in one run. One line per measurement.
#
#   bench/atlas_modes.sh [seconds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
base="type=atlas n_layer=2 n_embd=64 n_head=4 memory=mlp feature_map=polynomial degree=2 window=8 vocab_size=256"
row() {  # label, then overrides
  local label=$1
  shift
  local sets=()
  for kv in "$@"; do sets+=(--set "$kv"); done
  tps=$(build/engram bench --seconds "$seconds" --batch 8 --block 256 "${sets[@]}" | awk '/^train throughput/ {print $3}')
  printf '%-58s %8s tokens/s\n' "$label" "$tps"
}
row "transformer (rotary)" type=transformer n_layer=2 n_embd=64 n_head=4 positions=rotary vocab_size=256
row "mode B u=32, muon (NS 5)" $base mode=B chunk=32 optimizer=muon ns_steps=5
row "mode B u=8, muon (NS 5)" $base mode=B chunk=8 optimizer=muon ns_steps=5
row "mode B u=8, momentum (no NS)" $base mode=B chunk=8 optimizer=momentum
row "mode P b=16, muon (NS 5, batched over the chunk)" $base mode=P chunk=16 optimizer=muon ns_steps=5
row "mode P b=16, momentum, materialised weights" $base mode=P chunk=16 optimizer=momentum dual_form=false
row "mode P b=16, momentum, dual form" $base mode=P chunk=16 optimizer=momentum dual_form=true
row "naive per-token loop (mode P b=1), momentum" $base mode=P chunk=1 optimizer=momentum dual_form=false
row "naive per-token loop (mode P b=1), muon (NS 5)" $base mode=P chunk=1 optimizer=muon ns_steps=5

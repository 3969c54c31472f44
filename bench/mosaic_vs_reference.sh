#!/usr/bin/env bash
# engram's Memory Mosaic against the reference computation in PyTorch (same machine, same threads,
# same sizes, the nanoGPT-style variant both sides), alternating A/B rounds so drift hits both.
#
#   bench/mosaic_vs_reference.sh [rounds=3] [layers=2] [embd=128] [heads=4] [batch=16] [block=256]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3} layers=${2:-2} embd=${3:-128} heads=${4:-4} batch=${5:-16} block=${6:-256}
out=$(mktemp)
for r in $(seq "$rounds"); do
  build/engram bench --seconds 5 --batch "$batch" --block "$block" --json "$out" \
    --set type=mosaic --set variant=nano --set n_layer="$layers" --set n_embd="$embd" --set n_head="$heads" \
    --set vocab_size=4096 --set attn_dropout=0 --set pmem_dropout=0 --set resid_dropout=0 >/dev/null
  /usr/bin/python3 bench/nano_mosaic_reference.py --layers "$layers" --embd "$embd" --heads "$heads" \
    --batch "$batch" --block "$block" --seconds 5 >> "$out"
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mine = [r for r in rows if r.get("impl") != "pytorch-reference"]
ref = [r for r in rows if r.get("impl") == "pytorch-reference"]
def med(rs, k): return statistics.median(r[k] for r in rs)
t_e, t_r = med(mine, "train_tokens_per_s"), med(ref, "train_tokens_per_s")
g_e, g_r = med(mine, "generate_ms_cache"), med(ref, "generate_ms_per_token")
print(f"rounds {len(mine)} (medians)")
print(f"train      engram {t_e:8.0f} tokens/s   pytorch reference {t_r:8.0f} tokens/s   ratio {t_e / t_r:.2f}x")
print(f"generate   engram {g_e:8.2f} ms/token   pytorch reference {g_r:8.2f} ms/token   ratio {g_r / g_e:.2f}x")
PY
rm -f "$out"

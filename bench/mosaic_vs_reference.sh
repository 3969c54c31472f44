#!/usr/bin/env bash
# engram's Memory Mosaic against the reference computation in PyTorch (same machine, same threads,
# the nanoGPT-style variant on both sides) on configs/bench-mosaic-reference.json (4 blocks, 4
# heads, width 256, context 256, vocabulary 4096, batch 8, P 1024), alternating A/B rounds so
# drift hits both sides.
#
#   bench/mosaic_vs_reference.sh [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=$(mktemp)
for r in $(seq "$rounds"); do
  build/engram bench --seconds 5 --config configs/bench-mosaic-reference.json --json "$out" >/dev/null
  /usr/bin/python3 bench/nano_mosaic_reference.py --layers 4 --embd 256 --heads 4 --pmem 1024 --vocab 4096 \
    --batch 8 --block 256 --seconds 5 >> "$out"
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

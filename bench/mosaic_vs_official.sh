#!/usr/bin/env bash
# engram's Memory Mosaic against the official nanoMosaics code (../shared/peers, run by
# bench/nano_mosaics_official.py) on the anchor configuration, configs/bench-mosaic-reference.json
# (4 blocks, 4 heads, width 256, context 256, vocabulary 4,096, batch 8, P 1,024). A/B rounds on
# the same machine; the official code at each thread count (and with jemalloc when the machine has
# it), its best setting counting. Training: tokens/s; generation: ms per token, the official
# generate() from a 1-token prompt (contexts 1…128) against engram's cached LibTorch generation
# and its dispatcher-free decoder (timed at context 216, the longer and costlier context).
#
#   bench/mosaic_vs_official.sh [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=$(mktemp)
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
for r in $(seq "$rounds"); do
  build/engram bench --seconds 5 --config configs/bench-mosaic-reference.json --json "$out" >/dev/null
  for t in 1 2; do
    /usr/bin/python3 bench/nano_mosaics_official.py --threads "$t" --seconds 5 | sed "s/}\$/, \"allocator\": \"glibc\"}/" >> "$out"
    if [ -e "$jemalloc" ]; then
      LD_PRELOAD=$jemalloc /usr/bin/python3 bench/nano_mosaics_official.py --threads "$t" --seconds 5 |
        sed "s/}\$/, \"allocator\": \"jemalloc\"}/" >> "$out"
    fi
  done
done
/usr/bin/python3 - "$out" <<'PY'
import collections, json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mine = [r for r in rows if r.get("impl") != "nanoMosaics-official"]
ref = collections.defaultdict(list)
for r in rows:
    if r.get("impl") == "nanoMosaics-official":
        ref[(r["threads"], r["allocator"])].append(r)
med = lambda rs, k: statistics.median(r[k] for r in rs)
print(f"rounds {len(mine)} (medians)")
for setting, rs in sorted(ref.items()):
    print(f"  official, {setting[0]} thread(s), {setting[1]}: train {med(rs, 'train_tokens_per_s'):7.0f} tokens/s, "
          f"generate {med(rs, 'generate_ms_per_token'):6.2f} ms/token")
best_train = max(med(rs, "train_tokens_per_s") for rs in ref.values())
best_gen = min(med(rs, "generate_ms_per_token") for rs in ref.values())
t_e = med(mine, "train_tokens_per_s")
g_cache, g_rt = med(mine, "generate_ms_cache"), med(mine, "decode_ms_runtime")
print(f"train      engram {t_e:8.0f} tokens/s   official best {best_train:8.0f} tokens/s   ratio {t_e / best_train:.2f}x")
print(f"generate   engram LibTorch cache {g_cache:6.2f} ms/token   official best {best_gen:6.2f} ms/token   ratio {best_gen / g_cache:.2f}x")
print(f"generate   engram runtime        {g_rt:6.2f} ms/token   official best {best_gen:6.2f} ms/token   ratio {best_gen / g_rt:.2f}x")
PY
rm -f "$out"

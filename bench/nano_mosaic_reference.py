"""Training and generation speed of the reference-style Memory Mosaic in PyTorch, for
bench/mosaic_vs_reference.sh.

The model is tests/reference/nano_mosaic.py: nanoMosaics' computation (T×T decay-matrix leaky
average, full-prefix recomputation when generating), written from the format description. Same
measurement as `engram bench`: full training steps (forward, cross-entropy, backward, clip, AdamW)
on random tokens after a warm-up; generation of N tokens from a 1-token prompt.

    /usr/bin/python3 bench/nano_mosaic_reference.py --layers 2 --embd 128 --heads 4 --batch 16 --block 256
prints one JSON line.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from nano_mosaic import MemoryMosaic  # noqa: E402
from training_speed import training_tokens_per_second  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--embd", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--pmem", type=int, default=0, help="slots per head (0 = 3.5 × width)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--generate", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    P = a.pmem or 7 * a.embd // 2
    model = MemoryMosaic(a.vocab, a.embd, a.heads, a.block, a.layers, P, 1, False)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)

    loss_of = lambda x, y: torch.nn.functional.cross_entropy(model(x).view(-1, a.vocab), y.view(-1))
    train = training_tokens_per_second(loss_of, model, opt, a.vocab, a.batch, a.block, a.seconds)

    model.eval()
    with torch.no_grad():
        seq = torch.zeros(1, 1, dtype=torch.long)
        t0 = time.perf_counter()
        for _ in range(min(a.generate, a.block - 1)):
            nxt = model(seq)[:, -1].argmax(-1, keepdim=True)  # the reference re-runs the whole prefix
            seq = torch.cat([seq, nxt], 1)
        ms = (time.perf_counter() - t0) * 1000 / (seq.size(1) - 1)
    print(json.dumps({"impl": "pytorch-reference", "train_tokens_per_s": train, "generate_ms_per_token": ms,
                      "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()

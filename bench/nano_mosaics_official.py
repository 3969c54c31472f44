"""Training and generation speed of the official nanoMosaics code (the authors' mosaic_model.py,
read at run time from ../shared/peers; never copied here), for bench/mosaic_vs_official.sh. On
torch < 2 it runs through a definition of F.scaled_dot_product_attention (below).

Its own model class, its own optimiser setup (configure_optimizers: AdamW, decay on matrices) and
its own generate() (which re-runs the whole prefix per token, sampling). The measurement matches
`engram bench`: full training steps (forward, cross-entropy, backward, clip, AdamW) on random
tokens after a warm-up; N tokens generated from a 1-token prompt.

    /usr/bin/python3 bench/nano_mosaics_official.py --threads 2
prints one JSON line.
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import time

import torch
import torch.nn.functional as F

from training_speed import training_tokens_per_second


def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """PyTorch 2's F.scaled_dot_product_attention by its definition (its CPU math path), for the
    torch 1.13 of this machine: the official code's own fallback for torch < 2 does not run (in
    PersistentMem.forward, `y += …` before y exists)."""
    att = q @ k.transpose(-2, -1)
    if scale is None or scale != 1:
        att = att * (scale if scale is not None else q.size(-1) ** -0.5)
    if is_causal:
        attn_mask = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool).tril()
    if attn_mask is not None:
        att = att.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else att + attn_mask
    att = torch.softmax(att, dim=-1)
    if dropout_p > 0:
        att = F.dropout(att, dropout_p)
    return att @ v


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", default=os.path.join(here, "..", "..", "shared", "peers", "memory-mosaics", "nanoMosaics"))
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--embd", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--pmem", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--generate", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    path = os.path.join(a.peer, "mosaic_model.py")
    if not os.path.exists(path):
        raise SystemExit(f"nano_mosaics_official.py: {path} does not exist (the peers folder is ../shared/peers)")
    shimmed = not hasattr(F, "scaled_dot_product_attention")
    if shimmed:
        F.scaled_dot_product_attention = scaled_dot_product_attention
    spec = importlib.util.spec_from_file_location("mosaic_model", path)
    mm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mm)

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    config = mm.MemoryMosaicConfig(block_size=a.block, vocab_size=a.vocab, n_layer=a.layers, n_head=a.heads,
                                   n_embd=a.embd, dropout=0.0, pmem_size=a.pmem, pmem_count=1, bias=False)
    config.ic_dropout = 0.0  # PersistentMem reads it, but the dataclass as shipped does not declare it
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its parameter count
        model = mm.MemoryMosaic(config)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its parameter groups
        opt = model.configure_optimizers(0.1, 1e-4, (0.9, 0.95), "cpu")

    train = training_tokens_per_second(lambda x, y: model(x, y)[1], model, opt, a.vocab, a.batch, a.block, a.seconds)

    model.eval()
    n = min(a.generate, a.block - 1)
    t0 = time.perf_counter()
    model.generate(torch.zeros(1, 1, dtype=torch.long), n)
    ms = (time.perf_counter() - t0) * 1000 / n
    print(json.dumps({"impl": "nanoMosaics-official", "train_tokens_per_s": train, "generate_ms_per_token": ms,
                      "threads": a.threads, "torch": torch.__version__, "sdpa_shim": shimmed}))


if __name__ == "__main__":
    main()

"""An independent reference for engram's transformer and `engram eval`: NumPy only (float64).

Reads an engram checkpoint with its own safetensors parser, rebuilds the GPT-2-style forward pass
from the model config in the header, and prints the mean next-token cross-entropy over a file of
token ids (one sequence per line; every token after the first is a target; mean over all targets).

usage: /usr/bin/python3 gpt_numpy.py CHECKPOINT IDS_FILE
"""
import json
import math
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def load_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n :]
    tensors = {}
    for name, e in header.items():
        if e["dtype"] not in DTYPES:
            continue
        b, end = e["data_offsets"]
        tensors[name] = np.frombuffer(data[b:end], dtype=DTYPES[e["dtype"]]).reshape(e["shape"]).astype(np.float64)
    return tensors, meta


def layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def rotary(x, base):
    # x [H, T, d]; the pair (x_i, x_{i+d/2}) turns by angle t * base^(-2i/d).
    T, d = x.shape[1], x.shape[2]
    half = d // 2
    inv = base ** (-np.arange(half) * 2.0 / d)
    ang = np.arange(T)[:, None] * inv[None, :]
    c, s = np.cos(ang), np.sin(ang)
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * c - x2 * s, x1 * s + x2 * c], axis=-1)


def forward(W, cfg, ids):
    T, D, H = len(ids), cfg["n_embd"], cfg["n_head"]
    hd = D // H
    x = W["wte.weight"][ids]
    if cfg["positions"] == "learned":
        x = x + W["wpe.weight"][:T]
    bias = lambda name, n: W[name] if name in W else np.zeros(n)
    mask = np.triu(np.ones((T, T), dtype=bool), 1)
    for i in range(cfg["n_layer"]):
        p = f"blocks.{i}."
        h = layer_norm(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"])
        qkv = h @ W[p + "c_attn.weight"].T + bias(p + "c_attn.bias", 3 * D)
        q, k, v = [qkv[:, j * D : (j + 1) * D].reshape(T, H, hd).transpose(1, 0, 2) for j in range(3)]
        if cfg["positions"] == "rotary":
            q, k = rotary(q, cfg["rotary_base"]), rotary(k, cfg["rotary_base"])
        att = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        att = np.where(mask, -np.inf, att)
        att = np.exp(att - att.max(-1, keepdims=True))
        att = att / att.sum(-1, keepdims=True)
        y = (att @ v).transpose(1, 0, 2).reshape(T, D)
        x = x + y @ W[p + "c_proj.weight"].T + bias(p + "c_proj.bias", D)
        h = layer_norm(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"])
        h = gelu_tanh(h @ W[p + "c_fc.weight"].T + bias(p + "c_fc.bias", cfg["mlp_ratio"] * D))
        x = x + h @ W[p + "mlp_proj.weight"].T + bias(p + "mlp_proj.bias", D)
    x = layer_norm(x, W["ln_f.weight"], W["ln_f.bias"])
    return x @ W["wte.weight"].T


def main():
    W, meta = load_safetensors(sys.argv[1])
    cfg = json.loads(meta["engram.model"])
    assert cfg["type"] == "transformer", cfg["type"]
    total, count = 0.0, 0
    for line in open(sys.argv[2]):
        ids = [int(t) for t in line.split()]
        if len(ids) < 2:
            continue
        logits = forward(W, cfg, ids[:-1])
        m = logits.max(-1, keepdims=True)
        logp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
        total -= sum(logp[t, ids[t + 1]] for t in range(len(ids) - 1))
        count += len(ids) - 1
    print(f"{total / count:.9f}")


if __name__ == "__main__":
    main()

"""The nanoGPT-style Memory Mosaic, in PyTorch, written from papers/memory-mosaics-import.md.

The second implementation for `engram import`: it builds a model whose state dict has the
reference's keys and shapes, randomises every parameter (so scales, mixes and biases all matter),
saves it with torch.save, and writes the logits PyTorch computes for a token sequence.

    /usr/bin/python3 tests/reference/nano_mosaic.py OUT_DIR [--bias] [--layers 2] [--checkpoint]

writes OUT_DIR/model.pt (state dict, or nanoMosaics' train.py checkpoint with --checkpoint),
OUT_DIR/tokens.txt (one line of ids) and OUT_DIR/logits.f32 (float32 [T, V], row-major).
"""
import argparse
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    def __init__(self, d, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class LeakyAverage(nn.Module):
    def __init__(self, H, T):
        super().__init__()
        self.leaky_key_beta = nn.Parameter(torch.linspace(0.05, 0.5, H).view(1, H, 1, 1))
        t = torch.arange(T, dtype=torch.float32)
        self.register_buffer("coef", -(t.view(T, 1) - t.view(1, T)).tril())

    def forward(self, k):  # k [B, H, T, dh]
        T = k.size(2)
        b = 10 * self.leaky_key_beta.abs()
        w = torch.exp(b * self.coef[:T, :T]) * torch.ones(T, T).tril()  # exp(−b(t−s)), s ≤ t
        return w @ k


class KeyFeaturizer(nn.Module):
    def __init__(self, d, H, T, bias, scale_pow):
        super().__init__()
        self.H, self.scale_pow = H, scale_pow
        self.W_k = nn.Linear(d, d, bias=bias)
        self.key_scale = nn.Parameter(torch.full((1, H, 1, 1), 0.1))
        self.leaky_avg = LeakyAverage(H, T)

    def forward(self, x):
        B, T, d = x.shape
        k = self.W_k(x).view(B, T, self.H, d // self.H).transpose(1, 2)
        k = self.leaky_avg(k)
        k = k / (k.norm(dim=-1, keepdim=True) + 1e-10)
        return k * torch.exp(torch.clamp(self.scale_pow * 10 * self.key_scale, max=math.log(65535)))


class ValueFeaturizer(nn.Module):
    def __init__(self, d, H, bias):
        super().__init__()
        self.H = H
        self.W_v = nn.Linear(d, d, bias=bias)
        self.coef = nn.Parameter(torch.rand(1, H, 1, 1))
        self.val_scale = nn.Parameter(torch.full((1, H, 1, 1), -0.05))

    def forward(self, x):
        B, T, d = x.shape
        v = self.W_v(x).view(B, T, self.H, d // self.H).transpose(1, 2)
        nxt = torch.cat([v[:, :, 1:], torch.zeros_like(v[:, :, :1])], dim=2)
        v = (1 - self.coef) * nxt + self.coef * v
        return v / (v.norm(dim=-1, keepdim=True) + 1e-10) * torch.exp(10 * self.val_scale)


class ContextMemory(nn.Module):
    def __init__(self, d, H, T, bias):
        super().__init__()
        self.k_featurizer = KeyFeaturizer(d, H, T, bias, 1)
        self.v_featurizer = ValueFeaturizer(d, H, bias)
        self.c_proj = nn.Linear(d, d, bias=bias)
        self.register_buffer("bias", torch.ones(T, T, dtype=torch.bool).tril(-1).view(1, 1, T, T))

    def forward(self, x):
        B, T, d = x.shape
        k, v = self.k_featurizer(x), self.v_featurizer(x)
        scores = k @ k.transpose(-2, -1)  # kernel scale 1
        scores = scores.masked_fill(~self.bias[:, :, :T, :T], float("-inf"))
        w = torch.softmax(scores[:, :, 1:], dim=-1)  # row 0 reads nothing
        y = torch.cat([torch.zeros_like(v[:, :, :1]), w @ v], dim=2)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, d))


class PersistentMemory(nn.Module):
    def __init__(self, d, H, T, P, count, bias):
        super().__init__()
        self.k_featurizer = KeyFeaturizer(d, H, T, bias, 2)
        self.P_k = nn.Parameter(torch.randn(count, 1, H, P, d // H) / math.sqrt(d // H))
        self.P_v = nn.Parameter(torch.randn(count, 1, H, P, d // H) / math.sqrt(d // H))
        self.out_scale = nn.Parameter(torch.full((1, H, 1, 1), -0.05))
        self.c_proj = nn.Linear(d, d, bias=bias)

    def forward(self, x):
        B, T, d = x.shape
        q = self.k_featurizer(x)  # [B, H, T, dh]
        reads = [torch.softmax(q @ self.P_k[c].transpose(-2, -1), dim=-1) @ self.P_v[c] for c in range(self.P_k.size(0))]
        y = torch.stack(reads).mean(0) * torch.exp(10 * self.out_scale)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, d))


class Block(nn.Module):
    def __init__(self, d, H, T, P, count, bias):
        super().__init__()
        self.ln_1 = LayerNorm(d, bias)
        self.attn = ContextMemory(d, H, T, bias)
        self.ln_2 = LayerNorm(d, bias)
        self.mlp = PersistentMemory(d, H, T, P, count, bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class MemoryMosaic(nn.Module):
    def __init__(self, V, d, H, T, L, P, count, bias):
        super().__init__()
        self.mosaic = nn.ModuleDict(dict(
            wte=nn.Embedding(V, d),
            h=nn.ModuleList([Block(d, H, T, P, count, bias) for _ in range(L)]),
            ln_f=LayerNorm(d, bias),
        ))
        self.lm_head = nn.Linear(d, V, bias=False)
        self.lm_head.weight = self.mosaic.wte.weight

    def forward(self, idx):
        x = self.mosaic.wte(idx)
        for block in self.mosaic.h:
            x = block(x)
        return self.lm_head(self.mosaic.ln_f(x))  # no 1/√d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--bias", action="store_true")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--checkpoint", action="store_true", help="write a train.py-style checkpoint of a compiled model")
    args = ap.parse_args()
    torch.manual_seed(7 + args.layers + 2 * args.bias)
    V, d, H, T, P, count = 97, 48, 4, 40, 24, 2
    model = MemoryMosaic(V, d, H, T, args.layers, P, count, args.bias)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("key_scale") or name.endswith("val_scale") or name.endswith("out_scale"):
                p.uniform_(-0.1, 0.15)  # scales e^{−1} … e^{1.5}
            elif name.endswith("leaky_key_beta"):
                p.uniform_(-0.3, 0.3)  # negative values too: the rate is 10·|β|
            elif name.endswith("coef"):
                p.uniform_(-0.5, 1.5)  # the mix is not constrained to [0, 1]
            elif p.dim() == 1:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.2)
            elif name != "mosaic.wte.weight":
                p.normal_(0.0, 1.0 / math.sqrt(p.size(-1)))
    tokens = torch.randint(0, V, (1, 33))
    logits = model(tokens)[0]
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.pt")
    if args.checkpoint:
        opt = torch.optim.AdamW(model.parameters(), lr=0.0)  # lr 0: a real optimizer state, weights unchanged
        model(tokens).logsumexp(-1).mean().backward()
        opt.step()
        state = {"_orig_mod." + k: v for k, v in model.state_dict().items()}
        torch.save({"model": state, "optimizer": opt.state_dict(),
                    "model_args": dict(n_layer=args.layers, n_head=H, n_embd=d, block_size=T, bias=args.bias,
                                       vocab_size=V, dropout=0.0, pmem_size=P, pmem_count=count),
                    "iter_num": 1, "best_val_loss": torch.tensor(3.5), "config": {"learning_rate": 6e-4, "compile": True}},
                   path)
    else:
        torch.save(model.state_dict(), path)
    with open(os.path.join(args.out, "tokens.txt"), "w") as f:
        f.write(" ".join(str(int(t)) for t in tokens[0]) + "\n")
    logits.detach().contiguous().numpy().astype("float32").tofile(os.path.join(args.out, "logits.f32"))
    print(f"{len(model.state_dict())} keys, logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main()

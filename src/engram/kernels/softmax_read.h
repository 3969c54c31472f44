// The softmax-weighted read that every sequence model in engram spends its time in:
//
//   y[g, i] = Σ_j dropout(softmax_j(scale · q[g, i] · k[g, j])) · v[g, j]
//
// over the keys j that query i may see. It is a persistent memory's slot read (all slots
// visible), a contextual memory's Nadaraya–Watson retrieval (strictly earlier positions: shift −1)
// and a transformer's causal attention (shift 0).
//
// On CPU float tensors it runs as one blocked kernel (the flash-attention scheme): a block of query
// rows meets one block of keys at a time in cache, an online softmax carries each row's running
// maximum and sum across key blocks, the [rows, keys] weights are never stored, causal blocks
// above the diagonal are skipped, and the backward recomputes the weights block by block from each
// row's saved log-sum-exp. Everywhere else (other devices, double precision) and when asked for it,
// the same function runs as a composition of LibTorch operations, which is also the reference the
// kernel is tested against. This file is the one place that choice is made.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace engram {

struct SoftmaxReadOptions {
  double scale = 1.0;
  bool causal = false;
  int64_t shift = 0;     // causal: query i sees key j iff j ≤ i + shift; a row that sees none reads 0
  double dropout = 0.0;  // on the softmax weights, in [0, 1)
  uint64_t seed = 0;     // picks the dropout mask (softmax_read_keep)
};

// q [G, N, D], k [G, S, D], v [G, S, Dv] -> [G, N, Dv], or the same with two dimensions [B, H] in
// place of G. Gradients reach q, k and v. Any strides will do: the kernel reads each group's rows
// where they lie, so the heads of [B, T, H, dh] activations go in as transposed views, and the
// output (and each gradient) comes back laid out in memory like its input, e.g. [B, H, T, dh] as a
// transposed view of a [B, T, H, dh] tensor, which reshapes to [B, T, H·dh] without a copy.
torch::Tensor softmax_read(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           const SoftmaxReadOptions& options);

// The dropout mask softmax_read applies for (seed, dropout) to a [..., N, S] weight tensor (its rows
// numbered in order over the leading dimensions, [G] or [B, H]): 1 where a
// weight is kept, 0 where it is dropped (for tests and for the composition; the kernel never
// materialises it).
torch::Tensor softmax_read_keep(uint64_t seed, double dropout, at::IntArrayRef sizes);

// Which implementation engram's kernels use where they apply (CPU, float): the kernels (default) or
// the LibTorch compositions, for comparisons and benchmarks. The one switch for softmax_read and
// the other operations in kernels/ (scaled_normalise, cross_entropy_rows).
enum class ReadPath { kBlocked, kComposition };
void set_read_path(ReadPath path);
ReadPath read_path();

}  // namespace engram

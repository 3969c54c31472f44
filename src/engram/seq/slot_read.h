// The read of a persistent memory's slot bank (Memory Mosaics spec §3), per head h:
//
//   y = dropout_p(softmax(q · K_hᵀ)) · V_h
//
// as one autograd node. The [H, N, P] weight tensor is the largest thing a mosaic block makes
// (P = 3.5·width slots for every token), so autograd's generic chain — a fresh tensor per op and a
// Bernoulli draw per weight for the dropout — cost more than the two matrix products. Here the
// softmax runs in place, the dropout mask is a counter-based hash of (seed, row, slot) that the
// backward recomputes instead of storing, and the backward reuses its buffers.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace engram {

// q [H, N, D], keys and values [H, P, D] (float, CPU) -> [H, N, D]. dropout in [0, 1); seed picks
// the mask (ignored when dropout is 0). Gradients reach q, keys and values.
torch::Tensor slot_read(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& values, double dropout,
                        uint64_t seed);

// The mask slot_read applies for (seed, dropout) to a [H, N, P] weight tensor: 1 where a weight is
// kept, 0 where dropped (for tests and for reading the behaviour; slot_read never materialises it).
torch::Tensor slot_dropout_keep(uint64_t seed, double dropout, at::IntArrayRef sizes);

}  // namespace engram

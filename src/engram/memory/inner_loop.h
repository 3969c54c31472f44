// The inner loop of a test-time-trained memory (ATLAS spec §5–§7): over a sequence, the memory
// takes optimiser steps on a windowed objective (the Omega rule, window c) and is read by queries.
//
// Mode "P" (paper-faithful, §7.2): one step per token, with every gradient in a chunk of b tokens
// evaluated at the chunk-start state (b = 1 is the exact recurrence); a token reads the state that
// already includes its own step. Mode "B" (§7.4): one step per block of b tokens on the block's
// window; tokens read the state before their block's step (reading after would see later tokens).
//
// Optimisers (ATLAS letters: α retention, η step size, θ momentum decay, G the windowed gradient):
//   gd        M ← α M − η G
//   momentum  S ← θ S − η G,  M ← α M + S            (Titans: η inside the momentum)
//   muon      S ← θ S + G,    M ← α M − η NS_k(S)    (η outside Newton–Schulz, which is scale-free)
#pragma once

#include <string>

#include "engram/memory/inner_memory.h"

namespace engram {

enum class InnerOptimizer { kGd, kMomentum, kMuon };  // "gd" | "momentum" | "muon"
enum class InnerMode {
  kPerToken,  // "P": a step per token, reads within a chunk from the chunk-start reference weights
  kBlock,     // "B": one step per block of `chunk` tokens
};
const Names<InnerOptimizer>& names_of(InnerOptimizer);
const Names<InnerMode>& names_of(InnerMode);

struct InnerLoopConfig {
  InnerOptimizer optimizer = InnerOptimizer::kMuon;
  InnerMode mode = InnerMode::kPerToken;
  int64_t window = 1;              // c: tokens in each step's objective
  int64_t chunk = 16;              // b: chunk (P) or block (B) length
  int64_t ns_steps = 5;            // Newton–Schulz iterations (muon)
  // Mode P with gd or momentum: read the chunk's per-step weights in the dual form (§7.3) rather
  // than materialising them: the same reads, state and gradients to rounding (gate test 4, also at
  // the model's shapes), 2–14× faster in training. Off = materialised per-step weights, for checking.
  bool dual_form = true;
};

// Per-token inputs for N memories over T tokens.
struct InnerLoopInputs {
  MemoryBatch keys;              // x = φ(k) [N, T, D], v [N, T, d_v], r (residual) and LN gain
  torch::Tensor queries;         // φ(q) [N, T, D]
  torch::Tensor query_residual;  // [N, T, d_v], undefined without residual
  torch::Tensor gamma, eta, alpha, theta;  // [N, T]; θ unused by gd
};

// Everything carried between calls: the weights, the chunk-start (reference) weights, the
// momentum, and the last few key tokens that later windows still include.
struct InnerLoopState {
  FastWeights weights, reference, momentum;
  MemoryBatch carry;           // up to (window − 1) key tokens (mode B: max(window, chunk) − 1)
  torch::Tensor carry_gamma;   // [N, n_carry]
  int64_t position = 0;        // tokens consumed
};

// M0 broadcast to N memories, zero momentum. Each matrix is [rows, cols] (shared by all memories)
// or [G, rows, cols] with memory n using M0[n mod G] (one initial state per head, N = batch·G).
InnerLoopState initial_inner_state(const InnerMemory& memory, const FastWeights& m0, int64_t n_memories);

// Runs the loop over the T tokens of `in`, continuing `state`; returns the reads [N, T, d_v].
// Calling it on a sequence in pieces gives the same result as one call (chunks are aligned to
// absolute positions). Differentiable with respect to every input and M0.
torch::Tensor run_inner_loop(const InnerMemory& memory, const InnerLoopConfig& config, const InnerLoopInputs& in,
                             InnerLoopState& state);

}  // namespace engram

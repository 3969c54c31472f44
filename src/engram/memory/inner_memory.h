// The memory of a test-time-trained layer (ATLAS spec §3): N independent fast-weight memories
// (one per sequence and head), a linear map or a 2-layer MLP, read by a forward pass and written
// by inner optimiser steps on analytic gradients (§3.5; no autograd inside the forward pass, so
// the outer backward differentiates through plain tensor algebra).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "engram/core/config.h"

namespace engram {

enum class MemoryKind { kLinear, kMlp };    // "linear": ŷ = M x | "mlp": ŷ = W1 σ(W2 x), σ = exact GELU
enum class InnerObjective { kL2, kDot };    // "l2": ℓ = ‖ŷ − v‖² | "dot": ℓ = −⟨ŷ, v⟩ (Hebbian)
const Names<MemoryKind>& names_of(MemoryKind);
const Names<InnerObjective>& names_of(InnerObjective);

struct InnerMemoryConfig {
  MemoryKind kind = MemoryKind::kMlp;
  int64_t input_dim = 16;         // D (the feature-mapped key size)
  int64_t output_dim = 16;        // d_v
  int64_t hidden = 32;            // MLP width
  bool residual = false;          // ŷ = r + … with r supplied by the caller (spec §3.4)
  bool layer_norm = false;        // ŷ = r + gain ⊙ LN(p) on the prediction p (TTT-style, spec §3.3 (a))
  InnerObjective objective = InnerObjective::kL2;
};

// The fast weights of N memories. linear: {M [N, d_v, D]}; mlp: {W1 [N, d_v, h], W2 [N, h, D]}.
// A tensor may instead carry one matrix per token, [N, n, rows, cols] (materialised per-step
// weights of a chunk).
using FastWeights = std::vector<torch::Tensor>;

// The per-step weights of a chunk held implicitly (the dual form, spec §7.3): for step j and
// every matrix,  W_j = a_j·W + c_j·S − Σ_i K[j, i] L_i R_iᵀ,  applied to an input u as
// a_j·W u + c_j·S u − Σ_i K[j, i] (R_i·u) L_i — an attention-like product, no [n, rows, cols] stack.
struct ImplicitWeights {
  FastWeights base, momentum;  // W and S [N, rows, cols]; momentum empty when c ≡ 0
  torch::Tensor base_scale, momentum_scale;  // a, c [N, n]
  torch::Tensor kernel;                      // K [N, n, n_window]
  std::vector<std::pair<torch::Tensor, torch::Tensor>> factors;  // per matrix (L [N, n_window, rows], R [N, n_window, cols])
};

// What a memory reads and learns from: inputs x [N, n, D], targets v [N, n, d_v], residuals r
// [N, n, d_v] (undefined without residual), LN gain [N, 1, d_v] (undefined = 1).
struct MemoryBatch {
  torch::Tensor x, v, r, gain;
};

class InnerMemory {
 public:
  explicit InnerMemory(InnerMemoryConfig config);
  const InnerMemoryConfig& config() const { return config_; }

  // Shapes of the fast-weight matrices ({rows, cols} each).
  std::vector<std::pair<int64_t, int64_t>> shapes() const;

  // ŷ [N, n, d_v] for inputs `b.x` (targets unused).
  torch::Tensor read(const FastWeights& w, const MemoryBatch& b) const;
  // The same with step n's weights applied to input n (`b.x` has the kernel's n rows).
  torch::Tensor read(const ImplicitWeights& w, const MemoryBatch& b) const;

  // Per-token gradient factors at weights `w` (one matrix per memory, not per token): for every
  // matrix, (L [N, n, rows], R [N, n, cols]) such that ∇_W ℓ_i = L_i R_iᵀ.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> gradient_factors(const FastWeights& w, const MemoryBatch& b) const;

 private:
  InnerMemoryConfig config_;
};

}  // namespace engram

// Bidirectional decoding (BID, Liu et al. 2025) as RTC spec §6.4 runs it: sample N chunks from the
// policy ("strong") and N from an early checkpoint of the same run ("weak", same noise per
// candidate), score every strong candidate by backward coherence with the previous chunk and forward
// contrast against the K most coherent strong (positives) and weak (negatives) candidates, and
// return the best. Some candidate is always returned.
#pragma once

#include <torch/types.h>

#include "engram/policy/flow_policy.h"

namespace engram {

struct BidOptions {
  int contrast = 3;  // K; 0 = backward coherence only (then no weak model is needed)
  int steps = 5;     // Euler steps per candidate
};

// The score of every strong candidate, [B, N]. strong, weak: [B, N, H, M]; target Y: [B, H, M] (the
// harness's A_prev with its zero rows); weights W: [H]. L_B(j) = Σ_i W_i ‖a_j,i − Y_i‖₂;
// L_F(j) = Σ_{a⁺} Σ_i ‖a_j,i − a⁺_i‖ − Σ_{a⁻} Σ_i ‖a_j,i − a⁻_i‖ (all H rows, unweighted);
// score L_B + L_F / N. `weak` is unused when contrast = 0.
torch::Tensor bid_scores(const torch::Tensor& strong, const torch::Tensor& weak, const torch::Tensor& target,
                         const torch::Tensor& weights, int contrast);

// The chosen candidate per batch row: argmin of the score, the first index on ties.
torch::Tensor bid_select(const torch::Tensor& strong, const torch::Tensor& weak, const torch::Tensor& target,
                         const torch::Tensor& weights, int contrast);

// One BID chunk per row of obs [B, D_o] from noise [B, N, H, M] (N candidates each, strong and weak
// start from the same noise); the weights are RTC's exp prefix mask for delay d and execution
// horizon s, as in the paper's code.
torch::Tensor bid_sample_chunk(FlowPolicy& strong, FlowPolicy* weak, const torch::Tensor& obs, const torch::Tensor& noise,
                               const torch::Tensor& target, int delay, int shift, const BidOptions& options);

}  // namespace engram

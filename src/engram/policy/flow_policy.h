// FlowPolicy: a velocity field over action chunks (RTC spec §2). Samplers — plain Euler, RTC-guided,
// BID, temporal ensembling — take a FlowPolicy and never know which network is inside.
//
// Time runs from τ = 0 (noise) to τ = 1 (data). Shapes: noisy_chunk [B, H, M], obs [B, D_o],
// tau [B]; the result is the velocity [B, H, M]. Samples in a batch must not interact (no batch
// statistics), so one batched backward gives every sample's vector–Jacobian product (spec §3.4).
#pragma once

#include <utility>

#include <torch/types.h>

namespace engram {

class FlowPolicy {
 public:
  virtual ~FlowPolicy() = default;
  virtual torch::Tensor velocity(const torch::Tensor& noisy_chunk, const torch::Tensor& obs, const torch::Tensor& tau) = 0;
  virtual int64_t horizon() const = 0;     // H, actions per chunk
  virtual int64_t action_dim() const = 0;  // M
  virtual int64_t obs_dim() const = 0;     // D_o

  // RTC's guided step (spec §3.2): the velocity v at (chunk, obs, τ) and the guidance term
  // g = (∂Â¹/∂A)ᵀ (W ⊙ (Y − Â¹)) with Â¹ = A + (1 − τ) v, for `target` Y [B, H, M] and `weights`
  // W [H]. The default differentiates velocity() with autograd (enabled even under a caller's
  // NoGradGuard; never call it under InferenceMode); a network with its own backward overrides it.
  virtual std::pair<torch::Tensor, torch::Tensor> guided_velocity(const torch::Tensor& chunk, const torch::Tensor& obs,
                                                                  double tau, const torch::Tensor& target,
                                                                  const torch::Tensor& weights);
};

}  // namespace engram

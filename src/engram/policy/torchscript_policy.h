// A FlowPolicy whose velocity network is a TorchScript module, e.g. one trained and exported from
// Python, so that engram's samplers (plain, RTC, BID, TE) and the delay harness run on it:
//
//   class Policy(torch.nn.Module):
//       horizon: int      # H, actions per chunk
//       action_dim: int   # M
//       obs_dim: int      # D_o
//       def forward(self, noisy_chunk, obs, tau):
//           # noisy_chunk [B, H, M], obs [B, D_o], tau [B], all float32; τ = 0 noise → 1 data
//           return velocity  # [B, H, M]
//   torch.jit.script(Policy()).save("policy.pt")
//
// Observations reach the module as the simulator gives them (no standardisation is added), and
// samples in a batch must not interact: RTC takes every sample's VJP from one batched backward.
#pragma once

#include <string>

#include <torch/script.h>

#include "engram/policy/flow_policy.h"

namespace engram {

class TorchScriptPolicy : public FlowPolicy {
 public:
  // Loads and checks the module: the three integer attributes and one probe call with the stated
  // shapes. Errors name the file.
  explicit TorchScriptPolicy(const std::string& path);

  torch::Tensor velocity(const torch::Tensor& noisy_chunk, const torch::Tensor& obs, const torch::Tensor& tau) override;
  int64_t horizon() const override { return horizon_; }
  int64_t action_dim() const override { return action_dim_; }
  int64_t obs_dim() const override { return obs_dim_; }

 private:
  std::string path_;
  torch::jit::Module module_;
  int64_t horizon_ = 0, action_dim_ = 0, obs_dim_ = 0;
};

}  // namespace engram

#include "engram/policy/flow_policy.h"

#include <torch/torch.h>

namespace engram {

std::pair<torch::Tensor, torch::Tensor> FlowPolicy::guided_velocity(const torch::Tensor& chunk, const torch::Tensor& obs,
                                                                    double tau, const torch::Tensor& target,
                                                                    const torch::Tensor& weights) {
  torch::AutoGradMode enable(true);
  auto x = chunk.detach().requires_grad_(true);
  auto v = velocity(x, obs, torch::full({chunk.size(0)}, tau, chunk.options()));
  auto x1 = x + (1 - tau) * v;  // the clean-endpoint estimate; keep the identity path
  auto e = ((target - x1) * weights.view({1, -1, 1})).detach();
  auto g = torch::autograd::grad({x1}, {x}, {e})[0];
  return {v.detach(), g};
}

}  // namespace engram

#include "engram/ki/flow_matching.h"

#include <torch/torch.h>

namespace engram::ki {

torch::Tensor sample_flow_time(int64_t batch, at::Generator& generator) {
  const auto u = torch::rand({batch}, generator, torch::kFloat32);
  return 0.001 + 0.999 * u.pow(2.0 / 3.0);
}

torch::Tensor euler_sample(const std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t)>& velocity,
                           const torch::Tensor& noise, int steps) {
  auto x = noise;
  const int64_t B = noise.size(0);
  // t_k = 1 − k/N, computed from k rather than accumulated, so exactly N steps land on t = 0.
  for (int k = 0; k < steps; ++k) {
    const auto t = torch::full({B}, 1.0 - static_cast<double>(k) / steps, torch::kFloat32);
    x = x - velocity(x, t) / static_cast<double>(steps);
  }
  return x;
}

}  // namespace engram::ki

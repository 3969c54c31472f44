#include "engram/memory/newton_schulz.h"

#include <torch/torch.h>

namespace engram {

torch::Tensor newton_schulz(const torch::Tensor& s, int64_t steps, double eps) {
  // Muon's quintic coefficients: fast growth of small singular values, not exact convergence.
  const double a = 3.4445, b = -4.7750, c = 2.0315;
  const bool tall = s.size(-2) > s.size(-1);
  auto x = tall ? s.transpose(-2, -1) : s;
  auto norm = x.norm(2, {-2, -1}, true);  // its backward is finite at a zero matrix
  x = x / (norm + eps);
  for (int64_t i = 0; i < steps; ++i) {
    auto A = torch::matmul(x, x.transpose(-2, -1));
    auto B = b * A + c * torch::matmul(A, A);
    x = a * x + torch::matmul(B, x);
  }
  return tall ? x.transpose(-2, -1) : x;
}

}  // namespace engram

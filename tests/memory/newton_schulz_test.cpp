// Newton–Schulz against an independent reference: the same quintic acts on each singular value,
// so NS_k(S) = U p^k(σ/‖S‖_F) Vᵀ with p(x) = a x + b x³ + c x⁵, computed here from an SVD in double
// precision with the coefficients written out from the spec (ATLAS §6.3).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "engram/memory/newton_schulz.h"

namespace engram {
namespace {

torch::Tensor reference(const torch::Tensor& s, int k) {
  const double a = 3.4445, b = -4.7750, c = 2.0315;  // Muon's coefficients, ATLAS spec §6.3
  auto sd = s.to(torch::kFloat64);
  auto [U, sigma, Vh] = torch::linalg::svd(sd, /*full_matrices=*/false, c10::nullopt);
  auto x = sigma / sd.norm();
  for (int i = 0; i < k; ++i) x = a * x + b * x.pow(3) + c * x.pow(5);
  return torch::matmul(U * x.unsqueeze(0), Vh);
}

TEST(NewtonSchulz, MatchesThePolynomialOnTheSingularValuesInDouble) {
  torch::manual_seed(11);
  for (auto shape : {std::vector<int64_t>{16, 16}, std::vector<int64_t>{24, 9}, std::vector<int64_t>{5, 12}}) {
    const auto s = torch::randn(shape);
    for (int k : {1, 2, 3, 5}) {
      const double err = (newton_schulz(s, k).to(torch::kFloat64) - reference(s, k)).abs().max().item<double>();
      EXPECT_LT(err, 2e-5) << "shape " << shape[0] << "x" << shape[1] << ", k " << k;
    }
  }
}

TEST(NewtonSchulz, ScaleInvariantOddAndNearOrthogonal) {
  torch::manual_seed(3);
  for (auto shape : {std::vector<int64_t>{64, 32}, std::vector<int64_t>{32, 64}}) {
    auto s = torch::randn(shape);
    auto o = newton_schulz(s, 5);
    EXPECT_TRUE(torch::allclose(newton_schulz(7.5 * s, 5), o, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(newton_schulz(-s, 5), -o, 1e-6, 1e-6));
    auto sv = torch::linalg::svdvals(o, c10::nullopt);
    EXPECT_GT(sv.min().item<double>(), 0.6);
    EXPECT_LT(sv.max().item<double>(), 1.25);
  }
  // Batched equals one by one.
  auto batch = torch::randn({3, 8, 5});
  auto all = newton_schulz(batch, 4);
  for (int64_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::allclose(all[i], newton_schulz(batch[i], 4), 1e-6, 1e-6));
}

}  // namespace
}  // namespace engram

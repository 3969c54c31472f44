#include "engram/kernels/scaled_normalise.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/kernels/softmax_read.h"

namespace engram {
namespace {

// The one-pass kernel in float against the composition in double, forward and both gradients, on
// head sizes that are and are not multiples of the eight-float lanes, a zero row, and leading dims.
TEST(ScaledNormalise, KernelEqualsTheCompositionInDouble) {
  torch::manual_seed(3);
  for (const auto& shape : std::vector<std::vector<int64_t>>{{5, 3, 8}, {2, 7, 4, 13}, {1, 1, 1}, {300, 2, 64}}) {
    auto x = torch::randn(shape, torch::kDouble);
    x.select(-2, 0).select(0, 0).zero_();  // ‖x‖ = 0: the gradient is s·u·dy, no NaN
    auto s = torch::rand({shape[shape.size() - 2]}, torch::kDouble) + 0.5;
    const auto dy = torch::randn(shape, torch::kDouble);
    const double eps = 1e-6;

    auto xd = x.clone().requires_grad_(), sd = s.clone().requires_grad_();
    auto want = sd.view({sd.size(0), 1}) * xd / (xd.norm(2, -1, true) + eps);
    want.backward(dy);

    auto xf = x.to(torch::kFloat).requires_grad_(), sf = s.to(torch::kFloat).requires_grad_();
    auto got = scaled_normalise(xf, sf, eps);
    got.backward(dy.to(torch::kFloat));

    EXPECT_TRUE(torch::allclose(got.to(torch::kDouble), want, 1e-5, 1e-6)) << shape.size();
    EXPECT_TRUE(torch::allclose(xf.grad().to(torch::kDouble), xd.grad(), 1e-4, 1e-5)) << shape.size();
    EXPECT_TRUE(torch::allclose(sf.grad().to(torch::kDouble), sd.grad(), 1e-4, 1e-5)) << shape.size();
    EXPECT_FALSE(xf.grad().isnan().any().item<bool>());
  }
}

TEST(ScaledNormalise, GradientsAgreeWithFiniteDifferences) {
  torch::manual_seed(5);
  auto x = torch::randn({4, 3, 10}), s = torch::rand({3}) + 0.5;
  const auto dy = torch::randn({4, 3, 10});
  auto xg = x.clone().requires_grad_(), sg = s.clone().requires_grad_();
  (scaled_normalise(xg, sg, 1e-6) * dy).sum().backward();
  const auto loss = [&](const torch::Tensor& xv, const torch::Tensor& sv) {
    return (scaled_normalise(xv.to(torch::kDouble), sv.to(torch::kDouble), 1e-6) * dy.to(torch::kDouble)).sum().item<double>();
  };
  const double h = 1e-3;
  for (int64_t i : {0, 7, 45, 119}) {
    auto xp = x.clone(), xm = x.clone();
    xp.view(-1)[i] += h;
    xm.view(-1)[i] -= h;
    EXPECT_NEAR(xg.grad().view(-1)[i].item<double>(), (loss(xp, s) - loss(xm, s)) / (2 * h), 2e-3) << i;
  }
  for (int64_t h_ = 0; h_ < 3; ++h_) {
    auto sp = s.clone(), sm = s.clone();
    sp[h_] += h;
    sm[h_] -= h;
    EXPECT_NEAR(sg.grad()[h_].item<double>(), (loss(x, sp) - loss(x, sm)) / (2 * h), 2e-3) << h_;
  }
}

TEST(ScaledNormalise, RefusesAScaleOfTheWrongLength) {
  EXPECT_THROW(scaled_normalise(torch::randn({2, 3, 4}), torch::ones({4}), 1e-6), Error);
}

}  // namespace
}  // namespace engram

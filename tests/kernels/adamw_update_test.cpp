#include "engram/kernels/adamw_update.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace engram {
namespace {

// The one-pass update in float against the same step as LibTorch operations in double, over
// three steps, with and without weight decay, on a tensor long enough to be split between threads
// and with a tail off the vector width. (tests/train: AdamW against LibTorch's own optimiser.)
TEST(AdamWUpdate, KernelEqualsTheOperationsInDouble) {
  torch::manual_seed(4);
  for (double wd : {0.0, 0.5}) {
    SCOPED_TRACE(wd);
    auto p = torch::randn({100'003}), m = torch::zeros_like(p), v = torch::zeros_like(p);
    auto pd = p.to(torch::kDouble), md = m.to(torch::kDouble), vd = v.to(torch::kDouble);
    for (int t = 1; t <= 3; ++t) {
      auto g = torch::randn_like(p);
      if (t == 1) g.narrow(0, 0, 1000).zero_().narrow(0, 0, 500).fill_(1e-9);  // moments near 0: eps matters
      const AdamWUpdate u{1e-2, wd, 0.9, 0.95, 1e-8, 1 - std::pow(0.9, t), 1 - std::pow(0.95, t)};
      adamw_update(p, g, m, v, u);
      if (wd > 0) pd.mul_(1 - u.lr * wd);
      md.mul_(u.beta1).add_(g.to(torch::kDouble), 1 - u.beta1);
      vd.mul_(u.beta2).addcmul_(g.to(torch::kDouble), g.to(torch::kDouble), 1 - u.beta2);
      pd.addcdiv_(md, (vd / u.bc2).sqrt_().add_(u.eps), -u.lr / u.bc1);
    }
    EXPECT_TRUE(torch::allclose(p.to(torch::kDouble), pd, 1e-6, 1e-6)) << (p.to(torch::kDouble) - pd).abs().max();
    EXPECT_TRUE(torch::allclose(m.to(torch::kDouble), md, 1e-6, 1e-7));
    EXPECT_TRUE(torch::allclose(v.to(torch::kDouble), vd, 1e-6, 1e-9));
  }
}

// Where the kernel does not apply (here: a transposed, non-contiguous parameter) the same step runs
// as LibTorch operations, with the same result.
TEST(AdamWUpdate, TheOperationsPathIsTheSameStep) {
  torch::manual_seed(5);
  auto p = torch::randn({300, 70}), m = torch::zeros_like(p), v = torch::zeros_like(p);
  auto pt = p.t().contiguous().t(), mt = m.t().contiguous().t(), vt = v.t().contiguous().t();
  ASSERT_FALSE(pt.is_contiguous());
  for (int t = 1; t <= 2; ++t) {
    const auto g = torch::randn_like(p);
    const AdamWUpdate u{1e-2, 0.5, 0.9, 0.95, 1e-8, 1 - std::pow(0.9, t), 1 - std::pow(0.95, t)};
    adamw_update(p, g, m, v, u);
    adamw_update(pt, g.t().contiguous().t(), mt, vt, u);
  }
  EXPECT_TRUE(torch::allclose(p, pt, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(v, vt, 1e-6, 1e-9));
}

}  // namespace
}  // namespace engram

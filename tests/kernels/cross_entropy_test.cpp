#include "engram/kernels/cross_entropy.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {
namespace {

namespace F = torch::nn::functional;

// The two-pass kernel in float against LibTorch's cross_entropy in double: losses and the logits'
// gradient under an arbitrary upstream gradient, on vocabularies that are and are not multiples of
// the eight-float lanes, large logits (the log-sum-exp must not overflow), and ignored rows.
TEST(CrossEntropyRows, KernelEqualsLibTorchInDouble) {
  torch::manual_seed(11);
  for (const int64_t V : {1, 13, 64, 4096}) {
    const int64_t N = 37;
    // float-representable logits, so that the double reference sees the kernel's exact inputs
    auto x = (torch::randn({N, V}, torch::kDouble) * 4).to(torch::kFloat).to(torch::kDouble);
    x[3] += 200;  // exp(200) overflows float: the row maximum must come out first
    auto t = torch::randint(V, {N}, torch::kLong);
    t[5] = -100;
    const auto g = torch::rand({N}, torch::kDouble);

    auto xd = x.clone().requires_grad_();
    auto want = F::cross_entropy(xd, t, F::CrossEntropyFuncOptions().reduction(torch::kNone));
    (want * g).sum().backward();

    auto xf = x.to(torch::kFloat).requires_grad_();
    auto got = cross_entropy_rows(xf, t);
    (got * g.to(torch::kFloat)).sum().backward();

    EXPECT_TRUE(torch::allclose(got.to(torch::kDouble), want, 1e-5, 1e-5)) << "V " << V;
    EXPECT_EQ(got[5].item<float>(), 0.0f);
    EXPECT_TRUE(torch::allclose(xf.grad().to(torch::kDouble), xd.grad(), 1e-5, 1e-6)) << "V " << V;
    EXPECT_EQ(xf.grad()[5].abs().sum().item<float>(), 0.0f);
  }
}

TEST(CrossEntropyRows, NamesATargetOutsideTheVocabulary) {
  auto t = torch::tensor({0, 9, 2}, torch::kLong);
  try {
    cross_entropy_rows(torch::randn({3, 9}), t);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target id 9"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cross_entropy_rows(torch::randn({3, 9}), torch::tensor({0, -3, 2}, torch::kLong)), Error);
}

// The blocked head-and-loss against the composition in double: the loss and both gradients under an
// upstream gradient, with and without row weights (zeros among them), an ignored row, a scale, and
// row counts below, at and across the 256-row block.
TEST(LinearCrossEntropy, EqualsTheCompositionInDouble) {
  torch::manual_seed(5);
  const int64_t D = 24;
  for (const int64_t V : {13, 1000}) {
    for (const int64_t N : {1, 37, 256, 300, 513}) {
      for (const bool weighted : {false, true}) {
        const double scale = weighted ? 0.125 : 1.0;
        auto h = (torch::randn({N, D}, torch::kDouble) * 2).to(torch::kFloat).to(torch::kDouble);
        auto w = (torch::randn({V, D}, torch::kDouble)).to(torch::kFloat).to(torch::kDouble);
        auto t = torch::randint(V, {N}, torch::kLong);
        t[N / 2] = -100;
        torch::Tensor rw;
        if (weighted) {
          rw = (torch::rand({N}) < 0.7).to(torch::kFloat);
          rw[0] = 1;
        }
        const double upstream = 1.7;

        auto hd = h.clone().requires_grad_(), wd = w.clone().requires_grad_();
        auto ce = F::cross_entropy(torch::matmul(hd, wd.t()) * scale, t, F::CrossEntropyFuncOptions().reduction(torch::kNone));
        auto want = weighted ? (ce * rw.to(torch::kDouble)).sum() / rw.sum().clamp_min(1).to(torch::kDouble) : ce.mean();
        (want * upstream).backward();

        auto hf = h.to(torch::kFloat).requires_grad_(), wf = w.to(torch::kFloat).requires_grad_();
        auto got = linear_cross_entropy(hf, wf, scale, t, rw);
        EXPECT_EQ(got.dim(), 0);
        (got * upstream).backward();

        const std::string at = "V " + std::to_string(V) + " N " + std::to_string(N) + (weighted ? " weighted" : "");
        EXPECT_NEAR(got.item<double>(), want.item<double>(), 1e-5 * std::abs(want.item<double>())) << at;
        EXPECT_TRUE(torch::allclose(hf.grad().to(torch::kDouble), hd.grad(), 1e-4, 1e-6)) << at;
        EXPECT_TRUE(torch::allclose(wf.grad().to(torch::kDouble), wd.grad(), 1e-4, 1e-6)) << at;
        EXPECT_EQ(hf.grad()[N / 2].abs().sum().item<float>(), 0.0f) << at;  // the ignored row
      }
    }
  }
}

// Without autograd (evaluation) it computes the loss alone; with one input frozen, the other's gradient.
TEST(LinearCrossEntropy, GradientsOnlyWhereAsked) {
  torch::manual_seed(6);
  auto h = torch::randn({300, 16}), w = torch::randn({50, 16});
  auto t = torch::randint(50, {300}, torch::kLong);
  const double want = F::cross_entropy(torch::matmul(h, w.t()), t).item<double>();
  {
    torch::NoGradGuard off;
    auto wg = w.clone().requires_grad_();
    auto loss = linear_cross_entropy(h, wg, 1.0, t);
    EXPECT_FALSE(loss.requires_grad());
    EXPECT_NEAR(loss.item<double>(), want, 1e-5 * want);
  }
  auto wg = w.clone().requires_grad_();
  linear_cross_entropy(h, wg, 1.0, t).backward();
  auto wd = w.clone().requires_grad_();
  F::cross_entropy(torch::matmul(h, wd.t()), t).backward();
  EXPECT_TRUE(torch::allclose(wg.grad(), wd.grad(), 1e-4, 1e-6));
  auto hg = h.clone().requires_grad_(), hd = h.clone().requires_grad_();
  linear_cross_entropy(hg, w, 1.0, t).backward();
  F::cross_entropy(torch::matmul(hd, w.t()), t).backward();
  EXPECT_TRUE(torch::allclose(hg.grad(), hd.grad(), 1e-4, 1e-6));
}

TEST(LinearCrossEntropy, RefusesWrongShapesAndNamesAWrongTarget) {
  auto h = torch::randn({3, 4}), w = torch::randn({9, 4});
  EXPECT_THROW(linear_cross_entropy(h, torch::randn({9, 5}), 1.0, torch::zeros({3}, torch::kLong)), Error);
  EXPECT_THROW(linear_cross_entropy(h, w, 1.0, torch::zeros({2}, torch::kLong)), Error);
  EXPECT_THROW(linear_cross_entropy(h, w, 1.0, torch::zeros({3}, torch::kLong), torch::ones({4})), Error);
  try {
    linear_cross_entropy(h, w, 1.0, torch::tensor({0, 9, 2}, torch::kLong));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target id 9"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace engram

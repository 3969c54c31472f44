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

}  // namespace
}  // namespace engram

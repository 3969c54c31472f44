#include <gtest/gtest.h>

#include "engram/seq/complex_memory.h"

namespace engram {
namespace {

TEST(ComplexMemory, ProjectionGivesRotationScalingBlocksAndIsIdempotent) {
  torch::manual_seed(0);
  auto raw = torch::randn({6, 6});
  auto w = complex_structured(raw);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      auto b = w.narrow(0, 2 * i, 2).narrow(1, 2 * j, 2);
      EXPECT_FLOAT_EQ(b[0][0].item<float>(), b[1][1].item<float>());
      EXPECT_FLOAT_EQ(b[0][1].item<float>(), -b[1][0].item<float>());
      EXPECT_NEAR(b[0][0].item<float>(), (raw[2 * i][2 * j] + raw[2 * i + 1][2 * j + 1]).item<float>() / 2, 1e-6);
    }
  EXPECT_TRUE(torch::allclose(complex_structured(w), w));
}

TEST(ComplexMemory, IsCausalAndRowZeroIsZero) {
  torch::manual_seed(1);
  ComplexContextMemory m(6, 3);
  auto x = torch::randn({2, 12, 6});
  auto y = m.forward(x);
  EXPECT_EQ(y.select(1, 0).abs().max().item<float>(), 0.0f);
  auto x2 = x.clone();
  x2.select(1, 7).add_(1.0);  // changes v_6 and k_7: outputs up to position 6 may not move
  auto y2 = m.forward(x2);
  EXPECT_TRUE(torch::equal(y.narrow(1, 0, 7), y2.narrow(1, 0, 7)));
  EXPECT_FALSE(torch::equal(y.narrow(1, 7, 1), y2.narrow(1, 7, 1)));
}

TEST(ComplexMemory, GenerateEqualsForwardOnTheGrowingPrefix) {
  torch::manual_seed(2);
  for (int64_t heads : {1, 3}) {
    ComplexContextMemory m(6, heads, 5.0);
    auto context = torch::randn({3, 9, 6});
    auto generated = m.generate(context, 6);
    torch::NoGradGuard no_grad;
    auto seq = context;
    for (int64_t s = 0; s < 6; ++s) {
      auto next = m.forward(seq).select(1, seq.size(1) - 1);
      EXPECT_TRUE(torch::allclose(generated.select(1, s), next, 1e-5, 1e-5)) << heads << " heads, step " << s;
      seq = torch::cat({seq, next.unsqueeze(1)}, 1);
    }
  }
}

TEST(ComplexMemory, PermutationScore) {
  auto perm = torch::tensor({{0.0, 0.0, 2.0}, {1.0, 0.0, 0.0}, {0.0, 3.0, 0.0}});
  EXPECT_DOUBLE_EQ(permutation_score(perm), 1.0);
  EXPECT_NEAR(permutation_score(torch::ones({3, 3})), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(permutation_score(torch::eye(3) + 0.1), 3.3 / 3.9, 1e-6);
}

}  // namespace
}  // namespace engram

#include "engram/kernels/lookahead_value.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {
namespace {

// The spec's formula written out in double: shift, mix, normalise, scale.
torch::Tensor by_hand(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& a, double eps) {
  auto next = torch::zeros_like(x);
  next.narrow(1, 0, x.size(1) - 1).copy_(x.narrow(1, 1, x.size(1) - 1));
  auto g = gamma.defined() ? gamma.view({-1, 1}) : torch::zeros({x.size(2), 1}, x.options());
  auto m = (1 - g) * next + g * x;
  return a.view({-1, 1}) * m / (m.norm(2, -1, true) + eps);
}

// The kernel in float against the formula in double, forward and all three gradients: with and
// without the learned mix, T = 1, head sizes off the vector width, and a row whose mix is zero
// (the last position of a pure shift).
TEST(LookaheadValue, KernelEqualsTheFormulaInDouble) {
  torch::manual_seed(3);
  struct Case {
    std::vector<int64_t> shape;
    bool mix;
  };
  for (const auto& c : {Case{{2, 9, 3, 8}, true}, Case{{2, 9, 3, 8}, false}, Case{{3, 1, 2, 5}, true},
                        Case{{1, 33, 4, 13}, true}, Case{{2, 40, 4, 64}, false}}) {
    SCOPED_TRACE(testing::Message() << c.shape[1] << " steps, dh " << c.shape[3] << (c.mix ? ", mix" : ", shift"));
    auto x = torch::randn(c.shape, torch::kDouble);
    auto gamma = c.mix ? torch::rand({c.shape[2]}, torch::kDouble) : torch::Tensor();
    auto a = torch::rand({c.shape[2]}, torch::kDouble) + 0.5;
    const auto dy = torch::randn(c.shape, torch::kDouble);

    auto xd = x.clone().requires_grad_(), ad = a.clone().requires_grad_();
    auto gd = c.mix ? gamma.clone().requires_grad_() : gamma;
    by_hand(xd, gd, ad, 1e-6).backward(dy);

    auto xf = x.to(torch::kFloat).requires_grad_(), af = a.to(torch::kFloat).requires_grad_();
    auto gf = c.mix ? gamma.to(torch::kFloat).requires_grad_() : gamma;
    auto y = lookahead_value(xf, gf, af, 1e-6);
    y.backward(dy.to(torch::kFloat));

    const auto close = [](const torch::Tensor& f, const torch::Tensor& d) {
      return torch::allclose(f.to(torch::kDouble), d, 1e-4, 1e-5);
    };
    EXPECT_TRUE(close(y, by_hand(x, gamma, a, 1e-6)));
    EXPECT_TRUE(close(xf.grad(), xd.grad())) << (xf.grad().to(torch::kDouble) - xd.grad()).abs().max().item<double>();
    EXPECT_TRUE(close(af.grad(), ad.grad()));
    if (c.mix) {
      EXPECT_TRUE(close(gf.grad(), gd.grad()));
    }
    EXPECT_FALSE(xf.grad().isnan().any().item<bool>());
  }
}

TEST(LookaheadValue, GradientsAgreeWithFiniteDifferences) {
  torch::manual_seed(5);
  auto x = torch::randn({2, 5, 3, 6}), gamma = torch::rand({3}), a = torch::rand({3}) + 0.5;
  const auto dy = torch::randn({2, 5, 3, 6});
  auto xg = x.clone().requires_grad_(), gg = gamma.clone().requires_grad_(), ag = a.clone().requires_grad_();
  (lookahead_value(xg, gg, ag, 1e-6) * dy).sum().backward();
  const auto loss = [&](const torch::Tensor& xv, const torch::Tensor& gv, const torch::Tensor& av) {
    const auto d = [](const torch::Tensor& t) { return t.to(torch::kDouble); };
    return (lookahead_value(d(xv), d(gv), d(av), 1e-6) * d(dy)).sum().item<double>();
  };
  const double h = 1e-3;
  const auto central = [&](const torch::Tensor& t, int64_t i, auto&& f) {
    auto p = t.clone(), m = t.clone();
    p.view(-1)[i] += h;
    m.view(-1)[i] -= h;
    return (f(p) - f(m)) / (2 * h);
  };
  for (int64_t i : {0, 7, 45, 101, 179}) {  // 179: the last position, which only γ·x reaches
    EXPECT_NEAR(xg.grad().view(-1)[i].item<double>(),
                central(x, i, [&](const torch::Tensor& v) { return loss(v, gamma, a); }), 2e-3)
        << i;
  }
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(gg.grad()[i].item<double>(), central(gamma, i, [&](const torch::Tensor& v) { return loss(x, v, a); }),
                2e-3);
    EXPECT_NEAR(ag.grad()[i].item<double>(), central(a, i, [&](const torch::Tensor& v) { return loss(x, gamma, v); }),
                2e-3);
  }
}

TEST(LookaheadValue, RefusesShapesThatDoNotFit) {
  EXPECT_THROW(lookahead_value(torch::randn({2, 3, 4}), torch::Tensor(), torch::ones({3}), 1e-6), Error);
  EXPECT_THROW(lookahead_value(torch::randn({2, 3, 4, 5}), torch::rand({3}), torch::ones({4}), 1e-6), Error);
  EXPECT_THROW(lookahead_value(torch::randn({2, 3, 4, 5}), torch::Tensor(), torch::ones({5}), 1e-6), Error);
}

}  // namespace
}  // namespace engram

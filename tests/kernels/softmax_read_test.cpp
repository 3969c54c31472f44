#include "engram/kernels/softmax_read.h"

#include <gtest/gtest.h>
#include <functional>
#include <limits>
#include <numeric>
#include <torch/torch.h>

namespace engram {
namespace {

struct Case {
  const char* name;
  int64_t G, N, S, D, Dv;
  SoftmaxReadOptions options;
};

SoftmaxReadOptions causal(int64_t shift, double scale = 1.0, double dropout = 0.0, uint64_t seed = 0) {
  SoftmaxReadOptions o;
  o.causal = true;
  o.shift = shift;
  o.scale = scale;
  o.dropout = dropout;
  o.seed = seed;
  return o;
}

SoftmaxReadOptions all_visible(double scale = 1.0, double dropout = 0.0, uint64_t seed = 0) {
  SoftmaxReadOptions o;
  o.scale = scale;
  o.dropout = dropout;
  o.seed = seed;
  return o;
}

// Odd sizes everywhere: rows and keys not multiples of the 32 × 64 blocks, head sizes not multiples
// of the 16-wide tiles, one group (so rows split across threads), T = 1.
const Case kCases[] = {
    {"slot read", 3, 37, 29, 8, 8, all_visible()},
    {"slot read, dropout", 3, 37, 130, 8, 8, all_visible(1.0, 0.3, 12345)},
    {"slot read, one group, many rows", 1, 200, 70, 5, 9, all_visible(0.7, 0.05, 0xdeadbeefcafeull)},
    {"retrieval (strictly causal)", 2, 70, 70, 5, 7, causal(-1)},
    {"retrieval, dropout", 2, 130, 130, 6, 6, causal(-1, 1.0, 0.2, 7)},
    {"retrieval, T = 1", 2, 1, 1, 4, 4, causal(-1)},
    {"attention (causal)", 4, 70, 70, 16, 16, causal(0, 0.25)},
    {"attention, dropout", 2, 97, 97, 12, 12, causal(0, 0.3, 0.1, 99)},
    {"attention, T = 1", 3, 1, 1, 8, 8, causal(0, 0.35)},
    {"attention on a cache (3 new of 67)", 2, 3, 67, 8, 8, causal(64, 0.35)},
    {"one group, causal, rows split", 1, 150, 150, 7, 3, causal(0, 0.5)},
};

// The kernel in float against the composition in double: forward and the gradients of q, k and v.
TEST(SoftmaxRead, BlockedKernelEqualsTheCompositionInDouble) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    torch::manual_seed(3);
    auto q = torch::randn({c.G, c.N, c.D}), k = torch::randn({c.G, c.S, c.D}), v = torch::randn({c.G, c.S, c.Dv});
    auto g = torch::randn({c.G, c.N, c.Dv});
    auto qf = q.clone().requires_grad_(), kf = k.clone().requires_grad_(), vf = v.clone().requires_grad_();
    auto y = softmax_read(qf, kf, vf, c.options);
    (y * g).sum().backward();
    auto qd = q.to(torch::kDouble).requires_grad_(), kd = k.to(torch::kDouble).requires_grad_(),
         vd = v.to(torch::kDouble).requires_grad_();
    auto ref = softmax_read(qd, kd, vd, c.options);  // double: always the composition
    if (ref.requires_grad()) {
      (ref * g.to(torch::kDouble)).sum().backward();
    } else {  // every row blind: the composition returns plain zeros, the gradients are zero
      for (auto* t : {&qd, &kd, &vd}) t->mutable_grad() = torch::zeros_like(*t);
    }
    auto close = [](const torch::Tensor& a, const torch::Tensor& b) {
      return torch::allclose(a.to(torch::kDouble), b, 2e-5, 2e-5);
    };
    EXPECT_TRUE(close(y, ref)) << (y.to(torch::kDouble) - ref).abs().max().item<double>();
    EXPECT_TRUE(close(qf.grad(), qd.grad())) << (qf.grad().to(torch::kDouble) - qd.grad()).abs().max().item<double>();
    EXPECT_TRUE(close(kf.grad(), kd.grad())) << (kf.grad().to(torch::kDouble) - kd.grad()).abs().max().item<double>();
    EXPECT_TRUE(close(vf.grad(), vd.grad())) << (vf.grad().to(torch::kDouble) - vd.grad()).abs().max().item<double>();
  }
}

// The dimensions of t from the largest stride to the smallest.
std::vector<int64_t> memory_order(const torch::Tensor& t) {
  std::vector<int64_t> order(t.dim());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return t.stride(a) > t.stride(b); });
  return order;
}

// The models hand the read their heads as views: [B, H, T, dh] transposed out of [B, T, H, dh]
// activations (the transformer's out of [B, T, 3, H, dh]), and the P-mem's [H, B·T, dh] queries.
// The kernel must read them where they lie and give the output and every gradient back in the
// same memory order, equal to the composition in double. Once with one thread and once with
// eight, so that the groups are split into row ranges whose key gradients are summed (that path
// must keep the layout too); and one layout whose order is not its own inverse.
TEST(SoftmaxRead, ReadsHeadsWhereTheyLieAndAnswersInTheirLayout) {
  const int64_t B = 3, T = 45, H = 2, dh = 6;
  struct Layout {
    const char* name;
    std::function<torch::Tensor()> operand;  // a fresh random operand in this layout
    SoftmaxReadOptions options;
  };
  const Layout layouts[] = {
      {"[B, H, T, dh] of [B, T, 3, H, dh], causal with dropout",
       [] { return torch::randn({B, T, 3, H, dh}).select(2, 0).transpose(1, 2); }, causal(-1, 1.0, 0.2, 5)},
      {"[B, H, T, dh] of [H, T, B, dh], causal",
       [] { return torch::randn({H, T, B, dh}).permute({2, 0, 1, 3}); }, causal(0, 0.5)},
      {"[H, B·T, dh] of [B, T, H, dh], all visible",
       [] { return torch::randn({B, T, H, dh}).movedim(2, 0).reshape({H, B * T, dh}); }, all_visible(0.8)},
  };
  const int threads = at::get_num_threads();
  for (const int run_threads : {1, 8}) {
    at::set_num_threads(run_threads);
    for (const auto& l : layouts) {
      SCOPED_TRACE(testing::Message() << l.name << ", " << run_threads << " threads");
      torch::manual_seed(4);
      auto q = l.operand(), k = l.operand(), v = l.operand();
      if (q.dim() == 3) {  // P-mem: keys and values are the slots, a strided [H, P, dh] view each
        k = torch::randn({37, H, dh}).transpose(0, 1);
        v = torch::randn({37, H, dh}).transpose(0, 1);
      }
      ASSERT_FALSE(q.is_contiguous());
      auto qf = q.detach().requires_grad_(), kf = k.detach().requires_grad_(), vf = v.detach().requires_grad_();
      std::vector<torch::Tensor> grads(3);  // as the read's backward hands them over
      for (int i = 0; i < 3; ++i)
        (i == 0 ? qf : i == 1 ? kf : vf).register_hook([&grads, i](const torch::Tensor& g) { grads[i] = g; });
      auto y = softmax_read(qf, kf, vf, l.options);
      EXPECT_EQ(memory_order(y), memory_order(q)) << "the output comes back in the queries' layout";
      auto g = torch::randn_like(y);
      (y * g).sum().backward();
      auto qd = q.to(torch::kDouble).requires_grad_(), kd = k.to(torch::kDouble).requires_grad_(),
           vd = v.to(torch::kDouble).requires_grad_();
      (softmax_read(qd, kd, vd, l.options) * g.to(torch::kDouble)).sum().backward();
      auto ref = softmax_read(qd.detach(), kd.detach(), vd.detach(), l.options);
      EXPECT_TRUE(torch::allclose(y.to(torch::kDouble), ref, 2e-5, 2e-5));
      for (int i = 0; i < 3; ++i)
        EXPECT_EQ(memory_order(grads[i]), memory_order(i == 0 ? q : i == 1 ? k : v)) << "gradient " << i;
      for (auto [f, d] : {std::pair{qf, qd}, std::pair{kf, kd}, std::pair{vf, vd}}) {
        EXPECT_TRUE(torch::allclose(f.grad().to(torch::kDouble), d.grad(), 2e-5, 2e-5))
            << (f.grad().to(torch::kDouble) - d.grad()).abs().max().item<double>();
      }
    }
  }
  at::set_num_threads(threads);
}

TEST(SoftmaxRead, RowsThatSeeNoKeyReadZeroAndPassNoGradient) {
  torch::manual_seed(1);
  auto q = torch::randn({2, 9, 4}).requires_grad_(), k = torch::randn({2, 9, 4}), v = torch::randn({2, 9, 4});
  auto y = softmax_read(q, k, v, causal(-3));
  EXPECT_EQ(y.narrow(1, 0, 3).abs().max().item<float>(), 0.0f);
  EXPECT_GT(y.narrow(1, 3, 6).abs().min().item<float>(), 0.0f);
  y.sum().backward();
  EXPECT_EQ(q.grad().narrow(1, 0, 3).abs().max().item<float>(), 0.0f);
}

// Central differences of Σ g·y along random directions against the kernel's own gradients.
// A block whose rows run past the end of the queries (N = 16 of 32) must not read the padding
// rows' leftovers: the stack under the kernel's scratch is filled with NaN first, as on a machine
// where earlier work left it so. (CI once saw a NaN gradient at step 0 this way.)
[[gnu::noinline]] void fill_stack_with_nan() {
  [[maybe_unused]] volatile float junk[1 << 16];
  for (int i = 0; i < (1 << 16); ++i) junk[i] = std::numeric_limits<float>::quiet_NaN();
}

TEST(SoftmaxRead, PaddingRowsOfABlockLeaveNoTraceInTheGradients) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);  // the kernel then runs on this thread's stack, just below the NaNs
  torch::manual_seed(3);
  auto q = torch::randn({2, 16, 8}).requires_grad_(), k = torch::randn({2, 16, 8}).requires_grad_();
  auto v = torch::randn({2, 16, 8}).requires_grad_();
  auto y = softmax_read(q, k, v, causal(0, 0.35));
  // the hook runs inside the autograd engine just before the kernel's backward, at nearly its depth
  y.register_hook([](const torch::Tensor&) { fill_stack_with_nan(); });
  y.square().sum().backward();
  at::set_num_threads(threads);
  for (const auto& g : {q.grad(), k.grad(), v.grad()}) EXPECT_TRUE(torch::isfinite(g).all().item<bool>());
}

TEST(SoftmaxRead, BlockedGradientsAgreeWithFiniteDifferences) {
  for (const auto& c : {kCases[1], kCases[4], kCases[7]}) {
    SCOPED_TRACE(c.name);
    torch::manual_seed(5);
    auto q = torch::randn({c.G, c.N, c.D}), k = torch::randn({c.G, c.S, c.D}), v = torch::randn({c.G, c.S, c.Dv});
    auto g = torch::randn({c.G, c.N, c.Dv});
    auto f = [&](const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& e) {
      torch::NoGradGuard no_grad;
      return (softmax_read(a, b, e, c.options).to(torch::kDouble) * g).sum().item<double>();
    };
    auto ql = q.clone().requires_grad_(), kl = k.clone().requires_grad_(), vl = v.clone().requires_grad_();
    (softmax_read(ql, kl, vl, c.options) * g).sum().backward();
    for (int trial = 0; trial < 3; ++trial) {
      auto dq = torch::randn_like(q), dk = torch::randn_like(k), dv = torch::randn_like(v);
      const double eps = 3e-3;
      const double numeric = (f(q + eps * dq, k + eps * dk, v + eps * dv) - f(q - eps * dq, k - eps * dk, v - eps * dv)) / (2 * eps);
      const double analytic = (ql.grad() * dq).sum().item<double>() + (kl.grad() * dk).sum().item<double>() +
                              (vl.grad() * dv).sum().item<double>();
      EXPECT_NEAR(numeric, analytic, 2e-3 * (std::abs(analytic) + 1.0));
    }
  }
}

TEST(SoftmaxRead, MaskDropsTheRequestedFractionAndFollowsTheSeed) {
  auto keep = softmax_read_keep(1, 0.05, {4, 2048, 896});
  auto dropped = keep.logical_not().to(torch::kFloat);
  EXPECT_NEAR(dropped.mean().item<double>(), 0.05, 0.001);
  // neither rows nor slots are correlated: every row and every slot drops about the same fraction
  EXPECT_LT(dropped.mean(std::vector<int64_t>{0, 1}).sub(0.05).abs().max().item<double>(), 0.02);
  EXPECT_LT(dropped.mean(-1).sub(0.05).abs().max().item<double>(), 0.05);
  EXPECT_TRUE(torch::equal(keep, softmax_read_keep(1, 0.05, {4, 2048, 896})));
  auto other = softmax_read_keep(2, 0.05, {4, 2048, 896});
  EXPECT_NEAR(keep.ne(other).to(torch::kFloat).mean().item<double>(), 2 * 0.05 * 0.95, 0.002);
}

TEST(SoftmaxRead, TheCompositionPathIsTheSameFunction) {
  torch::manual_seed(2);
  auto q = torch::randn({2, 45, 8}), k = torch::randn({2, 45, 8}), v = torch::randn({2, 45, 8});
  auto blocked = softmax_read(q, k, v, causal(-1, 1.0, 0.1, 3));
  set_read_path(ReadPath::kComposition);
  auto composed = softmax_read(q, k, v, causal(-1, 1.0, 0.1, 3));
  set_read_path(ReadPath::kBlocked);
  EXPECT_TRUE(torch::allclose(blocked, composed, 1e-5, 1e-6));
}

TEST(SoftmaxRead, RefusesWhatItCannotRun) {
  auto q = torch::randn({2, 3, 4}), k = torch::randn({2, 5, 4});
  EXPECT_ANY_THROW(softmax_read(q, k, k, all_visible(1.0, 1.0)));
  EXPECT_ANY_THROW(softmax_read(q.view({6, 4}), k, k, all_visible()));
  EXPECT_ANY_THROW(softmax_read(q.view({1, 2, 3, 4}), k, k, all_visible()));
  EXPECT_ANY_THROW(softmax_read(q.view({2, 1, 3, 4}), k.view({1, 2, 5, 4}), k.view({1, 2, 5, 4}), all_visible()));
  EXPECT_ANY_THROW(softmax_read(q, k.narrow(2, 0, 3), k, all_visible()));
  EXPECT_ANY_THROW(softmax_read(q, k, k.narrow(1, 0, 4), all_visible()));
}

}  // namespace
}  // namespace engram

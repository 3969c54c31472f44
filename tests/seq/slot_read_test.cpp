#include "engram/seq/slot_read.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace engram {
namespace {

struct Inputs {
  torch::Tensor q, k, v;
};

Inputs inputs(int64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({3, 11, 8}).requires_grad_(), torch::randn({3, 29, 8}).requires_grad_(),
          torch::randn({3, 29, 8}).requires_grad_()};
}

// The read and its gradients against autograd's composition of the same operations, with the
// mask slot_read reports for that seed.
void expect_matches_reference(double dropout, uint64_t seed) {
  auto a = inputs(7), b = inputs(7);
  auto y = slot_read(a.q, a.k, a.v, dropout, seed);
  auto keep = slot_dropout_keep(seed, dropout, {3, 11, 29});
  auto w = torch::softmax(torch::matmul(b.q, b.k.transpose(1, 2)), -1) * keep / (1.0 - dropout);
  auto ref = torch::matmul(w, b.v);
  EXPECT_TRUE(torch::allclose(y, ref, 1e-5, 1e-6));
  auto g = torch::randn_like(y);
  (y * g).sum().backward();
  (ref * g).sum().backward();
  EXPECT_TRUE(torch::allclose(a.q.grad(), b.q.grad(), 1e-4, 1e-5)) << "dropout " << dropout;
  EXPECT_TRUE(torch::allclose(a.k.grad(), b.k.grad(), 1e-4, 1e-5)) << "dropout " << dropout;
  EXPECT_TRUE(torch::allclose(a.v.grad(), b.v.grad(), 1e-4, 1e-5)) << "dropout " << dropout;
}

TEST(SlotRead, EqualsSoftmaxReadAndItsGradients) { expect_matches_reference(0.0, 0); }

TEST(SlotRead, DropoutIsTheReportedMaskInForwardAndBackward) {
  expect_matches_reference(0.3, 12345);
  expect_matches_reference(0.05, 0xdeadbeefcafeull);
}

TEST(SlotRead, MaskDropsTheRequestedFractionAndFollowsTheSeed) {
  auto keep = slot_dropout_keep(1, 0.05, {4, 2048, 896});
  auto dropped = keep.logical_not().to(torch::kFloat);
  EXPECT_NEAR(dropped.mean().item<double>(), 0.05, 0.001);
  // neither rows nor slots are correlated: every row and every slot drops about the same fraction
  EXPECT_LT(dropped.mean(std::vector<int64_t>{0, 1}).sub(0.05).abs().max().item<double>(), 0.02);
  EXPECT_LT(dropped.mean(-1).sub(0.05).abs().max().item<double>(), 0.05);
  EXPECT_TRUE(torch::equal(keep, slot_dropout_keep(1, 0.05, {4, 2048, 896})));
  auto other = slot_dropout_keep(2, 0.05, {4, 2048, 896});
  EXPECT_NEAR(keep.ne(other).to(torch::kFloat).mean().item<double>(), 2 * 0.05 * 0.95, 0.002);
}

TEST(SlotRead, RefusesWhatItCannotRun) {
  auto q = torch::randn({2, 3, 4}), k = torch::randn({2, 5, 4});
  EXPECT_ANY_THROW(slot_read(q.to(torch::kDouble), k, k, 0.0, 0));
  EXPECT_ANY_THROW(slot_read(q, k, k, 1.0, 0));
  EXPECT_ANY_THROW(slot_read(q.view({6, 4}), k, k, 0.0, 0));
}

}  // namespace
}  // namespace engram

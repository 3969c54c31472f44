// BID's candidate selection (RTC spec §6.4) on hand-made candidates, and temporal ensembling's
// weights (spec §6.3).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/bid.h"
#include "engram/policy/flow_policy.h"
#include "engram/policy/temporal_ensemble.h"

namespace engram {
namespace {

// Candidates whose every row is the constant c (one action dimension, H = 4).
torch::Tensor constants(const std::vector<double>& c) {
  auto x = torch::empty({1, static_cast<int64_t>(c.size()), 4, 1});
  for (size_t j = 0; j < c.size(); ++j) x[0][static_cast<int64_t>(j)].fill_(c[j]);
  return x;
}

TEST(Bid, BackwardCoherenceChoosesTheCandidateClosestToThePreviousChunkOnTheWeightedRows) {
  const auto strong = constants({3.0, 1.2, -1.0, 0.9});
  const auto target = torch::ones({1, 4, 1});
  const auto weights = torch::tensor({1.0, 0.5, 0.0, 0.0});
  EXPECT_EQ(bid_select(strong, torch::Tensor(), target, weights, 0).item<int64_t>(), 3);  // |0.9 − 1| is least
  // Rows with weight 0 do not count: a candidate that is far there but exact on the prefix wins.
  auto split = strong.clone();
  split[0][2].slice(0, 0, 2).fill_(1.0);
  split[0][2].slice(0, 2).fill_(50.0);
  EXPECT_EQ(bid_select(split, torch::Tensor(), target, weights, 0).item<int64_t>(), 2);
  // W ≡ 0: every candidate ties and the first is taken.
  EXPECT_EQ(bid_select(strong, torch::Tensor(), target, torch::zeros({4}), 0).item<int64_t>(), 0);
}

TEST(Bid, ForwardContrastMovesTheChoiceAwayFromTheWeakModel) {
  // Two strong candidates equally coherent with Y = 0 (at ±1); the weak model's coherent candidates
  // sit at +1, so the contrast term prefers −1.
  const auto strong = constants({1.0, -1.0, 5.0});
  const auto weak = constants({1.0, 1.1, 6.0});
  const auto target = torch::zeros({1, 4, 1});
  const auto weights = torch::tensor({1.0, 1.0, 0.0, 0.0});
  EXPECT_EQ(bid_select(strong, weak, target, weights, 0).item<int64_t>(), 0);  // tie → first
  EXPECT_EQ(bid_select(strong, weak, target, weights, 2).item<int64_t>(), 1);
  // By hand for K = 2, N = 3: positives = strong {0, 1}, negatives = weak {0, 1} (lowest L_B), the
  // distances to them over all four rows. Candidate 0: L_B = 2, to positives 0 + 8, to negatives
  // 0 + 0.4; candidate 1: 2, 8 + 0, 8 + 8.4; candidate 2: 10, 16 + 24, 16 + 15.6.
  const auto scores = bid_scores(strong, weak, target, weights, 2);
  EXPECT_NEAR(scores[0][0].item<double>(), 2 + (8 - 0.4) / 3, 1e-5);
  EXPECT_NEAR(scores[0][1].item<double>(), 2 + (8 - 16.4) / 3, 1e-5);
  EXPECT_NEAR(scores[0][2].item<double>(), 10 + (40 - 31.6) / 3, 1e-5);
  EXPECT_THROW(bid_select(strong, weak, target, weights, 4), Error);
  EXPECT_THROW(bid_select(strong, torch::Tensor(), target, weights, 2), Error);
}

TEST(Bid, ForwardContrastCountsTheRowsOutsideTheMask) {
  // Equal coherence on the weighted rows; the candidates differ only where W = 0, and the weak
  // model's coherent candidates sit where candidate 0 does: the unweighted contrast decides.
  auto strong = torch::zeros({1, 2, 4, 1}), weak = torch::zeros({1, 2, 4, 1});
  strong[0][0].slice(0, 2).fill_(2.0);
  strong[0][1].slice(0, 2).fill_(-2.0);
  weak[0][0].slice(0, 2).fill_(2.0);
  weak[0][1].slice(0, 2).fill_(2.5);
  const auto target = torch::zeros({1, 4, 1}), weights = torch::tensor({1.0, 1.0, 0.0, 0.0});
  EXPECT_EQ(bid_select(strong, weak, target, weights, 0).item<int64_t>(), 0);
  // K = N = 2 (both sets whole, so ties in L_B cannot change them): L_F(0) = 8 − 1, L_F(1) = 8 − 17.
  EXPECT_EQ(bid_select(strong, weak, target, weights, 2).item<int64_t>(), 1);
  EXPECT_NEAR(bid_scores(strong, weak, target, weights, 2)[0][1].item<double>(), -9.0 / 2, 1e-5);
}

// A velocity field that moves nothing: every sampled chunk is its starting noise, so each
// candidate is known in advance and differs from the others.
struct Still : FlowPolicy {
  torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor&, const torch::Tensor&) override { return torch::zeros_like(x); }
  int64_t horizon() const override { return 4; }
  int64_t action_dim() const override { return 1; }
  int64_t obs_dim() const override { return 2; }
};

TEST(Bid, SampleChunkReturnsTheSelectedCandidateOfEachRow) {
  Still policy;
  // Row 0: candidate 2 is nearest the previous chunk (zeros) on every row; row 1: candidate 3.
  auto noise = torch::cat({constants({5.0, 3.0, 0.1, -4.0}), constants({5.0, 3.0, -2.0, 0.5})});
  const auto target = torch::zeros({2, 4, 1});
  const auto chunk = bid_sample_chunk(policy, nullptr, torch::zeros({2, 2}), noise, target, 1, 2, BidOptions{0, 3});
  ASSERT_EQ(chunk.sizes(), (std::vector<int64_t>{2, 4, 1}));
  EXPECT_TRUE(torch::allclose(chunk[0], noise[0][2])) << chunk;
  EXPECT_TRUE(torch::allclose(chunk[1], noise[1][3])) << chunk;
}

TEST(TemporalEnsemble, AveragesTheArrivedPredictionsWithOptionalAgeWeights) {
  auto chunk = [](double v) { return torch::full({1, 4, 1}, v); };
  TemporalEnsemble mean;
  mean.add(chunk(1.0), 0, 0);  // ticks 0…3
  mean.add(chunk(3.0), 2, 3);  // ticks 2…5, usable from 3
  EXPECT_DOUBLE_EQ(mean.action(0, 2)[0], 1.0);  // the second has not arrived
  EXPECT_DOUBLE_EQ(mean.action(0, 3)[0], 2.0);
  EXPECT_DOUBLE_EQ(mean.action(0, 5)[0], 3.0);
  EXPECT_THROW(mean.action(0, 6), Error);
  TemporalEnsemble act(0.5);  // ACT: exp(−m·i), the oldest (i = 0) weighs most
  act.add(chunk(1.0), 0, 0);
  act.add(chunk(3.0), 0, 0);
  const double w1 = std::exp(-0.5);
  EXPECT_NEAR(act.action(0, 1)[0], (1.0 + 3.0 * w1) / (1.0 + w1), 1e-12);
  act.forget_before(4);
  EXPECT_THROW(act.action(0, 3), Error);
}

}  // namespace
}  // namespace engram

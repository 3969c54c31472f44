#include "engram/tasks/induction.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {
namespace {

TEST(Induction, EveryScoredTargetRepeatsAnEarlierContinuation) {
  InductionTask task(InductionConfig{});
  std::mt19937_64 rng(3);
  Batch b = task.sample(64, rng);
  ASSERT_EQ(b.inputs.sizes(), (std::vector<int64_t>{64, 64}));
  EXPECT_TRUE(torch::equal(b.inputs.narrow(1, 1, 63), b.targets.narrow(1, 0, 63)));
  std::set<int64_t> offsets;
  for (int64_t r = 0; r < 64; ++r) {
    auto in = b.inputs[r], tg = b.targets[r], m = b.score_mask[r];
    const int64_t n = m.sum().item<int64_t>();
    EXPECT_GE(n, 9);  // s − 1 for s ∈ [10, 20]
    EXPECT_LE(n, 19);
    int64_t first_scored = -1;
    for (int64_t t = 0; t < 64; ++t)
      if (m[t].item<bool>()) {
        if (first_scored < 0) first_scored = t;
        // Some earlier position holds the same (input, target) pair: the copy's source.
        bool found = false;
        for (int64_t u = 0; u < t && !found; ++u) found = in[u].item<int64_t>() == in[t].item<int64_t>() && tg[u].item<int64_t>() == tg[t].item<int64_t>();
        EXPECT_TRUE(found) << "row " << r << " position " << t;
      }
    offsets.insert(first_scored);
  }
  EXPECT_GT(offsets.size(), 10u) << "copies land at random places, not a fixed offset";
}

TEST(Induction, DeterministicGivenTheGenerator) {
  InductionTask task(InductionConfig{});
  std::mt19937_64 a(9), b(9);
  EXPECT_TRUE(torch::equal(task.sample(4, a).inputs, task.sample(4, b).inputs));
}

TEST(Induction, RejectsImpossibleConfigs) {
  EXPECT_THROW(make_task({{"name", "induction"}, {"length", 16}, {"max_copy", 10}}), Error);
  EXPECT_THROW(make_task({{"name", "induction"}, {"min_copy", 12}, {"max_copy", 10}}), Error);
  EXPECT_THROW(make_task({{"name", "recall"}}), Error);
  EXPECT_THROW(make_task({{"name", "induction"}, {"lenght", 16}}), Error);
}

TEST(Induction, MaskedAccuracyCountsOnlyScoredPositions) {
  Batch b;
  b.targets = torch::tensor({{1, 2, 3}});
  b.score_mask = torch::tensor({{false, true, true}});
  auto logits = torch::zeros({1, 3, 4});
  logits.index_put_({0, 0, 0}, 5.0);  // wrong, but unscored
  logits.index_put_({0, 1, 2}, 5.0);  // right
  logits.index_put_({0, 2, 0}, 5.0);  // wrong
  EXPECT_DOUBLE_EQ(masked_accuracy(logits, b), 0.5);
}

}  // namespace
}  // namespace engram

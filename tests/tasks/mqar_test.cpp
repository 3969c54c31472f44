#include <gtest/gtest.h>

#include <map>

#include "engram/tasks/mqar.h"

namespace engram {
namespace {

TEST(Mqar, QueriesAskEveryKeyOnceAndTargetsAreItsValue) {
  MqarConfig c;
  c.length = 64, c.vocab = 64, c.kv_pairs = 8;
  MqarTask task(c);
  std::mt19937_64 rng(4);
  auto b = task.sample(50, rng);
  double mean_slot = 0;
  for (int64_t r = 0; r < 50; ++r) {
    std::map<int64_t, int64_t> pairs;
    for (int64_t i = 0; i < 8; ++i) {
      const int64_t k = b.inputs[r][2 * i].item<int64_t>(), v = b.inputs[r][2 * i + 1].item<int64_t>();
      EXPECT_LT(k, 32);
      EXPECT_GE(v, 32);
      EXPECT_TRUE(pairs.emplace(k, v).second) << "keys must be distinct";
    }
    int64_t queries = 0;
    for (int64_t t = 0; t < 64; ++t) {
      if (!b.score_mask[r][t].item<bool>()) continue;
      ++queries;
      EXPECT_GE(t, 16);
      EXPECT_EQ((t - 16) % 2, 0);
      mean_slot += static_cast<double>(t - 16) / 2;
      const int64_t k = b.inputs[r][t].item<int64_t>();
      ASSERT_TRUE(pairs.count(k)) << "query " << k << " was never written";
      EXPECT_EQ(b.targets[r][t].item<int64_t>(), pairs[k]);
      pairs.erase(k);
    }
    EXPECT_EQ(queries, 8);
  }
  EXPECT_TRUE(torch::equal(b.mask.gt(0), b.score_mask));
  // The power law favours early slots: the mean slot index is well below the uniform mean (11.5 of 0…23).
  EXPECT_LT(mean_slot / 400, 9.0);
}

TEST(Mqar, RefusesImpossibleSizes) {
  EXPECT_THROW(MqarConfig::from_json({{"name", "mqar"}, {"length", 16}, {"kv_pairs", 8}}, "task"), std::exception);
  EXPECT_THROW(MqarConfig::from_json({{"name", "mqar"}, {"vocab", 63}}, "task"), std::exception);
}

}  // namespace
}  // namespace engram

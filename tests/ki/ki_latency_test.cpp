// Experiment (c)'s measurement: every method is timed at each size, and the multiply–accumulate
// counts order the methods as the spec's arithmetic says (cache < no cache, expert < backbone-sized).
#include "engram/ki/ki_latency.h"

#include <gtest/gtest.h>

#include <map>

namespace engram::ki {
namespace {

TEST(KiLatency, EveryMethodIsTimedAndTheWorkIsOrdered) {
  auto sizes = latency_sizes();
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(sizes[2].prefix, 64);
  sizes.resize(1);  // S only: seconds
  const auto rows = measure_latency(sizes, 3, {5}, 2, 1);
  std::map<std::string, LatencyRow> by;
  for (const auto& r : rows) {
    by[r.method] = r;
    EXPECT_GT(r.median_ms, 0) << r.method;
    EXPECT_GE(r.p90_ms, r.median_ms) << r.method;
  }
  ASSERT_EQ(by.size(), 4u);
  EXPECT_LT(by["ki"].mmacs, by["transfusion"].mmacs);
  EXPECT_LT(by["ki"].mmacs, by["ki-no-cache"].mmacs);
  EXPECT_EQ(by["ar-fast"].steps, 5);
}

}  // namespace
}  // namespace engram::ki

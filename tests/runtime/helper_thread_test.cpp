#include "engram/runtime/helper_thread.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace engram {
namespace {

// Every index of [0, n) is visited exactly once, the helper's part a multiple of the grain, over
// many back-to-back splits (the spinning hand-off) and after the helper has gone to sleep.
void expect_each_index_once(HelperThread& helper) {
  for (int64_t n : {0, 1, 3, 4, 7, 8, 9, 64, 1001}) {
    for (int64_t grain : {1, 4}) {
      for (int round = 0; round < 200; ++round) {
        std::vector<int> visits(static_cast<size_t>(n), 0);
        int64_t helper_end = -1;
        helper.split(n, grain, [&](int64_t first, int64_t last) {
          if (first == 0 && last < n) helper_end = last;
          for (int64_t i = first; i < last; ++i) ++visits[static_cast<size_t>(i)];
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(visits[static_cast<size_t>(i)], 1) << n << " " << grain << " " << i;
        if (helper_end >= 0) {
          ASSERT_EQ(helper_end % grain, 0);
        }
      }
    }
  }
}

TEST(HelperThread, SplitsVisitEveryIndexOnceWithAndWithoutTheHelper) {
  HelperThread two(true), one(false);
  expect_each_index_once(two);
  expect_each_index_once(one);
}

TEST(HelperThread, WakesAfterSleepingAndTheHalvesRunOnTwoThreads) {
  HelperThread helper(true);
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the spin: the helper sleeps
    std::thread::id ids[2];
    helper.split(2, 1, [&](int64_t first, int64_t) { ids[first] = std::this_thread::get_id(); });
    EXPECT_NE(ids[0], ids[1]);
    EXPECT_EQ(ids[1], std::this_thread::get_id());
  }
}

}  // namespace
}  // namespace engram

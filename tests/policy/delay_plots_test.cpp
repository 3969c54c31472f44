// Pooling `policy eval --json` rows across tasks for the RTC plots: only cells every task has, the
// last row of a re-run cell, and a clear error for a file that holds something else.
#include <gtest/gtest.h>

#include "engram/core/error.h"
#include "engram/policy/delay_plots.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

using engram::testing::TempDir;

TEST(DelayPlots, PoolsTheCellsEveryTaskHasAndKeepsTheLastRowOfARerun) {
  TempDir dir;
  const auto a = dir.write("a.jsonl",
                           R"({"method":"rtc","delay":1,"shift":1,"successes":10,"episodes":20})"
                           "\n"
                           R"({"method":"rtc","delay":1,"shift":1,"successes":15,"episodes":20})"
                           "\n"
                           R"({"method":"naive","delay":1,"shift":1,"successes":5,"episodes":20})"
                           "\n");
  const auto b = dir.write("b.jsonl", R"({"method":"rtc","delay":1,"shift":1,"successes":19,"episodes":20})"
                                      "\n");
  const auto cells = pool_delay_results({a, b});
  ASSERT_EQ(cells.size(), 1u);  // naive is missing from b
  EXPECT_EQ(cells[0].method, "rtc");
  EXPECT_EQ(cells[0].successes, 34);  // 15 (the rerun) + 19
  EXPECT_EQ(cells[0].episodes, 40);
  EXPECT_EQ(cells[0].tasks, 2);
  const auto table = plot_delay_results(pool_delay_results({a}), dir.file("p"), "t");
  EXPECT_NE(table.find("| RTC (soft) | 0.750 |"), std::string::npos) << table;
  EXPECT_NE(table.find("| naive async | 0.250 |"), std::string::npos) << table;
  // Two tasks in one file are two tasks; BID with other settings is another method.
  const auto mixed = dir.write("mixed.jsonl",
                               R"({"task":"x","method":"bid","delay":0,"shift":1,"successes":1,"episodes":4})"
                               "\n"
                               R"({"task":"y","method":"bid","delay":0,"shift":1,"successes":3,"episodes":4})"
                               "\n"
                               R"({"task":"y","method":"bid","bid_contrast":0,"delay":0,"shift":1,"successes":4,"episodes":4})"
                               "\n");
  const auto both = pool_delay_results({mixed});
  ASSERT_EQ(both.size(), 1u);  // "bid K=0 N=8" exists for task y only
  EXPECT_EQ(both[0].successes, 4);
  EXPECT_EQ(both[0].episodes, 8);
  const auto bad = dir.write("bad.jsonl", R"({"step":1,"loss":2})"
                                          "\n");
  EXPECT_THROW(pool_delay_results({bad}), Error);
}

}  // namespace
}  // namespace engram

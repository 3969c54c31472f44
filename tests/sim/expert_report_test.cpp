// The results file of `sim expert --json` and its resume check (`--skip-done`).
#include "engram/sim/expert_report.h"

#include <gtest/gtest.h>

#include "engram/core/metrics.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

TEST(ExpertReport, SkipDoneMatchesTaskEpisodesAndStyle) {
  testing::TempDir dir;
  const std::string path = dir.file("experts.jsonl");
  EXPECT_FALSE(has_expert_report(path, "slalom", 100, -1));
  StyleReport r;
  r.task = "slalom";
  r.style = "careful";
  r.index = 1;
  r.episodes = 100;
  MetricsLog(path).write(to_json(r));
  EXPECT_TRUE(has_expert_report(path, "slalom", 100, -1));
  EXPECT_TRUE(has_expert_report(path, "slalom", 100, 1));
  EXPECT_FALSE(has_expert_report(path, "slalom", 100, 0));
  EXPECT_FALSE(has_expert_report(path, "slalom", 50, -1));
  EXPECT_FALSE(has_expert_report(path, "lander", 100, -1));
}

}  // namespace
}  // namespace engram

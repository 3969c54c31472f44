// The results file of `policy eval --json`: what the writer puts in a row is what the reader and
// the resume check (`--skip-done`) take out of it.
#include "engram/policy/delay_results.h"

#include <gtest/gtest.h>

#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

DelayEvalOptions bid_cell() {
  DelayEvalOptions o;
  o.task = "slalom";
  o.method = ChunkMethod::kBid;
  o.delay = 2;
  o.shift = 2;
  o.episodes = 64;
  return o;
}

TEST(DelayResults, ARowReadsBackAsItsCell) {
  DelayEvalResult r;
  r.episodes = 64;
  r.successes = 40;
  auto o = bid_cell();
  DelayCell c = delay_cell(delay_result_row("p.safetensors", o, r), "row");
  EXPECT_EQ(c.method, "bid");
  EXPECT_EQ(c.delay, 2);
  EXPECT_EQ(c.shift, 2);
  EXPECT_EQ(c.successes, 40);
  EXPECT_EQ(c.episodes, 64);
  o.bid_contrast = 0;  // non-default settings are another method, not a re-run of the same cell
  EXPECT_EQ(delay_cell(delay_result_row("p.safetensors", o, r), "row").method, "bid K=0 N=8");
  EXPECT_THROW(delay_cell({{"method", "rtc"}}, "row 3"), Error);
}

TEST(DelayResults, SkipDoneFindsExactlyTheSameEvaluation) {
  testing::TempDir dir;
  const std::string path = dir.file("results.jsonl");
  auto o = bid_cell();
  EXPECT_FALSE(has_delay_result(path, "p.safetensors", o));  // no file yet
  DelayEvalResult ran;
  ran.episodes = o.episodes;
  MetricsLog(path).write(delay_result_row("p.safetensors", o, ran));
  EXPECT_TRUE(has_delay_result(path, "p.safetensors", o));
  EXPECT_FALSE(has_delay_result(path, "q.safetensors", o));
  for (auto change : std::vector<std::function<void(DelayEvalOptions&)>>{
           [](DelayEvalOptions& x) { x.delay = 1; }, [](DelayEvalOptions& x) { x.shift = 3; },
           [](DelayEvalOptions& x) { x.episodes = 256; }, [](DelayEvalOptions& x) { x.seed = 1; },
           [](DelayEvalOptions& x) { x.bid_contrast = 0; }, [](DelayEvalOptions& x) { x.method = ChunkMethod::kRtc; }}) {
    auto other = o;
    change(other);
    EXPECT_FALSE(has_delay_result(path, "p.safetensors", other));
  }
}

}  // namespace
}  // namespace engram

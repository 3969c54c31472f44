// The simulated-delay harness (spec §5) with a policy whose chunks are known: its velocity field
// carries any start to a pilot's action for the current observation, repeated over the chunk, so
// the harness's bookkeeping decides the outcome — no delay solves the task, and a d = 0 hard mask
// is plain sampling exactly.
#include <algorithm>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/delay_harness.h"

namespace engram {
namespace {

// For slalom: fly to z = 4.1 above the block, then to the strip (the pilot of the env tests).
class PilotPolicy : public FlowPolicy {
 public:
  torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor& obs, const torch::Tensor& tau) override {
    const int64_t B = x.size(0);
    auto target = torch::zeros_like(x);
    for (int64_t b = 0; b < B; ++b) {
      const double px = obs[b][0].item<double>(), pz = obs[b][1].item<double>(), vx = obs[b][2].item<double>(),
                   vz = obs[b][3].item<double>();
      const double tx = px < 2.9 ? (pz > 3.7 ? 4.0 : px) : 4.9, tz = px < 2.9 ? 4.1 : 3.0;
      target.select(0, b).select(1, 0).fill_(std::clamp(2.0 * (tx - px) - 1.5 * vx, -1.0, 1.0));
      target.select(0, b).select(1, 1).fill_(std::clamp(2.0 * (tz - pz) - 1.5 * vz, -1.0, 1.0));
    }
    // Euler with n steps from τ = k/n lands exactly on the target at τ = 1.
    return (target - x) / (1 - tau).view({B, 1, 1});
  }
  int64_t horizon() const override { return 8; }
  int64_t action_dim() const override { return 2; }
  int64_t obs_dim() const override { return 4; }
};

TEST(DelayHarness, PilotSolvesWithoutDelayAndHardMaskAtZeroDelayIsNaive) {
  PilotPolicy pilot;
  DelayEvalOptions o;
  o.task = "slalom";
  o.episodes = 12;
  o.batch = 5;  // batches of uneven size
  const auto naive = evaluate_under_delay(pilot, o);
  EXPECT_EQ(naive.episodes, 12);
  EXPECT_GE(naive.successes, 11);
  o.method = ChunkMethod::kRtcHard;
  const auto hard = evaluate_under_delay(pilot, o);
  EXPECT_EQ(hard.successes, naive.successes);
  // Common random numbers: the same cell evaluated twice gives the same episodes.
  o.method = ChunkMethod::kNaive;
  o.delay = 3;
  o.shift = 4;
  const auto a = evaluate_under_delay(pilot, o), b = evaluate_under_delay(pilot, o);
  EXPECT_EQ(a.successes, b.successes);
  EXPECT_EQ(a.policy_calls, b.policy_calls);
}

// A policy whose k-th chunk is row i ↦ (k, i): the executed actions say which chunk and row ran.
class CountingPolicy : public FlowPolicy {
 public:
  torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor& obs, const torch::Tensor& tau) override {
    const int64_t chunk = calls_++ / 5;  // five Euler steps per chunk, one sample per batch
    auto target = torch::zeros_like(x);
    target.select(2, 0).fill_(static_cast<double>(chunk));
    target.select(2, 1).copy_(torch::arange(8, x.options()).unsqueeze(0));
    // Lands exactly on the target; the endpoint estimate is the target whatever x is, so RTC's
    // guidance vanishes and RTC returns the same chunks.
    return (target - x) / (1 - tau).view({-1, 1, 1});
  }
  int64_t horizon() const override { return 8; }
  int64_t action_dim() const override { return 2; }
  int64_t obs_dim() const override { return 4; }

 private:
  int64_t calls_ = 0;
};

// The (chunk, row) of every action one slalom episode executes under `method` with a fresh
// CountingPolicy.
std::vector<std::pair<double, double>> counting_trace(const std::string& method, int d, int s) {
  CountingPolicy policy;
  DelayEvalOptions o;
  o.task = "slalom";
  o.method = parse_name<ChunkMethod>(method, "method");
  o.delay = d;
  o.shift = s;
  o.episodes = 1;
  std::vector<std::pair<double, double>> trace;
  o.on_action = [&](int64_t, int tick, const std::vector<double>& a) {
    EXPECT_EQ(tick, static_cast<int>(trace.size()));
    trace.emplace_back(a[0], a[1]);
  };
  evaluate_under_delay(policy, o);
  return trace;
}

TEST(DelayHarness, ExecutesTheOldChunksFirstDActionsThenTheNewOnesAndShiftsByS) {
  for (const char* method : {"naive", "rtc"}) {
    for (auto [d, s] : std::vector<std::pair<int, int>>{{0, 1}, {1, 1}, {2, 3}, {3, 5}}) {
      const auto trace = counting_trace(method, d, s);
      ASSERT_GE(trace.size(), 8u) << method;
      for (size_t t = 0; t < trace.size(); ++t) {
        // Tick t is row i of loop k (both from 1 / 0); loop k computes chunk k from the observation
        // at its start. The first d rows still come from the previous chunk, k − 1, shifted by s
        // rows (chunk 0 is the undelayed first chunk, not shifted).
        const int k = static_cast<int>(t) / s + 1, i = static_cast<int>(t) % s;
        const double chunk = i < d ? k - 1 : k;
        const double row = i < d ? (k == 1 ? i : i + s) : i;
        EXPECT_NEAR(trace[t].first, chunk, 1e-4) << method << " d=" << d << " s=" << s << " t=" << t;
        EXPECT_NEAR(trace[t].second, row, 1e-4) << method << " d=" << d << " s=" << s << " t=" << t;
      }
    }
  }
}

TEST(DelayHarness, TemporalEnsemblingAveragesEveryArrivedChunkThatCoversTheTick) {
  for (auto [d, s] : std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {2, 3}}) {
    const auto trace = counting_trace("te", d, s);
    ASSERT_GE(trace.size(), 8u);
    for (size_t t = 0; t < trace.size(); ++t) {
      // Chunk 0 predicts ticks 0…7 from tick 0; chunk k ≥ 1 is requested at (k − 1)s, arrives d later.
      double chunks = 0, rows = 0, n = 0;
      for (int k = 0; k <= static_cast<int>(t) / s + 1; ++k) {
        const int first = k == 0 ? 0 : (k - 1) * s, usable = k == 0 ? 0 : first + d, row = static_cast<int>(t) - first;
        if (static_cast<int>(t) < usable || row < 0 || row >= 8) continue;
        chunks += k;
        rows += row;
        n += 1;
      }
      EXPECT_NEAR(trace[t].first, chunks / n, 1e-4) << "d=" << d << " s=" << s << " t=" << t;
      EXPECT_NEAR(trace[t].second, rows / n, 1e-4) << "d=" << d << " s=" << s << " t=" << t;
    }
  }
}

TEST(DelayHarness, SynchronousExecutionPausesDTicksThenRunsTheNewChunkFromItsFirstRow) {
  for (auto [d, s] : std::vector<std::pair<int, int>>{{0, 1}, {2, 3}, {3, 4}}) {
    const auto trace = counting_trace("sync", d, s);
    ASSERT_GE(trace.size(), 8u);
    for (size_t t = 0; t < trace.size(); ++t) {
      // Loop k (from 1) takes d + s ticks: d neutral actions (slalom's force is 0), then chunk k's rows 0 … s − 1.
      const int k = static_cast<int>(t) / (d + s) + 1, i = static_cast<int>(t) % (d + s);
      EXPECT_NEAR(trace[t].first, i < d ? 0 : k, 1e-4) << "d=" << d << " s=" << s << " t=" << t;
      EXPECT_NEAR(trace[t].second, i < d ? 0 : i - d, 1e-4) << "d=" << d << " s=" << s << " t=" << t;
    }
  }
  // Without delay, synchronous is naive asynchronous execution, episode for episode.
  PilotPolicy pilot;
  DelayEvalOptions o;
  o.task = "slalom";
  o.episodes = 6;
  o.shift = 3;
  const auto naive = evaluate_under_delay(pilot, o);
  o.method = ChunkMethod::kSync;
  EXPECT_EQ(evaluate_under_delay(pilot, o).successes, naive.successes);
}

TEST(DelayHarness, BidWithIdenticalCandidatesActsLikeThePolicy) {
  PilotPolicy pilot, weak;  // the pilot ignores the noise: every candidate is the same chunk
  DelayEvalOptions o;
  o.task = "slalom";
  o.episodes = 6;
  const auto naive = evaluate_under_delay(pilot, o);
  o.method = ChunkMethod::kBid;
  EXPECT_THROW(evaluate_under_delay(pilot, o), Error);  // K = 3 needs a weak checkpoint
  o.weak = &weak;
  const auto bid = evaluate_under_delay(pilot, o);
  EXPECT_EQ(bid.successes, naive.successes);
  o.weak = nullptr;
  o.bid_contrast = 0;  // backward coherence only
  EXPECT_EQ(evaluate_under_delay(pilot, o).successes, naive.successes);
}

TEST(DelayHarness, ImpossibleCellsAndMismatchedTasksAreRefused) {
  PilotPolicy pilot;
  DelayEvalOptions o;
  o.task = "slalom";
  o.delay = 2;
  o.shift = 1;  // s < d
  EXPECT_THROW(evaluate_under_delay(pilot, o), Error);
  o.shift = 7;  // s > H − d
  EXPECT_THROW(evaluate_under_delay(pilot, o), Error);
  o.delay = 0;
  o.shift = 1;
  o.task = "lander";  // 9-D observations
  EXPECT_THROW(evaluate_under_delay(pilot, o), Error);
}

TEST(DelayHarness, MethodWordsAreParsedOnceWithTheirList) {
  EXPECT_EQ(parse_name<ChunkMethod>("rtc-hard", "--method"), ChunkMethod::kRtcHard);
  EXPECT_EQ(name_of(ChunkMethod::kTe), "te");
  try {
    parse_name<ChunkMethod>("magic", "--method");
    ADD_FAILURE() << "an unknown method was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--method = \"magic\" is not one of: naive, rtc, rtc-hard, bid, te, sync");
  }
}

}  // namespace
}  // namespace engram

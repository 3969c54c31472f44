// Asynchronous execution as RTC spec §4 describes it: the scheduler's counter, frozen prefix, delay
// queue and t ← t − s reset, pinned down call by call; then the threaded runner, whose per-tick trace
// must follow the same bookkeeping whatever the timing of the machine.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/chunk_scheduler.h"
#include "engram/policy/mixer_policy.h"
#include "engram/policy/realtime_runner.h"

namespace engram {
namespace {

// Row i of chunk c holds (c, i) in both action dimensions, so every action names its origin.
torch::Tensor labelled_chunk(int c, int H = 8) {
  auto x = torch::empty({H, 2}, torch::kFloat64);
  for (int i = 0; i < H; ++i) {
    x[i][0] = c;
    x[i][1] = i;
  }
  return x;
}

TEST(ChunkScheduler, FrozenPrefixRunsDuringInferenceAndTheCounterResetsByS) {
  ChunkScheduler sched(labelled_chunk(0), /*min_shift=*/3, /*initial_delay=*/1, /*queue_length=*/10);
  for (int i = 0; i < 3; ++i) {
    const auto a = sched.get_action({static_cast<double>(i)});
    EXPECT_EQ(a.chunk, 0);
    EXPECT_EQ(a.index, i);
    EXPECT_EQ(a.values[1], i);
  }
  const auto req = sched.next_request();  // t = 3 ≥ s_min: returns at once
  ASSERT_TRUE(req);
  EXPECT_EQ(req->shift, 3);
  EXPECT_EQ(req->delay, 1);
  EXPECT_EQ(req->obs, std::vector<double>{2.0});
  ASSERT_EQ(req->previous.size(0), 5);  // A_cur[3:8]
  EXPECT_EQ(req->previous[0][1].item<double>(), 3);
  // Two ticks pass during inference: they execute the old chunk's rows 3 and 4 — the frozen prefix.
  EXPECT_EQ(sched.get_action({3}).values[1], 3);
  EXPECT_EQ(sched.get_action({4}).values[1], 4);
  EXPECT_EQ(sched.swap(labelled_chunk(1), req->shift), 2);  // measured delay = t − s = 5 − 3
  // The controller continues at index 2 of the new chunk, not at 0 (t ← t − s, not t ← 0).
  const auto a = sched.get_action({5});
  EXPECT_EQ(a.chunk, 1);
  EXPECT_EQ(a.index, 2);
  EXPECT_EQ(a.values[0], 1);
  EXPECT_EQ(sched.planned_delay(), 2);
}

TEST(ChunkScheduler, PlannedDelayIsTheMaxOfTheLastBMeasuredDelays) {
  ChunkScheduler sched(labelled_chunk(0), 1, /*initial_delay=*/1, /*queue_length=*/3);
  auto run = [&](int ticks_during_inference) {
    sched.get_action({});
    const auto req = sched.next_request();
    for (int k = 0; k < ticks_during_inference; ++k) sched.get_action({});
    return sched.swap(labelled_chunk(1), req->shift);
  };
  // The counter after each swap is the measured delay; the queue starts as {1}.
  EXPECT_EQ(run(3), 3);
  EXPECT_EQ(sched.planned_delay(), 3);  // {1, 3}
  run(0);
  EXPECT_EQ(sched.planned_delay(), 3);  // {1, 3, 0}
  run(0);
  EXPECT_EQ(sched.planned_delay(), 3);  // {3, 0, 0}
  run(0);
  EXPECT_EQ(sched.planned_delay(), 0);  // {0, 0, 0}: old delays leave the queue
}

TEST(ChunkScheduler, UnderrunHoldsTheLastActionAndStopReleasesTheWaiter) {
  ChunkScheduler sched(labelled_chunk(0, 4), 4, 0, 1);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(sched.get_action({}).underrun);
  const auto late = sched.get_action({});
  EXPECT_TRUE(late.underrun);
  EXPECT_EQ(late.index, 3);
  ChunkScheduler waiting(labelled_chunk(0, 4), 2, 0, 1);
  std::thread t([&] { EXPECT_FALSE(waiting.next_request()); });
  waiting.stop();
  t.join();
  EXPECT_THROW(ChunkScheduler(labelled_chunk(0, 4), 5, 0, 1), Error);
}

std::shared_ptr<MixerPolicy> slalom_sized_policy() {
  torch::manual_seed(0);
  MixerPolicyConfig c;
  c.obs_dim = 4;
  c.action_dim = 2;
  c.horizon = 8;
  c.channels = 16;
  c.channel_hidden = 24;
  c.token_hidden = 6;
  c.blocks = 1;
  return std::make_shared<MixerPolicy>(c);
}

TEST(RealtimeRunner, TickTraceFollowsTheCounterResetUnderInjectedLatency) {
  auto policy = slalom_sized_policy();
  RealtimeOptions o;
  o.task = "slalom";
  o.hz = 100;
  o.latency_ms = 25;  // 2.5 ticks: measured delays of about 2
  o.min_shift = 3;
  struct Tick {
    int chunk, index;
    bool underrun;
  };
  std::vector<Tick> trace;
  o.on_tick = [&](int, int, const ChunkScheduler::Action& a) { trace.push_back({a.chunk, a.index, a.underrun}); };
  const auto r = run_realtime(*policy, o);
  EXPECT_EQ(r.episodes, 1);
  ASSERT_EQ(static_cast<int64_t>(trace.size()), r.ticks);
  ASSERT_GT(r.chunks, 3);
  EXPECT_EQ(trace[0].chunk, 0);  // the warm-up chunk starts at its first row
  EXPECT_EQ(trace[0].index, 0);
  std::vector<int64_t> swap_indices;  // the row each new chunk starts at: its measured delay
  for (size_t k = 1; k < trace.size(); ++k) {
    const auto &p = trace[k - 1], &c = trace[k];
    if (c.chunk == p.chunk) {
      EXPECT_EQ(c.index, c.underrun ? p.index : p.index + 1) << "tick " << k;
    } else {
      EXPECT_EQ(c.chunk, p.chunk + 1) << "tick " << k;
      swap_indices.push_back(c.index);
      // The old chunk ran s rows before the snapshot and ℓ = the new index during inference.
      if (!p.underrun) {
        EXPECT_GE(p.index + 1 - c.index, o.min_shift) << "tick " << k;
      }
    }
  }
  // The runner's histogram of measured delays is the trace's (the last chunk may arrive after the
  // episode's final tick), and with inference padded to 2.5 ticks most chunks measure d ≥ 1.
  std::vector<int64_t> from_trace(r.delay_histogram.size(), 0);
  int64_t delayed = 0;
  for (auto i : swap_indices) {
    ASSERT_LT(static_cast<size_t>(i), from_trace.size());
    ++from_trace[static_cast<size_t>(i)];
    delayed += i >= 1 ? 1 : 0;
  }
  int64_t mismatch = 0;
  for (size_t d = 0; d < from_trace.size(); ++d) {
    EXPECT_GE(r.delay_histogram[d], from_trace[d]) << "d=" << d;
    mismatch += r.delay_histogram[d] - from_trace[d];
  }
  EXPECT_LE(mismatch, 1);
  EXPECT_GE(mismatch, 0);
  EXPECT_GT(2 * delayed, static_cast<int64_t>(swap_indices.size()));
  EXPECT_GE(r.inference_ms_mean, 25.0);
}

TEST(RealtimeRunner, RefusesDelaysThatMustRunOutOfActions) {
  auto policy = slalom_sized_policy();
  RealtimeOptions o;
  o.task = "slalom";
  o.hz = 30;
  o.latency_ms = 170;  // d = 5 ticks of 33 ms: 5 + 5 > H = 8
  EXPECT_THROW(run_realtime(*policy, o), Error);
  o.latency_ms = 0;
  o.method = ChunkMethod::kBid;  // needs candidates from every chunk: not a real-time method here
  EXPECT_THROW(run_realtime(*policy, o), Error);
}

}  // namespace
}  // namespace engram

// The deterministic simulated-delay evaluation of RTC spec §5: a fixed inference delay d (in control
// ticks) and execution horizon s, no threads. Each loop computes a new chunk from the current
// observation, executes the d actions the previous chunk still owns, then s − d actions of the new
// chunk, and shifts. Only each environment's first episode counts. Methods (spec §6): naive
// asynchronous, RTC with the soft or the hard mask, bidirectional decoding, and temporal ensembling
// (which executes, at every tick, the mean of the arrived chunks that cover it; the undelayed first
// chunk votes on its ticks 0…H−1 like any other, so early ticks average one more prediction), and
// naive synchronous execution (§6.1: the world keeps moving under the neutral action for the d
// ticks of inference, then the new chunk runs from its first row; each loop takes d + s ticks).
//
// Common random numbers: episode e's actuation noise and the policy noise of its k-th call depend
// only on (seed, e, k), so every method and delay sees the same streams (paired comparisons).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engram/core/config.h"
#include "engram/policy/flow_policy.h"

namespace engram {

// How chunks are executed (spec §6): "naive" | "rtc" (soft exp mask) | "rtc-hard" (zeros mask) |
// "bid" | "te" | "sync".
enum class ChunkMethod { kNaive, kRtc, kRtcHard, kBid, kTe, kSync };
const Names<ChunkMethod>& names_of(ChunkMethod);

struct DelayEvalOptions {
  std::string task;
  ChunkMethod method = ChunkMethod::kNaive;
  int delay = 0;                 // d
  int shift = 1;                 // s, with d ≤ s ≤ H − d
  int64_t episodes = 256;
  int64_t batch = 128;
  int steps = 5;                 // Euler steps per chunk
  double beta = 5.0;             // RTC's guidance clip
  uint64_t seed = 0;
  FlowPolicy* weak = nullptr;    // BID's early checkpoint (needed when bid_contrast > 0)
  int bid_samples = 8;           // N strong + N weak candidates
  int bid_contrast = 3;          // K
  double te_decay = 0;           // temporal ensembling weights exp(−m·i), i = 0 the oldest; 0: the mean
  // Sees every action sent to an environment (before noise), for tracing the bookkeeping.
  std::function<void(int64_t episode, int tick, const std::vector<double>& action)> on_action;

  template <class F>
  void fields(F& f) {
    f.field("task", task, "task (default: the one the policy was trained on)");
    f.field("method", method, "how chunks are executed");
    f.field("delay", delay, 0, 1024, "inference delay d in control ticks");
    f.field("shift", shift, 1, 1024, "execution horizon s, d ≤ s ≤ H − d (default: max(d, 1))");
    f.field("episodes", episodes, 1, 10000000, "episodes");
    f.field("batch", batch, 1, 100000, "episodes per batch");
    f.field("steps", steps, 1, 1000, "Euler steps per chunk");
    f.field("beta", beta, 0.0, 1e6, "RTC guidance clip β");
    f.field("seed", seed, 0, INT64_MAX, "evaluation seed (common random numbers across methods)");
    f.field("bid_samples", bid_samples, 1, 4096, "BID: N strong + N weak candidates");
    f.field("bid_contrast", bid_contrast, 0, 4096, "BID: K positives and negatives (0: backward coherence only)");
    f.field("te_decay", te_decay, 0.0, 100.0, "temporal ensembling: weights exp(−m·i), oldest i = 0 (0: the mean)");
  }
};

struct DelayEvalResult {
  int64_t episodes = 0, successes = 0;
  double wilson_low = 0, wilson_high = 0;
  double seconds = 0;
  int64_t policy_calls = 0;
  double solve_rate() const { return episodes ? static_cast<double>(successes) / episodes : 0.0; }
};

DelayEvalResult evaluate_under_delay(FlowPolicy& policy, const DelayEvalOptions& options);

}  // namespace engram

// The deterministic simulated-delay evaluation of RTC spec §5: a fixed inference delay d (in control
// ticks) and execution horizon s, no threads. Each loop computes a new chunk from the current
// observation, executes the d actions the previous chunk still owns, then s − d actions of the new
// chunk, and shifts. Only each environment's first episode counts.
//
// Common random numbers: episode e's actuation noise and the policy noise of its k-th call depend
// only on (seed, e, k), so every method and delay sees the same streams (paired comparisons).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engram/policy/flow_policy.h"

namespace engram {

struct DelayEvalOptions {
  std::string task;
  std::string method = "naive";  // naive | rtc (soft exp mask) | rtc-hard (zeros mask)
  int delay = 0;                 // d
  int shift = 1;                 // s, with d ≤ s ≤ H − d
  int64_t episodes = 256;
  int64_t batch = 128;
  int steps = 5;                 // Euler steps per chunk
  double beta = 5.0;             // RTC's guidance clip
  uint64_t seed = 0;
  // Sees every action sent to an environment (before noise), for tracing the bookkeeping.
  std::function<void(int64_t episode, int tick, const std::vector<double>& action)> on_action;
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

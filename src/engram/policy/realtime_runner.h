// `engram policy run`: a flow policy driving a simulated task in wall-clock time (RTC spec §4). A
// controller thread ticks at a fixed rate with sleep_until on a steady clock — observe, take the
// scheduler's action, step the physics — while an inference thread computes the next chunk (RTC or
// plain sampling) from the latest observation and the actions that will run meanwhile. The report
// counts buffer underruns (the chunk ran out; the last action is held), the measured delays, the
// inference times and how late the control ticks fired.
//
// Injected latency pads every inference to at least `latency_ms` of wall time, so a fast policy can be
// run at delays of d = 1…4 ticks. Inference runs back to back once s_min actions ran, so a latency of
// k ticks measures d = k (33.4, 66.7, 100, 133.4 ms at 30 Hz → d = 1…4); half-tick latencies
// alternate between k and k + 1 with the phase of the tick.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engram/policy/chunk_scheduler.h"
#include "engram/policy/delay_harness.h"
#include "engram/policy/flow_policy.h"

namespace engram {

struct RealtimeOptions {
  std::string task;
  ChunkMethod method = ChunkMethod::kRtc;  // rtc, rtc-hard or naive
  double hz = 30;
  int min_shift = 1;           // s_min: the inference thread starts once this many actions ran
  int queue_length = 10;       // b: the planned delay is the max of the last b measured delays
  int initial_delay = -1;      // d_init; −1: ⌊latency_ms / tick⌋
  double latency_ms = 0;       // every inference takes at least this long
  int episodes = 1;
  int steps = 5;               // Euler steps per chunk
  double beta = 5.0;
  uint64_t seed = 0;
  // Called by the controller thread on every tick (for tests and traces).
  std::function<void(int episode, int tick, const ChunkScheduler::Action&)> on_tick;
};

struct RealtimeReport {
  int episodes = 0, successes = 0;
  int64_t ticks = 0, underruns = 0, chunks = 0;
  std::vector<int64_t> delay_histogram;  // measured delays: count per number of ticks
  double inference_ms_mean = 0, inference_ms_max = 0;
  double late_ms_mean = 0, late_ms_p99 = 0, late_ms_max = 0;  // tick firing time minus its schedule
  double wall_seconds = 0;
};

RealtimeReport run_realtime(FlowPolicy& policy, const RealtimeOptions& options);

}  // namespace engram

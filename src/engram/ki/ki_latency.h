// Experiment (c) of KI spec §8.5: the latency of one action chunk at batch 1 (median and p90,
// inference mode, this process's threads) for the ways a backbone + expert model can produce it:
//   ki            the prefix once (K/V cached), then N expert steps over the H action tokens
//   ki-no-cache   N full passes over prefix + action tokens
//   transfusion   the prefix once, then N steps of the action tokens through the backbone's own
//                 layers (recipe R10's architecture, shared_weights)
//   ar-fast       the prefix once, then one cached backbone step per FAST token (T tokens)
// with multiply–accumulate counts from the layer shapes. Random weights: latency depends on the
// shapes, not the values.
#pragma once

#include <string>
#include <vector>

#include "engram/ki/ki_model.h"

namespace engram::ki {

struct LatencySize {
  std::string name;
  KiModelConfig model;
  int64_t prefix = 25;  // prefix tokens
};

// S, M and L of spec §8.5 (S is the §8.2 model).
std::vector<LatencySize> latency_sizes();

struct LatencyRow {
  std::string size, method;
  int64_t steps = 0;   // N, or FAST tokens for ar-fast
  double median_ms = 0, p90_ms = 0;
  double mmacs = 0;    // million multiply–accumulates per chunk
};

// `calls` timed chunks after `warmup` untimed ones, for each size and method; `fast_tokens` the
// AR decoder's token counts to time (e.g. the measured mean and 30).
std::vector<LatencyRow> measure_latency(const std::vector<LatencySize>& sizes, int steps, const std::vector<int64_t>& fast_tokens,
                                        int calls, int warmup);

}  // namespace engram::ki

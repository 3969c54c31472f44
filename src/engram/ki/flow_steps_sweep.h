// KI spec §8.5 (c), the speed/quality trade-off: a trained recipe's rollout success on the three
// evaluation splits against the number of Euler steps N of its action expert, with the chunk
// latency at batch 1 for each N.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace engram::ki {

struct FlowStepsRow {
  int64_t steps, episodes;  // N, and episodes per split
  nlohmann::json rates;  // split_rates(): success_* and follow_* per split
  double chunk_ms;       // median of 200 batch-1 chunks, each on a new observation
};

// The policy checkpoint of an `engram ki train` run (EMA weights), evaluated as the run's own
// evaluation does (same scene seeds, shift, noise and, unless `episodes` > 0, episodes per split),
// once per entry of `steps`.
std::vector<FlowStepsRow> success_vs_flow_steps(const std::string& checkpoint, const std::vector<int64_t>& steps,
                                                int64_t episodes = 0);

}  // namespace engram::ki

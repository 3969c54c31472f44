// `engram bench --scaling`: how training time, training memory and generation time per token grow
// with the context length for the three model families at the bench width (4 blocks, 4 heads,
// width 128, vocabulary 4,096), batch 1, one process: attention and retrieval are quadratic in T
// for time (the blocked kernels keep their memory linear), ATLAS's memory is linear in both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace engram {

struct ScalingOptions {
  std::vector<std::string> families = {"transformer", "mosaic", "atlas"};
  std::vector<int64_t> contexts = {256, 512, 1024, 2048, 4096, 8192, 16384};
  double seconds = 1.0;  // timed training per point (at least one step)
  std::string plot;      // prefix of PREFIX-time.png and PREFIX-memory.png; empty: no plots
  double memory_budget_mb = 0;  // skip training where the last point predicts more; 0: 80 % of MemAvailable
};

// One line of the table per (family, context), printed as it is measured (the long contexts take
// minutes); returns the raw numbers, one object per point.
nlohmann::json run_scaling_bench(const ScalingOptions& options);

}  // namespace engram

// `engram sim bench`: simulation throughput (one env, a batch on 1 and 2 threads) and the MPPI
// expert's real-time factor (control period 1/30 s over planning time per step), in one run so the
// ratios are measured on the same machine state.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace engram {

nlohmann::json bench_sim(const std::string& task, double seconds);

}  // namespace engram

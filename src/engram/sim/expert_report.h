// How good each expert style of a task is under actuation noise (RTC spec §12.2: keep styles whose
// success ≥ 0.65): success rate with a Wilson 95 % interval, episode length and planning time.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/core/stats.h"  // wilson_interval, which the reports carry

namespace engram {

struct StyleReport {
  std::string task, style;
  int index = 0;
  int episodes = 0, successes = 0;
  double mean_length = 0;       // policy steps
  double ms_per_step = 0;       // planning + simulation per control step, one thread
  double wilson_low = 0, wilson_high = 0;
  double success_rate() const { return episodes ? static_cast<double>(successes) / episodes : 0.0; }
};

// One JSON row (the --json output of `engram sim expert`).
nlohmann::json to_json(const StyleReport& report);

// Whether the results file at `path` already holds a row of `task` with this many episodes (and
// this style, when `style` ≥ 0): how experiment scripts resume (`sim expert --skip-done`).
bool has_expert_report(const std::string& path, const std::string& task, int episodes, int style);

// Runs `episodes` noisy episodes of each style (all styles when `style` < 0) on `workers` threads.
std::vector<StyleReport> evaluate_expert(const std::string& task, int episodes, int style, int workers, bool progress);

}  // namespace engram

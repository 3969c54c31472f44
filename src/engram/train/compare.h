// `engram compare`: several run directories side by side — a table of their final metrics and one
// plot of a metric against the training step.
#pragma once

#include <string>
#include <vector>

namespace engram {

// Prints the table on stdout and, when `plot` is non-empty, draws `metric` (a key of
// metrics.jsonl, e.g. val_accuracy or val_loss) for every run into that PNG. Throws
// engram::Error naming a directory that is not a run or has no such metric.
void compare_runs(const std::vector<std::string>& run_dirs, const std::string& metric, const std::string& plot,
                  const std::string& title);

}  // namespace engram

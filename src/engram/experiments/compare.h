// `engram compare` and `engram position-loss`: runs or checkpoints side by side, as a table and a
// plot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engram {

// Prints the table on stdout and, when `plot` is non-empty, draws `metric` (a key of
// metrics.jsonl, e.g. val_accuracy or val_loss) for every run into that PNG. Throws
// engram::Error naming a directory that is not a run or has no such metric.
void compare_runs(const std::vector<std::string>& run_dirs, const std::string& metric, const std::string& plot,
                  const std::string& title);

// Loss against position in the context (per_position_loss) for each checkpoint on `text`, encoded
// with that checkpoint's tokenizer: a table (mean, and the loss at contexts 1, 10, 100 and the
// last) and, when `plot` is non-empty, the curves on a log-x axis.
void compare_position_loss(const std::vector<std::string>& checkpoints, const std::string& text, int64_t window,
                           int64_t windows, const std::string& plot);

}  // namespace engram

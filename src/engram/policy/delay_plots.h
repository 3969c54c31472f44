// The RTC paper's two panels from `engram policy eval --json` results (spec §12.4): solve rate
// against the inference delay d with s = max(d, 1), and against the execution horizon s at d = 1,
// one line per method with its 95 % Wilson band. Several tasks (result files, or tasks within a
// file) are pooled: a cell's successes and episodes are summed over the tasks, so the pooled rate is
// the mean over tasks when every task ran the same number of episodes. BID or TE rows with
// non-default settings count as methods of their own ("bid K=0 N=8").
#pragma once

#include <string>
#include <vector>

namespace engram {

struct DelayCell {
  std::string method;
  int delay = 0, shift = 0;
  int64_t successes = 0, episodes = 0, tasks = 0;
};

// Reads the JSONL files and pools the cells that every task has; a cell evaluated twice for one task
// keeps its last row.
std::vector<DelayCell> pool_delay_results(const std::vector<std::string>& files);

// Writes PREFIX-delay.png and PREFIX-horizon.png (a panel without cells is skipped) and returns a
// Markdown table of the delay panel (methods × d) for the results page.
std::string plot_delay_results(const std::vector<DelayCell>& cells, const std::string& prefix, const std::string& title);

}  // namespace engram

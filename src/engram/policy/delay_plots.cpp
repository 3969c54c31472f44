#include "engram/policy/delay_plots.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/core/plot.h"
#include "engram/core/stats.h"
#include "engram/policy/delay_results.h"

namespace engram {

namespace {

const std::vector<std::string> kOrder = {"rtc", "rtc-hard", "bid", "naive", "te"};
const std::map<std::string, std::string> kLabels = {
    {"rtc", "RTC (soft)"}, {"rtc-hard", "RTC (hard)"}, {"bid", "BID"}, {"naive", "naive async"}, {"te", "temporal ensembling"}};

std::vector<std::string> methods_in(const std::vector<DelayCell>& cells) {
  std::set<std::string> present;
  for (const auto& c : cells) present.insert(c.method);
  std::vector<std::string> out;
  for (const auto& m : kOrder)
    if (present.count(m)) out.push_back(m);
  for (const auto& m : present)
    if (std::find(kOrder.begin(), kOrder.end(), m) == kOrder.end()) out.push_back(m);
  return out;
}

std::string label(const std::string& method) {
  const auto it = kLabels.find(method);
  return it == kLabels.end() ? method : it->second;
}

// One series per method over the cells that `pick` accepts, x from `x_of`.
bool draw(const std::vector<DelayCell>& cells, const std::string& out, const std::string& title, const std::string& xlabel,
          bool (*pick)(const DelayCell&), int (*x_of)(const DelayCell&)) {
  PlotSpec spec;
  spec.out = out;
  spec.title = title;
  spec.xlabel = xlabel;
  spec.ylabel = "solve rate (95 % Wilson band)";
  for (const auto& m : methods_in(cells)) {
    std::vector<DelayCell> row;
    for (const auto& c : cells)
      if (c.method == m && pick(c)) row.push_back(c);
    if (row.empty()) continue;
    std::sort(row.begin(), row.end(), [&](const DelayCell& a, const DelayCell& b) { return x_of(a) < x_of(b); });
    PlotSeries s;
    s.label = label(m);
    s.style = "o-";
    for (const auto& c : row) {
      const auto [lo, hi] = wilson_interval(c.successes, c.episodes);
      s.x.push_back(x_of(c));
      s.y.push_back(static_cast<double>(c.successes) / static_cast<double>(c.episodes));
      s.lower.push_back(lo);
      s.upper.push_back(hi);
    }
    spec.series.push_back(s);
  }
  return !spec.series.empty() && plot_lines(spec);
}

}  // namespace

std::vector<DelayCell> pool_delay_results(const std::vector<std::string>& files) {
  // Each (file, task) is one task; within it a cell is (method variant, d, s) and a re-run replaces it.
  using Key = std::tuple<std::string, int, int>;
  std::map<std::pair<std::string, std::string>, std::map<Key, DelayCell>> groups;
  for (const auto& f : files) {
    size_t line = 0;
    if (!std::filesystem::is_regular_file(f)) throw Error("results file " + f + ": no such file");
    const auto rows = read_metrics(f);
    if (rows.empty()) throw Error(f + ": no JSON rows (expected the --json output of engram policy eval)");
    for (const auto& r : rows) {
      ++line;
      const DelayCell c = delay_cell(r, f + ": row " + std::to_string(line));
      groups[{f, r.value("task", std::string())}][{c.method, c.delay, c.shift}] = c;
    }
  }
  std::map<Key, DelayCell> pooled;
  for (const auto& [group, cells] : groups) {
    for (const auto& [key, c] : cells) {
      auto& p = pooled.try_emplace(key, DelayCell{c.method, c.delay, c.shift, 0, 0, 0}).first->second;
      p.successes += c.successes;
      p.episodes += c.episodes;
      p.tasks += 1;
    }
  }
  std::vector<DelayCell> out;
  for (const auto& [key, c] : pooled)
    if (c.tasks == static_cast<int64_t>(groups.size())) out.push_back(c);  // a mean over the same tasks everywhere
  return out;
}

std::string plot_delay_results(const std::vector<DelayCell>& cells, const std::string& prefix, const std::string& title) {
  draw(cells, prefix + "-delay.png", title + ": solve rate vs inference delay (s = max(d, 1))", "inference delay d (ticks)",
       [](const DelayCell& c) { return c.shift == std::max(c.delay, 1); }, [](const DelayCell& c) { return c.delay; });
  draw(cells, prefix + "-horizon.png", title + ": solve rate vs execution horizon at d = 1", "execution horizon s",
       [](const DelayCell& c) { return c.delay == 1; }, [](const DelayCell& c) { return c.shift; });
  std::set<int> delays;
  for (const auto& c : cells)
    if (c.shift == std::max(c.delay, 1)) delays.insert(c.delay);
  std::string table = "| method |";
  for (int d : delays) table += " d = " + std::to_string(d) + " |";
  table += "\n|---|";
  for (size_t i = 0; i < delays.size(); ++i) table += "---|";
  table += "\n";
  for (const auto& m : methods_in(cells)) {
    std::string line = "| " + label(m) + " |";
    bool any = false;
    for (int d : delays) {
      const auto it = std::find_if(cells.begin(), cells.end(),
                                   [&](const DelayCell& c) { return c.method == m && c.delay == d && c.shift == std::max(d, 1); });
      char buf[32] = " – |";
      if (it != cells.end()) {
        std::snprintf(buf, sizeof(buf), " %.3f |", static_cast<double>(it->successes) / static_cast<double>(it->episodes));
        any = true;
      }
      line += buf;
    }
    if (any) table += line + "\n";
  }
  return table;
}

}  // namespace engram

#include "engram/sim/expert_report.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/core/progress.h"
#include "engram/sim/env.h"

namespace engram {

nlohmann::json to_json(const StyleReport& r) {
  return {{"task", r.task},           {"style", r.style},           {"style_index", r.index},
          {"episodes", r.episodes},   {"successes", r.successes},   {"success_rate", r.success_rate()},
          {"wilson_low", r.wilson_low}, {"wilson_high", r.wilson_high}, {"mean_length", r.mean_length},
          {"ms_per_step", r.ms_per_step}};
}

bool has_expert_report(const std::string& path, const std::string& task, int episodes, int style) {
  for (const auto& row : read_metrics(path))
    if (row.value("task", std::string()) == task && row.value("episodes", -1) == episodes &&
        (style < 0 || row.value("style_index", -1) == style))
      return true;
  return false;
}

std::vector<StyleReport> evaluate_expert(const std::string& task, int episodes, int style, int workers, bool progress) {
  const auto world = open_world(task);
  const auto styles = world->expert_styles();
  if (style >= static_cast<int>(styles.size()))
    throw Error("task " + task + " has " + std::to_string(styles.size()) + " expert styles (0–" +
                std::to_string(styles.size() - 1) + "), not " + std::to_string(style));
  if (episodes < 1 || workers < 1) throw Error("expert evaluation needs ≥ 1 episode and ≥ 1 worker");
  std::vector<int> chosen;
  for (int s = 0; s < static_cast<int>(styles.size()); ++s)
    if (style < 0 || s == style) chosen.push_back(s);

  std::vector<StyleReport> reports;
  for (int s : chosen) {
    StyleReport r;
    r.task = task;
    r.style = styles[static_cast<size_t>(s)];
    r.index = s;
    r.episodes = episodes;
    std::atomic<int> next{0}, done{0}, successes{0};
    std::atomic<int64_t> steps{0};
    std::atomic<int64_t> nanos{0};
    std::mutex bar_mutex;
    Progress bar(task + " style " + std::to_string(s), episodes);
    auto work = [&] {
      for (int e; (e = next++) < episodes;) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto ep = world->expert_episode(s, 1000 + s, e);
        nanos += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        steps += ep.length();
        successes += ep.success ? 1 : 0;
        const int d = ++done;
        if (progress) {
          std::lock_guard<std::mutex> lock(bar_mutex);
          bar.update(d, "success " + std::to_string(successes.load()) + "/" + std::to_string(d));
        }
      }
    };
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work);
    for (auto& t : pool) t.join();
    if (progress) bar.finish("success " + std::to_string(successes.load()) + "/" + std::to_string(episodes));
    r.successes = successes;
    r.mean_length = static_cast<double>(steps) / episodes;
    r.ms_per_step = static_cast<double>(nanos) / 1e6 / static_cast<double>(steps);
    std::tie(r.wilson_low, r.wilson_high) = wilson_interval(r.successes, r.episodes);
    reports.push_back(r);
  }
  return reports;
}

}  // namespace engram

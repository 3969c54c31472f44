#include "engram/train/compare.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/core/plot.h"
#include "engram/seq/model.h"
#include "engram/train/bench.h"

namespace engram {

void compare_runs(const std::vector<std::string>& run_dirs, const std::string& metric, const std::string& plot,
                  const std::string& title) {
  if (run_dirs.empty()) throw Error("compare: give at least one run directory");
  std::vector<BenchRow> rows;
  PlotSpec spec{plot, title.empty() ? metric : title, "step", metric};
  for (const auto& dir : run_dirs) {
    const std::string config_path = dir + "/config.json";
    if (!std::filesystem::exists(config_path)) throw Error("compare: " + dir + " is not a run directory (no config.json)");
    const auto config = read_json_file(config_path);
    const auto records = read_metrics(dir + "/metrics.jsonl");
    PlotSeries series;
    series.label = std::filesystem::path(dir).filename().string();
    double last = std::nan(""), last_loss = std::nan(""), last_acc = std::nan("");
    int64_t steps = 0;
    for (const auto& r : records) {
      steps = std::max<int64_t>(steps, r.value("step", int64_t{0}) + 1);
      if (r.contains("val_loss")) last_loss = r["val_loss"].get<double>();
      if (r.contains("val_accuracy")) last_acc = r["val_accuracy"].get<double>();
      if (!r.contains(metric) || !r[metric].is_number()) continue;
      series.x.push_back(r["step"].get<double>() + 1);
      series.y.push_back(r[metric].get<double>());
      last = series.y.back();
    }
    if (series.x.empty()) throw Error("compare: " + dir + "/metrics.jsonl has no '" + metric + "' values");
    spec.series.push_back(series);
    std::string summary = config.contains("model") ? config["model"].value("type", std::string("?")) : "?";
    try {
      summary = make_model(config["model"], dir + "/config.json model")->describe().summary;
    } catch (const Error&) {
    }
    char value[64];
    std::snprintf(value, sizeof value, "%.4f", last);
    char note[160];
    std::snprintf(note, sizeof note, "%s; %lld steps; val loss %.4f%s", summary.c_str(), static_cast<long long>(steps),
                  last_loss, std::isfinite(last_acc) ? (", accuracy " + std::to_string(last_acc).substr(0, 6)).c_str() : "");
    std::string notes = note;
    const std::string score_path = dir + "/score.json";
    if (std::filesystem::exists(score_path)) {  // a task's final test metrics (Task::score)
      const auto score = read_json_file(score_path);
      for (const auto& [name, v] : score.items())
        if (v.is_number_float()) notes += "; " + name + " " + std::to_string(v.get<double>()).substr(0, 6);
    }
    rows.push_back({series.label, value, metric, notes});
  }
  print_table(rows, {"run", "final", "metric", "model, steps, last evaluation"});
  if (!plot.empty() && plot_lines(spec)) std::printf("plot: %s\n", plot.c_str());
}

}  // namespace engram

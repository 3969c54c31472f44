#include "engram/experiments/compare.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/core/plot.h"
#include "engram/data/corpus.h"
#include "engram/seq/generate.h"
#include "engram/seq/model.h"
#include "engram/train/checkpoint.h"
#include "engram/experiments/bench.h"

namespace engram {

namespace fs = std::filesystem;

void compare_runs(const std::vector<std::string>& run_dirs, const std::string& metric, const std::string& plot,
                  const std::string& title) {
  if (run_dirs.empty()) throw Error("compare: give at least one run directory");
  std::vector<TableRow> rows;
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

void compare_position_loss(const std::vector<std::string>& checkpoints, const std::string& text, int64_t window,
                           int64_t windows, const std::string& plot) {
  std::vector<TableRow> rows;
  PlotSpec spec{plot, "loss by position in the context", "position (tokens of context)", "cross-entropy (nats/token)"};
  spec.logx = true;
  for (const auto& path : checkpoints) {
    auto ckpt = load_checkpoint(path);
    Tokenizer tok = tokenizer_from_spec(ckpt.contents.tokenizer, "checkpoint " + path);
    std::vector<int64_t> ids;
    for (int id : tok.encode(text)) ids.push_back(id);
    const auto curve = per_position_loss(*ckpt.model, ids, window, windows);
    PlotSeries series;
    // The run directory names a checkpoint better than its (always identical) file name.
    const auto file = fs::path(path);
    series.label = file.filename() == "checkpoint.safetensors" && file.has_parent_path() ? file.parent_path().filename().string() : path;
    double mean = 0;
    for (size_t p = 0; p < curve.size(); ++p) {
      series.x.push_back(static_cast<double>(p + 1));
      series.y.push_back(curve[p]);
      mean += curve[p] / static_cast<double>(curve.size());
    }
    auto at = [&](size_t p) { return curve[std::min(p, curve.size()) - 1]; };
    char note[200], value[32];
    std::snprintf(note, sizeof note, "context 1: %.3f | 10: %.3f | 100: %.3f | %zu: %.3f", at(1), at(10), at(100),
                  curve.size(), at(curve.size()));
    std::snprintf(value, sizeof value, "%.4f", mean);
    rows.push_back({ckpt.model->describe().summary + " (" + path + ")", value, "mean", note});
    spec.series.push_back(series);
  }
  print_table(rows, {"checkpoint", "loss", "", "loss at context length"});
  if (!plot.empty() && plot_lines(spec)) std::printf("plot: %s\n", plot.c_str());
}

}  // namespace engram

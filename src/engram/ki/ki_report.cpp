#include "engram/ki/ki_report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "engram/core/error.h"
#include "engram/core/json.h"
#include "engram/core/plot.h"

namespace engram::ki {

namespace fs = std::filesystem;

namespace {

struct Run {
  std::string recipe, dir;
  int64_t seed = 0;
  std::vector<nlohmann::json> evals;  // evaluation rows in step order
};

std::pair<double, double> mean_sd(const std::vector<double>& v) {
  if (v.empty()) return {std::nan(""), std::nan("")};
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0};
}

double number(const nlohmann::json& row, const std::string& key) {
  return row.contains(key) && row[key].is_number() ? row[key].get<double>() : std::nan("");
}

// Mean success over the direct and knowledge-E_train splits: the convergence measure of (a).
double train_success(const nlohmann::json& row) { return (number(row, "success_direct") + number(row, "success_known")) / 2; }

std::string cell(const std::vector<double>& v, const char* format = "%.3f") {
  const auto [m, s] = mean_sd(v);
  if (!std::isfinite(m)) return "-";
  char buf[64], sd[32];
  std::snprintf(buf, sizeof buf, format, m);
  std::snprintf(sd, sizeof sd, format, s);
  return v.size() > 1 ? std::string(buf) + " ± " + sd : std::string(buf);
}

}  // namespace

nlohmann::json ki_report(const std::string& runs_dir, const std::string& figures) {
  if (!fs::is_directory(runs_dir)) throw Error("ki report: " + runs_dir + " is not a folder");
  // R1 … R9 before R10.
  auto recipe_order = [](const std::string& a, const std::string& b) { return a.size() != b.size() ? a.size() < b.size() : a < b; };
  std::map<std::string, std::vector<Run>, decltype(recipe_order)> by_recipe(recipe_order);
  for (const auto& entry : fs::directory_iterator(runs_dir)) {
    const auto config_path = entry.path() / "config.json", metrics_path = entry.path() / "metrics.jsonl";
    if (!fs::exists(config_path) || !fs::exists(metrics_path)) continue;
    const auto config = read_json_file(config_path.string(), "run config");
    if (!config.contains("recipe")) continue;  // stage 0
    Run run;
    run.recipe = config["recipe"].get<std::string>();
    run.seed = config.value("seed", int64_t{0});
    run.dir = entry.path().string();
    std::ifstream in(metrics_path);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const auto row = parse_json(line, metrics_path.string());
      if (row.contains("success_direct")) run.evals.push_back(row);
    }
    if (!run.evals.empty()) by_recipe[run.recipe].push_back(std::move(run));
  }
  if (by_recipe.empty()) throw Error("ki report: no evaluated ki train runs in " + runs_dir);

  nlohmann::json out;
  std::printf("%-4s %5s %6s | %-13s %-13s %-13s | %-13s %-13s %-13s | %-14s %-13s %-13s\n", "", "seeds", "step", "success dir",
              "success known", "success novel", "follow dir", "follow known", "follow novel", "ΔNLL", "FactAcc", "action MSE");
  const char* keys[] = {"success_direct", "success_known", "success_novel", "follow_direct", "follow_known", "follow_novel",
                        "delta_nll", "fact_acc", "action_mse"};
  for (const auto& [recipe, runs] : by_recipe) {
    std::map<std::string, std::vector<double>> finals;
    int64_t step = 0;
    for (const auto& r : runs) {
      for (const char* k : keys) finals[k].push_back(number(r.evals.back(), k));
      step = std::max<int64_t>(step, r.evals.back().value("step", int64_t{0}) + 1);
    }
    std::printf("%-4s %5zu %6lld |", recipe.c_str(), runs.size(), static_cast<long long>(step));
    for (const char* k : keys) {
      std::printf(" %-13s", cell(finals[k], std::string(k) == "delta_nll" ? "%+.3f" : "%.3f").c_str());
      out["final"][recipe][k] = mean_sd(finals[k]).first;
    }
    std::printf("\n");
  }

  // (a) steps to threshold: the first evaluation with train_success ≥ 0.8 × R5's final.
  if (by_recipe.count("R5")) {
    std::vector<double> r5;
    for (const auto& r : by_recipe["R5"]) r5.push_back(train_success(r.evals.back()));
    const double threshold = 0.8 * mean_sd(r5).first;
    std::printf("\n(a) steps to success ≥ %.3f (0.8 × R5's final mean success over direct and known), area under the curve:\n", threshold);
    for (const auto& [recipe, runs] : by_recipe) {
      std::vector<double> steps, area;
      for (const auto& r : runs) {
        double s = std::nan(""), sum = 0;
        for (const auto& e : r.evals) {
          sum += train_success(e);
          if (!std::isfinite(s) && train_success(e) >= threshold && threshold > 0) s = e.value("step", 0.0) + 1;
        }
        steps.push_back(s);
        area.push_back(sum / static_cast<double>(r.evals.size()));
      }
      std::printf("  %-4s steps %-18s mean success over training %s\n", recipe.c_str(), cell(steps, "%.0f").c_str(), cell(area).c_str());
      out["steps_to_threshold"][recipe] = mean_sd(steps).first;
      out["success_area"][recipe] = mean_sd(area).first;
    }
    auto ratio = [&](const char* a, const char* b) {
      const double x = out["steps_to_threshold"].value(a, std::nan("")), y = out["steps_to_threshold"].value(b, std::nan(""));
      return x / y;
    };
    if (by_recipe.count("R1")) std::printf("  R1 / R5 = %.2f (target ≥ 2; not reaching the threshold shows as nan)\n", ratio("R1", "R5"));
    if (by_recipe.count("R2")) std::printf("  R5 / R2 = %.2f (target ≤ 1.25)\n", ratio("R5", "R2"));
  }
  if (by_recipe.count("R3") && by_recipe.count("R6")) {
    const double d = out["final"]["R3"]["delta_nll"].get<double>() - out["final"]["R6"]["delta_nll"].get<double>();
    std::printf("\n(b) ΔNLL(R3) − ΔNLL(R6) = %+.4f (the stop-gradient contrast; target > 0)\n", d);
    out["delta_nll_R3_minus_R6"] = d;
  }

  if (!figures.empty()) {
    fs::create_directories(figures);
    auto curve = [&](const std::string& key, const std::string& title, const std::string& ylabel, const std::string& file,
                     const std::function<double(const nlohmann::json&)>& value) {
      PlotSpec spec(figures + "/" + file, title, "training step", ylabel);
      for (const auto& [recipe, runs] : by_recipe) {
        // Mean over seeds at the steps every seed has.
        size_t n = runs.front().evals.size();
        for (const auto& r : runs) n = std::min(n, r.evals.size());
        PlotSeries s(recipe);
        for (size_t i = 0; i < n; ++i) {
          double sum = 0;
          for (const auto& r : runs) sum += value(r.evals[i]);
          s.x.push_back(runs.front().evals[i].value("step", 0.0) + 1);
          s.y.push_back(sum / static_cast<double>(runs.size()));
        }
        spec.series.push_back(s);
      }
      plot_lines(spec);
      (void)key;
    };
    curve("success", "TableWorld success (direct + knowledge-E_train)", "success rate", "ki-success.png", train_success);
    curve("novel", "Follow rate on knowledge-E_test (facts known only from text)", "follow rate", "ki-follow-novel.png",
          [](const nlohmann::json& r) { return number(r, "follow_novel"); });
    curve("nll", "Backbone held-out LM NLL − stage 0's", "ΔNLL (nats/token)", "ki-delta-nll.png",
          [](const nlohmann::json& r) { return number(r, "delta_nll"); });
    curve("mse", "Decoded-action MSE on held-out chunks", "MSE", "ki-action-mse.png",
          [](const nlohmann::json& r) { return number(r, "action_mse"); });
  }
  return out;
}

}  // namespace engram::ki

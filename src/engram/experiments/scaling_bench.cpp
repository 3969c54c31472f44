#include "engram/experiments/scaling_bench.h"

#include <malloc.h>

#include <cstdio>
#include <map>

#include <torch/torch.h>

#include "engram/core/memory.h"
#include "engram/core/plot.h"
#include "engram/experiments/bench.h"
#include "engram/runtime/decoder.h"
#include "engram/seq/model.h"

namespace engram {
namespace {

// ms per generated token with `context` tokens before it, batch 1: the dispatcher-free decoder
// where the family has one, LibTorch's step() otherwise.
std::pair<double, std::string> generation_ms(SequenceModel& model, int64_t context) {
  const int64_t reps = 8;
  const auto ids = random_ids(model, context + reps);
  if (const auto decoder = decoder_if_any(model)) return {decoder_ms(*decoder, ids, context, reps), "engram runtime"};
  return {step_ms(model, ids, context, reps), "LibTorch step()"};
}

}  // namespace

nlohmann::json run_scaling_bench(const ScalingOptions& o) {
  nlohmann::json points = nlohmann::json::array();
  std::printf("| family | T | train ms/token | train memory MB | generate ms/token | generation path |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | --- |\n");
  std::fflush(stdout);
  std::map<std::string, PlotSeries> train, memory, gen;
  for (const auto& family : o.families) {
    int64_t last_T = 0;
    double last_mb = 0;
    for (int64_t T : o.contexts) {
      torch::manual_seed(0);
      nlohmann::json config = {{"type", family}, {"vocab_size", 4096}, {"n_layer", 4}, {"n_head", 4}, {"n_embd", 128},
                               {"block_size", T}};
      if (family == "transformer") config["positions"] = "rotary";  // generation runs past T
      auto model = make_model(config, "scaling." + family);
      // What the step adds to the process: freed memory of earlier points goes back to the system
      // first, so the peak is this point's model, optimiser state and activations.
      ::malloc_trim(0);
      // Training memory grows about linearly in T with the blocked kernels: a step that the last
      // point, scaled linearly, predicts not to fit in the budget is skipped (ATLAS at 16,384 would
      // need ≈ 40 GB); generation, whose state does not grow that way, is still measured. The
      // estimate is a guide, not a bound: a family that grows faster can still exceed it.
      const double predicted_mb = last_T > 0 ? last_mb * static_cast<double>(T) / static_cast<double>(last_T) : 0;
      const double budget = o.memory_budget_mb > 0 ? o.memory_budget_mb : 0.8 * available_mb();
      const bool train_fits = budget <= 0 || predicted_mb < budget;  // no MemAvailable: no skipping
      nlohmann::json point = {{"family", family}, {"context", T}};
      char cell[64];
      std::snprintf(cell, sizeof cell, "skipped: needs ≈ %.0f MB", predicted_mb);
      std::string train_cell = cell, memory_cell = "—";
      if (train_fits) {
        const double before = resident_mb();
        const auto speed = measure_training(*model, 1, T, o.seconds, 1);
        const double train_ms = 1e3 / speed.tokens_per_second, memory_mb = speed.peak_rss_mb - before;
        point["train_ms_per_token"] = train_ms, point["train_memory_mb"] = memory_mb;
        std::snprintf(cell, sizeof cell, "%.3f", train_ms);
        train_cell = cell;
        std::snprintf(cell, sizeof cell, "%.0f", memory_mb);
        memory_cell = cell;
        train[family].label = memory[family].label = family;
        train[family].x.push_back(static_cast<double>(T)), train[family].y.push_back(train_ms);
        memory[family].x.push_back(static_cast<double>(T)), memory[family].y.push_back(memory_mb);
        last_T = T, last_mb = memory_mb;
      }
      const auto [gen_ms, path] = generation_ms(*model, T);
      std::printf("| %s | %lld | %s | %s | %.3f | %s |\n", family.c_str(), static_cast<long long>(T), train_cell.c_str(),
                  memory_cell.c_str(), gen_ms, path.c_str());
      std::fflush(stdout);
      point["generate_ms_per_token"] = gen_ms, point["generation_path"] = path;
      points.push_back(point);
      gen[family].label = family + " (generate)";
      gen[family].x.push_back(static_cast<double>(T)), gen[family].y.push_back(gen_ms);
    }
  }
  if (!o.plot.empty()) {
    PlotSpec time(o.plot + "-time.png", "time per token vs context (batch 1; solid: training, dashed: generation)",
                  "context length T", "ms per token");
    time.logx = time.logy = true;
    // one colour per family in both plots: solid for training, dashed for generation
    std::map<std::string, std::string> colour;
    for (const auto& [family, s] : gen) {
      const auto index = colour.size();
      colour[family] = "C" + std::to_string(index);
    }
    for (auto& [family, s] : gen) {
      if (train.count(family)) {  // families whose every training point was skipped have none
        train[family].style = colour[family] + "-";
        time.series.push_back(train[family]);
      }
      s.style = colour[family] + "--";
      time.series.push_back(s);
    }
    plot_lines(time);
    PlotSpec mem(o.plot + "-memory.png", "training memory vs context (batch 1, one step)", "context length T",
                 "MB above the process's baseline");
    mem.logx = mem.logy = true;
    for (auto& [family, s] : memory) {
      s.style = colour[family] + "-";
      mem.series.push_back(s);
    }
    if (!mem.series.empty()) plot_lines(mem);
  }
  return points;
}

}  // namespace engram
